"""Simulation-based calibration: the plumbing gives valid ranks, tables and figures; the uniformity checks
tell uniform ranks from skewed ones; and (slow) the models' posteriors are calibrated against their priors."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from model.evaluation.sbc import PARAMETERS, bundled_design, ecdf_figure, run_sbc, uniformity
from model.models.vote_share_latent import MONEY_SD_LOWER_GAP, MONEY_SD_LOWER_STEP

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module")
def design():
    """The bundled data's design."""
    return bundled_design(RAW)


def _ranks(values: np.ndarray, n_draws: int = 199) -> pd.DataFrame:
    """A rank table for one made-up parameter."""
    return pd.DataFrame(
        {"model": "m", "sim": np.arange(len(values)), "parameter": "p", "rank": values, "n_draws": n_draws}
    ).assign(divergences=0)


@pytest.mark.parametrize("model_name", list(PARAMETERS))
def test_sbc_smoke_gives_integer_ranks_for_every_parameter_and_a_figure(design, model_name, tmp_path):
    """Four small fits per model: ranks are integers in 0..n_draws, every main parameter is ranked in every
    simulation, the uniformity table covers them all, and the figure is a readable PNG."""
    ranks = run_sbc(model_name, 4, seed=11, draws=100, tune=100, design=design)
    assert pd.api.types.is_integer_dtype(ranks["rank"])
    assert ranks["rank"].between(0, ranks.n_draws).all()
    assert set(ranks.parameter) == set(PARAMETERS[model_name])
    assert len(ranks) == 4 * len(PARAMETERS[model_name])
    assert ranks.groupby("parameter").true_value.nunique().eq(4).all()  # each simulation draws its own truth
    summary = uniformity(ranks)
    assert set(summary.parameter) == set(PARAMETERS[model_name])
    assert summary.p_chisq.between(0, 1).all() and summary.p_ecdf.between(0, 1).all()
    path = ecdf_figure(ranks, tmp_path / f"sbc-{model_name}.png")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 200


def test_uniform_ranks_pass_and_skewed_ranks_fail_the_uniformity_checks():
    """Ranks drawn uniformly pass both tests; ranks piled at the low end (a posterior biased upwards)
    fail both. With 200 simulations a pile-up of this size is far outside chance (p < 1e-6)."""
    rng = np.random.default_rng(3)
    uniform = uniformity(_ranks(rng.integers(0, 200, 200))).iloc[0]
    assert uniform.p_chisq > 0.01 and uniform.p_ecdf > 0.01 and uniform.inside_band
    skewed = uniformity(_ranks(np.minimum(rng.integers(0, 200, 200), rng.integers(0, 200, 200)))).iloc[0]
    assert skewed.p_chisq < 1e-3 and skewed.p_ecdf < 1e-3 and not skewed.inside_band


def test_lower_bound_gap_is_skew_normal_so_the_money_potential_is_an_exact_likelihood():
    """The latent-money Potential for a lower bound, log Phi(gap/step) + log phi(gap/sd), differs from the
    skew-normal log density used to simulate gaps by a constant, so simulating from it is exact."""
    gap = np.linspace(-0.1, 1.5, 9)
    potential = stats.norm.logcdf(gap, scale=MONEY_SD_LOWER_STEP) + stats.norm.logpdf(gap, scale=MONEY_SD_LOWER_GAP)
    skew = stats.skewnorm.logpdf(gap, MONEY_SD_LOWER_GAP / MONEY_SD_LOWER_STEP, scale=MONEY_SD_LOWER_GAP)
    np.testing.assert_allclose(skew - potential, np.log(2.0), rtol=1e-9)


@pytest.mark.slow
# The main model too (about 9 min): `make sbc SBC_MODELS=vote_share_own_money SBC_SIMS=100` on the bundled design gave
# chi-square p 0.12-0.98 and ECDF p 0.011-0.89 over its 14 parameters (2 with a divergent fit), none below 0.001.
@pytest.mark.parametrize(
    "model_name", ["head_to_head", "vote_share_plugin", "vote_share_latent", "vote_share_own_money"]
)
def test_posteriors_are_calibrated_in_simulation_based_calibration(design, model_name, tmp_path):
    """100 simulations from the prior: no main parameter's ranks depart from uniform at p < 0.001.

    Why 0.001: two tests (chi-square and simultaneous ECDF) on 34 parameters of 4 models is 68 p-values;
    under calibration the chance that any falls below 0.001 is about 7 %, so a failure is strong evidence
    of miscalibration rather than bad luck. With 100 simulations this still catches gross errors (a posterior
    one posterior sd off, or half as wide as it should be), not subtle ones."""
    ranks = run_sbc(model_name, 100, seed=20260305, design=design)
    ecdf_figure(ranks, tmp_path / f"sbc-{model_name}.png")
    summary = uniformity(ranks)
    bad = summary[(summary.p_chisq < 1e-3) | (summary.p_ecdf < 1e-3)]
    assert bad.empty, f"miscalibrated:\n{bad.to_string(index=False)}"
