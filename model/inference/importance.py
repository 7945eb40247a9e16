"""Pareto-smoothed importance sampling (PSIS) of one posterior towards another: the held-out fits of
leave-one-cycle-out, the runoff forecast and the prior sweep without refitting, each with the Pareto k-hat that
says when the approximation cannot be trusted and an exact refit is needed (Vehtari, Simpson, Gelman, Yao &
Gabry 2024, "Pareto smoothed importance sampling", JMLR 25(72)).

The smoothing itself is arviz-stats's (psislw); what is ours is the log ratio of each use, and the resampling
that turns weighted draws into ordinary ones, so that every product (P(first), interval coverage, effects)
reads them as it reads a refit's draws.

Why not arviz-stats's reloo, loo_kfold(group_by=) and lfo_cv directly: they weight by the pointwise
log-likelihood stored in the posterior, so a held-out cycle would keep its own parameters at values fitted to
the very races held out (15 nats too optimistic in the issue's scratch runs); here the ratio is the cycle's
likelihood with those parameters integrated over their population, computed from the model's numpy twins, and
the products need resampled draws rather than an ELPD. Their refit step is ours too: one compiled model with
per-race weights (sampling.sample_each) instead of a SamplingWrapper that rebuilds it per fold."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import xarray as xr
from arviz_stats.base import array_stats
from scipy.special import logsumexp

# Monte Carlo draws of a held-out group's own parameters per posterior draw, for its marginal likelihood.
INNER_DRAWS = 24
# The fewest effective draws a reweighted posterior may rest on, whatever its k-hat: with n effective draws a
# P(first) has a Monte Carlo sd up to 0.5 / sqrt(n), 0.05 at n = 100, half of `make validate`'s 0.1 tolerance, and
# the log score of an unlikely winner far more; a fold or date resting on fewer is refitted (own money's 2019 fold
# had k-hat 0.68 but 83 effective draws of 12,000, and its log score was 0.13 nats from its refit's).
MIN_IS_ESS = 100.0


@dataclass(frozen=True)
class Reweighted:
    """Draws of the target posterior by importance resampling, with the diagnostic of the weights."""

    draws: dict[str, np.ndarray]  # name -> (draw, ...) resampled draws
    khat: float  # Pareto k-hat of the importance ratios
    ess: float  # effective sample size of the smoothed weights

    @property
    def reliable(self) -> bool:
        """Whether k-hat is within khat_threshold for the number of draws and the weights keep at least MIN_IS_ESS
        effective draws (else: refit)."""
        return self.khat <= khat_threshold(len(next(iter(self.draws.values())))) and self.ess >= MIN_IS_ESS


def khat_threshold(n_draws: int) -> float:
    """The largest k-hat at which PSIS with n_draws draws is reliable: min(1 - 1/log10(S), 0.7) (Vehtari et al.
    2024, section 3.2.5): with fewer draws the pre-asymptotic error grows before k reaches 0.7."""
    return float(min(1.0 - 1.0 / np.log10(max(n_draws, 11)), 0.7))


def smoothed_log_weights(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised Pareto-smoothed log weights and the k-hat of the ratios (arviz-stats psislw).

    r_eff = 1: the ratios are functions of thinned draws from several chains with ESS close to the draw count
    for the quantities they depend on; a smaller r_eff only enlarges the tail that is smoothed. Ratios that are
    all equal (the target is the proposal) give equal weights and k-hat -inf; a tail too short or too tied to
    fit, or one whose fit overflows, keeps the raw weights with k-hat inf, so the caller refits."""
    log_ratios = np.asarray(log_ratios, dtype=float)
    finite = np.isfinite(log_ratios)
    if not finite.any():
        return np.full(len(log_ratios), -np.log(len(log_ratios))), float("inf")
    log_ratios = np.where(finite, log_ratios, -np.inf)  # a draw with zero likelihood in the target: zero weight
    if np.ptp(log_ratios[finite]) < 1e-12 and finite.all():
        return np.full(len(log_ratios), -np.log(len(log_ratios))), float("-inf")
    try:
        # psislw takes log-likelihoods, as in leave-one-out, and smooths their negation (the LOO ratio 1 / p(y_i)).
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            lw, khat = array_stats.psislw(np.max(log_ratios[finite]) - log_ratios, r_eff=1.0)
    except ValueError:  # fewer than 5 tail draws, or a tail of ties: no Pareto fit, so no trust in the weights
        lw, khat = log_ratios, float("inf")
    if not np.isfinite(lw[finite]).all():  # extreme weights overflowed inside the tail fit: raw weights, untrusted
        lw, khat = log_ratios, float("inf")
    lw = np.where(finite, lw, -np.inf)
    return lw - logsumexp(lw), float(khat)


def resample(log_weights: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Indices of n draws taken in proportion to their weights (systematic resampling: the least added noise)."""
    w = np.exp(log_weights - logsumexp(log_weights))
    n = n or len(w)
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)


def reweight(post: dict[str, np.ndarray], log_ratios: np.ndarray, rng: np.random.Generator) -> Reweighted:
    """The draws of post importance-resampled by the given log ratios (target over proposal density)."""
    lw, khat = smoothed_log_weights(log_ratios)
    ess = float(1.0 / np.sum(np.exp(2 * lw)))
    idx = resample(lw, rng)
    return Reweighted({k: np.asarray(v)[idx] for k, v in post.items()}, khat, ess)


def marginal_log_lik(per_inner: np.ndarray) -> np.ndarray:
    """log of the Monte Carlo mean over inner draws (axis 0) of the likelihood: log p(y | global parameters)
    with the group's own parameters integrated over their population (Merkle, Furr & Rabe-Hesketh 2019)."""
    return logsumexp(per_inner, axis=0) - np.log(per_inner.shape[0])


def as_idata(draws: dict[str, np.ndarray]) -> SimpleNamespace:
    """Resampled draws dressed as a one-chain posterior, for functions that read idata.posterior[name]."""
    data = {
        name: (("chain", "draw", *[f"{name}_dim_{i}" for i in range(np.ndim(v) - 1)]), np.asarray(v)[None])
        for name, v in draws.items()
    }
    return SimpleNamespace(posterior=xr.Dataset(data))


def log_prior_draws(post: dict[str, np.ndarray], priors: dict) -> np.ndarray:
    """Sum over the named priors (model/priors.py) of each draw's log density (draw,): a parameter created by
    prior_rv(name) is the posterior variable of that name; the per-stance group scales (tau_cycle_support ...)
    take the prior of their shared name (tau_cycle)."""
    n = len(next(iter(post.values())))
    total = np.zeros(n)
    for var, x in post.items():
        prior = priors.get(var) or priors.get(var.rsplit("_", 1)[0] if var.startswith("tau_") else "")
        if prior is not None:  # a vector parameter: its elements share the prior
            total += prior.logpdf(np.asarray(x).reshape(n, -1)).sum(axis=1)
    return total


def reweight_to_priors(post: dict[str, np.ndarray], old: dict, new: dict, rng: np.random.Generator) -> Reweighted:
    """The posterior under other priors of the same families and parameters, by PSIS: each draw weighted by
    p_new(theta) / p_old(theta) (the likelihood is unchanged)."""
    return reweight(post, log_prior_draws(post, new) - log_prior_draws(post, old), rng)
