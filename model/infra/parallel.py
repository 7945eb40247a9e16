"""Fan-out of independent fits over worker processes: joblib's loky backend on this machine, or a Dask cluster
(joblib's dask backend) when a scheduler address is given. Items go out in contiguous chunks, one per worker, so
that each worker compiles a model once for its whole chunk; results come back in the items' order."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from model.infra.errors import UserError

DASK_EXTRA = "pip install -e '.[dask]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--workers and --scheduler, shared by `python -m model fit` and `python -m model.evaluation.sbc`."""
    parser.add_argument(
        "--workers", type=int, default=1, help="processes for the secondary fits (default 1: serial); same numbers"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDR", help="Dask scheduler address (e.g. tcp://host:8786) to run them on instead"
    )


def chunks(items: Sequence, n: int) -> list[list]:
    """Items cut into at most n contiguous chunks of near-equal length (none empty), in order."""
    n = max(1, min(n, len(items)))
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        stop = start + size + (k < extra)
        out.append(list(items[start:stop]))
        start = stop
    return out


def serial(workers: int, scheduler: str | None) -> bool:
    """Whether these settings mean today's in-process code path (one worker, no cluster)."""
    return workers <= 1 and not scheduler


def check_engine(workers: int, scheduler: str | None) -> None:
    """UserError (one line) for a worker count below 1 or a scheduler address without the dask extra installed;
    called before any work, so that a bad flag does not waste a fit."""
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if scheduler:
        _dask_client_class()


def _dask_client_class():
    """dask.distributed.Client, imported only when a scheduler is asked for (dask is an optional extra)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise UserError(f"a Dask scheduler was given but dask[distributed] is not installed: {DASK_EXTRA}") from None
    return Client


@contextlib.contextmanager
def _engine(scheduler: str | None) -> Iterator[None]:
    """joblib configured for loky processes here, or for the Dask cluster at `scheduler` (connected for the call)."""
    import joblib

    if not scheduler:
        with joblib.parallel_config(backend="loky"):
            yield
        return
    client = _dask_client_class()(scheduler)
    try:
        with joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()


def _run(payload: bytes) -> list:
    """In a worker: unpickle (fn, chunk) and return fn(chunk)."""
    import cloudpickle

    fn, part = cloudpickle.loads(payload)
    return list(fn(part))


def map_chunks(fn: Callable[[list], list], items: Sequence, workers: int = 1, scheduler: str | None = None) -> list:
    """fn applied to each of `workers` contiguous chunks of items in parallel, results concatenated in the items'
    order; with one worker and no scheduler, fn(items) in this process. fn returns one result per item; fn and the
    items travel by cloudpickle, the results by pickle."""
    items = list(items)
    if serial(workers, scheduler) or not items:
        return list(fn(items))
    import cloudpickle
    import joblib

    # Each chunk goes out as cloudpickle bytes: loky's own reducer fails on a bound method in PyMC's model graph.
    payloads = [cloudpickle.dumps((fn, part)) for part in chunks(items, workers)]
    with _engine(scheduler):
        results = joblib.Parallel(n_jobs=len(payloads))(joblib.delayed(_run)(p) for p in payloads)
    out: list[Any] = [r for part in results for r in part]
    if len(out) != len(items):
        raise RuntimeError(f"{len(out)} results for {len(items)} items: a chunk function must return one per item")
    return out
