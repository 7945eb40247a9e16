"""2c How strong would a hidden confounder have to be? Robustness values and benchmark bounds of the classical money
coefficients and the main model's tipping points (rendering only: the numbers and the verdict rule live in
model/evaluation/sensitivity.py and the run's sensitivity tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.evaluation.sensitivity import (
    CLASSICAL_FILE,
    FRAGILE,
    MODERATE,
    NOT_SHOWN,
    P_TIPPING,
    PARETO_K_OK,
    ROBUST,
    TIPPING_FILE,
    classical_verdicts,
)
from model.outputs.figures_sensitivity import CONTOUR_PNG, TIPPING_PNG
from model.outputs.report.document import Block, Figure, Heading, Para, Run, Table, read_csv_if

ANCHOR = "confounding"
SUPPORT = "support IE"
# How the findings sentence words a classical verdict of the support coefficient.
VERDICT_WORDS = {
    NOT_SHOWN: "its interval includes zero even without a confounder",
    FRAGILE: "a confounder as strong as {benchmark} would explain it away",
    MODERATE: "it takes a confounder two to three times as strong as {benchmark} to explain it away",
    ROBUST: "it survives a confounder three times as strong as {benchmark}",
}


def _num(x: float, digits: int = 3) -> str:
    """A signed number with a real minus sign, or an em dash."""
    return "—" if x is None or not np.isfinite(x) else f"{x:.{digits}f}".replace("-", "−")


def _interval(mean: float, lo: float, hi: float) -> str:
    """'0.034 [0.007, 0.062]'."""
    return f"{_num(mean)} [{_num(lo)}, {_num(hi)}]" if np.isfinite(mean) else "—"


def _label(rows: pd.DataFrame, model: str) -> str:
    """A design's label as recorded in the table."""
    found = rows.loc[rows.model == model, "label"] if "label" in rows else pd.Series(dtype=str)
    return str(found.iloc[0]) if len(found) else model


def _k_cell(rows: pd.DataFrame, k: int) -> str:
    """One bound's adjusted estimate and 90 % interval, or why there is none."""
    hit = rows[rows.k == k]
    if hit.empty:
        return "—"
    r = hit.iloc[0]
    if pd.isna(r.adjusted_estimate):
        return "impossible" if "impossible" in str(r.get("note", "")) else "—"
    return _interval(r.adjusted_estimate, r.adjusted_lo90, r.adjusted_hi90)


def classical_blocks(run: Run, table: pd.DataFrame) -> list[Block]:
    """Robustness values, the benchmark bounds for k = 1, 2, 3 and the contour figure."""
    verdicts = classical_verdicts(table)
    base = table[table.k == 0].set_index(["model", "effect"])
    rv_rows = []
    for v in verdicts.itertuples():
        b = base.loc[(v.model, v.effect)]
        rv_rows.append(
            (
                _label(table, v.model),
                v.effect,
                _interval(b.estimate, b.adjusted_lo90, b.adjusted_hi90),
                f"{100 * b.partial_r2:.1f} %",
                f"{100 * v.rv_q1:.1f} %",
                f"{100 * v.rv_q1_alpha10:.1f} %",
                v.verdict,
            )
        )
    bound_rows = []
    for (model, effect, bench), rows in table[table.k > 0].groupby(["model", "effect", "benchmark"], sort=False):
        bound_rows.append((_label(table, model), effect, bench, *(_k_cell(rows, k) for k in (1, 2, 3))))
    blocks: list[Block] = [
        Para(
            "**The classical designs** (Cinelli & Hazlett 2020, JRSS-B). The **robustness value** RV is the share of "
            "the residual variance of both the money difference and the vote share that a hidden confounder would "
            "have to explain to bring the money coefficient to zero (q = 1), or to bring its 90 % interval to zero "
            "(α = 0.1). The bounds ask what a confounder k times as strong as a measured one (incumbency, an "
            "endorsement) would leave of the coefficient, as strong meaning it explains k times as much of the money "
            "and of the vote share. Coefficients are log-odds per log(1 + $k); the intervals here use the ordinary "
            "(iid) OLS standard errors that these formulas are built on, not the HC3 ones of the effects table."
        ),
        Table(
            ("design", "money", "estimate [90 %]", "partial R²", "RV (q = 1)", "RV (q = 1, α = 0.1)", "verdict"),
            tuple(rv_rows),
        ),
        Para("Each coefficient with a confounder k times as strong as the benchmark removed (estimate [90 %]):"),
        Table(("design", "money", "benchmark", "1x", "2x", "3x"), tuple(bound_rows)),
    ]
    if "repeat" in " ".join(table.model):
        blocks.append(
            Para(
                "Within a repeat candidate's races incumbency rarely changes, so it explains little there and is a "
                "weak benchmark for the first differences: read their robustness values rather than the bounds."
            )
        )
    png = run.path / "figures" / CONTOUR_PNG
    if png.is_file():
        blocks.append(
            Figure(
                png,
                "The money coefficients after removing a hidden confounder's bias, by its strength; red: zero.",
                "Contour plots, one per design and money effect, of the adjusted coefficient over the confounder's "
                "partial R² with money (x) and with the vote share (y), with the benchmark confounders marked.",
            )
        )
    return blocks


def _tip(tips: pd.DataFrame, effect: str, first: bool) -> pd.Series | None:
    """The main model's tipping point of an effect: the P criterion (first) or the interval criterion."""
    rows = tips[tips.effect == effect]
    return None if len(rows) < 2 else rows.iloc[0 if first else 1]


def tipping_text(tips: pd.DataFrame, effect: str = SUPPORT) -> str | None:
    """'... falls below 0.9 once ... (x of the incumbency effect) ...' for one effect, or None."""
    p_row, ci_row = _tip(tips, effect, True), _tip(tips, effect, False)
    if p_row is None or ci_row is None:
        return None
    if ci_row.share == 0:
        return f"the {effect} effect's 90 % interval includes zero without any confounder, so there is nothing to tip"

    def at(r: pd.Series) -> str:
        if not np.isfinite(r.share):
            return "beyond twice the apparent effect"
        units = f"{_num(r.b_incumbency, 2)} times the incumbency effect (" if np.isfinite(r.b_incumbency) else "("
        points = f"{_num(r.b_pp, 1)} points of the effect of doubling, " if "b_pp" in r else ""
        return f"a bias of {units}{points}{100 * r.share:.0f} % of the apparent effect)"

    sign = ">" if p_row.apparent >= 0 else "<"
    return (
        f"the {effect} effect's 90 % interval reaches zero at {at(ci_row)}, and P(effect {sign} 0) falls below "
        f"{P_TIPPING:g} at {at(p_row)}"
    )


def tipping_blocks(run: Run, tips: pd.DataFrame) -> list[Block]:
    """The main model's tipping points (support and oppose IE) and the figure."""
    rows = tuple(
        (
            r.effect,
            r.criterion,
            f"{100 * r.share:.0f} %" if np.isfinite(r.share) else "—",
            _num(r.b),
            _num(r.b_incumbency, 2),
            _num(getattr(r, "b_pp", np.nan), 1),
            _num(r.max_pareto_k, 2),
            "" if pd.isna(r.note) else str(r.note),
        )
        for r in tips.itertuples()
    )
    text = tipping_text(tips)
    blocks: list[Block] = [
        Para(
            "**The main model: tipping points.** A hidden confounder that follows the money adds a bias b to the "
            "money slope: the model sees beta + b where money's own effect is beta. For each b on a grid, the "
            "posterior of beta is the fitted posterior reweighted by the slope prior's ratio pi(slope − b) / "
            f"pi(slope) (exact importance sampling: the data see only beta + b; Pareto k-hat below {PARETO_K_OK:g} "
            "means the weights are reliable). b is given as a share of the apparent slope, and for the effect of "
            "doubling the money as a multiple of the incumbency effect (both log-odds)."
            + (f" In this run {text}." if text else "")
        ),
        Table(
            (
                "money",
                "criterion",
                "share of apparent effect",
                "b",
                "b x doubling / incumbency",
                "bias, points per doubling",
                "max k-hat",
                "note",
            ),
            rows,
        ),
    ]
    png = run.path / "figures" / TIPPING_PNG
    if png.is_file():
        blocks.append(
            Figure(
                png,
                "The support-IE effect and P(effect > 0) as a hidden confounder's bias grows.",
                "Left: the support-IE effect of doubling with its 90 % interval against the bias in units of the "
                "incumbency effect; right: the probability that the effect is positive; dashed lines mark the "
                "tipping points.",
            )
        )
    return blocks


def section_sensitivity(run: Run) -> list[Block]:
    """2c: the classical robustness values and bounds, then the main model's tipping points (nothing for runs
    written before the analysis existed)."""
    table = read_csv_if(run.path / CLASSICAL_FILE)
    tips = read_csv_if(run.path / TIPPING_FILE)
    if table.empty and tips.empty:
        return []
    blocks: list[Block] = [
        Heading(2, "2c How strong would a hidden confounder have to be?", ANCHOR),
        Para(
            "Outside money is not randomly assigned: something unmeasured (a candidate's standing, a race's "
            "closeness) may drive both the money and the votes. These numbers say how strong such a confounder "
            "would have to be to erase each money estimate, measured against confounders we can see."
        ),
    ]
    if not table.empty:
        blocks += classical_blocks(run, table)
    if not tips.empty:
        blocks += tipping_blocks(run, tips)
    return blocks


def _benchmark(verdict: pd.Series) -> str:
    """The benchmark that explains the estimate away at the smallest k, else every benchmark (for ROBUST)."""
    reach = {c.removeprefix("k_zero "): verdict[c] for c in verdict.index if c.startswith("k_zero ")}
    finite = {b: k for b, k in reach.items() if pd.notna(k)}
    if finite:
        return min(finite, key=lambda b: finite[b])
    names = list(reach)
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]


def confounding_sentence(run: Run) -> str | None:
    """'What we found': the main model's tipping point and the head-to-head verdict, in one sentence."""
    tips = read_csv_if(run.path / TIPPING_FILE)
    table = read_csv_if(run.path / CLASSICAL_FILE)
    ci_row = _tip(tips, SUPPORT, False) if not tips.empty else None
    text = None
    if ci_row is not None and ci_row.share > 0 and np.isfinite(ci_row.share):
        text = (
            f"a hidden confounder that inflated the {SUPPORT} effect by {_num(ci_row.b_incumbency, 2)} times the "
            f"incumbency effect ({100 * ci_row.share:.0f} % of the apparent effect) would bring its 90 % interval to "
            "zero"
        )
    elif ci_row is not None:
        text = tipping_text(tips)
    classical = ""
    if not table.empty:
        v = classical_verdicts(table)
        v = v[v.effect == SUPPORT]
        if len(v):
            first = v.iloc[0]
            words = VERDICT_WORDS[first.verdict].format(benchmark=_benchmark(first))
            classical = f"in the {_label(table, first.model)} regression, {words}"
    if not text and not classical:
        return None
    parts = [f"in the main model, {text}" if text else "", classical]
    body = "; ".join(p for p in parts if p)
    return f"**How fragile the money effect is.** {body[0].upper()}{body[1:]}. [Details](#{ANCHOR})"
