"""Scale on existing engines: JAX samplers as an optional extra, the centred/non-centred rule, tiled money evidence
and carry-over links, and bench sections merged into an existing results file."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
import scipy.sparse as sp

from model import models
from model.cli import main as cli_main
from model.inference import samplers
from model.infra.errors import UserError
from model.models.base import Inputs, sparse_matvec
from model.models.carryover import carryover_data
from model.models.vote_share import CENTRED_MIN_INFORMATION, centred_groups, parameterisation, slope_information
from model.priors import DEFAULT_PRIORS
from model.tools.bench import cli as bench
from model.tools.bench.cli import merge_sections
from model.tools.bench.tiling import tile_carryover, tile_money_evidence, tile_vote_share
from model.tools.bench.timing import load_inputs

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module")
def inputs():
    return load_inputs(RAW)


@pytest.fixture
def no_jax(monkeypatch):
    """jax, numpyro and blackjax cannot be found, as in the default install."""
    real = importlib.util.find_spec

    def fake(name, *args, **kwargs):
        return None if name.split(".")[0] in ("jax", "numpyro", "blackjax") else real(name, *args, **kwargs)

    monkeypatch.setattr(samplers.importlib.util, "find_spec", fake)


@pytest.mark.parametrize("sampler", ["numpyro", "blackjax"])
def test_a_jax_sampler_without_the_extra_is_a_one_line_error_naming_the_install(no_jax, sampler):
    with pytest.raises(UserError, match=r"pip install -e '\.\[jax\]'") as err:
        samplers.require_sampler(sampler)
    assert "\n" not in str(err.value) and sampler in str(err.value)
    samplers.require_sampler("nutpie")  # the default samplers need no extra


def test_fit_with_a_missing_jax_extra_exits_non_zero_and_writes_nothing(no_jax, tmp_path, capsys):
    runs, figures = tmp_path / "runs", tmp_path / "figures"
    args = ["fit", "--raw", str(RAW), "--runs", str(runs), "--figures", str(figures), "--sampler", "numpyro"]
    assert cli_main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e '.[jax]'" in err[0]
    assert not runs.exists() and not figures.exists()


def test_bundled_data_stay_non_centred_and_tiles_centre_the_groups_whose_races_pin_their_slope(inputs):
    data = inputs.data
    for stance in ("support", "oppose"):
        info = slope_information(data, stance)
        assert max(v.max() for v in info.values()) < CENTRED_MIN_INFORMATION  # so the rule keeps today's fit
        assert not any(rich.any() for rich in centred_groups(data, stance).values())
    # Information adds up over copies: at 10x a group is centred where the bundled data have >= 40 of it.
    tiled = tile_vote_share(data, 10)
    for stance in ("support", "oppose"):
        for factor, rich in centred_groups(tiled, stance).items():
            expected = 10 * slope_information(data, stance)[factor] >= CENTRED_MIN_INFORMATION
            np.testing.assert_array_equal(rich, expected)
    support = centred_groups(tiled, "support")
    assert support["district"].all() and not support["cycle"][data.cycles.index(2026)]  # 2026: no support IE
    # A race-round with oppose IE but no contrast in it (2011: no candidate has a plug-in total) says nothing.
    assert slope_information(data, "oppose")["cycle"][data.cycles.index(2011)] == 0
    assert parameterisation(tiled) == (
        "support: cycle 7/14 centred, district centred; oppose: cycle 2/14 centred, district 2/7 centred"
    )


def test_bundled_model_keeps_its_non_centred_variables(inputs):
    model = models.get("vote_share_plugin").build(inputs, DEFAULT_PRIORS)
    free = {v.name for v in model.free_RVs}
    assert {"z_cycle_support", "z_district_oppose"} <= free
    assert "beta_support_cycle" in {v.name for v in model.deterministics}


def test_centred_model_matches_its_numpy_twin_draw_by_draw(inputs):
    """Centred, the deviations are free and z_* deterministic; eta_draws (which reads z_* and tau_*) must still
    equal the PyMC eta, also where a factor mixes centred and non-centred groups."""
    spec = models.get("vote_share_plugin")
    dense = Inputs(None, None, inputs.h2h, tile_vote_share(inputs.data, 10))
    model = spec.build(dense, DEFAULT_PRIORS)
    free = {v.name for v in model.free_RVs}
    assert "dev_district_support" in free and "z_district_support" not in free  # centred
    assert {"beta_support_cycle_centred", "z_cycle_support_non_centred"} <= free  # mixed: 2026 has no support IE
    assert {"dev_district_oppose_centred", "z_district_oppose_non_centred"} <= free  # mixed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the likelihood Potential: irrelevant to prior draws of eta
        prior = pm.sample_prior_predictive(draws=5, model=model, random_seed=3).prior
    post = {v: prior[v].to_numpy()[0] for v in prior.data_vars}
    np.testing.assert_allclose(spec.eta_draws(post, dense.data), post["eta"], rtol=1e-9, atol=1e-9)


def test_tiled_money_evidence_keeps_each_copy_on_its_own_cells(inputs):
    data, k = inputs.data, 3
    ev, tiled = data.money, tile_money_evidence(data.money, k)
    n_fig, n_cell = ev.incidence.shape
    assert sp.issparse(tiled.incidence) and tiled.incidence.shape == (k * n_fig, k * n_cell)
    dense = tiled.incidence.toarray()
    for j in range(k):
        block = dense[j * n_fig : (j + 1) * n_fig]
        np.testing.assert_array_equal(block[:, j * n_cell : (j + 1) * n_cell], ev.incidence)
        assert block.sum() == ev.incidence.sum()  # nothing outside its own copy
    assert (tiled.cells.race_id.iloc[n_cell : 2 * n_cell].str.endswith("~1")).all()
    np.testing.assert_array_equal(tiled.amount_usd[n_fig : 2 * n_fig], ev.amount_usd)
    # Each candidate row points at its own copy's cell of the same candidate and stance.
    vs = tile_vote_share(data, k)
    rows = np.flatnonzero(vs.support_cell >= 0)
    cells = vs.money.cells.iloc[vs.support_cell[rows]]
    np.testing.assert_array_equal(cells.race_id.to_numpy(), vs.frame.race_id.iloc[rows].to_numpy())
    np.testing.assert_array_equal(cells.candidate_id.to_numpy(), vs.frame.candidate_id.iloc[rows].to_numpy())
    assert (cells.stance == "support").all()
    np.testing.assert_array_equal(vs.oppose_cell[: len(data.frame)], data.oppose_cell)


def test_sparse_incidence_gives_the_dense_totals(inputs):
    ev = inputs.data.money
    money = np.random.default_rng(0).lognormal(size=ev.incidence.shape[1])
    got = sparse_matvec(sp.csr_array(ev.incidence), pt.as_tensor(money)).eval()
    np.testing.assert_allclose(got, ev.incidence @ money, rtol=1e-12)


def test_tiled_carryover_links_stay_within_each_copy(inputs):
    data, k = inputs.data, 3
    cd, n = carryover_data(data), len(data.frame)
    tiled = tile_carryover(cd, k, data.n_race)
    vs = tile_vote_share(data, k)
    assert tiled.candidates == sorted(vs.frame.candidate_id.unique())
    np.testing.assert_array_equal(np.array(tiled.candidates)[tiled.candidate_idx], vs.frame.candidate_id.to_numpy())
    copy = np.arange(k * n) // n
    np.testing.assert_array_equal(tiled.primary_row // n, copy)  # a runoff's primary is in its own copy
    np.testing.assert_array_equal(tiled.primary_row[n : 2 * n] - n, cd.primary_row)
    np.testing.assert_array_equal(tiled.runoff[2 * n :], cd.runoff)
    rows, cols = tiled.alignment.nonzero()
    assert len(rows) == k * np.count_nonzero(cd.alignment) and (rows // n == cols // n).all()


def test_only_growth_replaces_its_rows_and_keeps_other_sections():
    old = {
        "machine": {"date_utc": "old"}, "quick": False, "seed": 1, "data": {},
        "samplers": [{"model": "m"}], "fit": {"cold": 1},
        "growth": [{"model": "a", "sampler": "nutpie", "multiple": 10, "wall_s": 1},
                   {"model": "b", "sampler": "nutpie", "multiple": 10, "wall_s": 2}],
        "growth_settings": {"draws": 1},
    }  # fmt: skip
    new = {
        "machine": {"date_utc": "new"}, "quick": False, "seed": 1, "data": {},
        "growth": [{"model": "a", "sampler": "nutpie", "multiple": 10, "wall_s": 9},
                   {"model": "a", "sampler": "numpyro", "multiple": 10, "wall_s": 8}],
        "growth_settings": {"draws": 500},
    }  # fmt: skip
    merged = merge_sections(old, new, ["growth"])
    assert merged["samplers"] == old["samplers"] and merged["fit"] == old["fit"]
    assert merged["growth_settings"] == {"draws": 500}
    walls = {(r["model"], r["sampler"]): r["wall_s"] for r in merged["growth"]}
    assert walls == {("a", "nutpie"): 9, ("a", "numpyro"): 8, ("b", "nutpie"): 2}
    # A kept row keeps the chain length of the run that measured it, not the new run's settings.
    assert [r.get("draws") for r in merged["growth"] if r["model"] == "b"] == [1]
    assert merged["machine_by_section"]["growth"]["date_utc"] == "new"
    assert merged["machine_by_section"]["samplers"]["date_utc"] == "old"


def test_bench_only_merges_into_an_existing_results_file(tmp_path, monkeypatch):
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"machine": {}, "quick": False, "seed": 1, "data": {}, "samplers": [{"x": 1}]}))
    seen = {}

    def fake_run_bench(raw, quick, seed, budget, only, growth):
        seen["only"] = only
        return {"machine": {"date_utc": "now"}, "quick": quick, "seed": seed, "data": {}, "growth": [],
                "growth_settings": {}}  # fmt: skip

    monkeypatch.setattr(bench, "run_bench", fake_run_bench)
    assert bench.main(["--raw", str(RAW), "--out", str(out), "--only", "growth"]) == 0
    result = json.loads(out.read_text())
    assert seen["only"] == ["growth"] and result["samplers"] == [{"x": 1}] and result["growth"] == []


@pytest.mark.parametrize("sampler", ["numpyro", "blackjax"])
def test_jax_smoke_fit_of_the_main_model(inputs, sampler):
    """Both JAX samplers run two chains in parallel (blackjax failed when JAX started with one device)."""
    try:
        samplers.require_installed(sampler)  # found, not imported: an import here would start JAX's backend
    except UserError:
        pytest.skip(f"{sampler} is not installed (the [jax] extra)")
    from model.inference.sampling import SamplerSettings, sample

    spec = models.get(models.main_name())
    settings = SamplerSettings(sampler=sampler, chains=2, draws=100, tune=200)
    idata = sample(spec.build(inputs, DEFAULT_PRIORS), 5, settings, progress=False, var_names=["beta_support"])
    assert idata.posterior["beta_support"].shape == (2, 100)
    assert np.isfinite(idata.posterior["beta_support"]).all()
    # Finite gradients (samplers.jax_safe_special_functions): without them every draw diverges.
    assert idata.sample_stats["diverging"].mean() < 0.2
