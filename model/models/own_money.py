"""vote_share_own_money: the candidate-aware model (VoteShareCarryover) plus candidates' own committee money as a
money channel beside IE for and against (issue 12).

Each candidate-round's own money is the largest committee figure (spent, else raised) among its cycle's reports
dated on or before the round's election day (model/finance.py says why). It enters the standard linear predictor
x as beta_own * log(1 + own $k), so a runoff built from its primary gets beta_own times the change in cumulative
own money since the primary, as IE does; with beta_own_incumbent (on when the priors file sets
[beta_own_incumbent]) an incumbent's own money has slope beta_own + beta_own_incumbent (Jacobson's incumbent
spending puzzle: a challenger's money buys more than an incumbent's).

Measurement: plug-in. The figure is taken at face value whatever its bound (exact, about, at least) and however
long before election day it was filed, and a candidate-round without a figure has no own money, like a
candidate without an IE figure. The latent treatment of IE (exact / about / at-least evidence on a latent true
total) is not applied to own money yet; own_kind in model_rows.csv keeps each figure's kind for it.

Races with no IE at all (most elections outside LAUSD) fit: the IE terms then enter with no money and the model
needs only one candidate-round with an own-money figure."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from model.features import VoteShareData, log_money
from model.models.base import Inputs, prior_rv
from model.models.carryover import VoteShareCarryover, carryover_data
from model.models.vote_share import VoteShareModel
from model.points import Effect
from model.priors import Prior


def log_own(data: VoteShareData) -> np.ndarray:
    """log(1 + own $k) per candidate row; 0 where no figure exists."""
    return log_money(data.frame.own_usd.fillna(0.0).to_numpy(dtype=float))


def own_change(data: VoteShareData) -> np.ndarray:
    """Own money as it enters eta: log(1 + $k) for a fresh race, its change since the primary for a runoff built
    from its primary (the primary's money is already in the primary share the runoff carries over)."""
    cd = carryover_data(data)
    own = log_own(data)
    return np.where(cd.runoff > 0, own - own[cd.primary_row], own)


class VoteShareOwnMoney(VoteShareCarryover):
    """The candidate-aware model plus candidates' own committee money (plug-in)."""

    name = "vote_share_own_money"
    label = "Bayes: vote share, candidates carry over, own committee money"
    description = (
        "The candidate-aware model plus the candidates' own committee money (spent, else raised, by election "
        "day; plug-in) as a money channel beside IE; fits races with candidate money and no IE."
    )
    figure_vars = (*VoteShareCarryover.figure_vars, "beta_own")
    sbc_parameters = (*VoteShareCarryover.sbc_parameters, "beta_own")
    runoff_forecast = False
    loco_seed_offset = 500

    def cannot_run(self, inputs: Inputs) -> str | None:
        """A contested race with a known share and at least one own-money figure above $0 (IE is optional)."""
        reason = VoteShareModel.cannot_run(self, inputs)
        if reason is None and not (inputs.data.frame.own_usd.fillna(0.0) > 0).any():
            reason = "no candidate committee money figure dated by election day for a modelled candidate"
        return reason

    def log_money(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False):
        """Latent IE as the main model; with no IE figure at all, no IE (no money to measure)."""
        if len(data.money.amount_usd) == 0:
            return VoteShareModel.log_money(self, data, priors, plug_in)
        return super().log_money(data, priors, plug_in)

    def simulate(self, inputs: Inputs, truth: dict[str, np.ndarray], rng: np.random.Generator) -> dict | None:
        """As the main model; without IE figures there is no money evidence to draw."""
        if len(inputs.data.money.amount_usd) == 0:
            return VoteShareModel.simulate(self, inputs, truth, rng)
        return super().simulate(inputs, truth, rng)

    def eta(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False) -> pt.TensorVariable:
        """The candidate-aware predictor plus beta_own (and, when switched on, beta_own_incumbent) x own money."""
        eta = super().eta(data, priors, plug_in)
        own = own_change(data)
        eta = eta + prior_rv("beta_own", priors) * own
        if own_incumbent_on(priors):
            eta = eta + prior_rv("beta_own_incumbent", priors) * data.incumbent * own
        return eta

    def eta_draws(
        self, post: dict[str, np.ndarray], data: VoteShareData, log_support=None, log_oppose=None
    ) -> np.ndarray:
        """The numpy twin of eta over posterior draws (draws, row), with optional replacement IE."""
        eta = super().eta_draws(post, data, log_support, log_oppose)
        own = own_change(data)
        eta = eta + post["beta_own"][:, None] * own
        if "beta_own_incumbent" in post:
            eta = eta + post["beta_own_incumbent"][:, None] * data.incumbent * own
        return eta

    def effects(self, inputs: Inputs) -> tuple[Effect, ...]:
        """The candidate-aware model's effects plus own money (and its incumbent difference, if on)."""
        return (
            *super().effects(inputs),
            Effect("beta_own", "own committee money", "money"),
            Effect("beta_own_incumbent", "own committee money, incumbent minus challenger", "money"),
        )


def own_incumbent_on(priors: dict[str, Prior]) -> bool:
    """Whether the incumbent x own-money term is switched on: the priors carry beta_own_incumbent."""
    return "beta_own_incumbent" in priors
