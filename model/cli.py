"""Command line: `python -m model data` (fit/report/bench arrive with issues 3-5)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.errors import UserError


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; user errors print one line and return 2."""
    parser = argparse.ArgumentParser(prog="python -m model")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="validate data/raw, build data/clean and data/COVERAGE.md")
    p.add_argument("--raw", type=Path, default=Path("data/raw"))
    p.add_argument("--out", type=Path, default=Path("data/clean"))
    p.add_argument("--coverage", type=Path, default=Path("data/COVERAGE.md"))
    args = parser.parse_args(argv)
    try:
        if args.command == "data":
            from model.build import build_all

            summary = build_all(args.raw, args.out, args.coverage)
            print(summary)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
