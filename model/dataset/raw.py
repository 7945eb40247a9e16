"""Load and validate the raw CSVs; every failure is a DataError naming file, row and field."""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from model.dataset.schema import NUMERIC_KINDS, OPTIONAL_TABLES, TABLES, UNITS, Column
from model.infra.errors import DataError

# Percent shares and vote totals are compared with this tolerance (issue 2: 0.5 points).
PCT_TOLERANCE_POINTS = 0.5
# ASCII digits only: \d would accept other scripts' digits, which pandas then fails to convert (a traceback).
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WHOLE = re.compile(r"-?[0-9]+")
_DISTRICT = re.compile(r"[A-Za-z0-9_-]{1,20}")
# Committee keys: lower-case slugs, ';' between the keys of a figure over several named committees.
_COMMITTEE = re.compile(r"[a-z0-9][a-z0-9-]*(;[a-z0-9][a-z0-9-]*)*")
# Plain decimal notation only: float() also takes 'nan', 'inf', '1e999' and '1_000', none of which is a typed figure.
_DECIMAL = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def _q(value: str) -> str:
    """A cell value quoted for an error message, control characters escaped so the message stays one line."""
    return "'" + "".join(c if c.isprintable() else repr(c)[1:-1] for c in value) + "'"


def _text(path: Path) -> str:
    """The file's text; bytes that are not UTF-8, or a last line without a line break (a truncated file), are
    errors naming the line."""
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # spreadsheet programs write a byte order mark; it is not content
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(
            str(path), f"byte 0x{data[err.start]:02x} is not UTF-8 text; save the file as UTF-8", line
        ) from None
    if text and not text.endswith(("\n", "\r")):
        # Every row ends with a line break, so a file that stops mid-line was cut off (an interrupted copy or save).
        raise DataError(str(path), "last line has no line break; is the file truncated?", text.count("\n") + 1)
    return text


def read_table(raw_dir: Path, table: str) -> pd.DataFrame:
    """Read one raw CSV as strings, checking the header and that every row has the header's width."""
    path = Path(raw_dir) / f"{table}.csv"
    name = str(path)
    if not path.exists() and table in OPTIONAL_TABLES:
        frame = pd.DataFrame({"_row": pd.Series(dtype=int), **{c.name: pd.Series(dtype=str) for c in TABLES[table]}})
        frame.attrs["path"] = name
        return frame
    if not path.exists():
        raise DataError(name, "file is missing")
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    rows: list[list[str]] = []
    lines: list[int] = []  # the file line each record starts on (a quoted cell may span lines)
    try:
        for row in reader:
            lines.append(reader.line_num - sum(len(_LINE_BREAK.findall(c)) for c in row))
            rows.append(row)
    except csv.Error as err:  # e.g. a cell longer than csv's field size limit
        raise DataError(name, f"malformed CSV: {err}", reader.line_num) from None
    if not rows:
        raise DataError(name, "file is empty; expected a header row")
    header = [h.strip() for h in rows[0]]
    expected = [c.name for c in TABLES[table]]
    unknown = [h for h in header if h not in expected]
    if unknown:
        raise DataError(name, f"unknown column {_q(unknown[0])}; expected columns {expected}", row=1)
    missing = [c.name for c in TABLES[table] if c.required and c.name not in header]
    if missing:
        raise DataError(name, f"missing column {_q(missing[0])}", row=1)
    seen: dict[tuple[str, ...], int] = {}
    for line, row in zip(lines[1:], rows[1:], strict=True):
        if len(row) != len(header):
            raise DataError(name, f"expected {len(header)} fields, found {len(row)} (malformed CSV)", row=line)
        # An exact copy of a row is a typing slip, and would count a spending figure twice in the latent model.
        # Tables with a key (source, race, candidate-count) report it by that key in their own checks.
        key = tuple(c.strip() for c in row)
        if key in seen and table not in ("sources", "races", "results"):
            raise DataError(name, f"row repeats line {seen[key]} exactly", row=line)
        seen[key] = line
    frame = pd.DataFrame([[c.strip() for c in r] for r in rows[1:]], columns=header, dtype=str)
    for col in TABLES[table]:
        if col.name not in frame:
            frame[col.name] = ""
    frame = frame[expected]
    frame.insert(0, "_row", lines[1:])
    frame.attrs["path"] = name
    return frame


def _check_cell(name: str, row: int, col: Column, value: str) -> None:
    """Raise DataError when one cell does not match its column's type."""
    if value == "":
        if col.required:
            raise DataError(name, "is empty; a value is required", row, col.name)
        return
    kind = col.kind
    if kind == "district" and not _DISTRICT.fullmatch(value):
        raise DataError(
            name, f"expected a district id of at most 20 letters, digits, '-' or '_', got {_q(value)}", row, col.name
        )
    if kind == "committee" and (not _COMMITTEE.fullmatch(value) or ("all" in value.split(";") and value != "all")):
        raise DataError(
            name, f"expected committee keys such as utla or csr;lacfl ('all' alone), got {_q(value)}", row, col.name
        )
    if kind == "int" and not _WHOLE.fullmatch(value):
        raise DataError(name, f"expected a whole number, got {_q(value)}", row, col.name)
    if kind in ("money", "pct") and not _DECIMAL.fullmatch(value):
        raise DataError(name, f"expected a number such as 1234.5, got {_q(value)}", row, col.name)
    if kind in NUMERIC_KINDS:
        number = float(value)
        if not math.isfinite(number):
            raise DataError(name, f"number too large, got {_q(value)}", row, col.name)
        if number < 0:
            raise DataError(name, f"must not be negative, got {value}", row, col.name)
        if kind == "pct" and number > 100:
            raise DataError(name, f"a percent must be at most 100, got {value}", row, col.name)
    if kind == "date":
        try:
            if not _DATE.match(value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            raise DataError(name, f"expected an ISO date YYYY-MM-DD, got {_q(value)}", row, col.name) from None
    if kind == "bool" and value not in ("true", "false"):
        raise DataError(name, f"expected true or false, got {_q(value)}", row, col.name)
    if kind == "enum" and value not in col.choices:
        raise DataError(name, f"unknown value {_q(value)}; expected one of {list(col.choices)}", row, col.name)


def _check_cells(frame: pd.DataFrame, table: str, source_ids: set[str]) -> None:
    """Check types of every cell and that rows with numbers cite known sources."""
    name = frame.attrs["path"]
    columns = TABLES[table]
    for rec in frame.to_dict("records"):
        for col in columns:
            _check_cell(name, rec["_row"], col, rec[col.name])
        if table == "sources":
            continue
        ids = [s for s in rec["source_ids"].split(";") if s]
        # The cycle is a key, not a sourced figure (an unknown candidate_quality row has a cycle and no source).
        has_number = any(rec[c.name] != "" for c in columns if c.kind in NUMERIC_KINDS and c.name != "cycle")
        if has_number and not ids:
            raise DataError(name, "row has numbers but no source id", rec["_row"], "source_ids")
        for sid in ids:
            if sid not in source_ids:
                raise DataError(name, f"source id {_q(sid)} is not in sources.csv", rec["_row"], "source_ids")


def load_raw(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """Return the validated raw tables, typed (numbers as floats, booleans as bool)."""
    tables = {t: read_table(raw_dir, t) for t in TABLES}
    sources = tables["sources"]
    _check_cells(sources, "sources", set())
    dup = sources[sources.duplicated("source_id")]
    if len(dup):
        raise DataError(
            sources.attrs["path"],
            f"duplicate source_id {_q(dup.iloc[0].source_id)}",
            int(dup.iloc[0]["_row"]),
            "source_id",
        )
    known = set(sources.source_id)
    for t in TABLES:
        if t != "sources":
            _check_cells(tables[t], t, known)
    typed = {t: _typed(f, t) for t, f in tables.items()}
    check_relations(typed)
    return typed


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Convert string cells to numbers and booleans by column kind; money is converted to dollars. District ids
    stay strings unless every one is a whole number (LAUSD's 1-7), which keeps numeric ids numeric."""
    out = frame.copy()
    for col in TABLES[table]:
        if col.kind == "district":
            values = [v for v in frame[col.name] if v]
            numeric = all(_WHOLE.fullmatch(v) for v in values)
            out[col.name] = [(float(v) if numeric else v) if v else math.nan for v in frame[col.name]]
        if col.kind in NUMERIC_KINDS:
            out[col.name] = [float(v) if v else math.nan for v in frame[col.name]]
        elif col.kind == "bool":
            out[col.name] = out[col.name] == "true"
    if table == "spending":
        # Decimal arithmetic, so that 1234.567 kusd gives exactly the float that 1234567 usd gives.
        units = frame["unit"].replace("", "usd")
        dollars = [Decimal(a) * Decimal(UNITS[u]) for a, u in zip(frame["amount_usd"], units, strict=True)]
        out["amount_usd"] = [float(d) for d in dollars]
    out.attrs["path"] = frame.attrs["path"]
    return out


def check_relations(t: dict[str, pd.DataFrame]) -> None:
    """Check ids across tables, duplicates, percent-vs-votes agreement and votes vs ballots cast."""
    races, results = t["races"], t["results"]
    rpath, spath = races.attrs["path"], results.attrs["path"]
    dup = races[races.duplicated("race_id")]
    if len(dup):
        raise DataError(rpath, f"duplicate race_id {_q(dup.iloc[0].race_id)}", int(dup.iloc[0]["_row"]), "race_id")
    for rec in races.to_dict("records"):
        if not rec["race_id"].startswith(rec["date"]):
            raise DataError(
                rpath,
                f"race_id {_q(rec['race_id'])} does not start with its date {rec['date']}",
                rec["_row"],
                "race_id",
            )
    race_ids = set(races.race_id)
    for rec in results.to_dict("records"):
        if rec["race_id"] not in race_ids:
            raise DataError(spath, f"unknown race {_q(rec['race_id'])} (not in races.csv)", rec["_row"], "race_id")
    key = ["race_id", "candidate_id", "count_status", "as_of"]
    dup = results[results.duplicated(key)]
    if len(dup):
        r = dup.iloc[0]
        raise DataError(
            spath,
            f"duplicate candidate {_q(r.candidate_id)} in race {r.race_id} for the same count",
            int(r["_row"]),
            "candidate_id",
        )
    ballots = races.set_index("race_id")["ballots_cast"]
    candidates_of = results.groupby("race_id").candidate_id.agg(set)
    for (race_id, _status, _as_of), count in results.groupby(["race_id", "count_status", "as_of"]):
        votes = count["votes"]
        total = votes.sum()
        cast = ballots.get(race_id)
        if cast is not None and pd.notna(cast) and total > cast:
            r = count.iloc[-1]
            raise DataError(
                spath,
                f"votes in race {race_id} sum to {total:.0f}, above ballots cast {cast:.0f}",
                int(r["_row"]),
                "votes",
            )
        # Shares are only comparable when this count has votes for every candidate in the race.
        complete = set(count.candidate_id) == candidates_of[race_id]
        if complete and votes.notna().all() and total > 0:
            for r in count.to_dict("records"):
                if pd.notna(r["pct_reported"]):
                    computed = 100 * r["votes"] / total
                    if abs(computed - r["pct_reported"]) > PCT_TOLERANCE_POINTS:
                        raise DataError(
                            spath,
                            f"pct_reported {r['pct_reported']} disagrees with votes/total = {computed:.2f}",
                            int(r["_row"]),
                            "pct_reported",
                        )
    by_cycle: dict[int, set[str]] = {}
    cycle_of = races.set_index("race_id")["cycle"]
    for race_id, cid in zip(results.race_id, results.candidate_id, strict=True):
        by_cycle.setdefault(int(cycle_of[race_id]), set()).add(cid)
    for table, cols in (
        ("endorsements", ["candidate_id"]),
        ("candidate_finance", ["candidate_id"]),
        ("candidate_quality", ["candidate_id"]),
        ("spending", ["beneficiary_id", "target_id"]),
    ):
        frame = t[table]
        for rec in frame.to_dict("records"):
            cands = by_cycle.get(int(rec["cycle"]), set())
            for col in cols:
                for cid in [c for c in str(rec[col]).split(";") if c]:
                    if cid not in cands:
                        raise DataError(
                            frame.attrs["path"],
                            f"unknown candidate {_q(cid)} for cycle {int(rec['cycle'])} (not in results.csv)",
                            rec["_row"],
                            col,
                        )
    check_candidate_quality(t["candidate_quality"], by_cycle)
    for rec in races.to_dict("records"):
        counted = any(pd.notna(rec[c]) for c in ("registered_voters", "ballots_cast", "turnout_pct"))
        if counted and not rec["turnout_status"]:
            raise DataError(rpath, "turnout figures need the status of their count", rec["_row"], "turnout_status")
    for rec in t["spending"].to_dict("records"):
        if rec["committee"] == "all" and rec["committee_id"] != "all":
            raise DataError(
                t["spending"].attrs["path"],
                f"a total over committees ('all') needs committee_id 'all', got {_q(rec['committee_id'])}",
                rec["_row"],
                "committee_id",
            )
        if pd.isna(rec["district"]):
            continue  # citywide aggregates may name no candidate
        if rec["stance"] == "support" and not rec["beneficiary_id"]:
            raise DataError(
                t["spending"].attrs["path"], "support figure names no beneficiary", rec["_row"], "beneficiary_id"
            )
        if rec["stance"] == "oppose" and not rec["target_id"]:
            raise DataError(t["spending"].attrs["path"], "oppose figure names no target", rec["_row"], "target_id")


def check_candidate_quality(quality: pd.DataFrame, by_cycle: dict[int, set[str]]) -> None:
    """One row per candidate and cycle; a known answer or a designation cites a source; yes names the office."""
    path = quality.attrs["path"]
    seen: dict[tuple[int, str], int] = {}
    for rec in quality.to_dict("records"):
        key = (int(rec["cycle"]), rec["candidate_id"])
        if key in seen:
            raise DataError(
                path, f"candidate {_q(key[1])} repeats line {seen[key]} for cycle {key[0]}", rec["_row"], "candidate_id"
            )
        seen[key] = rec["_row"]
        known = rec["elected_office"] != "unknown" or rec["ballot_designation"]
        if known and not rec["source_ids"]:
            raise DataError(path, "a known office or a ballot designation needs a source id", rec["_row"], "source_ids")
        if rec["elected_office"] == "yes" and not rec["offices"]:
            raise DataError(path, "elected_office is yes but no office is named", rec["_row"], "offices")
        if rec["elected_office"] != "yes" and rec["offices"]:
            raise DataError(
                path, f"offices is filled but elected_office is {rec['elected_office']}", rec["_row"], "offices"
            )
