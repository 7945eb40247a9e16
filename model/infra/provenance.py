"""What produced a result: content hashes of data and code, the git commit, package versions."""

from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path

from model.infra.paths import PACKAGE_DIR, REPO_ROOT

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "pymc", "pytensor", "arviz", "nutpie", "xarray")
# The files that define the models and their inputs (not rendering): SBC results stay valid while these are
# unchanged. Paths relative to model/; a folder means every .py file in it (one module per model).
MODEL_FILES = (
    "dataset/schema.py",
    "dataset/raw.py",
    "dataset/counts.py",
    "dataset/money.py",
    "dataset/tables.py",
    "dataset/features.py",
    "priors.py",
    "inference/sampling.py",
    "models",
    "fit.py",
    "evaluation/sbc.py",
)


def file_hash(paths: list[Path]) -> str:
    """sha256 over the bytes of files, in name order."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def raw_data_hash(raw_dir: Path) -> str:
    """sha256 of a raw data directory's CSV files: the data identity recorded by fits and SBC."""
    return file_hash(list(Path(raw_dir).glob("*.csv")))


def raw_file_hashes(raw_dir: Path) -> dict[str, str]:
    """sha256 (first 16 hex) of each CSV file of a raw data directory, by file name: which file changed since a run."""
    return {p.name: file_hash([p]) for p in sorted(Path(raw_dir).glob("*.csv"))}


def code_hash() -> str:
    """sha256 of the model package source (every subpackage too): a change in code means a new run id."""
    return file_hash(list(PACKAGE_DIR.rglob("*.py")))


def model_code_hash() -> str:
    """sha256 of the model-defining source files (MODEL_FILES)."""
    paths: list[Path] = []
    for name in MODEL_FILES:
        p = PACKAGE_DIR / name
        paths += sorted(p.glob("*.py")) if p.is_dir() else [p]
    return file_hash(paths)


LOCK_FILE = REPO_ROOT / "requirements.lock"


def lock_state(lock: Path = LOCK_FILE) -> dict[str, str | bool | None]:
    """sha256 (first 16 hex) of requirements.lock and whether every pin in it is installed at its version
    (both None when there is no lock, e.g. an installed wheel)."""
    if not lock.exists():
        return {"lock_sha256": None, "lock_matches": None}
    from packaging.markers import Marker

    matches = True
    for line in lock.read_text().splitlines():
        name, sep, rest = line.partition("==")
        if not sep or line.startswith((" ", "#")):
            continue
        version, _, marker = (part.strip() for part in rest.partition(";"))
        if marker and not Marker(marker).evaluate():
            continue
        try:
            matches &= metadata.version(name.strip()) == version
        except metadata.PackageNotFoundError:
            matches = False
    return {"lock_sha256": file_hash([lock]), "lock_matches": matches}


def git_commit() -> str:
    """The current git commit, or 'unknown' outside a repository."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=PACKAGE_DIR
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
