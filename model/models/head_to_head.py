"""head_to_head: a normal linear model of the logit two-way share of the top two on their differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy.stats import norm

from model.models.base import BayesModel, Inputs, draws, prior_rv
from model.models.points import Effect
from model.models.vote_share import race_cycles, vote_share_effects
from model.priors import Prior

# The differences every head-to-head fit uses; each endorsement term adds d_<term> with prior beta_<term>.
BASE_TERMS = ("d_log_support", "d_log_oppose", "d_incumbent")
BASE_PRIORS = ("beta_support", "beta_oppose", "beta_incumbent")


def head_to_head_columns(h2h: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The difference columns of head-to-head rows (base terms, then d_<term> per endorsement term) and the
    prior name of each."""
    extra = [c for c in h2h.columns if c.startswith("d_") and c not in BASE_TERMS]
    return [*BASE_TERMS, *extra], [*BASE_PRIORS, *(f"beta_{c.removeprefix('d_')}" for c in extra)]


# A fold needs this many head-to-head races in the other cycles (fewer cannot pin down 6 parameters).
MIN_TRAINING_ROWS = 5


def head_to_head_model(h2h: pd.DataFrame, priors: dict[str, Prior], weighted: bool = False) -> pm.Model:
    """Normal linear model of the logit two-way share of candidate a on a-minus-b differences.

    No intercept (orientation is arbitrary). Under a multinomial logit, logit(a's two-way share) is exactly
    eta_a - eta_b, so these coefficients estimate the same quantities as the vote-share models'.
    weighted=True: the likelihood is a Potential with per-race weights (pm.Data 'race_weight', 1 by default),
    so leave-one-cycle-out can zero a cycle's races without recompiling; it then has no observed variable."""
    rows = h2h.dropna(subset=["logit_share_a"])
    columns, names = head_to_head_columns(h2h)
    defaults = {n: Prior("normal", {"mu": 0.0, "sigma": 1.0}, n) for n in names if n not in priors}
    priors = {**defaults, **priors}  # an endorsement term's documented default when the priors lack it
    coords = {"race": rows.race_id.to_list(), "term": columns}
    with pm.Model(coords=coords) as model:
        x = pm.Data("x", rows[columns].to_numpy(dtype=float), dims=("race", "term"))
        # Data, not a constant, so that SBC can swap in simulated outcomes without recompiling (sample_each).
        y = pm.Data("logit_share_a_data", rows.logit_share_a.to_numpy(dtype=float), dims="race")
        beta = pt.stack([prior_rv(name, priors) for name in names])
        sigma = prior_rv("sigma_head_to_head", priors)
        if weighted:
            weight = pm.Data("race_weight", np.ones(len(rows)), dims="race")
            loglik = pm.logp(pm.Normal.dist(x @ beta, sigma), y)
            pm.Potential("logit_share_a_loglik", (weight * loglik).sum())
        else:
            pm.Normal("logit_share_a", mu=x @ beta, sigma=sigma, observed=y, dims="race")
    return model


class HeadToHead(BayesModel):
    """The head-to-head model behind the registry protocol."""

    name = "head_to_head"
    label = "Bayes: head-to-head"
    description = (
        "Normal model of the logit two-way share of each race's top two on their differences in money, "
        "incumbency and endorsements; comparable with the classical OLS."
    )
    gated = ("beta_", "sigma_head_to_head")
    figure_vars = (*BASE_PRIORS, "sigma_head_to_head")
    observed_var = loo_var = "logit_share_a"
    ppc_xlabel = "logit of candidate a's two-way share"
    sbc_parameters = (*BASE_PRIORS, "sigma_head_to_head")
    loco_seed_offset = 100

    def rows(self, inputs: Inputs) -> pd.DataFrame:
        """Head-to-head rows with a known two-way share."""
        return inputs.h2h.dropna(subset=["logit_share_a"])

    def n_rows(self, inputs: Inputs) -> int:
        """Head-to-head rows with a known share."""
        return len(self.rows(inputs))

    def cannot_run(self, inputs: Inputs) -> str | None:
        """Needs more races with a known top two than coefficients."""
        n = len(self.rows(inputs))
        k = len(head_to_head_columns(inputs.h2h)[0]) + 1
        if n <= k:
            return f"only {n} race-rounds with a known top two, fewer than the model's {k} parameters"
        return None

    def build(self, inputs: Inputs, priors: dict[str, Prior], weighted: bool = False) -> pm.Model:
        """The PyMC model on the head-to-head rows."""
        return head_to_head_model(inputs.h2h, priors, weighted)

    def add_groups(self, idata, pm_model: pm.Model, inputs: Inputs, prior, rng: np.random.Generator, seed: int):
        """Posterior predictive, log-likelihood and log-prior from PyMC (the likelihood is an observed RV)."""
        with pm_model:
            pm.sample_posterior_predictive(idata, random_seed=seed, extend_inferencedata=True, progressbar=False)
            pm.stats.compute_log_likelihood(idata, extend_inferencedata=True, progressbar=False)
            pm.stats.compute_log_prior(idata, extend_inferencedata=True, progressbar=False)
        idata["prior_predictive"] = prior.prior_predictive

    def effects(self, inputs: Inputs) -> tuple[Effect, ...]:
        """Money slopes, incumbency and each endorsement term."""
        return tuple(e for e in vote_share_effects(inputs.data.terms) if e.parameter in self._names(inputs))

    def _names(self, inputs: Inputs) -> list[str]:
        """Coefficient names on these inputs."""
        return head_to_head_columns(inputs.h2h)[1]

    def figure_vars_for(self, inputs: Inputs) -> tuple[str, ...]:
        """Every coefficient and the residual sd."""
        return (*self._names(inputs), "sigma_head_to_head")

    def sbc_parameters_for(self, inputs: Inputs) -> tuple[str, ...]:
        """Every coefficient and the residual sd."""
        return (*self._names(inputs), "sigma_head_to_head")

    def simulate(self, inputs: Inputs, truth: dict[str, np.ndarray], rng: np.random.Generator) -> dict | None:
        """The prior predictive draw of the outcome is the simulated dataset."""
        return {"logit_share_a_data": np.asarray(truth["logit_share_a"], dtype=float)}

    def _row_cycles(self, inputs: Inputs) -> np.ndarray:
        """Cycle of each head-to-head row."""
        if inputs.cr is not None:
            cycle_of_race = inputs.cr.groupby("race_id").cycle.first()
        else:
            cycle_of_race = pd.Series(race_cycles(inputs), index=inputs.data.race_ids)
        return cycle_of_race.reindex(self.rows(inputs).race_id).to_numpy()

    def loco_update(self, inputs: Inputs, cycle: int) -> dict[str, np.ndarray] | None:
        """Race weights that drop the cycle's rows; None without held-out rows or enough training rows."""
        row_cycle = self._row_cycles(inputs)
        if (row_cycle != cycle).sum() < MIN_TRAINING_ROWS or not (row_cycle == cycle).any():
            return None
        return {"race_weight": (row_cycle != cycle).astype(float)}

    def p_first(self, idata, inputs: Inputs, held_out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """P(first) of the held-out rows from the top-two prediction (see head_to_head_probabilities)."""
        frame = inputs.data.frame[held_out]
        rows = self.rows(inputs)
        test = rows[rows.race_id.isin(set(frame.race_id))]
        return head_to_head_probabilities(idata, test, frame)


def head_to_head_probabilities(idata, test: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """P(first) from a head-to-head fit for the held-out top two (test: their head-to-head rows); other
    candidates get 0 (the model only speaks about the top two), races without a head-to-head row an even split."""
    columns, names = head_to_head_columns(test)
    beta = np.stack([draws(idata, n) for n in names])
    sigma = draws(idata, "sigma_head_to_head")
    x = test[columns].to_numpy(float)
    p_a = norm.sf(0, loc=x @ beta, scale=sigma).mean(axis=1)  # P(logit share of a > 0) = P(a finishes first of two)
    p = np.array([1.0 / n for n in frame.groupby("race_id").candidate_id.transform("size")])
    for (race_id, a, b), pa in zip(test[["race_id", "candidate_a", "candidate_b"]].to_numpy(), p_a, strict=True):
        in_race = frame.race_id.to_numpy() == race_id
        p[in_race] = 0.0
        p[in_race & (frame.candidate_id.to_numpy() == a)] = pa
        p[in_race & (frame.candidate_id.to_numpy() == b)] = 1 - pa
    return p
