"""Robustness to bad input: row order and money units do not change model inputs, corrupt raw files fail with
one line and leave earlier output alone, and a killed run never damages the previous one."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from csv_rows import read_rows, write_rows
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from model.cli import main
from model.dataset.build import build_all
from model.dataset.features import VoteShareData, vote_share_data
from model.dataset.money import MONEY_COLUMNS
from model.dataset.raw import load_raw
from model.dataset.schema import NUMERIC_KINDS, TABLES, UNITS
from model.dataset.tables import candidate_races
from model.infra import atomic

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


# ------------------------------------------------------- interrupted runs (fault injection, model/infra/atomic.py)


def run_module(args: list[str], cwd: Path, fault: str | None = None, swap: str | None = None):
    """Run `python -m model ARGS` from the repository's code to the end, or until it kills itself at the
    atomic.FAULT_STEPS step named by fault; swap='journal' forces the rename-and-journal swap."""
    env = {k: v for k, v in os.environ.items() if k not in (atomic.FAULT_ENV, atomic.SWAP_ENV)}
    env["PYTHONPATH"] = str(REPO)
    env.update({atomic.FAULT_ENV: fault} if fault else {})
    env.update({atomic.SWAP_ENV: swap} if swap else {})
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=cwd, env=env, capture_output=True, text=True)


def change_one_amount(raw: Path) -> None:
    """Change one dollar figure so a rebuild gives different clean tables."""
    rows = read_rows(raw / "spending.csv")
    rows[1][rows[0].index("amount_usd")] = str(int(rows[1][rows[0].index("amount_usd")]) + 1)
    write_rows(raw / "spending.csv", rows)


def part(snap: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    """The entries of a snapshot under one name prefix."""
    return {k: v for k, v in snap.items() if k.startswith(prefix)}


@pytest.fixture(scope="module")
def changed(raw_src, tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """Raw data with one dollar figure changed, and a snapshot of what it builds."""
    root = tmp_path_factory.mktemp("changed")
    raw = copy_raw(raw_src, root / "raw")
    change_one_amount(raw)
    build_all(raw, root / "out" / "clean", root / "out" / "COVERAGE.md")
    return raw, snapshot(root / "out")


# (fault step, swap mode, data/clean right after the kill, data/clean after the next start). COVERAGE.md is written
# last, so it is the previous one after every kill. Exchange (the default on Linux) never empties the path; only the
# rename-and-journal swap has a step where data/clean is missing, and the next start must restore it.
DATA_KILLS = [
    ("staged", None, "old", "old"),
    ("file_written", None, "old", "old"),  # the first atomic file write is the swap's journal
    ("journal", None, "old", "old"),
    ("swapped", None, "new", "new"),
    ("before_coverage", None, "new", "new"),
    ("between_renames", "journal", "missing", "old"),
    ("swapped", "journal", "new", "new"),
]


@pytest.mark.parametrize(
    ("step", "swap", "right_after", "after_restart"),
    DATA_KILLS,
    ids=[f"{s}-{m or 'exchange'}" for s, m, *_ in DATA_KILLS],
)
def test_data_build_killed_at_each_step_leaves_or_restores_whole_outputs(
    raw_src, built, changed, tmp_path, step, swap, right_after, after_restart
):
    """SIGKILL at a named step, then a next start whose raw data fail validation (exit 2): recovery runs before
    validation, so every output is wholly the previous or wholly the new build, and no staging file is left."""
    root = tmp_path / "out"
    shutil.copytree(built, root)
    before = snapshot(root)
    raw, new = changed
    want = {"old": part(before, "clean"), "new": part(new, "clean"), "missing": {}}
    args = ["data", "--raw", str(raw), "--out", str(root / "clean"), "--coverage", str(root / "COVERAGE.md")]
    killed = run_module(args, tmp_path, fault=step, swap=swap)
    assert killed.returncode == -signal.SIGKILL, f"the fault at {step} did not fire: {killed.stderr[-2000:]}"
    mid = snapshot(root)
    assert part(mid, "clean") == want[right_after]
    assert part(mid, "COVERAGE.md") == part(before, "COVERAGE.md")
    bad = copy_raw(raw, tmp_path / "bad")
    rows = read_rows(bad / "results.csv")
    rows[1][rows[0].index("votes")] = "many"
    write_rows(bad / "results.csv", rows)
    code, err = run_data(bad, root)
    assert code == 2 and "results.csv:2" in err, err
    after = snapshot(root)
    assert part(after, "clean") == want[after_restart]
    assert part(after, "COVERAGE.md") == part(before, "COVERAGE.md")
    assert not [k for k in after if k.startswith(".")], "a journal, staging directory or temp file was left"


# A `model fit` whose sampling, table writing and data copy are replaced by a one-file stand-in: the run-directory
# bookkeeping (staging, manifest, swap, LATEST) is the real code, and it takes seconds instead of minutes.
FAKE_FIT = """
import sys
from pathlib import Path
from types import SimpleNamespace
import model.fit as fit
def fit_models(*args):
    return {"wall_s": {"fake": 0.0}, "main_model": None, "names": None, "skipped": {},
            "data": SimpleNamespace(terms=())}
def write_run(out, result, seed):
    (out / "table.csv").write_text(f"seed {seed} {sys.argv[4]}")
    return True
fit.fit_models, fit.write_run = fit_models, write_run
fit.keep_inputs = lambda out, result, priors_path: {}
fit.run_fit(Path(sys.argv[1]), "default", int(sys.argv[3]), Path(sys.argv[2]), reuse=False)
"""


def fake_fit_here(monkeypatch, runs: Path, seed: int, tag: str) -> None:
    """FAKE_FIT in this process (a finished fit, or the next start after a killed one)."""
    import model.fit as fit

    def write_run(out, result, seed):
        (out / "table.csv").write_text(f"seed {seed} {tag}")
        return True

    fake = {
        "wall_s": {"fake": 0.0},
        "main_model": None,
        "names": None,
        "skipped": {},
        "data": SimpleNamespace(terms=()),
    }
    monkeypatch.setattr(fit, "fit_models", lambda *args: fake)
    monkeypatch.setattr(fit, "write_run", write_run)
    monkeypatch.setattr(fit, "keep_inputs", lambda out, result, priors_path: {})
    fit.run_fit(RAW, "default", seed, runs, reuse=False)


def fake_fit(runs: Path, seed: int, tag: str, fault: str | None = None, swap: str | None = None):
    """Run FAKE_FIT in a child process (so it can be killed); returns the completed process."""
    env = {k: v for k, v in os.environ.items() if k not in (atomic.FAULT_ENV, atomic.SWAP_ENV)}
    env["PYTHONPATH"] = str(REPO)
    env.update({atomic.FAULT_ENV: fault} if fault else {})
    env.update({atomic.SWAP_ENV: swap} if swap else {})
    args = [sys.executable, "-c", FAKE_FIT, str(RAW), str(runs), str(seed), tag]
    return subprocess.run(args, cwd=runs.parent, env=env, capture_output=True, text=True)


def complete_runs(runs: Path) -> dict[str, str]:
    """Run id -> its table's text, for every run directory holding a manifest (not hidden staging directories)."""
    return {
        d.name: (d / "table.csv").read_text()
        for d in sorted(runs.iterdir())
        if not d.name.startswith(".") and (d / "manifest.json").exists()
    }


# (fault step, swap mode, seed of the killed fit: 1 = a --refit of the previous run's id, 2 = a new run id)
FIT_KILLS = [
    ("manifest", None, 2),
    ("before_latest", None, 2),
    ("swapped", None, 1),
    ("between_renames", "journal", 1),
]


@pytest.mark.parametrize(("step", "swap", "seed"), FIT_KILLS, ids=[f"{s}-{m or 'exchange'}" for s, m, _ in FIT_KILLS])
def test_fit_killed_at_each_step_leaves_or_restores_the_previous_run_and_latest(
    tmp_path, monkeypatch, step, swap, seed
):
    runs = tmp_path / "runs"
    runs.mkdir()
    fake_fit_here(monkeypatch, runs, 1, "first")
    first_id = (runs / "LATEST").read_text().strip()
    before = complete_runs(runs)
    killed = fake_fit(runs, seed, "second", fault=step, swap=swap)
    assert killed.returncode == -signal.SIGKILL, f"the fault at {step} did not fire: {killed.stderr[-2000:]}"
    assert (runs / "LATEST").read_text().strip() == first_id
    mid = complete_runs(runs)
    if step == "between_renames":
        assert first_id not in mid  # the journal swap's one empty moment, which the next start repairs
    elif step == "swapped":
        assert mid == {first_id: "seed 1 second"}  # the refit is complete in place
    else:
        assert {k: v for k, v in mid.items() if k == first_id} == before
    fake_fit_here(monkeypatch, runs, 3, "third")  # the next start
    after = complete_runs(runs)
    assert after[first_id] == ("seed 1 second" if step == "swapped" else "seed 1 first")
    assert (runs / "LATEST").read_text().strip() in after
    assert not [p.name for p in runs.iterdir() if p.name.startswith(".")], "a journal or staging run was left"


def fit_args(raw: Path, tmp: Path, seed: int) -> list[str]:
    """A short `model fit` into tmp/runs (two chains: the rank plots need more than one), without the secondary
    steps, which write nothing the swap treats differently."""
    return [
        *("fit", "--raw", str(raw), "--seed", str(seed), "--runs", str(tmp / "runs"), "--figures", str(tmp / "figs")),
        *(
            "--draws",
            "100",
            "--tune",
            "100",
            "--chains",
            "2",
            "--refit",
            "--skip",
            "loco",
            "forecast",
            "sweep",
            "unknown",
        ),
    ]


@pytest.mark.slow
def test_real_fit_killed_after_its_manifest_leaves_the_previous_run_and_latest_untouched(raw_src, tmp_path):
    """Three short real fits (minutes): a finished one, one killed (fault injection) once its run is completely
    written in staging, and a rerun that succeeds and leaves nothing behind."""
    runs = tmp_path / "runs"
    first = run_module(fit_args(raw_src, tmp_path, 1), tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    before = snapshot(runs)
    killed = run_module(fit_args(raw_src, tmp_path, 2), tmp_path, fault="manifest")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert snapshot(runs) == {**before, **part(snapshot(runs), ".")}, "the previous run or LATEST changed"
    again = run_module(fit_args(raw_src, tmp_path, 2), tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    after = snapshot(runs)
    assert after["LATEST"] != before["LATEST"]
    assert f"{after['LATEST'].decode().strip()}/manifest.json" in after
    assert all(after.get(name) == content for name, content in before.items() if name != "LATEST")
    assert not part(after, "."), "the killed fit's staging run was left"
