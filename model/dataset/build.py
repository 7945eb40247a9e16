"""Build the clean tables and COVERAGE.md from validated raw data, atomically (`make data`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from model.dataset.coverage import coverage_markdown
from model.dataset.raw import load_raw
from model.dataset.snapshot import csv_text
from model.dataset.tables import clean_data
from model.infra import atomic


def build_all(raw_dir: Path, out_dir: Path, coverage_path: Path) -> str:
    """Validate raw, write clean tables and COVERAGE.md atomically; return a one-line summary."""
    out_dir = Path(out_dir)
    atomic.recover_all(out_dir.parent)  # a build killed mid-swap: its previous outputs come back first
    clean = clean_data(load_raw(raw_dir))
    cr, h2h = clean.cr, clean.h2h
    cov = coverage_markdown(clean.raw["races"], cr)
    staged = atomic.staging_dir(out_dir)
    try:
        (staged / "candidate_races.csv").write_text(csv_text(cr), encoding="utf-8")
        (staged / "head_to_head.csv").write_text(csv_text(h2h), encoding="utf-8")
        atomic.replace_dir(staged, out_dir)
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    atomic.fault_point("before_coverage")
    atomic.write_text(Path(coverage_path), cov)
    return f"built {len(cr)} candidate-race rows, {len(h2h)} head-to-head races into {out_dir}"
