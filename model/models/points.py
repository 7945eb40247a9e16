"""Coefficients as percentage points of vote share: the one conversion every model and estimator uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from model.dataset.features import MONEY_UNIT_USD, log_money

INTERVAL = (0.05, 0.95)  # 90 % intervals throughout the report
EFFECT_COLUMNS = ["model", "effect", "mean_pp", "lo_pp", "hi_pp", "p_positive", "reference_usd"]
FALLBACK_REFERENCE_USD = 100_000.0  # a money channel nobody in the data has


@dataclass(frozen=True)
class Effect:
    """A named effect a model reports and how its coefficient becomes points of vote share.

    kind 'money': a slope per log(1 + $k), reported for doubling from the reference amount and for +$100k
    (two rows, '<label>, doubling' and '<label>, per $100k'); kind 'switch': a log-odds shift for turning
    an attribute on (or one unit of it, e.g. +10 points of turnout), one row '<label>'. Both convert as
    100 * (expit(b * dx) - 0.5): the change for a candidate at 50 % of a two-way race."""

    parameter: str  # posterior variable (one scalar per draw)
    label: str
    kind: str = "switch"  # "money" | "switch"
    channel: str = "support"  # a money effect's channel (support | oppose | own): its reference amount


# The effects of the LAUSD models, in report order (used when a caller names no effects).
STANDARD_EFFECTS = (
    Effect("beta_support", "support IE", "money"),
    Effect("beta_oppose", "oppose IE", "money", "oppose"),
    Effect("beta_incumbent", "incumbent"),
    Effect("beta_utla", "UTLA endorsement"),
    Effect("beta_ccsa", "CCSA endorsement"),
    Effect("beta_turnout_utla", "UTLA endorsement x +10 pts turnout"),
    Effect("beta_oncycle_utla", "UTLA endorsement x on-cycle election"),
)


def money_steps(reference_usd: float) -> dict[str, float]:
    """Change in log(1+$k) for doubling reference_usd and for adding $100k to it."""
    x0 = log_money(reference_usd)
    return {
        "doubling": float(log_money(2 * reference_usd) - x0),
        "per $100k": float(log_money(reference_usd + 100 * MONEY_UNIT_USD) - x0),
    }


def logit_to_points(b: float, dx: float = 1.0) -> float:
    """Points of vote share for a candidate at 50 % of a two-way race when the log-odds move by b * dx."""
    return float(100 * (expit(b * dx) - 0.5))


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 90 % interval of draws."""
    lo, hi = np.quantile(x, INTERVAL)
    return float(np.mean(x)), float(lo), float(hi)


def channel_reference(reference_usd: float | Mapping[str, float], channel: str) -> float:
    """The amount a money channel's effects are quoted from: its own entry of a mapping (channel -> $), else the
    support channel's, else the single amount given."""
    if isinstance(reference_usd, Mapping):
        return float(reference_usd.get(channel, reference_usd.get("support", FALLBACK_REFERENCE_USD)))
    return float(reference_usd)


def points_effects(
    beta: dict[str, np.ndarray],
    reference_usd: float | Mapping[str, float],
    model: str,
    effects: tuple[Effect, ...] | None = None,
) -> pd.DataFrame:
    """Effects in percentage points of vote share for a candidate at 50 % of a two-way race (one row per
    effect and step; effects whose parameter has no draws in beta are left out).

    Money effects are for doubling from their channel's reference amount (reference_usd: one amount, or channel ->
    amount, e.g. each channel's median among candidates who had any) and for adding $100k to it; switch effects for
    turning the attribute on (turnout effects: per 10 points of turnout). Column reference_usd is the amount each
    row is quoted from (a switch row: the support channel's, as before channels had their own)."""
    rows = []
    for e in STANDARD_EFFECTS if effects is None else effects:
        if e.parameter not in beta:
            continue
        ref = channel_reference(reference_usd, e.channel if e.kind == "money" else "support")
        for label, dx in money_steps(ref).items() if e.kind == "money" else (("", 1.0),):
            pp = 100 * (expit(beta[e.parameter] * dx) - 0.5)
            name = f"{e.label}, {label}" if label else e.label
            rows.append((model, name, *_interval(pp), float(np.mean(pp > 0)), ref))
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


# How effects.csv names each money channel's rows (label prefixes of the Effects above and of the own-money model).
CHANNEL_LABELS = {"support": "support IE", "oppose": "oppose IE", "own": "own committee money"}


def references_of(effects: pd.DataFrame) -> dict[str, float]:
    """channel -> the amount its rows of an effects table are quoted from (reference_usd column); channels without
    rows are absent, and a table without the column gives {}."""
    if "reference_usd" not in effects or effects.empty:
        return {}
    out = {}
    for channel, label in CHANNEL_LABELS.items():
        rows = effects[effects.effect.astype(str).str.startswith(f"{label}, ")]
        if len(rows):
            out[channel] = float(rows.reference_usd.iloc[0])
    if "support" not in out:
        out["support"] = float(effects.reference_usd.iloc[0])
    return out


def effect_labels(effects: tuple[Effect, ...]) -> list[str]:
    """The row labels points_effects gives these effects, in order."""
    out = []
    for e in effects:
        out += [f"{e.label}, {s}" for s in ("doubling", "per $100k")] if e.kind == "money" else [e.label]
    return out


# Labels of the bundled LAUSD data's endorsement terms (data/raw/endorser_terms.csv), the default of
# regression_effects for callers that pass none.
LAUSD_TERM_LABELS = {"utla": "UTLA endorsement", "ccsa": "CCSA endorsement"}


def regression_key(term: str, term_labels: dict[str, str] | None = None) -> str | None:
    """'support', 'oppose', 'incumbent' or an endorsement term's name for a regression term name, else None."""
    labels = LAUSD_TERM_LABELS if term_labels is None else term_labels
    key = term
    for prefix in ("delta_", "d_", "log_"):
        key = key.removeprefix(prefix)
    return key if key in ("support", "oppose", "incumbent", *labels) else None


def regression_effects(
    coefs: pd.DataFrame, reference_usd: float | Mapping[str, float], term_labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """Regression coefficients (logit / log scale per log(1+$k)) as points of share, like effects.csv
    (term_labels: endorsement term -> label, default the bundled data's).

    For the quasi-Poisson votes model a log-votes change b*dx against an unchanged rival is the same share
    change as a log-odds change b*dx, so one conversion serves all estimators."""
    switches = {"incumbent": "incumbent", **(LAUSD_TERM_LABELS if term_labels is None else term_labels)}
    rows = []
    for r in coefs.dropna(subset=["coef"]).itertuples():
        key = regression_key(str(r.term), term_labels)
        if key in ("support", "oppose"):
            for label, dx in money_steps(channel_reference(reference_usd, key)).items():
                pts = [logit_to_points(b, dx) for b in (r.coef, r.lo90, r.hi90)]
                rows.append((r.model, f"{key} IE, {label}", *pts))
        elif key in switches:
            rows.append((r.model, switches[key], *(logit_to_points(b) for b in (r.coef, r.lo90, r.hi90))))
    return pd.DataFrame(rows, columns=["model", "effect", "mean_pp", "lo_pp", "hi_pp"])
