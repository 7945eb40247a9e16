"""Each validation rule: a bad raw file gives a one-line error naming file, row and field, exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from model.cli import main

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """A writable copy of the bundled raw data."""
    dst = tmp_path / "raw"
    shutil.copytree(RAW, dst)
    return dst


def edit(path: Path, line: int, field: str, value: str) -> None:
    """Set one cell (1-based file line, header = line 1) in a simple CSV file."""
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[line - 1][rows[0].index(field)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def run(raw: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    """Run `model data` on raw into tmp_path; return exit code and stderr."""
    code = main(
        ["data", "--raw", str(raw), "--out", str(tmp_path / "clean"), "--coverage", str(tmp_path / "COVERAGE.md")]
    )
    return code, capsys.readouterr().err


def test_bundled_data_builds_identical_bytes_twice(tmp_path, capsys):
    assert run(RAW, tmp_path, capsys)[0] == 0
    first = (tmp_path / "clean" / "candidate_races.csv").read_bytes()
    assert run(RAW, tmp_path, capsys)[0] == 0
    assert (tmp_path / "clean" / "candidate_races.csv").read_bytes() == first


def test_committed_clean_tables_match_a_rebuild(tmp_path, capsys):
    assert run(RAW, tmp_path, capsys)[0] == 0
    for name in ("candidate_races.csv", "head_to_head.csv"):
        committed = (RAW.parent / "clean" / name).read_bytes()
        assert (tmp_path / "clean" / name).read_bytes() == committed, name


@pytest.mark.parametrize(
    ("table", "line", "field", "value", "message"),
    [
        ("results", 2, "votes", "-5", "must not be negative"),
        ("spending", 2, "amount_usd", "-100", "must not be negative"),
        ("results", 2, "pct_reported", "140", "at most 100"),
        ("results", 2, "source_ids", "s99-99", "not in sources.csv"),
        ("results", 2, "race_id", "2013-03-05-D9", "unknown race"),
        ("spending", 2, "beneficiary_id", "nobody-here", "unknown candidate"),
        ("endorsements", 2, "candidate_id", "nobody-here", "unknown candidate"),
        ("races", 2, "date", "2013-13-05", "ISO date"),
        ("spending", 2, "side", "teachers", "unknown value"),
        ("spending", 2, "stance", "attack", "unknown value"),
        ("results", 2, "pct_reported", "30", "disagrees with votes/total"),
        ("races", 2, "ballots_cast", "10", "above ballots cast"),
        ("races", 2, "turnout_status", "", "need the status of their count"),
        ("spending", 2, "committee_id", "UTLA PACE", "expected committee keys"),
        ("spending", 2, "committee_id", "csr;all", "expected committee keys"),
        ("spending", 4, "committee_id", "csr", "needs committee_id 'all'"),
        ("spending", 2, "money_kind", "gift", "unknown value"),
        ("results", 2, "pct_bound", "more", "unknown value"),
    ],
)
def test_bad_cell_gives_one_line_error_and_writes_nothing(raw, tmp_path, capsys, table, line, field, value, message):
    edit(raw / f"{table}.csv", line, field, value)
    code, err = run(raw, tmp_path, capsys)
    assert code == 2
    assert message in err
    assert (f"{table}.csv:" in err and field in err) or "results.csv" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "clean").exists() and not (tmp_path / "COVERAGE.md").exists()


def test_duplicate_candidate_in_same_count_is_rejected(raw, tmp_path, capsys):
    path = raw / "results.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    code, err = run(raw, tmp_path, capsys)
    assert code == 2 and "duplicate candidate" in err


def test_malformed_csv_row_is_rejected_with_its_line(raw, tmp_path, capsys):
    path = raw / "races.csv"
    path.write_text(path.read_text(encoding="utf-8") + "2099-01-01-D1,2099\n", encoding="utf-8")
    code, err = run(raw, tmp_path, capsys)
    assert code == 2 and "malformed CSV" in err and "races.csv:" in err


def test_misspelled_column_is_rejected(raw, tmp_path, capsys):
    path = raw / "spending.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("amount_usd", "amount_usdd", 1), encoding="utf-8")
    code, err = run(raw, tmp_path, capsys)
    assert code == 2 and "unknown column 'amount_usdd'" in err


def test_data_dictionary_lists_exactly_the_schema_columns():
    """data/README.md documents every column of every raw table as model/dataset/schema.py declares it, and no other,
    so the dictionary cannot drift from what the loader accepts."""
    import re

    from model.dataset.schema import TABLES

    text = (RAW.parent / "README.md").read_text(encoding="utf-8")
    for table, columns in TABLES.items():
        section = text.split(f"## {table}.csv", 1)[1].split("\n## ", 1)[0]
        documented = re.findall(r"^\| ([a-z_]+) \| ([a-z]+)", section, re.MULTILINE)
        assert [name for name, _ in documented if name != "column"] == [c.name for c in columns], table
        kinds = {name: kind for name, kind in documented}
        for c in columns:
            assert kinds[c.name] == c.kind, f"{table}.{c.name}"
