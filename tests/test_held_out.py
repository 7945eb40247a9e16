"""Known answers for the out-of-sample numbers: the weights reach the likelihood, baselines learn only from training
races, one bad chain or parameter fails the gate, each candidate's money is their own, and PSIS (smoothing,
resampling, integrating a group's own parameters out, reweighting to other priors) gives what exact computation
gives where that is known in closed form."""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from model import models
from model.dataset.features import log_money
from model.evaluation import skill
from model.inference import diagnostics, importance
from model.models.base import load_inputs
from model.models.vote_share import race_cycles
from model.priors import DEFAULT_PRIORS, Prior

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module")
def inputs():
    """The bundled data's model inputs."""
    return load_inputs(RAW)


# ---------------------------------------------------------------- the weights reach the likelihood


def test_a_held_out_cycles_zero_weights_remove_exactly_its_races_log_likelihood(inputs):
    """The fold's weights (loco_update) take out of the log density what weighting only the held-out races adds
    to an empty one: the likelihood is a sum over races of weight x race log-likelihood, and the held-out races'
    part is not zero. A fold that trained on its own races (weights never reaching the likelihood) gives 0."""
    model = models.get("vote_share_plugin")
    pm_model = model.build(inputs, DEFAULT_PRIORS, weighted=True)
    point = pm_model.initial_point(random_seed=3)
    logp = pm_model.compile_logp()
    cycle = 2017
    fold = model.loco_update(inputs, cycle)["race_weight"]
    in_cycle = race_cycles(inputs) == cycle
    assert in_cycle.sum() >= 3
    np.testing.assert_array_equal(fold, (~in_cycle).astype(float))

    def at(weights: np.ndarray) -> float:
        pm_model["race_weight"].set_value(weights.astype(float))
        return float(logp(point))

    removed = at(np.ones(inputs.data.n_race)) - at(fold)
    alone = at(in_cycle) - at(np.zeros(inputs.data.n_race))
    assert abs(removed) > 1.0
    assert removed == pytest.approx(alone, rel=1e-9)


# ---------------------------------------------------------------- baselines see only training races


def test_calibrated_baselines_do_not_move_when_the_held_out_results_change(inputs):
    """Swapping who won every held-out race leaves the calibrated confidences alone (learnt on training races
    only), while the same swap in the training races moves them."""
    frame = inputs.data.frame
    held = (frame.cycle == 2017).to_numpy()
    test, train = frame[held], frame[~held]

    def flipped(rows: pd.DataFrame) -> pd.DataFrame:
        ranks = rows["rank"].to_numpy().copy()
        ranks = np.where(ranks == 1, 2, np.where(ranks == 2, 1, ranks))
        return rows.assign(rank=ranks)

    base = skill.all_baselines(test, train, inputs.cr)
    same = skill.all_baselines(flipped(test), train, inputs.cr)
    moved = skill.all_baselines(test, flipped(train), inputs.cr)
    calibrated = [k for k in base if k.endswith(skill.CALIBRATED)]
    assert calibrated
    for k in calibrated:
        np.testing.assert_array_equal(same[k], base[k])
    assert any(not np.array_equal(moved[k], base[k]) for k in calibrated)


# ---------------------------------------------------------------- one bad chain or parameter fails the gate


def _two_parameter_fit(bad_parameter: bool, bad_chain: bool) -> az.InferenceData:
    """4 chains x 1000 draws of beta_a (always fine) and beta_b (chain 2 shifted when bad_parameter); chain 3's
    energy a random walk (E-BFMI near 0) when bad_chain. The bad one is never the first parameter or chain."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 1000)), rng.normal(size=(4, 1000))
    if bad_parameter:
        b[2] += 1.0
    energy = rng.normal(size=(4, 1000))
    if bad_chain:
        energy[3] = rng.normal(size=1000).cumsum()
    loglik = stats.norm.logpdf(rng.normal(size=5)[None, None] - a[..., None] * 0.1)
    return az.from_dict(
        {
            "posterior": {"beta_a": a, "beta_b": b},
            "sample_stats": {"diverging": np.zeros((4, 1000), bool), "energy": energy},
            "log_likelihood": {"y": loglik},
        }
    )


def test_one_bad_parameter_after_a_good_one_fails_r_hat_and_is_named():
    table = diagnostics.check_table(_two_parameter_fit(True, False), ["beta_a", "beta_b"], "y")
    r = table[table.check.str.startswith("max R-hat")].iloc[0]
    assert not r.passed and r["where"] == "beta_b"
    line = diagnostics.failure_line(table.assign(model="toy"), draws=1000)
    assert "R-hat" in line and "beta_b" in line and "DRAWS=2000" in line


def test_one_bad_chain_after_good_ones_fails_e_bfmi_and_is_named():
    table = diagnostics.check_table(_two_parameter_fit(False, True), ["beta_a", "beta_b"], "y")
    e = table[table.check.str.startswith("min E-BFMI")].iloc[0]
    assert not e.passed and e["where"] == "chain 3"
    assert diagnostics.failure_line(table.assign(model="toy"), draws=1000).startswith("check failed: toy: min E-BFMI")


def test_a_run_whose_checks_all_pass_has_no_failure_line():
    table = diagnostics.check_table(_two_parameter_fit(False, False), ["beta_a", "beta_b"], "y")
    assert table.passed.all() and diagnostics.failure_line(table.assign(model="toy"), 1000) is None


# ---------------------------------------------------------------- each candidate's money is their own


def test_the_2017_district_4_primary_money_sits_with_the_named_candidates(inputs):
    """LA Times per City Ethics (spending.csv, source s17-37): $1,256,121 to defeat Zimmer, $705,157 for him,
    $242,157 for Melvoin; nothing against Melvoin. Checked in the clean table and in the model's arrays."""
    cr = inputs.cr.set_index(["race_id", "candidate_id"])
    zimmer, melvoin = ("2017-03-07-D4", "steve-zimmer"), ("2017-03-07-D4", "nick-melvoin")
    assert cr.loc[zimmer, "oppose_usd"] == 1_256_121 and cr.loc[zimmer, "support_usd"] == 705_157
    assert cr.loc[melvoin, "oppose_usd"] == 0 and cr.loc[melvoin, "support_usd"] == 242_157
    f = inputs.data.frame.reset_index(drop=True)
    for (race, who), oppose in ((zimmer, 1_256_121), (melvoin, 0)):
        i = np.flatnonzero((f.race_id == race) & (f.candidate_id == who))[0]
        assert inputs.data.log_oppose[i] == pytest.approx(log_money(oppose))


# ---------------------------------------------------------------- PSIS against closed forms


def test_psis_of_a_normal_mean_moves_the_posterior_to_the_leave_one_out_posterior():
    """Normal mean with known sd 1 and a flat prior: draws of the full posterior N(ybar, 1/n), weighted by
    1 / p(y_i | mu), give the leave-one-out posterior N(mean without i, 1/(n-1)); k-hat is small."""
    rng = np.random.default_rng(0)
    y = rng.normal(0.5, 1.0, size=20)
    mu = rng.normal(y.mean(), 1 / np.sqrt(len(y)), size=8000)
    r = importance.reweight({"mu": mu}, -stats.norm.logpdf(y[0], mu, 1.0), rng)
    loo_mean = np.delete(y, 0).mean()
    assert r.khat < 0.5
    assert r.draws["mu"].mean() == pytest.approx(loo_mean, abs=0.02)
    assert r.draws["mu"].std() == pytest.approx(1 / np.sqrt(len(y) - 1), rel=0.05)


def test_khat_flags_weights_with_an_infinite_variance():
    rng = np.random.default_rng(0)
    _lw, khat = importance.smoothed_log_weights(rng.standard_t(1.5, size=4000) * 4)
    assert khat > 0.7 and importance.khat_threshold(4000) == 0.7
    assert importance.khat_threshold(100) == pytest.approx(0.5)


def test_a_good_k_hat_on_too_few_effective_draws_sends_to_a_refit():
    draws = {"x": np.zeros(12_000)}
    assert not importance.Reweighted(draws, khat=0.4, ess=importance.MIN_IS_ESS - 17).reliable
    assert importance.Reweighted(draws, khat=0.4, ess=importance.MIN_IS_ESS).reliable
    assert not importance.Reweighted(draws, khat=0.75, ess=5_000.0).reliable


def test_equal_ratios_give_equal_weights_and_a_short_tail_sends_to_a_refit():
    lw, khat = importance.smoothed_log_weights(np.zeros(100))
    assert khat == -np.inf and np.allclose(np.exp(lw), 1 / 100)
    _lw, khat = importance.smoothed_log_weights(np.random.default_rng(0).normal(size=12))
    assert khat == np.inf  # 12 draws: too few tail draws for a Pareto fit


def test_integrating_a_groups_effect_out_gives_its_marginal_likelihood():
    """y_j ~ N(a, 1) for 5 members of a group with a ~ N(0, tau): the Monte Carlo marginal over draws of a equals
    the multivariate normal density with covariance I + tau^2 J."""
    rng = np.random.default_rng(2)
    tau, y = 0.7, rng.normal(0.3, 1.0, size=5)
    a = rng.normal(0, tau, size=(200_000, 1))
    per_inner = stats.norm.logpdf(y, a, 1.0).sum(axis=1)[:, None]
    exact = stats.multivariate_normal.logpdf(y, np.zeros(5), np.eye(5) + tau**2)
    assert importance.marginal_log_lik(per_inner)[0] == pytest.approx(exact, abs=0.01)


def test_reweighting_to_another_prior_matches_the_conjugate_posterior():
    """Normal mean, sd 1, prior N(0, 1) -> N(1, 0.5): reweighting draws of the first posterior by the ratio of
    priors gives the second's conjugate mean and sd."""
    rng = np.random.default_rng(4)
    y = rng.normal(1.0, 1.0, size=10)

    def posterior(m0: float, s0: float) -> tuple[float, float]:
        precision = 1 / s0**2 + len(y)
        return (m0 / s0**2 + y.sum()) / precision, 1 / np.sqrt(precision)

    m, s = posterior(0.0, 1.0)
    draws = {"beta_x": rng.normal(m, s, size=8000)}
    old = {"beta_x": Prior("normal", {"mu": 0.0, "sigma": 1.0}, "")}
    new = {"beta_x": Prior("normal", {"mu": 1.0, "sigma": 0.5}, "")}
    r = importance.reweight_to_priors(draws, old, new, rng)
    m2, s2 = posterior(1.0, 0.5)
    assert r.khat < 0.5
    assert r.draws["beta_x"].mean() == pytest.approx(m2, abs=0.01)
    assert r.draws["beta_x"].std() == pytest.approx(s2, rel=0.05)


def test_a_cycles_own_parameters_are_redrawn_and_nothing_else(inputs):
    """The carryover model's redraw changes the held-out cycle's slope deviations and the strengths of candidates
    who ran only that cycle, and leaves every other draw as it was."""
    model = models.get("vote_share_carryover")
    data = inputs.data
    rng = np.random.default_rng(0)
    cycles, people = len(data.cycles), len(data.frame.candidate_id.unique())
    post = {
        "z_cycle_support": np.zeros((50, cycles)),
        "z_cycle_oppose": np.zeros((50, cycles)),
        "z_candidate": np.zeros((50, people)),
    }
    out = model.redraw_cycle_own(post, inputs, 2019, rng)
    k = list(data.cycles).index(2019)
    for stance in ("support", "oppose"):
        z = out[f"z_cycle_{stance}"]
        assert np.all(z[:, k] != 0) and np.all(np.delete(z, k, axis=1) == 0)
    f = data.frame
    candidates = sorted(f.candidate_id.unique())
    only_2019 = set(f.candidate_id[f.cycle == 2019]) - set(f.candidate_id[f.cycle != 2019])
    changed = {candidates[i] for i in np.flatnonzero((out["z_candidate"] != 0).all(axis=0))}
    assert only_2019 and changed == only_2019
    assert np.all(post["z_candidate"] == 0)  # the input draws are untouched
