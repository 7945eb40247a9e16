"""How the main model's effects move when the money rows whose kind no source states are left out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.dataset.tables import CleanData, clean_data
from model.inference.diagnostics import CHECK_COLUMNS, sampler_checks
from model.inference.sampling import SamplerSettings, for_model, sample
from model.models.base import BayesModel, Inputs, inputs_of, model_effects
from model.priors import Prior

UNKNOWN = "unknown"
MONEY_COLUMNS = {"support_usd": "support IE", "oppose_usd": "IE against"}
EFFECT_COLUMNS = [
    "model",
    "effect",
    "mean_pp",
    "lo_pp",
    "hi_pp",
    "mean_pp_dropped",
    "lo_pp_dropped",
    "hi_pp_dropped",
    "shift_pp",
    "reference_usd",
    "rows_dropped",
    "checks_passed",
    "max_rhat",
    "min_ess_bulk",
    "divergences",
]


def unknown_rows(clean: CleanData) -> pd.DataFrame:
    """The spending rows whose money kind no source states (money_kind 'unknown')."""
    spending = clean.raw["spending"]
    if "money_kind" not in spending:
        return spending.iloc[0:0]
    return spending[spending.money_kind == UNKNOWN]


def without_unknown_money(clean: CleanData) -> CleanData | None:
    """The data's one pass redone with the unknown-kind money rows left out (None when it has none)."""
    if unknown_rows(clean).empty:
        return None
    spending = clean.raw["spending"]
    return clean_data({**clean.raw, "spending": spending[spending.money_kind != UNKNOWN]})


def money_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Candidate-rounds whose plug-in IE money differs between two candidate_races tables, one row per channel."""
    keys = ["race_id", "candidate_id", "name"]
    cols = [c for c in MONEY_COLUMNS if c in before and c in after]
    both = before[keys + cols].merge(after[keys + cols], on=keys, suffixes=("", "_dropped"))
    rows = []
    for col in cols:
        was = pd.to_numeric(both[col], errors="coerce").fillna(0.0)
        now = pd.to_numeric(both[f"{col}_dropped"], errors="coerce").fillna(0.0)
        changed = both[~np.isclose(was, now)]
        for (_, r), w, n in zip(changed.iterrows(), was[changed.index], now[changed.index], strict=True):
            rows.append({**{k: r[k] for k in keys}, "money": MONEY_COLUMNS[col], "usd": w, "usd_dropped": n})
    return pd.DataFrame(rows, columns=[*keys, "money", "usd", "usd_dropped"])


def unknown_money_sensitivity(
    model: BayesModel,
    idata,
    inputs: Inputs,
    priors: dict[str, Prior],
    references: float | dict[str, float],
    seed: int,
    settings: SamplerSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refit the model on the data without its unknown-kind money rows (same priors, seed and settings) and
    return (effects with and without them, side by side with the refit's diagnostics; candidate-rounds whose
    money changed). Both empty when the data has no such rows. An exact refit, not importance reweighting:
    dropping a figure changes the money evidence, not only the likelihood of a few rows."""
    clean = inputs.clean
    dropped = None if clean is None else without_unknown_money(clean)
    if clean is None or dropped is None:
        return pd.DataFrame(columns=EFFECT_COLUMNS), pd.DataFrame()
    alt = inputs_of(dropped)
    fit = sample(model.build(alt, priors), seed, for_model(settings, model.draws), progress=False)
    # The sampler checks only: the refit has no pointwise likelihood group (it is not compared by LOO).
    checks = pd.DataFrame(sampler_checks(fit, model.gated_vars(fit)), columns=CHECK_COLUMNS).set_index("check")
    # The same references both ways, so that a shift is the model's, not the reference amount's.
    before = model_effects(model, idata, inputs, references)
    after = model_effects(model, fit, alt, references)
    side = (
        after[["effect", "mean_pp", "lo_pp", "hi_pp"]]
        .add_suffix("_dropped")
        .rename(columns={"effect_dropped": "effect"})
    )
    table = before.merge(side, on="effect", how="inner")
    table["shift_pp"] = table.mean_pp_dropped - table.mean_pp
    table["rows_dropped"] = len(unknown_rows(clean))
    table["checks_passed"] = bool(checks.passed.all())
    table["max_rhat"] = float(checks.loc["max R-hat (rank-normalised)", "value"])
    table["min_ess_bulk"] = float(checks.loc["min bulk ESS", "value"])
    table["divergences"] = int(checks.loc["divergences", "value"])
    return table[EFFECT_COLUMNS], money_changes(inputs.cr, alt.cr)
