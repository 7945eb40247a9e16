"""The benchmark's quick mode writes a complete JSON record with positive timings (no speed is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from model.bench import load_inputs, main, tile_vote_share

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


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
