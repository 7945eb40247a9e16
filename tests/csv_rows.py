"""Raw CSV files as lists of rows, for tests that edit one cell of a copied data directory."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(path: Path) -> list[list[str]]:
    """All rows of a CSV file, header first."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    """Write rows (header first) as CSV with LF line ends."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
