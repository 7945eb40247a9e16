"""PSIS-LOO with exact refits (evaluation/loo.py): a refit leaves out the right race and scores it as PSIS does
where PSIS is reliable, and the main model is the LOO winner among the candidates, with its near ties named."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from arviz_stats import loo, reloo
from test_toy_model import IncumbencyOnly

from model.evaluation.loo import RaceRefit, main_choice
from model.fit import fit_one
from model.inference.sampling import SamplerSettings
from model.models.base import load_inputs
from model.priors import DEFAULT_PRIORS

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


def elpd(values) -> SimpleNamespace:
    """A stand-in for arviz-stats's ELPD data: only the pointwise values main_choice reads."""
    return SimpleNamespace(elpd_i=np.asarray(values, dtype=float))


def test_the_main_model_is_the_candidate_with_the_highest_elpd_and_near_ties_are_named():
    """a beats b by 3 over 4 races with paired differences (1, 1, 0.5, 0.5): sd 0.289, dse 2 x 0.289 = 0.58 < 3,
    so b is not a near tie; c trails a by 0.4 with differences (0.6, -0.6, 0.6, -0.2): dse 2 x 0.58 = 1.15 > 0.4,
    so c is. A model not among the candidates never wins, however good."""
    a = elpd([-1.0, -1.0, -1.0, -1.0])
    b = elpd([-2.0, -2.0, -1.5, -1.5])
    c = elpd([-1.6, -0.4, -1.6, -0.8])
    better = elpd([0.0, 0.0, 0.0, 0.0])
    choice = main_choice({"a": a, "b": b, "c": c, "not_a_candidate": better}, ["b", "a", "c"])
    assert choice["chosen"] == "a" and choice["candidates"] == ["a", "c", "b"]
    assert [close["model"] for close in choice["within_one_dse"]] == ["c"]
    assert choice["within_one_dse"][0]["dse"] == pytest.approx(2 * np.std([0.6, -0.6, 0.6, -0.2], ddof=1), abs=0.01)
    assert choice["elpd"] == -4.0 and "held-out skill never enters" in choice["rule"]
    assert main_choice({"a": a}, []) == {}


@pytest.fixture(scope="module")
def toy_fit():
    """The test-only incumbency model fitted to the bundled data (2 x 500 draws), with its race log-likelihood."""
    inputs = load_inputs(RAW)
    model = IncumbencyOnly()
    settings = SamplerSettings(chains=2, draws=500, tune=300)
    idata = fit_one(model, 0, inputs, DEFAULT_PRIORS, 11, settings, np.random.default_rng(11), False)
    return model, inputs, idata


def test_a_refit_leaves_out_its_race_and_agrees_with_psis_where_psis_is_reliable(toy_fit):
    """Two races PSIS handles well (low k-hat) are marked unreliable by hand, so reloo refits them through
    RaceRefit: the refit's exact elpd must match PSIS's within Monte Carlo error (0.15 nats), and the other races
    keep their PSIS values exactly. Leaving out the wrong race, or scoring the wrong column, would be off by the
    difference between two races' log densities (several nats on this data)."""
    model, inputs, idata = toy_fit
    first = loo(idata, var_name=model.loo_var, pointwise=True)
    k = np.asarray(first.pareto_k)
    reliable = np.flatnonzero(k < 0.5)
    chosen = [int(reliable[0]), int(reliable[len(reliable) // 2])]
    spread = np.ptp(np.asarray(first.elpd_i)[chosen]) + np.ptp(np.asarray(first.elpd_i))
    assert spread > 1.0  # races differ enough that a wrong index would show
    tampered = copy.deepcopy(first)
    marked = k.copy()
    marked[chosen] = 1.0
    tampered.pareto_k = first.pareto_k.copy(data=marked)
    wrapper = RaceRefit(model, inputs, DEFAULT_PRIORS, idata, 11, SamplerSettings(chains=2, draws=600, tune=300))
    exact = reloo(wrapper, loo_orig=tampered, var_name=model.loo_var, pointwise=True)
    assert sorted(wrapper.refitted) == sorted(chosen)
    before, after = np.asarray(first.elpd_i), np.asarray(exact.elpd_i)
    np.testing.assert_allclose(after[chosen], before[chosen], atol=0.15)
    others = np.setdiff1d(np.arange(len(before)), chosen)
    np.testing.assert_allclose(after[others], before[others])


def test_sel_observations_zeroes_exactly_the_left_out_race(toy_fit):
    """The refit's weights are 1 everywhere but the left-out race."""
    model, inputs, idata = toy_fit
    wrapper = RaceRefit(model, inputs, DEFAULT_PRIORS, idata, 11, SamplerSettings(chains=1, draws=10, tune=10))
    update, excluded = wrapper.sel_observations(np.array([5]))
    assert excluded == 5
    assert np.flatnonzero(update["race_weight"] == 0).tolist() == [5]
    assert update["race_weight"].sum() == inputs.data.n_race - 1
