"""Atomic file and directory writes, so a crash never leaves a half-written output behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    """Write text to path via a temp file in the same directory and an atomic rename."""
    write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to path atomically."""
    write_with(path, lambda tmp: tmp.write_bytes(data))


# Outputs are shared (a colleague, a web server): world-readable like any file a user saves, not the 0600 that
# tempfile gives temp files.
FILE_MODE = 0o644
DIR_MODE = 0o755


def write_with(path: Path, writer: Callable[[Path], object]) -> None:
    """Call writer(tmp_path), make it mode 0644, then rename it over path; the temp file is removed on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        writer(tmp)
        tmp.chmod(FILE_MODE)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def replace_dir(staged: Path, final: Path) -> None:
    """Swap a fully written staging directory into place; the old one is removed only afterwards."""
    final = Path(final)
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(staged, final)
    if old.exists():
        shutil.rmtree(old)


def make_readable(root: Path) -> None:
    """Give a staged output tree the modes of shared outputs (files 0644, folders 0755) before it is swapped in."""
    root = Path(root)
    root.chmod(DIR_MODE)
    for p in root.rglob("*"):
        p.chmod(DIR_MODE if p.is_dir() else FILE_MODE)
