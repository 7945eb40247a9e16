"""Quantities people ask for, from posterior draws: effects in points of vote share, counterfactuals, P(win).

The computations live with the models (model/models/) and in model/points.py; these are the stable entry
points, for the main model unless another is given."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model import models
from model.features import VoteShareData
from model.models.base import draws, posterior_draws
from model.models.dirichlet import p_first
from model.models.vote_share import VoteShareModel, win_probability_curve
from model.models.vote_share import counterfactuals as _counterfactuals
from model.points import INTERVAL, points_effects

__all__ = [
    "INTERVAL",
    "actual_log_money",
    "counterfactuals",
    "draws",
    "linear_predictor",
    "p_first",
    "points_effects",
    "win_probability_curve",
]


def _vote_share_model(model: VoteShareModel | None) -> VoteShareModel:
    """The given vote-share model, else the main one."""
    return model or models.get(models.main_name())


def linear_predictor(idata, data: VoteShareData, log_support=None, log_oppose=None, model=None) -> np.ndarray:
    """eta (draws, candidate) of a vote-share model (default: the main one), with optional replacement money."""
    return _vote_share_model(model).eta_draws(posterior_draws(idata), data, log_support, log_oppose)


def actual_log_money(idata, data: VoteShareData, model=None) -> tuple[np.ndarray, np.ndarray]:
    """log(1+$k) support and oppose per candidate: latent draws when the fit has them, else plug-in."""
    return _vote_share_model(model).log_money_draws(posterior_draws(idata), data)


def counterfactuals(idata, data: VoteShareData, rng: np.random.Generator, model=None) -> pd.DataFrame:
    """Per candidate: expected share and P(first) as fitted, with equal spending and with no opposition IE
    (see model.models.vote_share.counterfactuals), for a vote-share model (default: the main one)."""
    return _counterfactuals(_vote_share_model(model), idata, data, rng)
