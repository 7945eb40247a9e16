"""The benchmark's quick mode writes a complete JSON record with positive timings (no speed is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from model.tools.bench.cli import main
from model.tools.bench.settings import ORPHAN_POLL_S
from model.tools.bench.tiling import tile_vote_share
from model.tools.bench.timing import leapfrog_steps, load_inputs

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


def test_tiled_vote_share_data_keeps_each_copy_in_its_own_races():
    data = load_inputs(RAW)["data"]
    tiled = tile_vote_share(data, 3)
    assert tiled.n_race == 3 * data.n_race and len(tiled.frame) == 3 * len(data.frame)
    np.testing.assert_array_equal(tiled.component_race[tiled.component_idx], tiled.race_idx)
    assert len(set(tiled.race_ids)) == tiled.n_race


def test_quick_benchmark_writes_timings_and_ess_for_sampler_and_growth(tmp_path):
    out = tmp_path / "bench" / "results.json"
    assert main(["--raw", str(RAW), "--out", str(out), "--quick"]) == 0
    result = json.loads(out.read_text())
    assert {"machine", "samplers", "growth", "growth_settings"} <= result.keys()
    assert result["machine"]["cpu_count"] > 0 and result["machine"]["packages"]["nutpie"]
    for row in result["samplers"]:
        for key in ("compile_s", "sampling_s", "total_s", "min_bulk_ess", "ess_per_s"):
            assert row[key] > 0, key
    assert {row["multiple"] for row in result["growth"]} == {10}
    for row in result["growth"]:
        assert row["finished"] and row["rows"] > 0 and row["wall_s"] > 0 and row["ess_per_s"] > 0


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (an orphan's reaper may be slow)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_a_killed_bench_leaves_no_fit_process_behind():
    code = "import time; from model.tools.bench.isolation import run_isolated; run_isolated(time.sleep, (600,), 900)"
    bench = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    children = Path(f"/proc/{bench.pid}/task/{bench.pid}/children")
    deadline = time.monotonic() + 120
    fits: list[int] = []
    while not fits and time.monotonic() < deadline:
        time.sleep(0.5)
        pids = [int(p) for p in children.read_text().split()]
        fits = [p for p in pids if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert fits, "the bench started no fit process"
    time.sleep(ORPHAN_POLL_S)
    bench.kill()  # as a user's kill -9 or a CI timeout would: the bench's own clean-up never runs
    bench.wait()
    deadline = time.monotonic() + 60
    while _alive(fits[0]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(fits[0])


def test_leapfrog_steps_are_averaged_per_phase_as_far_as_the_fit_got():
    import arviz as az

    stats = {"n_steps": np.array([[3, 5], [7, 9]])}
    warmup = {"n_steps": np.array([[31, 33]])}
    both = az.from_dict({"sample_stats": stats, "warmup_sample_stats": warmup}, save_warmup=True)
    assert leapfrog_steps(both) == {"leapfrog_per_warmup_iteration": 32.0, "leapfrog_per_draw": 6.0}
    aborted = az.from_dict({"warmup_sample_stats": {"n_steps": np.array([[15, 17]])}}, save_warmup=True)
    assert leapfrog_steps(aborted) == {"leapfrog_per_warmup_iteration": 16.0}
