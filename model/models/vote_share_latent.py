"""vote_share_latent: the vote-share model with true IE per candidate and stance as a latent quantity that the
reported figures (exact, approximate, lower bounds, combined sums) constrain."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import scipy.sparse as sp
from scipy import stats

from model.dataset.features import VoteShareData
from model.models.base import Inputs, draws, prior_rv, sparse_matvec
from model.models.vote_share import VoteShareModel
from model.priors import Prior

# Measurement model of reported IE figures, on the log scale. An exact final filing is taken to within
# 2 %, an "about $X" press figure to within 15 % (rounding to one or two significant digits). A lower
# bound ("more than $X", or a running total weeks before the vote) says the true total is above X by a
# half-normal gap of sd 0.35 (a final total typically 0-70 % above the figure; an assumption, not an
# estimate: with bounds alone, nothing caps the money and the pooled scale runs off to infinity). The
# bound itself is a soft step 5 % wide (a hard step would give NUTS a discontinuity). An upper bound ("at most $X",
# e.g. a total dated after election day that includes later money) mirrors it: the true total is below X by a
# half-normal gap of the same sd 0.35 (an assumption too), behind the same soft step.
MONEY_SD_EXACT = 0.02
MONEY_SD_APPROX = 0.15
MONEY_SD_LOWER_GAP = 0.35
MONEY_SD_LOWER_STEP = 0.05
MONEY_SD_UPPER_GAP = MONEY_SD_LOWER_GAP


class VoteShareLatent(VoteShareModel):
    """Vote shares with latent true money (the main model)."""

    name = "vote_share_latent"
    label = "Bayes: vote share, latent money"
    description = (
        "Multinomial-logit vote shares with Dirichlet noise; true IE is a latent quantity that the reported "
        "figures (exact, about, at least, running totals, combined sums) constrain."
    )
    sbc_parameters: tuple[str, ...] = (*VoteShareModel.sbc_parameters, "money_log_mu", "money_log_sigma")
    runoff_forecast = True  # the cross-sectional benchmark of the candidate-aware main model

    def cannot_run(self, inputs: Inputs) -> str | None:
        """Also needs at least one reported IE figure: with none there is no money to measure."""
        return super().cannot_run(inputs) or (
            "no independent-expenditure figure in the data, so there is no money to model as latent"
            if len(inputs.data.money.amount_usd) == 0
            else None
        )

    def coords(self, data: VoteShareData) -> dict[str, list]:
        """Adds the money cells (candidate-round x stance) and the reported figures."""
        coords = super().coords(data)
        coords["cell"] = [f"{r} {c} {s}" for r, c, s in data.money.cells.to_numpy()]
        coords["figure"] = list(range(len(data.money.amount_usd)))
        return coords

    def log_money(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False):
        """Latent log true money per cell, tied to the evidence by Potentials; returns log(1+$k) per candidate."""
        if plug_in:
            return super().log_money(data, priors, plug_in)
        ev = data.money
        mu = prior_rv("money_log_mu", priors)
        sd = prior_rv("money_log_sigma", priors)
        # Centred: most cells are pinned by a figure far more tightly than by the pooled prior.
        log_k = pm.Normal("log_money_k", mu, sd, dims="cell")
        true_k = pm.Deterministic("money_k", pt.exp(log_k), dims="cell")  # true IE in $ thousands
        # Dense as it always was; sparse (a tiled benchmark dataset) as a scatter-add of the non-zeros.
        log_total = pt.log(
            sparse_matvec(ev.incidence, true_k) if sp.issparse(ev.incidence) else pt.as_tensor(ev.incidence) @ true_k
        )
        log_reported = pm.Data("log_reported_money_k", np.log(ev.amount_usd / 1000.0), dims="figure")
        for kind, sd_kind in (("exact", MONEY_SD_EXACT), ("approx", MONEY_SD_APPROX)):
            m = np.flatnonzero(ev.kind == kind)
            if m.size:
                pm.Potential(f"money_{kind}", pm.logp(pm.Normal.dist(log_total[m], sd_kind), log_reported[m]).sum())
        m = np.flatnonzero(ev.kind == "lower")
        if m.size:
            pm.Potential("money_lower", soft_bound_logp(log_total[m] - log_reported[m], MONEY_SD_LOWER_GAP))
        m = np.flatnonzero(ev.kind == "upper")
        if m.size:
            pm.Potential("money_upper", soft_bound_logp(log_reported[m] - log_total[m], MONEY_SD_UPPER_GAP))
        padded = pt.concatenate([pt.log1p(true_k), pt.zeros(1)])  # index -1 = no figure = no money
        return padded[data.support_cell], padded[data.oppose_cell]

    def simulate(self, inputs: Inputs, truth: dict[str, np.ndarray], rng: np.random.Generator) -> dict | None:
        """Shares as the base model, plus reported money figures drawn from the measurement model."""
        update = super().simulate(inputs, truth, rng)
        if update is not None:
            money = simulate_money_evidence(truth["money_k"], inputs.data, rng).money
            update["log_reported_money_k"] = np.log(money.amount_usd / 1000.0)
        return update

    def tables(self, idata, inputs: Inputs, rng: np.random.Generator, reference_usd: float) -> dict[str, pd.DataFrame]:
        """The base tables plus each reported figure next to its posterior total."""
        return {
            **super().tables(idata, inputs, rng, reference_usd),
            "money-evidence": money_evidence_table(idata, inputs.data),
        }


def soft_bound_logp(gap, sd_gap: float):
    """Log density (summed) of the gap between a bounded total and its bound on the log scale (true - reported for a
    lower bound, reported - true for an upper one): a half-normal of sd sd_gap behind a soft step MONEY_SD_LOWER_STEP
    wide, Phi(gap / step) * phi(gap / sd_gap); money beyond the bound (a negative gap) is penalised by the step."""
    step = pm.logcdf(pm.Normal.dist(0.0, MONEY_SD_LOWER_STEP), gap)
    return (step + pm.logp(pm.Normal.dist(0.0, sd_gap), gap)).sum()


def bound_gaps(sd_gap: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n gaps between a bounded total and its bound drawn from soft_bound_logp's density: a skew-normal with scale
    sd_gap and shape sd_gap / step, so simulating from it makes the Potential the exact likelihood."""
    return stats.skewnorm.rvs(sd_gap / MONEY_SD_LOWER_STEP, scale=sd_gap, size=n, random_state=rng)


def simulate_money_evidence(money_k: np.ndarray, data: VoteShareData, rng: np.random.Generator) -> VoteShareData:
    """Reported IE figures drawn from the latent-money measurement model given true money per cell ($k).

    Exact and approximate figures are lognormal around the true total. A lower bound's log gap below the
    total has density proportional to Phi(gap / step) * phi(gap / sd), which is a skew-normal with scale sd
    and shape sd / step, so simulating from it makes the model's Potential the exact likelihood; an upper bound's
    gap above the total likewise (bound_gaps)."""
    ev = data.money
    log_total = np.log(ev.incidence @ money_k)
    log_reported = log_total.copy()
    for kind, sd in (("exact", MONEY_SD_EXACT), ("approx", MONEY_SD_APPROX)):
        m = ev.kind == kind
        log_reported[m] += rng.normal(0.0, sd, m.sum())
    m = ev.kind == "lower"
    log_reported[m] -= bound_gaps(MONEY_SD_LOWER_GAP, m.sum(), rng)
    m = ev.kind == "upper"
    log_reported[m] += bound_gaps(MONEY_SD_UPPER_GAP, m.sum(), rng)
    return dataclasses.replace(data, money=dataclasses.replace(ev, amount_usd=np.exp(log_reported) * 1000.0))


def money_evidence_table(idata, data: VoteShareData) -> pd.DataFrame:
    """Each reported IE figure (or plug-in sum) next to the posterior total of the cells it covers (no rows when
    the data have no IE figure, as for races with only the candidates' own money)."""
    ev = data.money
    if len(ev.amount_usd) == 0 or "money_k" not in idata.posterior:
        columns = ["race_id", "covers", "kind", "reported_usd", "posterior_median_usd", "posterior_lo90_usd"]
        return pd.DataFrame(columns=[*columns, "posterior_hi90_usd", "spending_csv_lines"])
    total_k = draws(idata, "money_k") @ ev.incidence.T
    lo, med, hi = np.quantile(total_k * 1000, [0.05, 0.5, 0.95], axis=0)
    cells = [
        "; ".join(f"{c} {s}" for _r, c, s in ev.cells.iloc[np.flatnonzero(row)].to_numpy()) for row in ev.incidence
    ]
    races = [ev.cells.race_id.iloc[np.flatnonzero(row)[0]] for row in ev.incidence]
    return pd.DataFrame(
        {
            "race_id": races,
            "covers": cells,
            "kind": ev.kind,
            "reported_usd": ev.amount_usd,
            "posterior_median_usd": med.round(0),
            "posterior_lo90_usd": lo.round(0),
            "posterior_hi90_usd": hi.round(0),
            "spending_csv_lines": ev.source_rows,
        }
    )
