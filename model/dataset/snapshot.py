"""The data a run used, as files in its run folder: the clean tables and the per-race facts (sources, chosen counts,
money figures) with their hash, written once by the fit and read back by the report, which never reads the
repository's data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model.dataset.coverage import coverage_markdown
from model.dataset.tables import CleanData

# Clean-table columns that hold whole numbers: written without decimals, empty where unknown.
INTEGER_COLUMNS = (
    "cycle",
    "district",
    "rank",
    "votes",
    "n_candidates",
    "registered_voters",
    "ballots_cast",
    "votes_cast",
    "n_money_figures",
    "n_combined",
    "d_incumbent",
    "d_utla",
    "d_ccsa",
)
SNAPSHOT_DIR = "data"  # inside a run folder
# The per-race facts the race pages show, besides the clean tables.
COUNT_COLUMNS = ("race_id", "candidate_id", "votes", "pct_reported", "count_status", "as_of", "source_ids")
SOURCE_COLUMNS = ("source_id", "url", "publisher", "title", "published")
# Columns of money-figures.csv that are not text.
FIGURE_FLOATS = ("amount_usd",)
FIGURE_FLAGS = ("final", "single", "derived")
SNAPSHOT_FILES = (
    "candidate_races.csv",
    "head_to_head.csv",
    "counts.csv",
    "money-figures.csv",
    "sources.csv",
    "COVERAGE.md",
)


def csv_text(frame: pd.DataFrame) -> str:
    """Deterministic CSV text (fixed float format, whole-number columns as integers, LF line ends). A column that
    holds names (district ids such as 'north') stays as it is."""
    whole = {c: "Int64" for c in INTEGER_COLUMNS if c in frame and pd.api.types.is_numeric_dtype(frame[c])}
    return frame.astype(whole).to_csv(index=False, lineterminator="\n", float_format="%.6f")


def write_snapshot(clean: CleanData, out: Path) -> list[Path]:
    """Write the clean tables, COVERAGE.md and the race pages' facts of one pass over the data into out (a run
    folder's data/); return the files written (SNAPSHOT_FILES, hashed by the caller)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = clean.counts.reindex(columns=list(COUNT_COLUMNS))
    sources = clean.raw["sources"].reindex(columns=list(SOURCE_COLUMNS))
    texts = {
        "candidate_races.csv": csv_text(clean.cr),
        "head_to_head.csv": csv_text(clean.h2h),
        "counts.csv": csv_text(counts),
        "money-figures.csv": csv_text(clean.figures),
        "sources.csv": sources.to_csv(index=False, lineterminator="\n"),
        "COVERAGE.md": coverage_markdown(clean.raw["races"], clean.cr),
    }
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in SNAPSHOT_FILES]


@dataclass(frozen=True)
class Snapshot:
    """The data a run used, read back from its folder (empty frames for files it lacks: an older run)."""

    cr: pd.DataFrame
    counts: pd.DataFrame
    figures: pd.DataFrame
    sources: pd.DataFrame
    coverage: str | None
    has_figures: bool  # money-figures.csv is there (it may list no figure)


def read_snapshot(run_dir: Path) -> Snapshot:
    """The snapshot of a run folder (run_dir/data), typed as the dataset layer made it."""
    d = Path(run_dir) / SNAPSHOT_DIR

    def text_table(name: str) -> pd.DataFrame:
        try:
            return pd.read_csv(d / name, dtype=str, keep_default_na=False)
        except (FileNotFoundError, pd.errors.EmptyDataError):  # no file (an older run), or no figure at all
            return pd.DataFrame()

    cr = pd.read_csv(d / "candidate_races.csv") if (d / "candidate_races.csv").is_file() else pd.DataFrame()
    counts = text_table("counts.csv")
    for col in ("votes", "pct_reported"):
        if col in counts:
            counts[col] = pd.to_numeric(counts[col].replace("", None), errors="coerce")
    figures = text_table("money-figures.csv")
    if not figures.empty:
        figures = figures.assign(
            **{c: figures[c].astype(float) for c in FIGURE_FLOATS if c in figures},
            **{c: figures[c].eq("True") for c in FIGURE_FLAGS if c in figures},
            _row=figures._row.astype(int),
        )
    cov = d / "COVERAGE.md"
    coverage = cov.read_text("utf-8") if cov.is_file() else None
    return Snapshot(cr, counts, figures, text_table("sources.csv"), coverage, (d / "money-figures.csv").is_file())
