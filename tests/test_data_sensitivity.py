"""The unknown-kind money sensitivity: which rows leave, which named candidates' money moves, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from model.dataset.raw import load_raw
from model.dataset.tables import clean_data
from model.evaluation.data_sensitivity import money_changes, unknown_rows, without_unknown_money

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


def test_dropping_unknown_rows_moves_only_the_money_they_carried():
    clean = clean_data(load_raw(RAW))
    unknown = unknown_rows(clean)
    # spending.csv lines 131 (2015 D3 Schmerelson), 143, 194, 215 and the three 2003 rows (data/notes/money_kinds.md)
    assert len(unknown) == 7 and set(unknown.cycle) == {2003, 2015, 2022, 2024}
    dropped = without_unknown_money(clean)
    assert dropped is not None and unknown_rows(dropped).empty
    assert len(dropped.cr) == len(clean.cr)  # the same candidate-rounds: only money changes
    changes = money_changes(clean.cr, dropped.cr).set_index(["race_id", "name", "money"])
    # The Daily News's 566,345 cycle figure for Schmerelson gives way to UTLA's 525,000 for the runoff (line 144).
    schmerelson = changes.loc[("2015-05-19-D3", "Scott Schmerelson", "support IE")]
    assert round(schmerelson.usd) == 566_345 and round(schmerelson.usd_dropped) == 525_000
    assert (changes.usd != changes.usd_dropped).all()
    # Every other candidate-round keeps its money to the dollar.
    keys = set(changes.reset_index()[["race_id", "name"]].itertuples(index=False, name=None))
    others = [(r, n) not in keys for r, n in zip(clean.cr.race_id, clean.cr.name, strict=True)]
    cols = ["race_id", "name", "support_usd", "oppose_usd"]
    pd.testing.assert_frame_equal(clean.cr.loc[others, cols], dropped.cr.loc[others, cols])


def test_data_without_unknown_rows_has_no_sensitivity_to_run():
    clean = clean_data(load_raw(RAW))
    dropped = without_unknown_money(clean)
    assert dropped is not None and without_unknown_money(dropped) is None
