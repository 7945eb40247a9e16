"""The candidate-aware model: its numpy twin equals its PyMC predictor, a runoff starts from its primary, and the
primary-to-runoff decomposition adds up."""

from __future__ import annotations

import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pymc as pm
import pytest
from scipy.special import expit

from model import models
from model.models.base import load_inputs
from model.models.carryover import carryover_data
from model.priors import load_priors

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module")
def inputs():
    """The bundled data's model inputs."""
    return load_inputs(RAW)


def prior_post(model, inputs, n: int = 4) -> dict[str, np.ndarray]:
    """n prior draws of every variable of a registered model, draws on axis 0."""
    with model.build(inputs, load_priors(None)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Potentials are ignored by prior sampling: intended here
        prior = pm.sample_prior_predictive(draws=n, random_seed=7).prior
    return {k: prior[k].to_numpy().reshape(n, *prior[k].shape[2:]) for k in prior.data_vars}


@pytest.mark.parametrize("name", ["vote_share_latent", "vote_share_carryover", "vote_share_carryover_t"])
def test_numpy_twin_equals_the_pymc_linear_predictor(inputs, name):
    """Log-likelihoods, predictive checks, P(first) and counterfactuals use eta_draws: it must equal the sampled
    eta draw by draw (here at prior draws, where every term is far from zero)."""
    model = models.get(name)
    post = prior_post(model, inputs)
    np.testing.assert_allclose(model.eta_draws(post, inputs.data), post["eta"], atol=1e-9)


def test_runoffs_link_to_their_primary_and_carry_its_two_way_share(inputs):
    """2017 D4: both finalists' runoff rows point at their own primary rows. With beta_primary_share 1 and every
    other coefficient 0, the runoff's expected share is the two-way primary share, whatever the candidate
    strengths (which the primary share already carries)."""
    data = inputs.data
    cd = carryover_data(data)
    frame = data.frame.reset_index(drop=True)
    runoff = np.flatnonzero((frame.race_id == "2017-05-16-D4").to_numpy())
    assert len(runoff) == 2 and cd.runoff[runoff].all()
    for i in runoff:
        j = cd.primary_row[i]
        assert frame.candidate_id[j] == frame.candidate_id[i] and frame.race_id[j] != frame.race_id[i]
    model = models.get("vote_share_carryover")
    post = prior_post(model, inputs, n=2)
    for k in post:
        if k.startswith(("beta_", "tau_")) and post[k].ndim == 1:
            post[k] = np.ones(2) if k == "beta_primary_share" else np.zeros(2)
    eta = model.eta_draws(post, data)
    a, b = runoff
    p = cd.row_share[cd.primary_row]
    np.testing.assert_allclose(expit(eta[:, a] - eta[:, b]), p[a] / (p[a] + p[b]))
    # Rows not built from a primary get the candidate's strength: changing it moves them and not the runoff.
    moved = dict(post, z_candidate=post["z_candidate"] + 1.0)
    delta = model.eta_draws(moved, data) - eta
    fresh = cd.runoff == 0
    np.testing.assert_allclose(delta[:, fresh], post["sigma_candidate"][:, None] * np.ones(fresh.sum()))
    np.testing.assert_allclose(delta[:, runoff][:, 0] - delta[:, runoff][:, 1], 0.0, atol=1e-12)


def test_eliminated_candidates_lean_to_the_finalist_their_backers_back(inputs):
    """An eliminated candidate counts for a finalist only when shared backing points at that finalist alone."""
    data = inputs.data
    cd = carryover_data(data)
    finalists = np.flatnonzero(cd.runoff)
    assert cd.alignment[finalists].sum() > 0, "some runoff finalist should inherit aligned eliminated voters"
    for i, j in zip(*np.nonzero(cd.alignment), strict=True):
        assert cd.runoff[i] == 1 and cd.runoff[j] == 0
        assert data.frame.race_id.iloc[j] == data.frame.race_id.iloc[cd.primary_row[i]]
        assert cd.alignment[:, j].sum() == 1  # never split between both finalists


def test_decomposition_steps_add_up_to_the_fitted_and_the_actual_share(inputs):
    """On prior draws: primary + each step = fitted (mean over draws of a sum is the sum of means), and
    fitted + residual = actual, for every runoff the table covers."""
    model = models.get("vote_share_carryover")
    post = prior_post(model, inputs, n=6)
    idata = az.from_dict({"posterior": {k: v[None] for k, v in post.items()}})
    table = model.decomposition(idata, inputs)
    assert len(table.race_id.unique()) >= 5
    for _race, g in table.groupby("race_id"):
        m = g.set_index("step").mean_pp
        parts = ["primary", "carry_over", "consolidation", "money", "backing", "electorate"]
        assert m[parts].sum() == pytest.approx(m["fitted"], abs=1e-9)
        assert m["fitted"] + m["residual"] == pytest.approx(m["actual"], abs=1e-9)
        assert 50 <= m["actual"] <= 100  # the step follows the winner


def test_a_model_kept_for_comparison_is_listed_but_fitted_only_when_named():
    """The Student-t variant is registered (python -m model models lists it) but a default fit leaves it out;
    naming it fits it, and positions (seed offsets) count every registered model either way."""
    default = {m.name: i for i, m in models.bayesian()}
    assert "vote_share_carryover_t" in models.REGISTRY and "vote_share_carryover_t" not in default
    named = dict((m.name, i) for i, m in models.bayesian(["vote_share_carryover_t", "vote_share_latent"]))
    assert named["vote_share_latent"] == default["vote_share_latent"]
    assert named["vote_share_carryover_t"] == list(models.REGISTRY).index("vote_share_carryover_t")


def test_simulated_runoffs_start_from_the_simulated_primary_not_the_observed_one(inputs):
    """Joint simulation (SBC, recovery): with beta_primary_share 1, every other coefficient 0 and a huge
    concentration, each linked runoff's simulated two-way share equals its finalists' simulated primary shares,
    and the row_share data the model reads are those simulated primary shares."""
    model = models.get("vote_share_carryover")
    truth = {k: v[0] for k, v in prior_post(model, inputs, n=1).items()}
    for k, v in truth.items():
        if k.startswith(("beta_", "tau_")) and np.ndim(v) == 0:
            truth[k] = np.float64(1.0 if k == "beta_primary_share" else 0.0)
    truth["concentration"] = np.float64(1e6)
    truth["eta"] = model.eta_draws({k: np.asarray(v)[None] for k, v in truth.items()}, inputs.data)[0]
    update = model.simulate(inputs, truth, np.random.default_rng(3))
    data = inputs.data
    cd = carryover_data(data)
    shares = np.exp(update["log_component_share"])
    observed = cd.row_share
    assert not np.allclose(update["row_share"], observed)  # the primaries were simulated afresh
    frame = data.frame.reset_index(drop=True)
    for race_id in frame.race_id[cd.runoff > 0].unique():
        a, b = np.flatnonzero((frame.race_id == race_id).to_numpy())
        pa, pb = update["row_share"][cd.primary_row[a]], update["row_share"][cd.primary_row[b]]
        sa, sb = shares[data.component_idx[a]], shares[data.component_idx[b]]
        assert sa / (sa + sb) == pytest.approx(pa / (pa + pb), abs=0.01), race_id
