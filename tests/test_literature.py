"""The rule that sets LAUSD estimates beside published anchors (model/evaluation/literature.py), on hand-made tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from model.evaluation.literature import (
    AGREES,
    ANCHORS,
    HIGHER,
    INCUMBENT_WIN_RATE,
    LOWER,
    OTHER_QUANTITY,
    UNCLEAR,
    compare,
    incumbent_record,
    literature_rows,
)

MAIN = "main_model"


def effects(**estimates: tuple[float, float, float]) -> pd.DataFrame:
    """The main model's effects (mean, lo, hi) by label, plus a decoy from another model."""
    rows = [(MAIN, label, *v, 0.9, 541_000.0) for label, v in estimates.items()]
    rows.append(("other_model", "support IE, doubling", 30.0, 20.0, 40.0, 1.0, 541_000.0))
    return pd.DataFrame(rows, columns=["model", "effect", "mean_pp", "lo_pp", "hi_pp", "p_positive", "reference_usd"])


def model_rows() -> pd.DataFrame:
    """Three incumbent bids: one won in the primary, one advanced and won the runoff, one advanced and lost."""
    return pd.DataFrame(
        {
            "race_id": ["2015-03-03-D3", "2015-03-03-D5", "2015-05-19-D5", "2017-03-07-D4", "2017-05-16-D4"],
            "candidate_id": ["ann", "bob", "bob", "cat", "cat"],
            "incumbent": [True, True, True, True, True],
            "outcome": ["won", "advanced", "won", "advanced", "lost"],
        }
    )


@pytest.mark.parametrize(
    "lo, hi, a_lo, a_hi, expected",
    [
        (0.6, 2.2, 1.0, 1.0, AGREES),  # a point anchor inside the interval
        (2.0, 4.0, 1.0, 1.0, HIGHER),  # the whole interval above the anchor
        (-1.0, 0.5, 1.0, 1.0, LOWER),  # the whole interval below it
        (-1.4, 1.4, -3.5, -1.5, HIGHER),  # a published range wholly below the interval
        (-2.0, 1.0, -3.5, -1.5, AGREES),  # overlapping a published range
        (-4.0, -1.0, -math.inf, 0.0, AGREES),  # a sign anchor: wholly on the predicted side
        (1.0, 4.0, -math.inf, 0.0, HIGHER),  # wholly on the other side
        (-5.9, 11.0, -math.inf, 0.0, UNCLEAR),  # straddling zero
        (math.nan, math.nan, 1.0, 1.0, UNCLEAR),  # no estimate
    ],
)
def test_an_estimate_agrees_when_its_interval_meets_the_anchor_and_departs_on_the_side_it_lies(
    lo, hi, a_lo, a_hi, expected
):
    assert compare(lo, hi, a_lo, a_hi) == expected


def test_each_anchor_is_compared_with_the_main_models_estimate_both_ways():
    """Levitt's +1 per doubling: agrees with [0.6, 2.2], departs upward from [2, 4] and downward from [-1, 0.5];
    the other model's 30-point estimate is never read."""
    for estimate, expected in [((1.4, 0.6, 2.2), AGREES), ((3.0, 2.0, 4.0), HIGHER), ((-0.2, -1.0, 0.5), LOWER)]:
        rows = literature_rows(effects(**{"support IE, doubling": estimate}), MAIN, model_rows())
        levitt = rows[rows.citation.str.startswith("Levitt")].iloc[0]
        assert (levitt["mean"], levitt.verdict) == (estimate[0], expected)


def test_an_anchor_for_another_quantity_gets_no_verdict_and_missing_estimates_cannot_tell():
    rows = literature_rows(
        effects(**{"incumbent": (6.0, 1.0, 11.0), "support IE, doubling": (1.5, 0.5, 2.5)}), MAIN, model_rows()
    )
    gerber = rows[rows.citation.str.startswith("Gerber (1998)")].iloc[0]
    assert gerber.verdict == OTHER_QUANTITY and "about 16 to 1" in gerber.units  # 2 ** (6 / 1.5)
    utla = rows[rows.effect == "UTLA endorsement"].iloc[0]
    assert math.isnan(utla["mean"]) and utla.verdict == UNCLEAR
    assert len(rows) == len(ANCHORS)


def test_incumbents_win_rate_counts_one_bid_per_seat_won_in_either_round():
    assert incumbent_record(model_rows()) == (2, 3)
    rows = literature_rows(effects(), MAIN, model_rows())
    record = rows[rows.effect == INCUMBENT_WIN_RATE].iloc[0]
    assert record.basis == "2 of 3 bids" and record["mean"] == pytest.approx(200 / 3)
    assert record.lo < 70.89 < record.hi and record.verdict == AGREES
