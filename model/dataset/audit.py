"""Spot-check sample for readers: N random numbers of data/raw, each with its file, line, value and source URLs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.dataset.raw import load_raw, read_table
from model.dataset.schema import NUMERIC_KINDS, TABLES

# Cells worth checking against a page: the numbers (votes, percents, counts, dollars). What each number is about
# (round, stance, bound, date...) is printed beside it from the row's key cells.
AUDITED_KINDS = NUMERIC_KINDS


@dataclass(frozen=True)
class Cell:
    """One raw cell to check: where it is, what it says, and the pages it cites."""

    file: str
    line: int
    column: str
    value: str
    row_key: str  # the row's identifying cells (race, candidate, cycle...), so a reader knows what the value is about
    urls: tuple[str, ...]


# The cells that say what a row is about, per table (printed beside the audited value).
ROW_KEYS = {
    "races": ("race_id", "turnout_status"),
    "results": ("race_id", "candidate_id", "pct_bound", "count_status", "as_of"),
    "spending": (
        *("cycle", "district", "scope", "committee", "beneficiary_id", "target_id", "stance", "money_kind", "unit"),
        *("bound", "as_of", "final"),
    ),
    "candidate_finance": ("cycle", "candidate_id", "bound", "as_of"),
}


def auditable_cells(raw_dir: Path) -> list[Cell]:
    """Every non-empty number of the sourced tables (endorsements carry none), in file order."""
    sources = read_table(raw_dir, "sources")
    url_of = dict(zip(sources.source_id, sources.url, strict=True))
    cells = []
    for table, keys in ROW_KEYS.items():
        frame = read_table(raw_dir, table)
        columns = [c.name for c in TABLES[table] if c.kind in AUDITED_KINDS and c.name not in keys]
        for rec in frame.to_dict("records"):
            urls = tuple(url_of.get(s, f"(unknown source {s})") for s in rec["source_ids"].split(";") if s)
            key = ", ".join(f"{k}={rec[k]}" for k in keys if rec[k])
            for col in columns:
                if rec[col] != "":
                    cells.append(Cell(frame.attrs["path"], int(rec["_row"]), col, rec[col], key, urls))
    return cells


def sample_cells(raw_dir: Path, n: int, seed: int) -> list[Cell]:
    """n cells drawn without replacement (all of them when n is larger), reproducible from the seed; the raw data are
    validated first (a bad cell stops with its one-line error)."""
    load_raw(raw_dir)
    cells = auditable_cells(raw_dir)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(cells), size=min(n, len(cells)), replace=False)
    return [cells[i] for i in sorted(picks)]


def format_cells(cells: list[Cell]) -> str:
    """One block per cell: file:line column = value, what the row is about, and each source URL."""
    blocks = []
    for k, c in enumerate(cells, start=1):
        lines = [f"{k}. {c.file}:{c.line}: {c.column} = {c.value}", f"   row: {c.row_key}"]
        lines += [f"   source: {u}" for u in c.urls] or ["   source: (none cited)"]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
