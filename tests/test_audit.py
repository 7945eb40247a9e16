"""`python -m model data --audit N --seed S`: N random numbers of data/raw, each traceable to its line and sources."""

from __future__ import annotations

import csv
from pathlib import Path

from model.cli import main
from model.dataset.audit import auditable_cells, sample_cells

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


def test_each_sampled_cell_is_the_value_on_its_line_and_cites_urls_of_sources_csv():
    """The printed value is the cell at file:line (header = line 1), and every URL is a sources.csv URL of that row."""
    with (RAW / "sources.csv").open(newline="", encoding="utf-8") as fh:
        urls = {r["source_id"]: r["url"] for r in csv.DictReader(fh)}
    cells = sample_cells(RAW, 25, seed=3)
    assert len(cells) == 25 and len({(c.file, c.line, c.column) for c in cells}) == 25
    for c in cells:
        with Path(c.file).open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        row = rows[c.line - 2]
        assert row[c.column] == c.value
        assert c.urls == tuple(urls[s] for s in row["source_ids"].split(";"))


def test_the_same_seed_draws_the_same_cells_and_another_seed_others():
    first = sample_cells(RAW, 10, seed=11)
    assert sample_cells(RAW, 10, seed=11) == first
    assert sample_cells(RAW, 10, seed=12) != first


def test_only_numbers_are_audited_and_an_empty_cell_never_is():
    cells = auditable_cells(RAW)
    assert {c.column for c in cells} <= {
        "registered_voters", "ballots_cast", "turnout_pct", "citywide_turnout_pct", "votes", "pct_reported",
        "amount_usd", "raised_usd", "spent_usd", "cycle",
    }  # fmt: skip
    assert all(c.value != "" for c in cells)


def test_the_command_prints_n_numbered_cells_with_their_sources(capsys):
    assert main(["data", "--raw", str(RAW), "--audit", "3", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert [line.split(".")[0] for line in out.splitlines() if not line.startswith(" ")] == ["1", "2", "3"]
    assert out.count("   source: http") >= 3


def test_a_non_positive_count_is_a_one_line_error(capsys):
    assert main(["data", "--raw", str(RAW), "--audit", "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
