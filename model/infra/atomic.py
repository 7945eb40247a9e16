"""Atomic file and directory writes, so a crash never leaves a half-written or missing output behind.

A directory is replaced by swapping in a fully written staging directory. On Linux the swap is one
renameat2(RENAME_EXCHANGE) call, so the path always names a complete directory (old or new). Elsewhere,
or where the file system refuses the exchange, the old directory is renamed aside and the new one renamed
in; a journal written first lets `recover` put the old directory back if the process dies between the
two renames. Every entry point that writes such a directory calls `recover_all` on its parent first, which
also removes staging directories and temp files a killed process left. This guards against a killed process;
surviving a power cut as well would need fsync calls on the files and directories, which are not made.

Fault injection (for tests): set LAUSD_FAULT_AT to one of FAULT_STEPS and the process kills itself with
SIGKILL when it reaches that step, as an out-of-memory kill or a power cut would (no cleanup runs).
LAUSD_SWAP=journal forces the rename-and-journal swap where the exchange would be available."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

FAULT_ENV = "LAUSD_FAULT_AT"
SWAP_ENV = "LAUSD_SWAP"
# Where LAUSD_FAULT_AT can stop a run (each one is tested in tests/test_atomic.py and tests/test_robustness.py):
FAULT_STEPS = {
    "file_written": "atomic file write: temp file complete, not yet renamed over the target",
    "staged": "directory swap: the new directory is complete in staging, nothing swapped yet",
    "journal": "directory swap: the journal is written, nothing renamed yet",
    "between_renames": "rename swap only: the old directory is moved aside, the new one not yet in place",
    "swapped": "directory swap: the new directory is in place, the old copy and journal not yet removed",
    "before_coverage": "make data: data/clean is replaced, COVERAGE.md not yet",
    "manifest": "make fit: manifest.json is written in the staging run, the run not yet swapped in",
    "before_latest": "make fit: the run directory is in place, runs/LATEST not yet updated",
}
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# Errors meaning "this kernel or file system cannot exchange": fall back to the journal.
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV}


def fault_point(step: str) -> None:
    """Kill this process (SIGKILL, no cleanup) when LAUSD_FAULT_AT names step; otherwise do nothing."""
    if os.environ.get(FAULT_ENV) != step:
        return
    if step not in FAULT_STEPS:
        raise ValueError(f"unknown fault step {step!r}")
    sys.stdout.flush()
    sys.stderr.flush()
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(137)  # no SIGKILL (Windows): exit at once, skipping finally blocks and atexit as a kill does


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
        fault_point("file_written")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _renameat2():
    """libc's renameat2, or None where it does not exist (not Linux, or a C library without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (renameat2 RENAME_EXCHANGE); False where that is not available."""
    fn = _renameat2()
    if fn is None or os.environ.get(SWAP_ENV) == "journal":
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _NO_EXCHANGE:
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _old(final: Path) -> Path:
    """Where the rename swap parks the previous directory."""
    return final.with_name(f".{final.name}.old")


def _journal(final: Path) -> Path:
    """The journal of an unfinished swap of final."""
    return final.with_name(f".{final.name}.swap.json")


def replace_dir(staged: Path, final: Path) -> None:
    """Swap a fully written staging directory (in final's parent) into place; the path is never left empty
    (exchange), or the journal lets `recover` restore the previous directory (rename fallback)."""
    staged, final = Path(staged), Path(final)
    recover(final)
    fault_point("staged")
    journal = _journal(final)
    write_text(journal, json.dumps({"staged": staged.name, "final": final.name}) + "\n")
    fault_point("journal")
    try:
        if final.exists() and exchange(staged, final):
            fault_point("swapped")
            shutil.rmtree(staged)  # it now holds the previous directory
        else:
            if final.exists():
                os.replace(final, _old(final))
                fault_point("between_renames")
            os.replace(staged, final)
            fault_point("swapped")
            if _old(final).exists():
                shutil.rmtree(_old(final))
    except BaseException:
        recover(final)  # an error (not a kill) mid-swap: put the previous directory back now
        raise
    journal.unlink()


def recover(final: Path) -> str | None:
    """Finish or undo an interrupted replace_dir of final; return 'restored' (the previous directory was put
    back), 'cleaned' (leftovers removed; final was already complete) or None (nothing to do)."""
    final = Path(final)
    journal, old = _journal(final), _old(final)
    if not journal.exists() and not old.exists():
        return None
    action = "cleaned"
    if not final.exists() and old.exists():
        os.replace(old, final)  # killed between the renames: the previous outputs come back
        action = "restored"
    if journal.exists():
        try:
            staged = final.parent / json.loads(journal.read_text(encoding="utf-8"))["staged"]
        except (ValueError, KeyError):
            staged = None  # cannot happen with write_text's atomic rename, but never block a start on it
        # Either the new directory that was not swapped in, or (after an exchange) the previous one.
        if staged is not None and staged.exists() and staged != final:
            shutil.rmtree(staged)
    if old.exists():
        shutil.rmtree(old)
    if journal.exists():
        journal.unlink()  # last, so a kill during recovery leaves enough to recover again
    return action


def staging_dir(final: Path) -> Path:
    """A new empty staging directory beside final, named so that `recover_all` can remove it after a kill."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))


def recover_all(parent: Path) -> dict[str, str | None]:
    """At start-up: recover every interrupted directory swap under parent and remove staging directories and
    temp files that a killed process left; return {name: action} for what was done."""
    parent = Path(parent)
    if not parent.is_dir():
        return {}
    out = {}
    for path in sorted(parent.glob(".*.swap.json")):
        name = path.name.removeprefix(".").removesuffix(".swap.json")
        out[name] = recover(parent / name)
    # A parked .<name>.old without a journal (left by the code before the journal) is only ever restored here,
    # never deleted: a hidden directory of that name might be someone's own copy.
    for path in sorted(parent.glob(".*.old")):
        name = path.name.removeprefix(".").removesuffix(".old")
        if path.is_dir() and not (parent / name).exists():
            out[name] = recover(parent / name)
    # A killed writer leaves these (names made by staging_dir and tempfile.mkstemp in write_with); a live one
    # would lose its work and fail loudly, never write a mix.
    for path in sorted(parent.glob(".*.staging-*")):
        shutil.rmtree(path)
        out[path.name] = "removed"
    for path in sorted(parent.glob(".*.????????.tmp")):
        path.unlink()
        out[path.name] = "removed"
    return out


def make_readable(root: Path) -> None:
    """Give a staged output tree the modes of shared outputs (files 0644, folders 0755) before it is swapped in."""
    root = Path(root)
    root.chmod(DIR_MODE)
    for p in root.rglob("*"):
        p.chmod(DIR_MODE if p.is_dir() else FILE_MODE)
