"""Robustness to bad input: row order and money units do not change model inputs, corrupt raw files fail with
one line and leave earlier output alone, and a killed run never damages the previous one."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from model.build import MONEY_COLUMNS, build_all, candidate_races
from model.cli import main
from model.features import VoteShareData, vote_share_data
from model.raw import load_raw
from model.schema import NUMERIC_KINDS, TABLES, UNITS

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "data" / "raw"
# Few examples per property so the file runs in well under a minute.
FEW = settings(max_examples=8, deadline=None)
# Properties that rebuild the tables (about a second per example) skip shrinking: it can take many minutes.
FEW_REBUILDS = settings(FEW, phases=[Phase.explicit, Phase.reuse, Phase.generate])
# Plain decimal notation is the only number format the loader accepts (no exponents, inf, nan or separators).
PLAIN_NUMBER = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


# ---------------------------------------------------------------- helpers


def copy_raw(src: Path, dst: Path) -> Path:
    """A writable copy of raw data at dst."""
    shutil.copytree(src, dst)
    return dst


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file and directory under root (relative name -> bytes; directories map to b'<dir>')."""
    return {
        str(p.relative_to(root)): (b"<dir>" if p.is_dir() else p.read_bytes()) for p in sorted(Path(root).rglob("*"))
    }


def assert_same_files(got: dict[str, bytes], want: dict[str, bytes]) -> None:
    """Same file names and bytes, with a message naming the first file that differs."""
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs"


def read_rows(path: Path) -> list[list[str]]:
    """All rows of a CSV file, header first."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    """Write rows as CSV with LF line ends."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def run_data(raw: Path, root: Path) -> tuple[int, str]:
    """Run `model data` in-process with outputs under root; return exit code and stderr."""
    err = io.StringIO()
    args = ["data", "--raw", str(raw), "--out", str(root / "clean"), "--coverage", str(root / "COVERAGE.md")]
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def raw_src(tmp_path_factory) -> Path:
    """A copy of the bundled raw data taken once, so edits to data/raw during the run cannot race the tests."""
    return copy_raw(RAW, tmp_path_factory.mktemp("bundled") / "raw")


@pytest.fixture(scope="module")
def built(tmp_path_factory, raw_src) -> Path:
    """The raw data built once: clean/ and COVERAGE.md under one directory."""
    root = tmp_path_factory.mktemp("built")
    build_all(raw_src, root / "clean", root / "COVERAGE.md")
    return root


@dataclass(frozen=True, repr=False)
class Inputs:
    """Model inputs built from raw data (short repr, as Hypothesis prints the arguments of a failing case)."""

    cr: pd.DataFrame
    vote_share: VoteShareData

    def __repr__(self) -> str:
        return "Inputs(bundled raw data)"


@pytest.fixture(scope="module")
def reference_inputs(raw_src) -> Inputs:
    """candidate_races and the vote-share model's arrays from the raw data."""
    raw = load_raw(raw_src)
    cr = candidate_races(raw)
    return Inputs(cr, vote_share_data(cr, raw))


# ---------------------------------------------------------------- invariances


@FEW_REBUILDS
@given(tables=st.sets(st.sampled_from(tuple(TABLES)), min_size=1), seed=st.integers(0, 2**32 - 1))
def test_shuffling_raw_rows_gives_byte_identical_clean_tables(raw_src, built, tables, seed):
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        raw = copy_raw(raw_src, Path(tmp) / "raw")
        for table in sorted(tables):
            path = raw / f"{table}.csv"
            header, *lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            assert len(lines) == len(read_rows(path)) - 1  # one record per line, so lines can be shuffled as text
            path.write_text(header + "".join(lines[i] for i in rng.permutation(len(lines))), encoding="utf-8")
        out = Path(tmp) / "out"
        build_all(raw, out / "clean", out / "COVERAGE.md")
        assert_same_files(snapshot(out), snapshot(built))


def test_crlf_line_ends_and_a_byte_order_mark_give_byte_identical_clean_tables(raw_src, built, tmp_path):
    """Spreadsheet programs save CSV with CRLF line ends and a UTF-8 byte order mark; the content is the same."""
    raw = copy_raw(raw_src, tmp_path / "raw")
    for path in raw.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    build_all(raw, tmp_path / "out" / "clean", tmp_path / "out" / "COVERAGE.md")
    assert_same_files(snapshot(tmp_path / "out"), snapshot(built))


def in_unit(amount: str, unit: str) -> str:
    """A dollar amount written in another unit, as exact decimal text (615000 in kusd -> '615')."""
    return format(Decimal(amount) / Decimal(str(UNITS[unit])), "f")


@FEW_REBUILDS
@given(data=st.data())
def test_money_entered_in_thousands_or_millions_gives_the_same_model_inputs(raw_src, reference_inputs, data):
    """Exact equality: a unit is a change of notation, so not even the last bit of a dollar figure may move."""
    rows = read_rows(raw_src / "spending.csv")
    header = [*rows[0], "unit"]
    at = {name: header.index(name) for name in ("cycle", "district", "amount_usd")}
    races = sorted({(r[at["cycle"]], r[at["district"]]) for r in rows[1:]})
    units = ("usd", "kusd", "musd")
    race_unit = data.draw(st.dictionaries(st.sampled_from(races), st.sampled_from(units[1:]), max_size=6))
    row_unit = data.draw(st.dictionaries(st.integers(1, len(rows) - 1), st.sampled_from(units), max_size=30))
    body = []
    for i, row in enumerate(rows[1:], start=1):
        unit = row_unit.get(i) or race_unit.get((row[at["cycle"]], row[at["district"]]), "")
        row = [*row, unit]
        if unit:
            row[at["amount_usd"]] = in_unit(row[at["amount_usd"]], unit)
        body.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        raw = copy_raw(raw_src, Path(tmp) / "raw")
        write_rows(raw / "spending.csv", [header, *body])
        t = load_raw(raw)
        cr = candidate_races(t)
        vs = vote_share_data(cr, t)
    ref_cr, ref_vs = reference_inputs.cr, reference_inputs.vote_share
    money = [*MONEY_COLUMNS, "support_per_voter", "oppose_per_voter"]
    pd.testing.assert_frame_equal(cr[["race_id", "candidate_id", *money]], ref_cr[["race_id", "candidate_id", *money]])
    assert np.array_equal(cr[money[:6]].to_numpy(), ref_cr[money[:6]].to_numpy())
    assert np.array_equal(vs.money.amount_usd, ref_vs.money.amount_usd)
    assert np.array_equal(vs.money.incidence, ref_vs.money.incidence)
    assert list(vs.money.kind) == list(ref_vs.money.kind)
    pd.testing.assert_frame_equal(vs.money.cells, ref_vs.money.cells)
    for name in ("log_support", "log_oppose", "support_cell", "oppose_cell"):
        assert np.array_equal(getattr(vs, name), getattr(ref_vs, name)), name


# ---------------------------------------------------------------- corruptions


@dataclass(frozen=True)
class Expected:
    """Where the one-line error must point: file (table), and line and field when they are known."""

    table: str
    line: int | None = None
    field: str | None = None


def numeric_columns(table: str) -> list[str]:
    """Columns of a table holding whole numbers, money or percentages."""
    return [c.name for c in TABLES[table] if c.kind in NUMERIC_KINDS]


def draw_cell(data, raw: Path, tables: list[str], columns) -> tuple[str, list[list[str]], int, str]:
    """Draw a table, a data line and a column from columns(table); return (table, rows, line, column)."""
    table = data.draw(st.sampled_from(tables), label="table")
    rows = read_rows(raw / f"{table}.csv")
    line = data.draw(st.integers(2, len(rows)), label="line")
    column = data.draw(st.sampled_from([c for c in columns(table) if c in rows[0]]), label="column")
    return table, rows, line, column


def set_cell(data, raw: Path, tables: list[str], columns, values) -> Expected:
    """Set one drawn cell to a drawn value; the error must name that line and column."""
    table, rows, line, column = draw_cell(data, raw, tables, columns)
    rows[line - 1][rows[0].index(column)] = data.draw(values, label="value")
    write_rows(raw / f"{table}.csv", rows)
    return Expected(table, line, column)


def with_numbers() -> list[str]:
    """Tables that have a numeric column."""
    return [t for t in TABLES if numeric_columns(t)]


GARBAGE = st.one_of(
    # Strings Python's float() or int() would accept although they are no plain decimal number.
    st.sampled_from(["nan", "inf", "-inf", "Infinity", "1e5", "1e999", "1_000", "١٢", "１２", "0x1A"]),
    st.sampled_from(["1,000", "$5", "5%", "twelve", "12 000", "n/a", "?", "5\n6", "\x00"]),
    st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "" and not PLAIN_NUMBER.fullmatch(s.strip())),
)


def blank_required_cell(data, raw: Path) -> Expected:
    """Empty a required cell (whitespace counts as empty)."""
    required = lambda t: [c.name for c in TABLES[t] if c.required]  # noqa: E731
    return set_cell(data, raw, list(TABLES), required, st.sampled_from(["", " ", "\t"]))


def drop_cell(data, raw: Path) -> Expected:
    """Delete one cell so the rest of the row shifts left."""
    table, rows, line, column = draw_cell(data, raw, list(TABLES), lambda t: [c.name for c in TABLES[t]])
    del rows[line - 1][rows[0].index(column)]
    write_rows(raw / f"{table}.csv", rows)
    return Expected(table, line)


def extra_comma(data, raw: Path) -> Expected:
    """Insert an extra comma between two cells (or at either end of the row)."""
    table, rows, line, _ = draw_cell(data, raw, list(TABLES), lambda t: [c.name for c in TABLES[t]])
    rows[line - 1].insert(data.draw(st.integers(0, len(rows[line - 1])), label="at"), "")
    write_rows(raw / f"{table}.csv", rows)
    return Expected(table, line)


def garbage_in_number(data, raw: Path) -> Expected:
    """Text that is not a plain decimal number in a numeric cell."""
    return set_cell(data, raw, with_numbers(), numeric_columns, GARBAGE)


def negative_number(data, raw: Path) -> Expected:
    """A negative whole number, dollar figure or percentage."""
    value = st.one_of(
        st.integers(1, 10**9).map(lambda n: f"-{n}"),
        st.decimals(Decimal("0.01"), Decimal(10**6), places=2).map(lambda d: f"-{d:f}"),
    )
    table, rows, line, column = draw_cell(data, raw, with_numbers(), numeric_columns)
    kind = next(c.kind for c in TABLES[table] if c.name == column)
    text = data.draw(value.filter(lambda s: kind != "int" or "." not in s), label="value")
    rows[line - 1][rows[0].index(column)] = text
    write_rows(raw / f"{table}.csv", rows)
    return Expected(table, line, column)


def percent_above_100(data, raw: Path) -> Expected:
    """A percentage above 100 (turnout or a candidate's share)."""
    pct = lambda t: [c.name for c in TABLES[t] if c.kind == "pct"]  # noqa: E731
    value = st.floats(100.0, 1e9, exclude_min=True).map(lambda x: f"{x:f}".rstrip("0").rstrip("."))
    return set_cell(data, raw, ["races", "results"], pct, value.filter(lambda s: float(s) > 100))


def unknown_source(data, raw: Path) -> Expected:
    """A source id that sources.csv does not list, alone or after known ones."""
    known = {r[0] for r in read_rows(raw / "sources.csv")[1:]}
    new = st.from_regex(r"s[0-9]{2}-[0-9]{2,3}[a-z]?", fullmatch=True).filter(lambda s: s not in known)
    table, rows, line, column = draw_cell(data, raw, [t for t in TABLES if t != "sources"], lambda t: ["source_ids"])
    cell = rows[line - 1][rows[0].index(column)]
    ids = [*data.draw(st.sampled_from([[], cell.split(";")]), label="keep"), data.draw(new, label="id")]
    rows[line - 1][rows[0].index(column)] = ";".join(ids)
    write_rows(raw / f"{table}.csv", rows)
    return Expected(table, line, column)


def unknown_candidate(data, raw: Path) -> Expected:
    """A candidate id that results.csv does not list, in an endorsement, finance or spending row."""
    known = {r[1] for r in read_rows(raw / "results.csv")[1:]}
    new = st.from_regex(r"[a-z]{2,8}-[a-z]{2,8}", fullmatch=True).filter(lambda s: s not in known)
    columns = {
        "endorsements": ["candidate_id"],
        "candidate_finance": ["candidate_id"],
        "spending": ["beneficiary_id", "target_id"],
    }
    return set_cell(data, raw, list(columns), columns.get, new)


def duplicate_row(data, raw: Path) -> Expected:
    """Copy one data line to another place in the file; the later copy is the one reported."""
    table = data.draw(st.sampled_from(list(TABLES)), label="table")
    path = raw / f"{table}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    copy = lines[data.draw(st.integers(1, len(lines) - 1), label="line")]
    lines.insert(data.draw(st.integers(1, len(lines)), label="at"), copy)
    path.write_text("".join(lines), encoding="utf-8")
    return Expected(table, max(i for i, text in enumerate(lines) if text == copy) + 1)


def truncate_mid_line(data, raw: Path) -> Expected:
    """Cut the file off inside a line, as an interrupted copy or save would."""
    table = data.draw(st.sampled_from(list(TABLES)), label="table")
    path = raw / f"{table}.csv"
    content = path.read_bytes()
    cut = data.draw(st.integers(1, len(content) - 1).filter(lambda i: content[i - 1] != ord("\n")), label="cut")
    path.write_bytes(content[:cut])
    return Expected(table, content[:cut].count(b"\n") + 1)


def binary_junk(data, raw: Path) -> Expected:
    """Insert bytes that are not UTF-8 (each junk string holds a byte that can never occur in UTF-8)."""
    table = data.draw(st.sampled_from(list(TABLES)), label="table")
    path = raw / f"{table}.csv"
    content = path.read_bytes()
    bad = st.sampled_from([b"\xff", b"\xfe", b"\xc0", b"\xf8"])
    junk = data.draw(st.tuples(st.binary(max_size=16), bad, st.binary(max_size=16)).map(b"".join), label="junk")
    at = data.draw(st.integers(0, len(content)), label="at")
    content = content[:at] + junk + content[at:]
    path.write_bytes(content)
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as err:
        return Expected(table, content[: err.start].count(b"\n") + 1)
    raise AssertionError("junk must not be valid UTF-8")


CORRUPTIONS = [
    blank_required_cell,
    drop_cell,
    extra_comma,
    garbage_in_number,
    negative_number,
    percent_above_100,
    unknown_source,
    unknown_candidate,
    duplicate_row,
    truncate_mid_line,
    binary_junk,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
@FEW
@given(data=st.data())
def test_corrupt_raw_file_fails_with_one_line_naming_it_and_leaves_earlier_output_alone(raw_src, built, corrupt, data):
    with tempfile.TemporaryDirectory() as tmp:
        raw = copy_raw(raw_src, Path(tmp) / "raw")
        root = Path(tmp) / "out"
        shutil.copytree(built, root)
        before = snapshot(root)
        where = corrupt(data, raw)
        code, err = run_data(raw, root)
        assert code == 2, err
        assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
        place = f"{where.table}.csv"
        if where.line is not None:
            place += f":{where.line}"
            if where.field is not None:
                place += f": {where.field}:"
        assert f"{os.sep}{place}" in err, err
        assert_same_files(snapshot(root), before)


def test_file_saved_in_a_legacy_encoding_is_named_with_the_first_bad_line(raw_src, tmp_path):
    raw = copy_raw(raw_src, tmp_path / "raw")
    path = raw / "results.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    code, err = run_data(raw, tmp_path / "out")
    assert code == 2 and "results.csv:2:" in err and "UTF-8" in err, err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- interrupted runs


def start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start `python -m model ARGS` from the repository's code with output to log."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "model", *args], cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT
        )


def kill_when(proc: subprocess.Popen, ready, timeout: float) -> bool:
    """SIGKILL proc once ready() holds (polled without sleeping); return False if proc ended first."""
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        return True
    return False


def change_one_amount(raw: Path) -> None:
    """Change one dollar figure so a rebuild gives different clean tables."""
    rows = read_rows(raw / "spending.csv")
    rows[1][rows[0].index("amount_usd")] = str(int(rows[1][rows[0].index("amount_usd")]) + 1)
    write_rows(raw / "spending.csv", rows)


def part(snap: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    """The entries of a snapshot under one name prefix."""
    return {k: v for k, v in snap.items() if k.startswith(prefix)}


@pytest.mark.parametrize("moment", ["computing", "writing"])
def test_killed_data_build_leaves_the_previous_output_whole(raw_src, built, tmp_path, moment):
    """Killed while computing, nothing changes; killed while writing, each output is wholly old or wholly new."""
    root = tmp_path / "out"
    shutil.copytree(built, root)
    before = snapshot(root)
    raw = copy_raw(raw_src, tmp_path / "raw")
    change_one_amount(raw)
    args = ["data", "--raw", str(raw), "--out", str(root / "clean"), "--coverage", str(root / "COVERAGE.md")]
    t0 = time.monotonic()
    proc = start(args, tmp_path, tmp_path / "data.log")
    if moment == "computing":
        # Imports alone take longer than half a second, so the build has written nothing yet.
        killed = kill_when(proc, lambda: time.monotonic() > t0 + 0.5, timeout=60)
    else:
        killed = kill_when(proc, lambda: any(n.startswith(".") for n in os.listdir(root)), timeout=60)
    assert proc.returncode in (0, -signal.SIGKILL), (tmp_path / "data.log").read_text()
    mid = snapshot(root)
    assert run_data(raw, root)[0] == 0
    after = snapshot(root)
    if moment == "computing":
        assert killed
        assert_same_files(mid, before)
    for name in ("clean", "COVERAGE.md"):
        assert part(mid, name) in (part(before, name), part(after, name)), f"{name} is neither old nor new"
    assert part(after, "clean") != part(before, "clean")


def fit_args(raw: Path, tmp: Path, seed: int) -> list[str]:
    """A short `model fit` into tmp/runs (two chains: the rank plots need more than one)."""
    return [
        *("fit", "--raw", str(raw), "--seed", str(seed), "--runs", str(tmp / "runs"), "--figures", str(tmp / "figs")),
        *("--draws", "100", "--tune", "100", "--chains", "2", "--refit"),
    ]


def run_module(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run `python -m model ARGS` from the repository's code to the end."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_killed_fit_leaves_the_previous_run_and_latest_untouched(raw_src, tmp_path):
    """Three short fits (minutes): a finished one, one killed while writing its run, and a rerun that succeeds."""
    runs = tmp_path / "runs"
    first = run_module(fit_args(raw_src, tmp_path, 1), tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    before = snapshot(runs)
    proc = start(fit_args(raw_src, tmp_path, 2), tmp_path, tmp_path / "fit.log")
    # The staging directory .<run-id>.* appears once sampling is done and the run is being written: kill it then.
    staging = lambda: any(n.startswith(".default-") for n in os.listdir(runs))  # noqa: E731
    assert kill_when(proc, staging, timeout=900), (tmp_path / "fit.log").read_text()[-2000:]
    mid = snapshot(runs)
    assert all(mid.get(name) == content for name, content in before.items()), "the previous run or LATEST changed"
    again = run_module(fit_args(raw_src, tmp_path, 2), tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    after = snapshot(runs)
    assert after["LATEST"] != before["LATEST"]
    assert f"{after['LATEST'].decode().strip()}/manifest.json" in after
    assert all(after.get(name) == content for name, content in before.items() if name != "LATEST")
