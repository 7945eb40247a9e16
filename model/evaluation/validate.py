"""`make validate`: a run's importance-sampling numbers (leave-one-cycle-out folds, runoff-forecast dates, prior
presets) against exact refits of every one of them, with stated tolerances; exit 1 when the approximation drifts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from model.evaluation.skill import scores

# What an approximate fold may differ from its refit by. Monte Carlo error alone between two exact fits of
# 2 x 500 draws moves a fold's mean log score by a few hundredths and P(first) by a few points.
TOLERANCE = {
    "log score": 0.10,  # nats per race, mean over a fold's races
    "P(first)": 0.10,  # mean absolute difference over a fold's candidates
    "effect": 0.25,  # fraction of the refit's 90 % interval half-width, per effect of a preset
}


def _fold_scores(pred: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Per model and fold: its mean log score over races and its method."""
    rows = []
    for (model, fold), g in pred[pred.method != "baseline"].groupby(["model", unit]):
        s = scores(g.p_first.to_numpy(), g["first"].to_numpy(), g.race_id)
        rows.append({"model": model, unit: fold, "log_score": s["log_score"], "method": g.method.iloc[0]})
    return pd.DataFrame(rows)


def compare_folds(approx: pd.DataFrame, exact: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Per model and fold (a cycle or an election date): log score and P(first) of the approximate run beside the
    exact one, their differences and whether they are within TOLERANCE."""
    a, e = _fold_scores(approx, unit), _fold_scores(exact, unit)
    table = a.merge(e.drop(columns="method"), on=["model", unit], suffixes=("_approx", "_exact"))
    key = ["model", unit, "race_id", "candidate_id"]
    both = approx.merge(exact, on=key, suffixes=("_approx", "_exact"))
    both = both[both.method_approx != "baseline"]
    dp = (both.p_first_approx - both.p_first_exact).abs().groupby([both.model, both[unit]]).mean()
    table["p_first_mean_abs_diff"] = [dp.get((m, f), np.nan) for m, f in zip(table.model, table[unit], strict=True)]
    table["log_score_diff"] = table.log_score_approx - table.log_score_exact
    table["within_tolerance"] = (table.log_score_diff.abs() <= TOLERANCE["log score"]) & (
        table.p_first_mean_abs_diff <= TOLERANCE["P(first)"]
    )
    return table


def compare_presets(approx: pd.DataFrame, exact: pd.DataFrame) -> pd.DataFrame:
    """Per preset and effect: the reweighted mean beside the refit's, as a fraction of the refit's half-width."""
    key = ["priors", "effect"]
    both = approx.merge(exact, on=key, suffixes=("_approx", "_exact"))
    both = both[both.priors != "this run"]
    half = (both.hi_pp_exact - both.lo_pp_exact) / 2
    both["shift_of_half_width"] = (both.mean_pp_approx - both.mean_pp_exact).abs() / half.where(half > 0)
    both["within_tolerance"] = both.shift_of_half_width.fillna(0) <= TOLERANCE["effect"]
    cols = ["priors", "effect", "method_approx", "khat_approx", "mean_pp_approx", "mean_pp_exact"]
    return both[[*cols, "shift_of_half_width", "within_tolerance"]]


def validate_runs(approx_dir: Path, exact_dir: Path) -> tuple[dict[str, pd.DataFrame], bool]:
    """Every comparison that both runs have tables for, and whether all are within tolerance."""
    out = {}
    pairs = {
        "leave-one-cycle-out": ("loco-predictions.csv", "cycle"),
        "runoff forecast": ("runoff-forecast-predictions.csv", "date"),
    }
    for label, (name, unit) in pairs.items():
        if (approx_dir / name).exists() and (exact_dir / name).exists():
            a, e = pd.read_csv(approx_dir / name), pd.read_csv(exact_dir / name)
            out[label] = compare_folds(a, e, unit)
    if (approx_dir / "effects-by-prior.csv").exists() and (exact_dir / "effects-by-prior.csv").exists():
        out["prior sweep"] = compare_presets(
            pd.read_csv(approx_dir / "effects-by-prior.csv"), pd.read_csv(exact_dir / "effects-by-prior.csv")
        )
    ok = all(bool(t.within_tolerance.all()) for t in out.values())
    return out, ok
