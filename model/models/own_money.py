"""vote_share_own_money: the candidate-aware model (VoteShareCarryover) plus candidates' own committee money as a
money channel beside IE for and against (issue 12).

Each candidate-round's own money is the largest committee figure (spent, else raised) among its cycle's reports
dated on or before the round's election day (model/dataset/finance.py says why). It enters the standard linear predictor
x as beta_own * log(1 + own $k), so a runoff built from its primary gets beta_own times the change in cumulative
own money since the primary, as IE does; with beta_own_incumbent (on when the priors file sets
[beta_own_incumbent]) an incumbent's own money has slope beta_own + beta_own_incumbent (Jacobson's incumbent
spending puzzle: a challenger's money buys more than an incumbent's).

Measurement: as IE's (vote_share_latent). Each candidate-round with a figure above $0 has a latent true own
money (own_money_k, $k; log-normal with pooled own_log_mu, own_log_sigma) that its figure constrains: an exact
figure within 2 %, an "about" figure within 15 %, and an "at least" figure or a running total (filed more than
two weeks before election day, model/dataset/finance.py) as a lower bound whose gap below the true total is half-normal
with sd OWN_SD_LOWER_GAP (wider than IE's: running totals here are often months old), and a total dated after election
day as an upper bound whose gap above the true money is half-normal with sd OWN_SD_UPPER_GAP, behind the same soft
step. A round may have both (a figure by election day and a later total), or only the later total (cycle totals filed
at year end). A candidate-round without a figure has no own money, like a candidate without an IE figure.
plug_in=True (the prior check) takes the figures at face value.

Races with no IE at all (most elections outside LAUSD) fit: the IE terms then enter with no money and the model
needs only one candidate-round with an own-money figure."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from model.dataset.features import MONEY_UNIT_USD, VoteShareData, log_money
from model.models.base import Inputs, prior_rv
from model.models.carryover import VoteShareCarryover, carryover_data
from model.models.informed import contrast_races
from model.models.points import Effect
from model.models.vote_share import VoteShareModel
from model.models.vote_share_latent import MONEY_SD_APPROX, MONEY_SD_EXACT, bound_gaps, soft_bound_logp
from model.priors import Prior

# 2019 D5's committees went from 0.9 to 9 times their 19 January figures by 2 March (log gap -0.1 to 2.2): a running
# total weeks before the vote can sit far below the final money, so its gap has sd 1 (IE's final-ish lower bounds:
# 0.35). An assumption, like IE's; with lower bounds alone nothing else caps the money.
OWN_SD_LOWER_GAP = 1.0
# A cumulative total filed after election day sits above the money by election day by what came in later: in the
# seven bundled candidate-rounds with a figure within two weeks of the vote (or a running total) and a later total,
# the log gap is 0.10-0.18 where the later total closes the candidate's last round and 0.60-0.98 where it also holds a
# runoff's money (root mean square 0.61). An assumption, like the others; not fitted to the votes.
OWN_SD_UPPER_GAP = 0.6


def log_own(data: VoteShareData) -> np.ndarray:
    """Plug-in log(1 + own $k) per candidate row; 0 where no figure exists."""
    return log_money(data.frame.own_usd.fillna(0.0).to_numpy(dtype=float))


def own_cells(data: VoteShareData) -> np.ndarray:
    """Candidate rows with a latent own money (a figure above $0), in row order."""
    return np.flatnonzero((data.frame.own_usd.fillna(0.0) > 0).to_numpy())


def own_cell_of_row(data: VoteShareData) -> np.ndarray:
    """(row,) index into own_cells, -1 for a row without own money."""
    out = np.full(len(data.frame), -1)
    cells = own_cells(data)
    out[cells] = np.arange(len(cells))
    return out


def own_change(data: VoteShareData, own=None):
    """Own money as it enters eta (numpy or PyMC, last axis = rows): log(1 + $k) for a fresh race, its change
    since the primary for a runoff built from its primary (the primary's money is already in the primary share
    the runoff carries over). own: log(1 + $k) per row (default: the plug-in figures)."""
    cd = carryover_data(data)
    own = log_own(data) if own is None else own
    runoff = cd.runoff > 0
    if isinstance(own, np.ndarray):
        return np.where(runoff, own - own[..., cd.primary_row], own)
    return pt.where(runoff, own - own[cd.primary_row], own)


def own_evidence(data: VoteShareData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reported own-money figures as evidence on the cells: (cell index, log reported $k, kind exact | approx |
    lower | upper) per figure. Each cell's figure first, in cell order (a round known only from a later total has
    that total, an upper bound); then the later totals above the rounds that also have a figure by election day."""
    f = data.frame.iloc[own_cells(data)]
    extra = np.flatnonzero(f.own_upper_usd.notna().to_numpy() & (f.own_evidence != "upper").to_numpy())
    cell = np.concatenate([np.arange(len(f)), extra])
    usd = np.concatenate([f.own_usd.to_numpy(dtype=float), f.own_upper_usd.to_numpy(dtype=float)[extra]])
    kind = np.concatenate([f.own_evidence.to_numpy(dtype=str), np.full(len(extra), "upper")])
    return cell, np.log(usd / MONEY_UNIT_USD), kind


def simulate_own_figures(own_k: np.ndarray, kind: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """log reported own money ($k) drawn from the measurement model given the true money behind each figure (SBC)."""
    log_reported = np.log(own_k).astype(float)
    for k, sd in (("exact", MONEY_SD_EXACT), ("approx", MONEY_SD_APPROX)):
        m = kind == k
        log_reported[m] += rng.normal(0.0, sd, m.sum())
    m = kind == "lower"
    log_reported[m] -= bound_gaps(OWN_SD_LOWER_GAP, m.sum(), rng)
    m = kind == "upper"
    log_reported[m] += bound_gaps(OWN_SD_UPPER_GAP, m.sum(), rng)
    return log_reported


class VoteShareOwnMoney(VoteShareCarryover):
    """The candidate-aware model plus candidates' own committee money (latent, measured like IE)."""

    # 3000, not 2000: at 4 x 2000 draws the max R-hat over seeds 1-5 was 1.0022-1.0054 (sigma_candidate, bulk ESS
    # 954-1234); at 4 x 3000 it is 1.0018-1.0041 (bulk ESS 1590-1836), far from the 1.01 gate, for about 10 s more
    # (tuning, not drawing, is most of its 80-90 s).
    draws = 3000
    name = "vote_share_own_money"
    label = "Bayes: vote share, candidates carry over, own committee money"
    description = (
        "The candidate-aware model plus the candidates' own committee money (spent, else raised, by election "
        "day; latent, like IE) as a money channel beside IE; fits races with candidate money and no IE."
    )
    gated: tuple[str, ...] = (*VoteShareCarryover.gated, "own_log")
    figure_vars: tuple[str, ...] = (*VoteShareCarryover.figure_vars, "beta_own")
    sbc_parameters: tuple[str, ...] = (*VoteShareCarryover.sbc_parameters, "beta_own", "own_log_mu", "own_log_sigma")
    runoff_forecast = False
    loco_seed_offset = 500

    def cannot_run(self, inputs: Inputs) -> str | None:
        """A contested race with a known share and at least one own-money figure above $0 (IE is optional; a total
        dated after election day counts, as an upper bound)."""
        reason = VoteShareModel.cannot_run(self, inputs)
        if reason is None and not (inputs.data.frame.own_usd.fillna(0.0) > 0).any():
            reason = "no candidate committee money figure above $0 for a modelled candidate"
        return reason

    def log_money(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False):
        """Latent IE as the main model; with no IE figure at all, no IE (no money to measure)."""
        if len(data.money.amount_usd) == 0:
            return VoteShareModel.log_money(self, data, priors, plug_in)
        return super().log_money(data, priors, plug_in)

    def coords(self, data: VoteShareData) -> dict[str, list]:
        """Adds the own-money cells (candidate-rounds with a figure)."""
        f = data.frame.iloc[own_cells(data)]
        return {
            **super().coords(data),
            "own_cell": [f"{r} {c}" for r, c in zip(f.race_id, f.candidate_id, strict=True)],
            "own_figure": list(range(len(own_evidence(data)[0]))),
        }

    def simulate(self, inputs: Inputs, truth: dict[str, np.ndarray], rng: np.random.Generator) -> dict | None:
        """As the main model (without IE figures: no IE evidence to draw), plus own-money figures."""
        if len(inputs.data.money.amount_usd) == 0:
            update = VoteShareModel.simulate(self, inputs, truth, rng)
        else:
            update = super().simulate(inputs, truth, rng)
        if update is not None:
            cell, _log_reported, kind = own_evidence(inputs.data)
            update["log_reported_own_k"] = simulate_own_figures(truth["own_money_k"][cell], kind, rng)
        return update

    def log_own(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False):
        """log(1 + true own $k) per row inside the model: latent, tied to the figures by Potentials."""
        if plug_in:
            return log_own(data)
        cell, log_reported, kind = own_evidence(data)
        mu = prior_rv("own_log_mu", priors)
        sd = prior_rv("own_log_sigma", priors)
        # Centred, as IE: most cells are pinned by their figure far more tightly than by the pooled prior.
        log_k = pm.Normal("log_own_money_k", mu, sd, dims="own_cell")
        own_k = pm.Deterministic("own_money_k", pt.exp(log_k), dims="own_cell")
        reported = pm.Data("log_reported_own_k", log_reported, dims="own_figure")
        for k, sd_k in (("exact", MONEY_SD_EXACT), ("approx", MONEY_SD_APPROX)):
            m = np.flatnonzero(kind == k)
            if m.size:
                pm.Potential(f"own_money_{k}", pm.logp(pm.Normal.dist(log_k[cell[m]], sd_k), reported[m]).sum())
        m = np.flatnonzero(kind == "lower")
        if m.size:
            pm.Potential("own_money_lower", soft_bound_logp(log_k[cell[m]] - reported[m], OWN_SD_LOWER_GAP))
        m = np.flatnonzero(kind == "upper")
        if m.size:
            pm.Potential("own_money_upper", soft_bound_logp(reported[m] - log_k[cell[m]], OWN_SD_UPPER_GAP))
        padded = pt.concatenate([pt.log1p(own_k), pt.zeros(1)])  # index -1 = no figure = no own money
        return padded[own_cell_of_row(data)]

    def log_own_draws(self, post: dict[str, np.ndarray], data: VoteShareData) -> np.ndarray:
        """log(1 + own $k) per row (draws or 1, row): latent draws when the fit has them, else the figures."""
        if "own_money_k" not in post:
            return log_own(data)[None]
        own_k = post["own_money_k"]
        padded = np.concatenate([np.log1p(own_k), np.zeros((len(own_k), 1))], axis=1)
        return padded[:, own_cell_of_row(data)]

    def eta(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False) -> pt.TensorVariable:
        """The candidate-aware predictor plus beta_own (and, when switched on, beta_own_incumbent) x own money."""
        eta = super().eta(data, priors, plug_in)
        own = own_change(data, self.log_own(data, priors, plug_in))
        eta = eta + prior_rv("beta_own", priors) * own
        if own_incumbent_on(priors):
            eta = eta + prior_rv("beta_own_incumbent", priors) * data.incumbent * own
        return eta

    def eta_draws(
        self, post: dict[str, np.ndarray], data: VoteShareData, log_support=None, log_oppose=None
    ) -> np.ndarray:
        """The numpy twin of eta over posterior draws (draws, row), with optional replacement IE."""
        return super().eta_draws(post, data, log_support, log_oppose) + self.own_term_draws(post, data)

    def eta_given_primaries(self, post: dict[str, np.ndarray], data: VoteShareData, cd) -> np.ndarray:
        """The carryover eta with the given primary shares plus the own-money term (simulated runoffs)."""
        return super().eta_given_primaries(post, data, cd) + self.own_term_draws(post, data)

    def own_term_draws(self, post: dict[str, np.ndarray], data: VoteShareData) -> np.ndarray:
        """beta_own (plus beta_own_incumbent for an incumbent) x own money as it enters eta (draws, row)."""
        own = own_change(data, self.log_own_draws(post, data))
        term = post["beta_own"][:, None] * own
        if "beta_own_incumbent" in post:
            term = term + post["beta_own_incumbent"][:, None] * data.incumbent * own
        return term

    def money_channels(self, post: dict[str, np.ndarray], data: VoteShareData) -> dict[str, tuple]:
        """IE for and against, plus own money: slope beta_own (plus beta_own_incumbent for an incumbent)."""
        slope = np.broadcast_to(post["beta_own"][:, None], (len(post["beta_own"]), len(data.frame)))
        if "beta_own_incumbent" in post:
            slope = slope + post["beta_own_incumbent"][:, None] * data.incumbent
        return {**super().money_channels(post, data), "own": (self.log_own_draws(post, data), slope)}

    def effects(self, inputs: Inputs) -> tuple[Effect, ...]:
        """The candidate-aware model's effects plus own money (and its incumbent difference, if on), quoted from the
        own-money reference (without IE figures the IE slopes are their priors: uninformed says so)."""
        return (
            *super().effects(inputs),
            Effect("beta_own", "own committee money", "money", "own"),
            Effect("beta_own_incumbent", "own committee money, incumbent minus challenger", "money", "own"),
        )

    def uninformed(self, inputs: Inputs) -> dict[str, str]:
        """The candidate-aware model's reasons plus own money's: a race with candidates who differ in it, and for the
        incumbent difference an incumbent and a challenger who have some."""
        data = inputs.data
        out = super().uninformed(inputs)
        own = np.where(own_cell_of_row(data) >= 0, np.maximum(log_own(data), 1.0), 0.0)
        if not contrast_races(own, data.race_idx, data.n_race).any():
            out["beta_own"] = "no race has candidates who differ in own committee money"
        has = own > 0
        if not ((has & (data.incumbent > 0)).any() and (has & (data.incumbent == 0)).any()):
            out["beta_own_incumbent"] = "own committee money is known for no incumbent or for no challenger"
        return out


def own_incumbent_on(priors: dict[str, Prior]) -> bool:
    """Whether the incumbent x own-money term is switched on: the priors carry beta_own_incumbent."""
    return "beta_own_incumbent" in priors
