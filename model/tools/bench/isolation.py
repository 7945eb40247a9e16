"""Run a function in a child process with a timeout, and never leave the child behind."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time

from model.tools.bench.settings import ORPHAN_POLL_S


def _child(conn, fn, args, parent_pid: int) -> None:
    """Run fn(*args) in a child process and send its result (or the error, as one line) to the parent."""
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    try:
        conn.send(fn(*args))
    except Exception as err:  # the parent records it as a skipped row
        conn.send({"finished": False, "skipped": f"error: {type(err).__name__}: {str(err)[:300]}"})
    finally:
        conn.close()


def _exit_with_parent(parent_pid: int) -> None:
    """End this process once its parent is gone: a bench killed from outside never reaches its own kill of the
    fit, and a 1000x fit left behind would sample for hours on the cores the next run needs."""
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_POLL_S)
    os._exit(1)


def run_isolated(fn, args: tuple, timeout_s: float) -> dict:
    """fn(*args) in a fresh (spawned) process, so that each fit's peak memory is its own and a fit over its
    budget can be stopped; {'finished': False, 'skipped': ...} when it did not report within timeout_s."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, os.getpid()), daemon=True)
    proc.start()
    send.close()
    try:
        got = receive.poll(timeout_s)
        out = receive.recv() if got else None
    except EOFError:  # the child died without reporting (e.g. killed for memory)
        out = None
    if proc.is_alive():
        proc.kill()
    proc.join()
    if out is None:
        reason = f"over the {timeout_s:.0f} s limit" if proc.exitcode == -9 else f"exit code {proc.exitcode}"
        out = {"finished": False, "skipped": f"no result from the fit process ({reason})"}
    return out
