"""The Bayesian models: likelihood twins agree, seeds reproduce, the head-to-head model agrees with OLS under flat
priors, and latent money respects lower bounds. Recovery from simulated data is in test_recovery.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest

from model.dataset.features import vote_share_data
from model.dataset.raw import load_raw
from model.dataset.tables import candidate_races, head_to_head
from model.fit import SamplerSettings, sample
from model.models import get
from model.models.base import Inputs, draws
from model.models.classical.regression import head_to_head_ols
from model.models.dirichlet import _PT, dirichlet_loglik
from model.models.head_to_head import head_to_head_model
from model.priors import DEFAULT_PRIORS, Prior

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
FAST = SamplerSettings(chains=2, draws=500, tune=500)


@pytest.fixture(scope="module")
def lausd():
    """The bundled data as model inputs."""
    raw = load_raw(RAW)
    cr = candidate_races(raw)
    return {"raw": raw, "cr": cr, "h2h": head_to_head(cr), "data": vote_share_data(cr, raw)}


def test_numpy_and_pytensor_dirichlet_likelihoods_agree(lausd):
    """The numpy twin (used for LOO, predictive checks and counterfactuals) is the model's likelihood."""
    data = lausd["data"]
    eta = np.random.default_rng(1).normal(size=len(data.frame))
    numpy_value = dirichlet_loglik(eta[None], np.array([25.0]), data)[0]
    pytensor_value = dirichlet_loglik(pt.as_tensor(eta), pt.as_tensor(25.0), data, xp=_PT).eval()
    # scipy's and pytensor's gammaln differ in the 7th significant digit; a wrong formula differs in the 1st.
    np.testing.assert_allclose(numpy_value, pytensor_value, rtol=1e-5, atol=1e-5)


def test_same_seed_gives_identical_draws(lausd):
    model = head_to_head_model(lausd["h2h"], DEFAULT_PRIORS)
    first = sample(model, 42, FAST, progress=False)
    second = sample(head_to_head_model(lausd["h2h"], DEFAULT_PRIORS), 42, FAST, progress=False)
    np.testing.assert_array_equal(draws(first, "beta_support"), draws(second, "beta_support"))


def test_bayesian_head_to_head_matches_ols_under_flat_priors(lausd):
    """With sd-100 priors the posterior mean is the least-squares estimate up to Monte Carlo error;
    allow a quarter of the OLS standard error (MCSE at ~1000 effective draws is ~0.03 SE)."""
    flat = dict(DEFAULT_PRIORS)
    for name in ("beta_support", "beta_oppose", "beta_incumbent", "beta_utla", "beta_ccsa"):
        flat[name] = Prior("normal", {"mu": 0.0, "sigma": 100.0}, "flat")
    ols = head_to_head_ols(lausd["h2h"])
    idata = sample(head_to_head_model(lausd["h2h"], flat), 8, FAST, progress=False)
    for term, name in zip(
        ols.params.index, ("beta_support", "beta_oppose", "beta_incumbent", "beta_utla", "beta_ccsa"), strict=True
    ):
        assert abs(draws(idata, name).mean() - ols.params[term]) < 0.25 * ols.bse[term], term


def test_latent_money_respects_lower_bounds_as_the_measurement_model_says(lausd):
    """A lower-bound figure X that alone constrains its cells leaves the posterior gap log(total / X) distributed as
    the measurement model's skew-normal (shape MONEY_SD_LOWER_GAP / MONEY_SD_LOWER_STEP, scale MONEY_SD_LOWER_GAP;
    test_sbc shows the Potential is that density), as long as the money prior is broad next to the 0.35 gap scale.
    So P(total >= 0.97 X) = skewnorm.sf(log 0.97) = 0.981 for each such figure. Tolerance 0.03: about 5 Monte Carlo
    standard errors of a proportion near 0.98 from 1000 draws with an effective size of at least 500
    (sqrt(0.98 x 0.02 / 500) = 0.0063), leaving room for the prior's mild pull. A model that ignored the bounds
    would put about half its mass below X. Overlapping figures may disagree (e.g. 2017 D4's $8.2M cycle figure for
    both candidates vs its parts) and the soft bounds then compromise, so over all lower bounds only the median is
    held to the same value; runs/<id>/money-evidence.csv lists each figure against its posterior."""
    from scipy import stats

    from model.models.vote_share_latent import MONEY_SD_LOWER_GAP, MONEY_SD_LOWER_STEP

    data = lausd["data"]
    idata = sample(
        get("vote_share_latent").build(Inputs(None, None, pd.DataFrame(), data), DEFAULT_PRIORS),
        13,
        FAST,
        progress=False,
    )
    ev = data.money
    total_k = draws(idata, "money_k") @ ev.incidence.T
    lower = np.flatnonzero(ev.kind == "lower")
    held = (total_k[:, lower] >= 0.97 * ev.amount_usd[lower] / 1000).mean(axis=0)
    expected = stats.skewnorm.sf(np.log(0.97), MONEY_SD_LOWER_GAP / MONEY_SD_LOWER_STEP, scale=MONEY_SD_LOWER_GAP)
    alone = np.array([(ev.incidence[:, ev.incidence[e] > 0].sum(axis=0) == 1).all() for e in lower])
    assert alone.sum() >= 10, "too few isolated lower bounds to test"
    np.testing.assert_allclose(held[alone], expected, atol=0.03)
    assert abs(np.median(held) - expected) <= 0.03


@pytest.mark.parametrize(("n_in", "n_groups"), [(166, 54), (5, 9), (1, 1)])
def test_segment_sum_and_max_give_the_bits_of_numpys_ufunc_at(n_in, n_groups):
    from model.models.dirichlet import _NP, segment_max

    rng = np.random.default_rng(n_in)
    idx, x = rng.integers(0, n_groups, n_in), rng.normal(size=(300, n_in))
    total, best = np.zeros((300, n_groups)), np.zeros((300, n_groups))
    np.add.at(total, (..., idx), x)  # type: ignore[arg-type]
    np.maximum.at(best, (..., idx), x)  # type: ignore[arg-type]
    assert np.array_equal(_NP.segment_sum(x, idx, n_groups), total)
    assert np.array_equal(segment_max(x, idx, n_groups), best)
    assert np.array_equal(segment_max(x[0], idx, n_groups), best[0])
