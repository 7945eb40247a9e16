"""The model registry: one module per Bayesian model behind the BayesModel protocol (model/models/base.py).

Products iterate `bayesian()` and ask each model through the protocol; none names a model. Registration order
fixes each model's seed offset in a fit (seed + position), so append new models at the end."""

from __future__ import annotations

from model.infra.errors import UserError
from model.models.base import BayesModel, Effect, Inputs, draws, load_inputs, posterior_draws, prior_rv
from model.models.carryover import VoteShareCarryover, VoteShareCarryoverT
from model.models.head_to_head import HeadToHead
from model.models.own_money import VoteShareOwnMoney
from model.models.vote_share import VoteShareModel
from model.models.vote_share_latent import VoteShareLatent
from model.models.vote_share_plugin import VoteSharePlugin

REGISTRY: dict[str, BayesModel] = {}
_MAIN: list[str] = []


def register(model: BayesModel, main: bool = False) -> BayesModel:
    """Add a model to the registry (replacing one of the same name in place); main=True marks it the main model."""
    if not model.name:
        raise ValueError(f"{type(model).__name__} has no name")
    REGISTRY[model.name] = model
    if main:
        _MAIN[:] = [model.name]
    return model


def unregister(name: str) -> None:
    """Remove a model (tests register toy models and clean up after themselves)."""
    REGISTRY.pop(name, None)


def main_name() -> str:
    """Name of the model marked main."""
    return _MAIN[0]


def get(name: str) -> BayesModel:
    """A registered model by name; UserError naming the known ones otherwise."""
    if name not in REGISTRY:
        raise UserError(f"unknown model '{name}'; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def bayesian(names: list[str] | None = None) -> list[tuple[int, BayesModel]]:
    """(position, model) of every registered model fitted by default, or of the named ones, in registration
    order (the position counts every registered model, so seeds do not depend on which are fitted)."""
    if names:
        for n in names:
            get(n)
    return [(i, m) for i, m in enumerate(REGISTRY.values()) if (m.name in names if names else m.in_default_fit)]


register(VoteShareLatent())
register(VoteSharePlugin())
register(HeadToHead())
register(VoteShareCarryover())
register(VoteShareCarryoverT())
# A run's main model is the main candidate (BayesModel.main_candidate) PSIS-LOO prefers on the fitted data
# (evaluation/loo.py); on the bundled data that is this one (ELPD +5.0 over vote_share_carryover, dse 3.5, after
# exact refits of the races with a high k-hat), so it is also the default for `--models main` and `make iterate`.
register(VoteShareOwnMoney(), main=True)

__all__ = [
    "REGISTRY",
    "BayesModel",
    "Effect",
    "Inputs",
    "VoteShareModel",
    "bayesian",
    "draws",
    "get",
    "load_inputs",
    "main_name",
    "posterior_draws",
    "prior_rv",
    "register",
    "unregister",
]
