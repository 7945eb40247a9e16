"""Known answers for the result code: counterfactuals and P(first) on a hand-built posterior, leave-one-cycle-out
scores and folds on toy cases, the baselines, each diagnostic threshold, and the --strict gate in both directions.
Every expected number is worked out by hand in the test (or by a closed form), not copied from a run."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import SimpleNamespace

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from model import models
from model.dataset.features import MoneyEvidence, VoteShareData
from model.evaluation import skill
from model.inference import diagnostics
from model.models.base import load_inputs, posterior_draws
from model.models.dirichlet import p_first
from model.models.head_to_head import BASE_PRIORS, BASE_TERMS, head_to_head_columns
from model.models.scenarios import counterfactuals

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "data" / "raw"
LN3 = float(np.log(3.0))  # log(1 + $2000 / $1000): $2k of IE is one "ln 3" unit of money


# ---------------------------------------------------------------- a tiny hand-built vote-share world


def tiny_data(log_support=(LN3, 0.0, 0.0, 0.0, 0.0), log_oppose=(LN3, 0.0, 0.0, 0.0, 0.0)) -> VoteShareData:
    """Race r0: A (IE for and against, $2k each) vs B. Race r1: C with a known share, D and E whose shares are
    unknown (one Dirichlet lump). One cycle, one district, no endorsements, turnout at the centre."""
    frame = pd.DataFrame(
        {
            "race_id": ["r0", "r0", "r1", "r1", "r1"],
            "candidate_id": ["a", "b", "c", "d", "e"],
            "name": ["A", "B", "C", "D", "E"],
            "vote_share": [0.6, 0.4, 0.5, np.nan, np.nan],
            "outcome": ["won", "lost", "won", "lost", "lost"],
            "cycle": [2020] * 5,
            "rank": [1, 2, 1, 2, 3],
        }
    )
    zeros = np.zeros(5)
    empty = MoneyEvidence(pd.DataFrame(columns=["race_id", "candidate_id", "stance"]), np.zeros((0, 0)), zeros[:0],
                          np.array([], dtype=str), [])  # fmt: skip
    return VoteShareData(
        frame=frame,
        race_ids=["r0", "r1"],
        cycles=[2020],
        districts=[1],
        race_idx=np.array([0, 0, 1, 1, 1]),
        cycle_idx=np.zeros(5, dtype=int),
        district_idx=np.zeros(5, dtype=int),
        incumbent=zeros,
        experienced=zeros,
        endorsement=np.zeros((5, 0)),
        terms=(),
        log_support=np.array(log_support),
        log_oppose=np.array(log_oppose),
        support_cell=np.full(5, -1),
        oppose_cell=np.full(5, -1),
        turnout=np.array([np.nan, np.nan]),
        turnout_filled=np.array([0.25, 0.25]),
        turnout_centre=0.25,
        on_cycle=np.zeros(2),
        log_votes_cast=np.full(2, np.nan),
        component_idx=np.array([0, 1, 2, 3, 3]),
        component_race=np.array([0, 0, 1, 1]),
        component_share=np.array([0.6, 0.4, 0.5, 0.5]),
        component_label=["r0 a", "r0 b", "r1 c", "r1 (others)"],
        money=empty,
    )


def posterior(beta_support, beta_oppose, concentration) -> az.InferenceData:
    """A one-chain plug-in vote-share posterior with the given draws; every other term is exactly 0."""
    n = len(beta_support)
    zero = np.zeros((1, n))
    post = {
        "beta_support": np.asarray(beta_support, float)[None],
        "beta_oppose": np.asarray(beta_oppose, float)[None],
        "concentration": np.full((1, n), float(concentration)),
    }
    for name in (
        "beta_incumbent",
        "beta_experienced",
        "beta_utla",
        "beta_ccsa",
        "beta_turnout_utla",
        "beta_turnout_support",
    ):
        post[name] = zero
    post["beta_oncycle_utla"] = zero
    for stance in ("support", "oppose"):
        post[f"tau_cycle_{stance}"] = zero
        post[f"tau_district_{stance}"] = zero
        post[f"z_cycle_{stance}"] = np.zeros((1, n, 1))
        post[f"z_district_{stance}"] = np.zeros((1, n, 1))
    return az.from_dict({"posterior": post})


def test_counterfactual_shares_and_deltas_match_the_hand_computed_softmax():
    """Two draws. Draw 1 (support 1, oppose -1): A's eta = ln3 - ln3 = 0, so 50 %; without the ads against A,
    eta = ln3 and A gets 3/(3+1) = 75 %. Draw 2 (support 2, oppose -1): eta = 2 ln3 - ln3 = ln3, 75 %; without the
    ads 9/(9+1) = 90 %. Equal spending gives both A and B the race's mean money, so 50 % in both draws.
    Race r1 has no money: every candidate is at 1/3 in every scenario."""
    plugin = models.get("vote_share_plugin")
    cf = counterfactuals(plugin, posterior([1.0, 2.0], [-1.0, -1.0], 1e7), tiny_data(), np.random.default_rng(0))
    a, b = cf.iloc[0], cf.iloc[1]
    assert a.share_fitted == pytest.approx((50 + 75) / 2) and b.share_fitted == pytest.approx((50 + 25) / 2)
    assert a.share_no_negative_ads == pytest.approx((75 + 90) / 2)
    assert a.delta_no_negative_ads == pytest.approx(((75 - 50) + (90 - 75)) / 2)
    assert a.share_equal_spending == pytest.approx(50) and b.share_equal_spending == pytest.approx(50)
    assert a.delta_equal_spending == pytest.approx(((50 - 50) + (50 - 75)) / 2)
    assert b.delta_equal_spending == pytest.approx(((50 - 50) + (50 - 25)) / 2)
    assert a.p_delta_equal_spending_negative == 0.5  # draw 2 only (draw 1's delta is exactly 0)
    assert a.share_fitted_lo == pytest.approx(np.quantile([50, 75], 0.05))
    assert a.share_fitted_hi == pytest.approx(np.quantile([50, 75], 0.95))
    # With concentration 1e7 the Dirichlet draw is the expected share, so whoever leads in every draw is first.
    assert a.p_first_no_negative_ads == 1.0 and b.p_first_no_negative_ads == 0.0
    r1 = cf.iloc[2:]
    for col in ("share_fitted", "share_equal_spending", "share_no_negative_ads"):
        np.testing.assert_allclose(r1[col], 100 / 3)
    np.testing.assert_allclose(r1[["delta_equal_spending", "delta_no_negative_ads"]], 0.0, atol=1e-9)


def test_p_first_of_a_two_way_race_is_the_beta_tail_probability():
    """A's share in a two-way race is Beta(c pA, c pB) under the Dirichlet predictive, so P(A first) =
    P(Beta > 1/2). With eta_A = 0.4, eta_B = 0 and c = 30 that is stats.beta.sf(0.5, 30 pA, 30 pB) = 0.70.
    p_first uses one predictive draw per posterior draw; with 20000 identical draws its Monte Carlo sd is
    sqrt(p (1 - p) / 20000) = 0.0032, and the tolerance is 4 of those."""
    data = tiny_data()
    n, c = 20_000, 30.0
    eta = np.tile([0.4, 0.0, 0.0, 0.0, 0.0], (n, 1))
    got = p_first(eta, np.full(n, c), data, np.random.default_rng(1))
    pa = expit(0.4)
    want = stats.beta.sf(0.5, c * pa, c * (1 - pa))
    assert got[0] == pytest.approx(want, abs=4 * np.sqrt(want * (1 - want) / n))
    assert got[0] + got[1] == pytest.approx(1.0)


def test_p_first_splits_a_lump_of_unknown_shares_by_expected_share():
    """In r1, D and E share one Dirichlet component. With expected shares C 1/4, D 1/2, E 1/4 and a huge
    concentration, the lump's draw (3/4) is split 2:1 between D and E, so D is first in every draw."""
    data = tiny_data()
    eta = np.tile([0.0, 0.0, 0.0, np.log(2.0), 0.0], (50, 1))
    got = p_first(eta, np.full(50, 1e7), data, np.random.default_rng(2))
    np.testing.assert_array_equal(got[2:], [0.0, 1.0, 0.0])


# ---------------------------------------------------------------- leave-one-cycle-out scores, folds, baselines


def test_scores_give_hand_computed_log_score_brier_and_winners_right():
    """Race x: P = (0.8, 0.2), the first candidate won. Race y: P = (0.3, 0.7), the first candidate won (a miss).
    Log score = mean(log 0.8, log 0.3); Brier per race sums over candidates: (0.2^2 + 0.2^2) = 0.08 and
    (0.7^2 + 0.7^2) = 0.98, mean 0.53; winners right: 1 of 2."""
    got = skill.scores(np.array([0.8, 0.2, 0.3, 0.7]), np.array([1, 0, 1, 0]), np.array(["x", "x", "y", "y"]))
    assert got["races"] == 2
    assert got["log_score"] == pytest.approx((np.log(0.8) + np.log(0.3)) / 2)
    assert got["brier"] == pytest.approx(0.53)
    assert got["accuracy"] == 0.5


def toy_races() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A primary p1 (Y led) and its runoff g1 (X incumbent, X $100 for and $50 against, so X's side has $100 and
    Y's $50), plus a three-way race g2 with no incumbent, no money and no primary. Returns (test rows, cr)."""
    cr = pd.DataFrame(
        {
            "race_id": ["p1", "p1", "g1", "g1", "g2", "g2", "g2"],
            "cycle": [2024] * 7,
            "district": [1, 1, 1, 1, 2, 2, 2],
            "round": ["primary", "primary", "general", "general", "general", "general", "general"],
            "candidate_id": ["x", "y", "x", "y", "u", "v", "w"],
            "rank": [2, 1, 1, 2, 1, 2, 3],
            "incumbent": [True, False, True, False, False, False, False],
            "support_usd": [0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0],
            "oppose_usd": [0.0, 0.0, 50.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    return cr[cr.race_id != "p1"].reset_index(drop=True), cr


def baselines(test: pd.DataFrame, cr: pd.DataFrame, confidence: float, monkeypatch) -> dict[str, np.ndarray]:
    """baseline_probabilities at an explicit confidence, whether it is an argument or the module constant."""
    if "confidence" in inspect.signature(skill.baseline_probabilities).parameters:
        return skill.baseline_probabilities(test, cr, confidence=confidence)
    monkeypatch.setattr(skill, "BASELINE_CONFIDENCE", confidence)
    return skill.baseline_probabilities(test, cr)


def test_primary_leaders_mark_the_primary_winner_in_its_runoff_only():
    _test, cr = toy_races()
    leaders = skill.primary_leaders(cr)
    assert leaders == {("g1", "x"): False, ("g1", "y"): True, ("g2", "u"): False, ("g2", "v"): False,
                       ("g2", "w"): False}  # fmt: skip


@pytest.mark.parametrize("confidence", [0.9, 0.75])
def test_baselines_give_their_pick_the_confidence_and_split_the_rest(confidence, monkeypatch):
    """In g1 the incumbent and the bigger outside-money side are X, the primary leader is Y: the pick gets the
    confidence, the other (1 - confidence). In g2 no baseline has a pick, so each of three gets 1/3."""
    test, cr = toy_races()
    got = baselines(test, cr, confidence, monkeypatch)
    q, third = confidence, 1 / 3
    np.testing.assert_allclose(got["incumbent wins"], [q, 1 - q, third, third, third])
    np.testing.assert_allclose(got["more outside money wins"], [q, 1 - q, third, third, third])
    np.testing.assert_allclose(got["primary leader wins the runoff"], [1 - q, q, third, third, third])
    for p in got.values():  # each baseline's probabilities sum to 1 within each race
        np.testing.assert_allclose(pd.Series(p).groupby(test.race_id.to_numpy()).sum(), 1.0)


def test_baseline_scores_on_the_toy_races(monkeypatch):
    """X won g1 and U won g2. 'incumbent wins' at confidence 0.8: log score mean(log 0.8, log 1/3); Brier
    (0.2^2 + 0.2^2) = 0.08 and 3-way even (4/9 + 1/9 + 1/9) = 2/3; winners right: g1, and g2 by the first of
    tied candidates (argmax), so 2 of 2 here (U is listed first)."""
    test, cr = toy_races()
    p = baselines(test, cr, 0.8, monkeypatch)["incumbent wins"]
    got = skill.scores(p, (test["rank"] == 1).astype(int).to_numpy(), test.race_id.to_numpy())
    assert got["log_score"] == pytest.approx((np.log(0.8) + np.log(1 / 3)) / 2)
    assert got["brier"] == pytest.approx((0.08 + 2 / 3) / 2)
    assert got["accuracy"] == 1.0


class _Fit:
    """The part of an InferenceData that evaluate reads: .posterior[name] with (chain, draw, ...) arrays."""

    def __init__(self, **arrays):
        import xarray as xr

        self.posterior = xr.Dataset({k: (tuple(f"d{i}" for i in range(v.ndim)), v) for k, v in arrays.items()})


def test_leave_one_cycle_out_folds_hold_out_one_cycle_each_and_an_oracle_scores_perfectly(monkeypatch):
    """The samplers replaced by an oracle that knows each race's winner (eta 10 for the winner, 0 for the rest,
    concentration 1e7), so the vote-share models must score log 0, Brier 0 and every winner right on every fold
    if the held-out rows line up with the predictions. Each fold's weights must zero exactly one cycle's races, and
    the folds are the cycles with at least 5 races in the other cycles."""
    from model.dataset.features import vote_share_data
    from model.dataset.raw import load_raw
    from model.dataset.tables import candidate_races, head_to_head
    from model.fit import SamplerSettings
    from model.priors import DEFAULT_PRIORS

    raw = load_raw(RAW)
    cr = candidate_races(raw)
    data = vote_share_data(cr, raw)
    winner = (data.frame["rank"] == 1).to_numpy()
    weights_seen: dict[str, list[np.ndarray]] = {"vote_share": [], "head_to_head": []}
    oracle_fit = _Fit(eta=np.where(winner, 10.0, 0.0)[None, None].repeat(20, 1), concentration=np.full((1, 20), 1e7))
    z = np.zeros((1, 20))  # head-to-head: no information (all coefficients 0, sd 1), so P(a first) = 1/2
    _columns, h2h_priors = head_to_head_columns(head_to_head(cr))  # the bundled data's terms, UTLA and CCSA among them
    no_info_fit = _Fit(**{n: z for n in h2h_priors}, sigma_head_to_head=z + 1.0)

    def oracle(model, updates, seeds, settings, workers=1, scheduler=None):
        kind = "vote_share" if "eta" in model.named_vars else "head_to_head"
        weights_seen[kind] += [u["race_weight"] for u in updates]
        return iter([oracle_fit if kind == "vote_share" else no_info_fit] * len(updates))

    monkeypatch.setattr(skill, "sample_each", oracle)
    per_candidate, summary, _folds = skill.leave_one_cycle_out(
        RAW, DEFAULT_PRIORS, 1, SamplerSettings(chains=1, draws=20)
    )
    race_cycle = cr.groupby("race_id").cycle.first().reindex(data.race_ids).to_numpy()
    folds = sorted(set(per_candidate.cycle))
    assert folds == sorted(c for c in data.cycles if (race_cycle != c).sum() >= 5)
    # The vote-share models a default fit fits (latent, plug-in, carryover, own money, ...).
    n_models = sum(m.loo_var == "vote_share_race" for _position, m in models.bayesian())
    assert len(weights_seen["vote_share"]) == n_models * len(folds)
    for weights, cycle in zip(weights_seen["vote_share"], folds * n_models, strict=True):
        np.testing.assert_array_equal(weights, (race_cycle != cycle).astype(float))
    for model in ("vote_share_carryover", "vote_share_latent", "vote_share_plugin"):
        s = summary[(summary.scope == "all races") & (summary.model == model)].iloc[0]
        assert (s.log_score, s.brier, s.accuracy) == (0.0, 0.0, 1.0), model
        assert s.races == per_candidate[per_candidate.model == model].race_id.nunique()
    held_rows = per_candidate[per_candidate.model == "vote_share_latent"]
    assert len(held_rows) == len(data.frame[data.frame.cycle.isin(folds)])


# ---------------------------------------------------------------- diagnostic thresholds


def fake_fit(rng, *, shift: float = 0.0, rho: float = 0.0, divergences: int = 0, walk_energy: bool = False,
             outlier: bool = False) -> az.InferenceData:  # fmt: skip
    """4 chains x 1000 draws of one parameter: independent normals (all checks pass) unless a chain is shifted
    (R-hat), the draws are AR(1) with coefficient rho (ESS), some draws diverge, the energy is a random walk
    (E-BFMI), or one observation's log-likelihood is heavy-tailed (Pareto k)."""
    chains, n = 4, 1000
    x = rng.normal(size=(chains, n))
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + np.sqrt(1 - rho**2) * x[:, t]
    x[0] += shift
    diverging = np.zeros((chains, n), bool)
    diverging.flat[:divergences] = True
    energy = rng.normal(size=(chains, n)).cumsum(axis=1) if walk_energy else rng.normal(size=(chains, n))
    loglik = stats.norm.logpdf(rng.normal(size=10)[None, None] - x[..., None] * 0.1)
    if outlier:
        loglik[..., 0] = rng.normal(0, 3, size=(chains, n))  # lognormal importance ratios with sd 3: k > 1
    return az.from_dict(
        {
            "posterior": {"beta_x": x},
            "sample_stats": {"diverging": diverging, "energy": energy},
            "log_likelihood": {"y": loglik},
        }
    )


def row(table: pd.DataFrame, check: str) -> pd.Series:
    """The row of a check table whose check name starts with check."""
    return table[table.check.str.startswith(check)].iloc[0]


def test_independent_draws_pass_every_check():
    table = diagnostics.check_table(fake_fit(np.random.default_rng(0)), ["beta_x"], "y")
    assert table.passed.all(), table.to_string()


@pytest.mark.parametrize(
    ("bad", "check"),
    [
        ({"shift": 1.0}, "max R-hat"),
        ({"rho": 0.99}, "min bulk ESS"),
        ({"rho": 0.99}, "min tail ESS"),
        ({"divergences": 1}, "divergences"),
        ({"walk_energy": True}, "min E-BFMI"),
    ],
)
def test_each_gated_check_fails_on_draws_built_to_fail_it(bad, check):
    table = diagnostics.check_table(fake_fit(np.random.default_rng(0), **bad), ["beta_x"], "y")
    assert not row(table, check).passed, table.to_string()
    assert not table.passed.all()


def test_what_a_fit_cost_is_shown_per_fit_and_never_gated():
    """Leapfrog steps per draw and the adapted step size (issue 21: the geometry's cost, for every fit)."""
    base = fake_fit(np.random.default_rng(0))
    steps = np.full((4, 1000), 7)
    steps[2, 5] = 31
    step_size = np.repeat([[0.1], [0.2], [0.3], [0.4]], 1000, axis=1)
    stats_ = {k: base.sample_stats[k].to_numpy() for k in ("diverging", "energy")}
    fit = az.from_dict(
        {
            "posterior": {"beta_x": base.posterior["beta_x"].to_numpy()},
            "sample_stats": {**stats_, "n_steps": steps, "step_size": step_size},
            "log_likelihood": {"y": base.log_likelihood["y"].to_numpy()},
        }
    )
    table = diagnostics.check_table(fit, ["beta_x"], "y")
    cost = row(table, "leapfrog steps per draw")
    assert cost.value == pytest.approx(7 + 24 / 4000) and cost.passed and cost["where"] == "max 31"
    size = row(table, "step size")
    assert size.value == pytest.approx(0.25) and size.passed and size["where"] == "0.1-0.4"
    assert table.passed.all()


def test_a_high_pareto_k_is_shown_but_not_gated():
    table = diagnostics.check_table(fake_fit(np.random.default_rng(0), outlier=True), ["beta_x"], "y")
    k = row(table, "max Pareto k")
    assert k.value > diagnostics.PARETO_K_MAX and k.passed


@pytest.mark.parametrize(
    ("constant", "check", "direction"),
    [
        ("RHAT_MAX", "max R-hat", "max"),
        ("ESS_MIN", "min bulk ESS", "min"),
        ("ESS_MIN", "min tail ESS", "min"),
        ("EBFMI_MIN", "min E-BFMI", "min"),
    ],
)
def test_each_threshold_is_inclusive_and_decides_the_check(constant, check, direction, monkeypatch):
    """A threshold equal to the measured value passes (<= max, >= min); one a hair stricter fails."""
    idata = fake_fit(np.random.default_rng(0), rho=0.5)
    value = row(diagnostics.check_table(idata, ["beta_x"], "y"), check).value
    monkeypatch.setattr(diagnostics, constant, value)
    assert row(diagnostics.check_table(idata, ["beta_x"], "y"), check).passed
    stricter = value * (1 - 1e-9) if direction == "max" else value * (1 + 1e-9)
    monkeypatch.setattr(diagnostics, constant, stricter)
    assert not row(diagnostics.check_table(idata, ["beta_x"], "y"), check).passed


def test_the_divergence_threshold_counts_divergent_draws(monkeypatch):
    idata = fake_fit(np.random.default_rng(0), divergences=3)
    assert row(diagnostics.check_table(idata, ["beta_x"], "y"), "divergences").value == 3
    monkeypatch.setattr(diagnostics, "DIVERGENCES_MAX", 3)
    assert row(diagnostics.check_table(idata, ["beta_x"], "y"), "divergences").passed
    monkeypatch.setattr(diagnostics, "DIVERGENCES_MAX", 2)
    assert not row(diagnostics.check_table(idata, ["beta_x"], "y"), "divergences").passed


# ---------------------------------------------------------------- the --strict gate


@pytest.mark.parametrize("passed", [True, False])
def test_strict_gate_exits_1_exactly_when_a_diagnostic_failed(passed, tmp_path, monkeypatch, capsys):
    """run_fit's pass/fail (the fit stood in for by one that reports `passed`) decides the exit code with --strict,
    for a new run and for a reused one (read back from its manifest); without --strict the exit code is 0."""
    import model.fit as fit
    from model.cli import main

    def write_run(out, result, seed):
        (out / "diagnostics.csv").write_text(f"check,passed\nall,{passed}\n")
        return passed

    fake = {"wall_s": {}, "main_model": None, "names": None, "skipped": {}, "data": SimpleNamespace(terms=())}
    fake.update(inputs=load_inputs(RAW), raw_dir=RAW)  # the run folder keeps a copy of the data the fit read
    monkeypatch.setattr(fit, "fit_models", lambda *args: fake)
    monkeypatch.setattr(fit, "write_run", write_run)
    args = ["fit", "--raw", str(RAW), "--runs", str(tmp_path / "runs"), "--figures", str(tmp_path / "figures")]
    want = 0 if passed else 1
    assert main([*args, "--strict"]) == want
    run = tmp_path / "runs" / (tmp_path / "runs" / "LATEST").read_text().strip()
    assert json.loads((run / "manifest.json").read_text())["diagnostics_passed"] is passed
    assert main([*args, "--strict"]) == want  # reused run
    assert "reusing" in capsys.readouterr().err
    assert main(args) == 0


# ---------------------------------------------------------------- effects in points, P(win), head-to-head P(first)


def test_points_effects_convert_log_odds_to_points_at_an_even_race():
    """Incumbency at ln 3 on the log-odds scale moves a 50 % candidate to 3/(3+1) = 75 %: +25 points. At a
    $100k reference, doubling and adding $100k are the same step, log(1 + 200) - log(1 + 100) per log(1+$k)."""
    from model.models.points import points_effects

    n = 10
    beta = {"beta_support": np.full(n, 0.5), "beta_oppose": np.full(n, -0.5), "beta_incumbent": np.full(n, LN3)}
    table = points_effects(beta, 100_000.0, "m").set_index("effect")
    assert table.loc["incumbent", "mean_pp"] == pytest.approx(25.0)
    step = np.log(201.0) - np.log(101.0)
    want = 100 * (expit(0.5 * step) - 0.5)
    assert table.loc["support IE, doubling", "mean_pp"] == pytest.approx(want)
    assert table.loc["support IE, per $100k", "mean_pp"] == pytest.approx(want)
    assert table.loc["oppose IE, doubling", "mean_pp"] == pytest.approx(-want)
    assert (
        table.loc["support IE, doubling", "p_positive"] == 1.0 and table.loc["oppose IE, doubling", "p_positive"] == 0
    )
    assert "UTLA endorsement" not in table.index  # only effects the posterior has


def test_win_probability_curve_is_the_beta_tail_at_each_spending_ratio():
    """A's share is Beta(c p, c (1 - p)) with p = expit(beta x step): at equal money exactly 1/2, at 16 times
    B's money (B at $100k) the closed form below; with beta 0 money never matters."""
    from model.models.scenarios import win_probability_curve

    curve = win_probability_curve(np.ones(4), np.full(4, 50.0), 100_000.0).set_index("ratio")
    assert curve.loc[1.0, "p_win_mean"] == pytest.approx(0.5)
    p = expit(np.log1p(1600.0) - np.log1p(100.0))
    assert curve.p_win_mean.iloc[-1] == pytest.approx(stats.beta.sf(0.5, 50 * p, 50 * (1 - p)))
    assert curve.p_win_mean.is_monotonic_increasing
    flat = win_probability_curve(np.zeros(4), np.full(4, 50.0), 100_000.0)
    np.testing.assert_allclose(flat.p_win_mean, 0.5)


def test_head_to_head_probabilities_give_the_top_two_their_normal_tail_and_others_nothing():
    """One draw with beta_support 1, the rest 0, residual sd 1, and a's support advantage 1: P(a first) =
    P(N(1, 1) > 0) = Phi(1) = 0.841 and b gets the rest; a third candidate gets 0; a race without a head-to-head
    row is split evenly."""
    one = np.ones((1, 1))
    fit = _Fit(**{n: one * (n == "beta_support") for n in BASE_PRIORS}, sigma_head_to_head=one)
    terms = {t: [1.0 if t == "d_log_support" else 0.0] for t in BASE_TERMS}
    test = pd.DataFrame({"race_id": ["r0"], "candidate_a": ["a"], "candidate_b": ["b"], **terms})
    frame = pd.DataFrame({"race_id": ["r0", "r0", "r0", "r1", "r1"], "candidate_id": ["a", "b", "c", "d", "e"]})
    got = skill.head_to_head_probabilities(fit, test, frame)
    np.testing.assert_allclose(got, [stats.norm.cdf(1.0), stats.norm.sf(1.0), 0.0, 0.5, 0.5])


def test_actual_money_is_the_plug_in_or_the_latent_draws_with_no_figure_meaning_no_money():
    """Without latent money the plug-in log(1+$k) comes back; with it, each candidate gets log(1 + money_k) of its
    cell in each draw and a candidate without a cell (index -1) gets 0."""
    import dataclasses

    data = tiny_data()
    plugin = models.get("vote_share_plugin")
    s, o = plugin.log_money_draws(posterior_draws(posterior([1.0], [-1.0], 10.0)), data)
    np.testing.assert_allclose(s[0], data.log_support)
    np.testing.assert_allclose(o[0], data.log_oppose)
    latent = dataclasses.replace(data, support_cell=np.array([0, -1, -1, -1, 1]), oppose_cell=np.full(5, -1))
    money_k = np.array([[[2.0, 8.0], [26.0, 0.0]]])  # (chain, draw, cell) in $ thousands
    s, o = plugin.log_money_draws(posterior_draws(az.from_dict({"posterior": {"money_k": money_k}})), latent)
    np.testing.assert_allclose(s, np.log([[3.0, 1, 1, 1, 9.0], [27.0, 1, 1, 1, 1.0]]))
    np.testing.assert_allclose(o, 0.0)


def test_an_unknown_step_to_skip_is_a_one_line_error_before_any_work(tmp_path, capsys):
    from model.cli import main

    args = ["fit", "--raw", str(RAW), "--runs", str(tmp_path / "runs"), "--skip", "loco", "sweeep"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'sweeep'" in err and "loco, forecast, sweep" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
