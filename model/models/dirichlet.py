"""The Dirichlet multinomial-logit likelihood over race-round components, in pytensor (inside PyMC models) and
numpy (log-likelihoods, predictive draws, P(first) and counterfactuals from posterior draws)."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import scipy.sparse as sp
from scipy.special import gammaln

from model.dataset.features import VoteShareData


class _Numpy:
    """Array operations for the numpy twin (draws on leading axes, candidates/races last)."""

    exp, log, gammaln = staticmethod(np.exp), staticmethod(np.log), staticmethod(gammaln)

    @staticmethod
    def segment_sum(x, idx, n):
        """Sum the last axis of x into n groups.

        A product with a 0/1 sparse matrix rather than np.add.at, which was 30 s of a `make fit`: 7 times faster
        on (draws, candidates), and the same bits (each group adds its members in index order from zero)."""
        x = np.asarray(x, dtype=float)
        groups = sp.csc_array((np.ones(len(idx)), (np.arange(len(idx)), idx)), shape=(len(idx), n))
        return np.asarray(x.reshape(-1, x.shape[-1]) @ groups).reshape(*x.shape[:-1], n)


def segment_max(x: np.ndarray, idx: np.ndarray, n: int, floor: float = 0.0) -> np.ndarray:
    """The largest value of the last axis of x in each of n groups, never below floor (np.maximum.at on an array of
    floor, by a sorted reduceat: a maximum does not depend on the order it is taken in)."""
    order = np.argsort(idx, kind="stable")
    ordered = idx[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    out = np.full((*x.shape[:-1], n), floor, dtype=float)
    out[..., ordered[starts]] = np.maximum(floor, np.maximum.reduceat(x[..., order], starts, axis=-1))
    return out


class _Pytensor:
    """Array operations for the PyMC model (one draw)."""

    exp, log, gammaln = staticmethod(pt.exp), staticmethod(pt.log), staticmethod(pt.gammaln)

    @staticmethod
    def segment_sum(x, idx, n):
        """Sum x into n groups."""
        return pt.inc_subtensor(pt.zeros(n)[idx], x)


_PT, _NP = _Pytensor, _Numpy


def dirichlet_loglik(eta, concentration, data: VoteShareData, xp=_NP, log_share=None):
    """Log density of the observed component shares per race (last axis: race).

    Shares within a race are Dirichlet with mean softmax(eta) and the given concentration; a lump of
    candidates with unknown shares has the sum of their parameters. log_share (default: the data's) is the
    log of the shares, as a tensor inside the PyMC model."""
    p = race_softmax(eta, data, xp)
    n_comp = len(data.component_share)
    alpha = xp.segment_sum(p, data.component_idx, n_comp) * _expand(concentration, xp)
    y = np.log(data.component_share) if log_share is None else log_share
    per_comp = (alpha - 1.0) * y - xp.gammaln(alpha)
    return xp.segment_sum(per_comp, data.component_race, data.n_race) + xp.gammaln(_expand(concentration, xp))


def race_softmax(eta, data: VoteShareData, xp=_NP):
    """Each candidate's expected vote share: softmax of eta within its race."""
    shift = eta.max(axis=-1, keepdims=True) if xp is _NP else eta.max()
    w = xp.exp(eta - shift)
    total = xp.segment_sum(w, data.race_idx, data.n_race)
    return w / total[..., data.race_idx]


def _expand(x, xp):
    """Give a per-draw scalar a trailing axis so it broadcasts against per-race arrays."""
    return x[..., None] if xp is _NP and np.ndim(x) else x


def component_predictive(eta: np.ndarray, concentration: np.ndarray, data: VoteShareData, rng) -> np.ndarray:
    """Draw component shares (draws, component) from the Dirichlet predictive."""
    p = race_softmax(eta, data)
    alpha = _NP.segment_sum(p, data.component_idx, len(data.component_share)) * concentration[:, None]
    gam = rng.gamma(np.maximum(alpha, 1e-300))
    return gam / _NP.segment_sum(gam, data.component_race, data.n_race)[:, data.component_race]


def component_marginal_loglik(eta: np.ndarray, concentration: np.ndarray, data: VoteShareData) -> np.ndarray:
    """Log density of each component's observed share under its Beta marginal (draws, component);
    used for LOO-PIT, which needs one predictive per observed number."""
    p = race_softmax(eta, data)
    a = _NP.segment_sum(p, data.component_idx, len(data.component_share)) * concentration[:, None]
    b = concentration[:, None] - a
    y = data.component_share
    return (a - 1) * np.log(y) + (b - 1) * np.log1p(-y) - (gammaln(a) + gammaln(b) - gammaln(a + b))


def p_first(eta: np.ndarray, concentration: np.ndarray, data: VoteShareData, rng: np.random.Generator) -> np.ndarray:
    """P(each candidate gets the most votes in its race) under the Dirichlet predictive (candidates
    whose shares were lumped get their lump's draw split by their expected shares)."""
    p = race_softmax(eta, data)
    comp = component_predictive(eta, concentration, data, rng)
    lump_total = _NP.segment_sum(p, data.component_idx, len(data.component_share))
    share = comp[:, data.component_idx] * p / lump_total[:, data.component_idx]
    best = segment_max(share, data.race_idx, data.n_race)
    return (share >= best[:, data.race_idx]).mean(axis=0)


def race_mean(x: np.ndarray, data: VoteShareData) -> np.ndarray:
    """Replace each candidate's value by the mean over its race (draws, candidate)."""
    total = _NP.segment_sum(x, data.race_idx, data.n_race)
    count = np.bincount(data.race_idx, minlength=data.n_race)
    return (total / count)[:, data.race_idx]
