"""Secondary fits over worker processes (model.parallel): leave-one-cycle-out, the runoff forecast, the prior sweep
and SBC give exactly the serial numbers with the same seeds (and other seeds give other numbers, so the comparison
can fail); chunks keep their order; a Dask scheduler without dask installed is a one-line error."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from model import models
from model.cli import main
from model.dataset.terms import load_terms
from model.evaluation.sbc import main as sbc_main
from model.evaluation.sbc import run_sbc
from model.evaluation.skill import leave_one_cycle_out, runoff_forecast
from model.fit import prior_sweep, reference_usd
from model.inference.sampling import SamplerSettings, sample
from model.infra import parallel
from model.infra.errors import UserError
from model.models.base import load_inputs
from model.priors import DEFAULT_PRIORS, preset_priors

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
FEW = SamplerSettings(chains=1, draws=20, tune=20)  # plumbing, not inference: the numbers only need to repeat
# The registered model that compiles fastest among those with race weights (a few seconds here, against ~15 s for
# the main model): it stands in for the main model in the runoff forecast and the prior sweep.
CHEAP = "vote_share_plugin"


@pytest.fixture(scope="module")
def inputs():
    """The bundled data's model inputs."""
    return load_inputs(RAW)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same table to the last bit (column order, dtypes, values)."""
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def _evaluation(inputs, seed: int, workers: int) -> dict[str, pd.DataFrame]:
    """Leave-one-cycle-out and runoff-forecast tables of one model."""
    loco, loco_summary, _folds = leave_one_cycle_out(inputs, DEFAULT_PRIORS, seed, FEW, [CHEAP], workers=workers)
    runoff, runoff_summary, _dates = runoff_forecast(inputs, DEFAULT_PRIORS, seed, FEW, [CHEAP], workers=workers)
    return {"loco": loco, "loco summary": loco_summary, "runoff": runoff, "runoff summary": runoff_summary}


def test_parallel_leave_one_cycle_out_and_runoff_forecast_give_the_serial_tables(inputs, monkeypatch):
    monkeypatch.setattr(models.get(CHEAP), "runoff_forecast", True)  # forecast runoffs as the main model does
    serial = _evaluation(inputs, 5, workers=1)
    for table in ("loco", "runoff"):  # the model's own predictions are there, over more than one fold
        fitted = serial[table][serial[table].model == CHEAP]
        assert fitted.race_id.nunique() > 2 and fitted.p_first.between(0, 1).all()
    assert serial["loco"][serial["loco"].model == CHEAP].cycle.nunique() > 2
    assert "coverage50" in serial["loco summary"]  # interval_hits drew from the main process's rng too
    two = _evaluation(inputs, 5, workers=2)
    for name, table in serial.items():
        assert_same(two[name], table)
    # The comparison above can fail: other fit seeds, other predictions (leave-one-cycle-out only, which shares
    # the fan-out with the runoff forecast; a second forecast would add a minute).
    other_seed, _summary, _folds = leave_one_cycle_out(inputs, DEFAULT_PRIORS, 6, FEW, [CHEAP], workers=2)
    with pytest.raises(AssertionError):
        assert_same(other_seed, serial["loco"])


def test_parallel_sbc_gives_the_serial_ranks(inputs):
    def ranks(seed: int, workers: int) -> pd.DataFrame:
        out = run_sbc("head_to_head", 3, seed, draws=40, tune=40, design=inputs, workers=workers)
        return out.drop(columns="seconds")  # wall time, the one column that may differ

    serial = ranks(11, workers=1)
    assert serial.sim.nunique() == 3
    assert_same(ranks(11, workers=2), serial)
    with pytest.raises(AssertionError):
        assert_same(ranks(12, workers=2), serial)


def test_parallel_prior_sweep_gives_the_serial_effects(inputs):
    spec = models.get(CHEAP)
    this_run = sample(spec.build(inputs, DEFAULT_PRIORS), 3, FEW, progress=False)
    result = {"main_model": CHEAP, "models": {CHEAP: spec}, "idata": {CHEAP: this_run}, "inputs": inputs}
    result.update(priors_name="default", priors=DEFAULT_PRIORS, raw_dir=RAW, skipped={}, secondary=FEW)
    result["presets"] = preset_priors(load_terms(RAW))  # as fit_models reads them, once per run
    reference = reference_usd(inputs.cr)

    def sweep(seed: int, workers: int) -> pd.DataFrame:
        return prior_sweep({**result, "workers": workers}, reference, seed)

    serial = sweep(3, workers=1)
    assert serial.priors.nunique() >= 3  # this run and at least two other presets
    assert_same(sweep(3, workers=2), serial)
    with pytest.raises(AssertionError):
        assert_same(sweep(4, workers=2), serial)


def _pids(items: list[int]) -> list[tuple[int, int]]:
    """(item, process id) per item, slowly enough that both workers get a chunk."""
    time.sleep(0.5)
    return [(i, os.getpid()) for i in items]


def test_map_chunks_runs_chunks_in_other_processes_and_keeps_the_order():
    out = parallel.map_chunks(_pids, list(range(5)), workers=2)
    assert [i for i, _pid in out] == list(range(5))
    assert os.getpid() not in {pid for _i, pid in out}
    assert parallel.map_chunks(_pids, list(range(3)), workers=1) == [(i, os.getpid()) for i in range(3)]
    assert parallel.chunks(list(range(5)), 2) == [[0, 1, 2], [3, 4]]
    assert parallel.chunks([1, 2], 4) == [[1], [2]]


@pytest.fixture
def no_dask(monkeypatch):
    """An environment without dask, whether or not it is installed here."""
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)


def test_a_scheduler_without_dask_is_a_one_line_error_naming_the_extra(no_dask, tmp_path, capsys):
    with pytest.raises(UserError, match=r"dask\[distributed\] is not installed: pip install -e '\.\[dask\]'"):
        parallel.map_chunks(_pids, [1, 2], workers=2, scheduler="tcp://127.0.0.1:8786")
    args = ["fit", "--raw", str(RAW), "--runs", str(tmp_path / "runs"), "--scheduler", "tcp://127.0.0.1:8786"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[dask]" in err
    assert not (tmp_path / "runs").exists()  # stopped before any work
    assert sbc_main(["--sims", "2", "--table", str(tmp_path / "sbc.csv"), "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "[dask]" in capsys.readouterr().err and not (tmp_path / "sbc.csv").exists()
