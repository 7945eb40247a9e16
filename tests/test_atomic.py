"""The directory swap never leaves its path empty or mixed: a process killed (by fault injection, SIGKILL) at every
step of model.atomic leaves the previous directory readable, or it is restored at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from model.infra import atomic

REPO = Path(__file__).resolve().parents[1]
OLD = {"a.txt": "old a", "keep.txt": "old only"}
NEW = {"a.txt": "new a", "b.txt": "new b"}
# A child process that stages NEW and swaps it over final (argv[1]); LAUSD_FAULT_AT decides where it dies.
SWAP = f"""
import sys
from pathlib import Path
from model.infra import atomic
final = Path(sys.argv[1])
staged = atomic.staging_dir(final)
for name, text in {NEW!r}.items():
    (staged / name).write_text(text)
atomic.replace_dir(staged, final)
"""


def contents(d: Path) -> dict[str, str] | None:
    """File name -> text of a directory, or None when it does not exist."""
    return {p.name: p.read_text() for p in sorted(d.iterdir())} if d.exists() else None


def make_dir(d: Path, files: dict[str, str]) -> Path:
    """A directory holding files."""
    d.mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def run_child(code: str, args: list[str], step: str | None, swap: str | None) -> subprocess.CompletedProcess:
    """Run python -c code with this repository's model package, the fault step and the swap mode set."""
    env = {k: v for k, v in os.environ.items() if k not in (atomic.FAULT_ENV, atomic.SWAP_ENV)}
    env["PYTHONPATH"] = str(REPO)
    if step:
        env[atomic.FAULT_ENV] = step
    if swap:
        env[atomic.SWAP_ENV] = swap
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60)


def test_this_platform_has_the_atomic_exchange(tmp_path):
    """CI runs on Linux, where renameat2(RENAME_EXCHANGE) must work, so the exchange path is the one tested."""
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux-only; elsewhere the journal is used")
    a, b = make_dir(tmp_path / "a", OLD), make_dir(tmp_path / "b", NEW)
    assert atomic.exchange(a, b)
    assert contents(a) == NEW and contents(b) == OLD


# (swap mode, step, what the path holds right after the kill, what it holds after the next start's recovery)
MATRIX = [
    ("exchange", "staged", OLD, OLD),
    ("exchange", "file_written", OLD, OLD),  # killed while writing the journal
    ("exchange", "journal", OLD, OLD),
    ("exchange", "swapped", NEW, NEW),
    ("journal", "staged", OLD, OLD),
    ("journal", "file_written", OLD, OLD),
    ("journal", "journal", OLD, OLD),
    ("journal", "between_renames", None, OLD),  # the one window where the path is empty: recovery restores it
    ("journal", "swapped", NEW, NEW),
]


@pytest.mark.parametrize(
    ("swap", "step", "right_after", "after_restart"), MATRIX, ids=[f"{m}-{s}" for m, s, *_ in MATRIX]
)
def test_a_swap_killed_at_each_step_leaves_or_restores_a_complete_directory(
    tmp_path, swap, step, right_after, after_restart
):
    if swap == "exchange" and atomic._renameat2() is None:
        pytest.skip("no renameat2 here")
    final = make_dir(tmp_path / "out" / "clean", OLD)
    child = run_child(SWAP, [str(final)], step, swap)
    assert child.returncode == -signal.SIGKILL, f"the fault at {step!r} did not fire: {child.stderr}"
    assert contents(final) == right_after
    atomic.recover_all(final.parent)  # what the next `make data` / `make fit` does first
    assert contents(final) == after_restart
    assert sorted(p.name for p in final.parent.iterdir()) == ["clean"], "recovery leaves no journal or staging"
    # and the next swap works as usual
    assert run_child(SWAP, [str(final)], None, swap).returncode == 0
    assert contents(final) == NEW


def test_the_exchange_has_no_window_between_renames(tmp_path):
    """With renameat2 the 'between_renames' step is never reached: there is only one rename, so no empty path."""
    if atomic._renameat2() is None:
        pytest.skip("no renameat2 here")
    final = make_dir(tmp_path / "clean", OLD)
    child = run_child(SWAP, [str(final)], "between_renames", None)
    assert child.returncode == 0, child.stderr
    assert contents(final) == NEW
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean"]


def test_an_error_between_the_renames_puts_the_previous_directory_back(tmp_path, monkeypatch):
    """Not a kill but an exception (e.g. a full disk): replace_dir restores the old directory before raising."""
    monkeypatch.setenv(atomic.SWAP_ENV, "journal")
    final = make_dir(tmp_path / "clean", OLD)
    staged = make_dir(tmp_path / ".clean.staging-x", NEW)
    real_replace = os.replace
    calls = []

    def failing_second_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", failing_second_rename)
    with pytest.raises(OSError, match="No space"):
        atomic.replace_dir(staged, final)
    assert contents(final) == OLD
    assert not (tmp_path / ".clean.old").exists() and not (tmp_path / ".clean.swap.json").exists()


def test_recovery_restores_a_directory_parked_by_the_old_two_rename_code(tmp_path):
    """The code before the journal parked the old directory at .<name>.old with no journal, and a kill then left no
    <name> at all; the next start must bring it back rather than delete it (as that code did)."""
    make_dir(tmp_path / ".clean.old", OLD)
    assert atomic.recover_all(tmp_path) == {"clean": "restored"}
    assert contents(tmp_path / "clean") == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean"]


def test_a_killed_file_write_leaves_the_old_file_and_the_temp_file_is_removed_at_the_next_start(tmp_path):
    target = tmp_path / "LATEST"
    target.write_text("old-run\n")
    code = (
        "import sys; from pathlib import Path; from model.infra import atomic; "
        "atomic.write_text(Path(sys.argv[1]), 'new')"
    )
    child = run_child(code, [str(target)], "file_written", None)
    assert child.returncode == -signal.SIGKILL
    assert target.read_text() == "old-run\n"
    assert len(list(tmp_path.iterdir())) == 2  # the temp file a kill leaves
    atomic.recover_all(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["LATEST"]


def test_every_documented_fault_step_is_a_fault_point_in_the_code_and_vice_versa(monkeypatch):
    import re

    source = "".join(p.read_text() for p in (REPO / "model").rglob("*.py"))
    used = set(re.findall(r'fault_point\("([a-z_]+)"\)', source))
    assert used == set(atomic.FAULT_STEPS)
    assert all(doc.strip() for doc in atomic.FAULT_STEPS.values())
    monkeypatch.setenv(atomic.FAULT_ENV, "no_such_step")
    with pytest.raises(ValueError, match="unknown fault step"):
        atomic.fault_point("no_such_step")
    atomic.fault_point("staged")  # a step the variable does not name: nothing happens


def test_start_up_recovery_leaves_files_it_did_not_make_alone(tmp_path):
    """recover_all runs on data/ and runs/ at every start: a user's own hidden copy named like a parked directory,
    or a .tmp file not named by write_with, must survive it."""
    make_dir(tmp_path / "mine", OLD)
    make_dir(tmp_path / ".mine.old", NEW)
    (tmp_path / ".notes.tmp").write_text("keep")
    assert atomic.recover_all(tmp_path) == {}
    assert contents(tmp_path / ".mine.old") == NEW and (tmp_path / ".notes.tmp").read_text() == "keep"
