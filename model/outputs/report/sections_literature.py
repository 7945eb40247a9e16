"""2b Estimates beside the literature: each main-model effect next to its published anchor (rendering only; the
anchors and the comparison rule live in model/evaluation/literature.py)."""

from __future__ import annotations

import numpy as np

from model.evaluation.literature import AGREES, OTHER_QUANTITY, UNCLEAR, literature_rows
from model.infra.fmt import fmt_interval
from model.outputs.report.document import Block, Bullets, Heading, Para, Run, Table, main_model, model_label


def section_literature(run: Run) -> list[Block]:
    """The main model's effects beside the published anchors, with a verdict and what could explain a departure."""
    main = main_model(run)
    lit = literature_rows(run.tables["effects"], main, run.tables["model_rows"])
    label = model_label(run, main).removesuffix(" (main)")
    blocks: list[Block] = [
        Heading(2, "2b Estimates beside the literature", "literature"),
        Para(
            f"Each estimate of the main model, {label}, with its 90 % interval, beside the "
            "published number a political scientist would expect (sources gathered in "
            "`../shared/research/literature.md`). **Agrees**: the published number lies inside the LAUSD interval "
            "(or, for a published range, the two overlap); **departs**: it lies outside, and the verdict says which "
            "way; a published sign only is matched when the interval lies wholly on that side of zero. LAUSD effects "
            "are points of vote share for a candidate at 50 % of a two-way race."
        ),
        Table(
            ("quantity", "LAUSD estimate [90 %]", "published anchor", "source", "verdict"),
            tuple(
                (
                    r.effect,
                    (fmt_interval(r.mean, r.lo, r.hi) + (f" ({r.basis})" if r.basis else "")),
                    r.finding,
                    r.citation,
                    r.verdict if r.comparable or r.verdict == OTHER_QUANTITY else f"{r.verdict} (units differ)",
                )
                for r in lit.itertuples()
            ),
        ),
    ]
    notes = []
    for r in lit.itertuples():
        if not np.isfinite(r.mean):
            notes.append(f"**{r.effect}**: the run has no such estimate.")
            continue
        text = f"**{r.effect}** ({r.verdict}). Units: {r.units}."
        if r.verdict not in (AGREES, UNCLEAR, OTHER_QUANTITY):
            text += f" What could explain the departure: {r.departure}."
        elif r.verdict == UNCLEAR:
            text += f" Why the interval is wide: {r.departure}."
        notes.append(text)
    blocks += [
        Bullets(tuple(notes)),
        Para(
            "Across the board, three differences of scale apply: LAUSD effects are for a candidate at 50 % of a "
            "two-way race, not for a House or Senate seat; most LAUSD races before 2020 were off-cycle with "
            "10-20 % turnout; and outside money is not randomly assigned, so the money estimates are associations "
            "adjusted for incumbency and endorsements, not the repeat-pair or discontinuity designs of the anchors."
        ),
    ]
    return blocks
