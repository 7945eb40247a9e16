"""Compatibility names for the model builders and likelihood twins, which now live in model/models/ (one module
per model behind the registry protocol). New code should use the registry (model.models)."""

from __future__ import annotations

import pandas as pd
import pymc as pm

from model.features import VoteShareData
from model.models import get
from model.models.base import Inputs, prior_rv
from model.models.dirichlet import (
    _NP,
    _PT,
    component_marginal_loglik,
    component_predictive,
    dirichlet_loglik,
    race_softmax,
)
from model.models.head_to_head import HEAD_TO_HEAD_PRIORS, HEAD_TO_HEAD_TERMS, head_to_head_model
from model.models.vote_share_latent import (
    MONEY_SD_APPROX,
    MONEY_SD_EXACT,
    MONEY_SD_LOWER_GAP,
    MONEY_SD_LOWER_STEP,
)
from model.priors import Prior

__all__ = [
    "HEAD_TO_HEAD_PRIORS",
    "HEAD_TO_HEAD_TERMS",
    "MONEY_SD_APPROX",
    "MONEY_SD_EXACT",
    "MONEY_SD_LOWER_GAP",
    "MONEY_SD_LOWER_STEP",
    "_NP",
    "_PT",
    "component_marginal_loglik",
    "component_predictive",
    "dirichlet_loglik",
    "head_to_head_model",
    "prior_rv",
    "race_softmax",
    "vote_share_model",
]


def vote_share_model(data: VoteShareData, priors: dict[str, Prior], money: str = "latent") -> pm.Model:
    """The registered vote_share_<money> model (money: 'latent' or 'plugin') built on these arrays."""
    if money not in ("latent", "plugin"):
        raise ValueError("money must be 'latent' or 'plugin'")
    return get(f"vote_share_{money}").build(Inputs(None, None, pd.DataFrame(), data), priors)
