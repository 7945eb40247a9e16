"""Whether a folder's report was rendered from exactly today's inputs, so that an unchanged re-run of `make fit`
(the run reused by its content hash) does not spend seconds rendering the same bytes again. Imports nothing heavy:
the check runs before the report code is imported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from model.infra import atomic
from model.infra.errors import UserError
from model.infra.provenance import code_hash

# In the report folder: the hash of the inputs the report there was rendered from.
STAMP = ".inputs-sha256"


def latest_run_dir(runs: Path) -> Path:
    """The run directory named by <runs>/LATEST; UserError when there is none."""
    latest = Path(runs) / "LATEST"
    if not latest.is_file():
        raise UserError(f"no run found: {latest} does not exist; run `make fit` first")
    run_id = latest.read_text(encoding="utf-8").strip()
    run_dir = Path(runs) / run_id
    if not run_id or not (run_dir / "manifest.json").is_file():
        raise UserError(f"no run found: {latest} names '{run_id}' but {run_dir}/manifest.json is missing")
    return run_dir


def _stat_line(path: Path) -> str:
    """A file's path, size and modification time: a changed file changes the line."""
    st = path.stat()
    return f"{path}\t{st.st_size}\t{st.st_mtime_ns}"


def report_inputs_hash(runs: Path, root: Path, out: Path, data_now: dict[str, str] | None) -> str:
    """sha256 of everything a report reads: the code, every file of the latest run, the other runs' manifests (the
    prior comparison), the SBC figures under root, the data files' hashes today, and where it is written with the
    figures it drew there (taken after rendering, so that a deleted figure means a new render)."""
    run = latest_run_dir(runs)
    lines = [code_hash(), str(run.resolve()), str(Path(out).resolve()), json.dumps(data_now, sort_keys=True)]
    lines += sorted(_stat_line(p) for p in run.rglob("*") if p.is_file())
    lines += sorted(_stat_line(p) for p in Path(runs).glob("*/manifest.json"))
    lines += sorted(_stat_line(p) for p in Path(runs).glob("*.csv"))
    lines += sorted(_stat_line(p) for p in (Path(root) / "figures").glob("sbc-*.png"))
    lines += sorted(_stat_line(p) for p in (Path(out) / "figures").glob("*.png"))  # drawn by the report itself
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def report_is_current(out: Path, digest: str) -> bool:
    """True when out holds report.md and report.html rendered from inputs with this hash."""
    stamp = Path(out) / STAMP
    complete = all((Path(out) / name).is_file() for name in ("report.md", "report.html"))
    return complete and stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest


def mark_current(out: Path, digest: str) -> None:
    """Record that out's report was rendered from inputs with this hash (after both files are written)."""
    atomic.write_text(Path(out) / STAMP, digest + "\n")
