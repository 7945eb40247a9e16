"""Build the clean tables and COVERAGE.md from validated raw data, atomically (`make data`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from model.dataset.coverage import coverage_markdown
from model.dataset.raw import load_raw
from model.dataset.tables import candidate_races, head_to_head
from model.infra import atomic

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


def _csv(frame: pd.DataFrame) -> str:
    """Deterministic CSV text (fixed float format, whole-number columns as integers, LF line ends)."""
    whole = {c: "Int64" for c in INTEGER_COLUMNS if c in frame}
    return frame.astype(whole).to_csv(index=False, lineterminator="\n", float_format="%.6f")


def build_all(raw_dir: Path, out_dir: Path, coverage_path: Path) -> str:
    """Validate raw, write clean tables and COVERAGE.md atomically; return a one-line summary."""
    out_dir = Path(out_dir)
    atomic.recover_all(out_dir.parent)  # a build killed mid-swap: its previous outputs come back first
    t = load_raw(raw_dir)
    cr = candidate_races(t)
    h2h = head_to_head(cr)
    cov = coverage_markdown(t["races"], cr)
    staged = atomic.staging_dir(out_dir)
    try:
        (staged / "candidate_races.csv").write_text(_csv(cr), encoding="utf-8")
        (staged / "head_to_head.csv").write_text(_csv(h2h), encoding="utf-8")
        atomic.replace_dir(staged, out_dir)
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    atomic.fault_point("before_coverage")
    atomic.write_text(Path(coverage_path), cov)
    return f"built {len(cr)} candidate-race rows, {len(h2h)} head-to-head races into {out_dir}"
