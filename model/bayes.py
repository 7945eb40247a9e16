"""PyMC model builders (they only build: sampling, saving and plotting live elsewhere) and the numpy
twins of their likelihoods, used for log-likelihoods, predictive draws, counterfactuals and simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy.special import gammaln

from model.features import VoteShareData, turnout_z
from model.priors import Prior

# Measurement model of reported IE figures, on the log scale. An exact final filing is taken to within
# 2 %, an "about $X" press figure to within 15 % (rounding to one or two significant digits). A lower
# bound ("more than $X", or a running total weeks before the vote) says the true total is above X by a
# half-normal gap of sd 0.35 (a final total typically 0-70 % above the figure; an assumption, not an
# estimate: with bounds alone, nothing caps the money and the pooled scale runs off to infinity). The
# bound itself is a soft step 5 % wide (a hard step would give NUTS a discontinuity).
MONEY_SD_EXACT = 0.02
MONEY_SD_APPROX = 0.15
MONEY_SD_LOWER_GAP = 0.35
MONEY_SD_LOWER_STEP = 0.05

HEAD_TO_HEAD_TERMS = ("d_log_support", "d_log_oppose", "d_incumbent", "d_utla", "d_ccsa")
HEAD_TO_HEAD_PRIORS = ("beta_support", "beta_oppose", "beta_incumbent", "beta_utla", "beta_ccsa")


def prior_rv(name: str, priors: dict[str, Prior], **kwargs) -> pt.TensorVariable:
    """Create the PyMC random variable for a named prior inside the current model."""
    p = priors[name]
    if p.dist == "normal":
        return pm.Normal(name, mu=p.params["mu"], sigma=p.params["sigma"], **kwargs)
    if p.dist == "halfnormal":
        return pm.HalfNormal(name, sigma=p.params["sigma"], **kwargs)
    if p.dist == "lognormal":
        return pm.LogNormal(name, mu=p.params["mu"], sigma=p.params["sigma"], **kwargs)
    raise ValueError(f"unknown prior family {p.dist}")


def head_to_head_model(h2h: pd.DataFrame, priors: dict[str, Prior], weighted: bool = False) -> pm.Model:
    """Normal linear model of the logit two-way share of candidate a on a-minus-b differences.

    No intercept (orientation is arbitrary). Under a multinomial logit, logit(a's two-way share) is exactly
    eta_a - eta_b, so these coefficients estimate the same quantities as vote_share_hierarchical's.
    weighted=True: the likelihood is a Potential with per-race weights (pm.Data 'race_weight', 1 by default),
    so leave-one-cycle-out can zero a cycle's races without recompiling; it then has no observed variable."""
    rows = h2h.dropna(subset=["logit_share_a"])
    coords = {"race": rows.race_id.to_list(), "term": list(HEAD_TO_HEAD_TERMS)}
    with pm.Model(coords=coords) as model:
        x = pm.Data("x", rows[list(HEAD_TO_HEAD_TERMS)].to_numpy(dtype=float), dims=("race", "term"))
        # Data, not a constant, so that SBC can swap in simulated outcomes without recompiling (fit.sample_each).
        y = pm.Data("logit_share_a_data", rows.logit_share_a.to_numpy(dtype=float), dims="race")
        beta = pt.stack([prior_rv(name, priors) for name in HEAD_TO_HEAD_PRIORS])
        sigma = prior_rv("sigma_head_to_head", priors)
        if weighted:
            weight = pm.Data("race_weight", np.ones(len(rows)), dims="race")
            loglik = pm.logp(pm.Normal.dist(x @ beta, sigma), y)
            pm.Potential("logit_share_a_loglik", (weight * loglik).sum())
        else:
            pm.Normal("logit_share_a", mu=x @ beta, sigma=sigma, observed=y, dims="race")
    return model


def vote_share_model(data: VoteShareData, priors: dict[str, Prior], money: str = "latent") -> pm.Model:
    """Multinomial-logit vote shares with a Dirichlet likelihood (overdispersion), log money (diminishing
    returns), support/oppose effects partially pooled across cycles and districts, incumbency,
    endorsements, turnout interactions (turnout imputed by its era mean where unknown: a latent turnout
    that enters only through an interaction is a bilinear term the data cannot pin down), and an on-cycle x
    UTLA term for the move to high-turnout even-year elections in 2020, known for every race. Race-level
    terms (on-cycle, turnout) have no main effect: they cancel in the within-race softmax.

    money='latent': true IE per candidate and stance is a latent quantity constrained by the reported
    figures (exact, approximate, lower bounds, combined sums); money='plugin': the plug-in totals."""
    if money not in ("latent", "plugin"):
        raise ValueError("money must be 'latent' or 'plugin'")
    coords = {
        "candidate": [f"{r} {c}" for r, c in zip(data.frame.race_id, data.frame.candidate_id, strict=True)],
        "race": data.race_ids,
        "cycle": data.cycles,
        "district": data.districts,
        "component": data.component_label,
    }
    if money == "latent":
        coords["cell"] = [f"{r} {c} {s}" for r, c, s in data.money.cells.to_numpy()]
        coords["figure"] = list(range(len(data.money.amount_usd)))
    with pm.Model(coords=coords) as model:
        # Observed shares and race weights are data, not constants: SBC swaps in simulated shares and
        # leave-one-cycle-out sets a held-out cycle's weights to 0, both without recompiling (fit.sample_each).
        log_share = pm.Data("log_component_share", np.log(data.component_share), dims="component")
        race_weight = pm.Data("race_weight", np.ones(data.n_race), dims="race")
        b = {n: prior_rv(n, priors) for n in ("beta_incumbent", "beta_utla", "beta_ccsa")}
        b_turnout_utla = prior_rv("beta_turnout_utla", priors)
        b_turnout_support = prior_rv("beta_turnout_support", priors)
        b_oncycle_utla = prior_rv("beta_oncycle_utla", priors)
        slopes = {}
        for stance in ("support", "oppose"):
            mean = prior_rv(f"beta_{stance}", priors)
            tau_c = prior_rv(f"tau_cycle_{stance}", _alias(priors, "tau_cycle"))
            tau_d = prior_rv(f"tau_district_{stance}", _alias(priors, "tau_district"))
            z_c = pm.Normal(f"z_cycle_{stance}", 0, 1, dims="cycle")
            z_d = pm.Normal(f"z_district_{stance}", 0, 1, dims="district")
            pm.Deterministic(f"beta_{stance}_cycle", mean + tau_c * z_c, dims="cycle")
            slopes[stance] = mean + tau_c * z_c[data.cycle_idx] + tau_d * z_d[data.district_idx]
        if money == "latent":
            log_support, log_oppose = _latent_money(data, priors)
        else:
            log_support, log_oppose = data.log_support, data.log_oppose
        tz = turnout_z(data.turnout_filled, data.turnout_centre)[data.race_idx]
        eta = pm.Deterministic(
            "eta",
            slopes["support"] * log_support
            + slopes["oppose"] * log_oppose
            + b["beta_incumbent"] * data.incumbent
            + b["beta_utla"] * data.utla
            + b["beta_ccsa"] * data.ccsa
            + b_turnout_utla * data.utla * tz
            + b_turnout_support * log_support * tz
            + b_oncycle_utla * data.utla * data.on_cycle[data.race_idx],
            dims="candidate",
        )
        concentration = prior_rv("concentration", priors)
        loglik = dirichlet_loglik(eta, concentration, data, xp=_PT, log_share=log_share)
        pm.Potential("vote_share_loglik", (race_weight * loglik).sum())
    return model


def _alias(priors: dict[str, Prior], name: str) -> dict[str, Prior]:
    """The same prior under the support- and oppose-specific names the model uses."""
    return {f"{name}_support": priors[name], f"{name}_oppose": priors[name]}


def _latent_money(data: VoteShareData, priors: dict[str, Prior]) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Latent log true money per cell, tied to the evidence by Potentials; returns log(1+$k) per candidate."""
    ev = data.money
    mu = prior_rv("money_log_mu", priors)
    sd = prior_rv("money_log_sigma", priors)
    # Centred: most cells are pinned by a figure far more tightly than by the pooled prior.
    log_k = pm.Normal("log_money_k", mu, sd, dims="cell")
    true_k = pm.Deterministic("money_k", pt.exp(log_k), dims="cell")  # true IE in $ thousands
    log_total = pt.log(pt.as_tensor(ev.incidence) @ true_k)
    log_reported = pm.Data("log_reported_money_k", np.log(ev.amount_usd / 1000.0), dims="figure")
    for kind, sd_kind in (("exact", MONEY_SD_EXACT), ("approx", MONEY_SD_APPROX)):
        m = np.flatnonzero(ev.kind == kind)
        if m.size:
            pm.Potential(f"money_{kind}", pm.logp(pm.Normal.dist(log_total[m], sd_kind), log_reported[m]).sum())
    m = np.flatnonzero(ev.kind == "lower")
    if m.size:
        gap = log_total[m] - log_reported[m]
        step = pm.logcdf(pm.Normal.dist(0.0, MONEY_SD_LOWER_STEP), gap)
        pm.Potential("money_lower", (step + pm.logp(pm.Normal.dist(0.0, MONEY_SD_LOWER_GAP), gap)).sum())
    padded = pt.concatenate([pt.log1p(true_k), pt.zeros(1)])  # index -1 = no figure = no money
    return padded[data.support_cell], padded[data.oppose_cell]


class _Numpy:
    """Array operations for the numpy twin (draws on leading axes, candidates/races last)."""

    exp, log, gammaln = staticmethod(np.exp), staticmethod(np.log), staticmethod(gammaln)

    @staticmethod
    def segment_sum(x, idx, n):
        """Sum the last axis of x into n groups."""
        out = np.zeros((*x.shape[:-1], n))
        np.add.at(out, (..., idx), x)
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
