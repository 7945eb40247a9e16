"""Candidates' own committee money (issue 12): figures map to rounds by election day, the own-money model's numpy
twin equals its PyMC predictor, and races with candidate money and no IE fit without code edits."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest

from model import models
from model.cli import main
from model.dataset.finance import own_money_by_round
from model.fit import SamplerSettings, sample
from model.models.base import load_inputs, model_effects
from model.models.carryover import carryover_data
from model.models.own_money import log_own, own_cells, own_change, own_evidence, simulate_own_figures
from model.priors import PRESET_DIR, load_priors

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import synthetic_electorate

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
NAME = "vote_share_own_money"


@pytest.fixture(scope="module")
def inputs():
    """The bundled data's model inputs."""
    return load_inputs(RAW)


def prior_post(model, inputs, priors, n: int = 4) -> dict[str, np.ndarray]:
    """n prior draws of every variable, draws on axis 0."""
    with model.build(inputs, priors), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Potentials are ignored by prior sampling: intended here
        prior = pm.sample_prior_predictive(draws=n, random_seed=11).prior
    return {k: prior[k].to_numpy().reshape(n, *prior[k].shape[2:]) for k in prior.data_vars}


def test_a_round_takes_the_largest_figure_filed_by_its_election_day_spent_before_raised():
    finance = pd.DataFrame(
        [
            (2031, "ann", 10_000, None, "exact", "2031-01-31"),
            (2031, "ann", 40_000, 30_000, "exact", "2031-02-28"),  # spent beats raised
            (2031, "ann", 5_000, None, "exact", "2031-04-10"),  # one filing period: smaller, ignored
            (2031, "ann", 90_000, None, "approx", "2031-05-01"),  # after the primary: runoff only
            (2031, "ann", 200_000, None, "exact", "2031-06-01"),  # after both rounds: never
            (2031, "bob", 12_000, None, "at_least", "2031-03-01"),
            (2031, "bob", 12_000, None, None, "2031-02-01"),  # same amount, no bound: taken as about
            (2027, "cy", 50_000, None, "exact", "2027-02-01"),  # another cycle
        ],
        columns=["cycle", "candidate_id", "raised_usd", "spent_usd", "bound", "as_of"],
    )
    rows = pd.DataFrame(
        [
            (2031, "ann", "2031-03-04"),
            (2031, "ann", "2031-05-13"),
            (2031, "bob", "2031-03-04"),
            (2031, "cy", "2031-03-04"),
        ],
        columns=["cycle", "candidate_id", "date"],
        index=[7, 8, 9, 10],
    )
    out = own_money_by_round(finance, rows)
    assert list(out.index) == [7, 8, 9, 10]
    assert out.own_usd.iloc[0] == 30_000 and out.own_basis.iloc[0] == "spent" and out.own_kind.iloc[0] == "exact"
    assert out.own_usd.iloc[1] == 90_000 and out.own_kind.iloc[1] == "approx" and out.own_as_of.iloc[1] == "2031-05-01"
    # Equal amounts: the 'about' figure (missing bound) is more precise than the 'at least' one.
    assert out.own_usd.iloc[2] == 12_000 and out.own_kind.iloc[2] == "approx"
    assert np.isnan(out.own_usd.iloc[3]) and out.own_kind.iloc[3] == ""
    assert own_money_by_round(None, rows).own_usd.isna().all()


def test_bundled_figures_filed_after_election_day_do_not_count(inputs):
    """2019 D5: Goldberg's $707,776 of 2 March counts for the 5 March primary, the later period figure does not;
    2020 D3: figures dated the day after the primary count only for the November runoff."""
    f = inputs.data.frame.set_index(["race_id", "candidate_id"])
    assert f.own_usd[("2019-03-05-D5", "jackie-goldberg")] == 707_776
    assert np.isnan(f.own_usd[("2020-03-03-D3", "scott-schmerelson")])
    assert f.own_usd[("2020-11-03-D3", "scott-schmerelson")] == 70_000
    assert f.own_kind[("2020-11-03-D3", "scott-schmerelson")] == "lower"


@pytest.mark.parametrize("switch", [False, True])
def test_numpy_twin_equals_the_pymc_linear_predictor(inputs, tmp_path, switch):
    """eta_draws must equal the sampled eta draw by draw, with and without the incumbent x own-money term."""
    path = None
    if switch:
        path = tmp_path / "jacobson.toml"
        path.write_text("[beta_own_incumbent]\nmu = -0.3\nsigma = 0.3\n")
    model = models.get(NAME)
    post = prior_post(model, inputs, load_priors(path))
    assert ("beta_own_incumbent" in post) == switch
    assert np.abs(post["beta_own"]).min() > 0
    np.testing.assert_allclose(model.eta_draws(post, inputs.data), post["eta"], atol=1e-9)
    # The own-money term is what this model adds to the main one.
    main = models.get("vote_share_carryover")
    extra = post["beta_own"][:, None] + (post["beta_own_incumbent"][:, None] * inputs.data.incumbent if switch else 0)
    np.testing.assert_allclose(
        model.eta_draws(post, inputs.data) - main.eta_draws(post, inputs.data),
        extra * own_change(inputs.data, model.log_own_draws(post, inputs.data)),
        atol=1e-9,
    )


def test_figures_filed_weeks_before_the_vote_are_lower_bounds_and_simulated_as_such(inputs):
    """2019 D5: the 2 March reports (3 days out) keep their bound, the 19 January ones become running totals;
    simulated lower-bound figures fall below the true money, exact ones within a few %."""
    f = inputs.data.frame.set_index(["race_id", "candidate_id"])
    assert f.own_evidence[("2019-03-05-D5", "jackie-goldberg")] == "exact"
    assert f.own_evidence[("2019-03-05-D5", "ana-cubas")] == "lower"
    assert f.own_kind[("2019-03-05-D5", "ana-cubas")] == "exact"
    kind = np.array(["exact"] * 500 + ["lower"] * 500)
    log_reported = simulate_own_figures(np.full(1000, 100.0), kind, np.random.default_rng(3))
    gap = np.log(100.0) - log_reported
    assert np.abs(gap[:500]).max() < 0.1
    assert (gap[500:] > -0.1).all() and 0.5 < gap[500:].mean() < 1.1


def test_a_runoff_built_from_its_primary_gets_the_change_in_own_money(inputs):
    data = inputs.data
    cd = carryover_data(data)
    own, change = log_own(data), own_change(data)
    runoff = cd.runoff > 0
    np.testing.assert_allclose(change[runoff], own[runoff] - own[cd.primary_row[runoff]])
    np.testing.assert_allclose(change[~runoff], own[~runoff])
    # 2014 D1 runoff: McKenna raised $154,440 by the runoff against $57,826 by the primary.
    f = data.frame.reset_index(drop=True)
    i = np.flatnonzero((f.race_id == "2014-08-12-D1") & (f.candidate_id == "george-mckenna"))[0]
    assert change[i] == pytest.approx(np.log1p(154.440) - np.log1p(57.826))


def test_every_preset_sets_the_own_money_prior():
    for preset in ("default", "skeptical", "literature"):
        priors = load_priors(PRESET_DIR / f"{preset}.toml")
        assert "beta_own" in priors and "beta_own_incumbent" not in priors
    assert load_priors(PRESET_DIR / "skeptical.toml")["beta_own"].params == {"mu": 0.0, "sigma": 0.03}


def test_races_with_candidate_money_and_no_ie_fit_without_code_edits(tmp_path):
    """A synthetic electorate with own committee money and no IE: the IE models say they cannot run, the
    own-money model runs, samples and reports its own-money effect."""
    data_dir = synthetic_electorate(tmp_path / "data", spending=False, finance=True)
    inputs = load_inputs(data_dir)
    assert len(inputs.data.money.amount_usd) == 0 and inputs.data.frame.own_usd.notna().all()
    assert models.get("vote_share_carryover").cannot_run(inputs) is not None
    model = models.get(NAME)
    assert model.cannot_run(inputs) is None
    priors = load_priors(None, inputs.data.terms)
    idata = sample(model.build(inputs, priors), 3, SamplerSettings(chains=1, draws=30, tune=30), progress=False)
    assert idata.posterior["beta_own"].shape == (1, 30)
    assert idata.posterior["own_money_k"].shape == (1, 30, len(own_cells(inputs.data)))
    effects = model_effects(model, idata, inputs, 100_000.0)
    assert effects.effect.str.startswith("own committee money").any()
    assert not effects.effect.str.contains("incumbent minus challenger").any()  # switched off: left out
    assert not effects.effect.str.contains("IE").any()  # no IE: its slopes are only their priors


def test_the_own_money_model_says_why_it_cannot_run_without_candidate_money(tmp_path):
    inputs = load_inputs(synthetic_electorate(tmp_path / "data"))
    assert "committee money" in models.get(NAME).cannot_run(inputs)


def test_simulation_draws_every_reported_figure_the_model_reads(inputs):
    """SBC swaps in simulated shares, IE figures and own-money figures: one value per pm.Data of each."""
    model = models.get(NAME)
    post = prior_post(model, inputs, load_priors(None), n=1)
    truth = {k: v[0] for k, v in post.items()}
    update = model.simulate(inputs, truth, np.random.default_rng(5))
    assert update is not None
    # One per own-money figure: each cell's, plus the later totals that bound some cells from above (issue 22).
    assert update["log_reported_own_k"].shape == (len(own_evidence(inputs.data)[0]),)
    assert len(own_evidence(inputs.data)[0]) > len(own_cells(inputs.data))
    assert update["log_reported_money_k"].shape == (len(inputs.data.money.amount_usd),)
    assert np.isfinite(update["log_reported_own_k"]).all()


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own-money-board"


def test_the_shipped_own_money_example_is_the_synthetic_electorate_it_says_it_is(tmp_path):
    """examples/own-money-board is what tests/synthetic.py writes (only its source note is reworded)."""
    fresh = synthetic_electorate(tmp_path / "data", spending=False, finance=True, seed=1)
    for csv in sorted(fresh.glob("*.csv")):
        if csv.name != "sources.csv":
            assert (EXAMPLE / csv.name).read_text() == csv.read_text(), csv.name


def test_the_own_money_example_fits_with_fit_data_and_reports_its_own_money_effect(tmp_path):
    """`make fit DATA=examples/own-money-board`, end to end with few draws: the IE models are skipped with a
    reason, the own-money effect is in effects.csv and in the report."""
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    args = ["fit", "--raw", str(EXAMPLE), "--runs", str(runs), "--figures", str(tmp_path / "figures")]
    quick = ["--draws", "100", "--tune", "100", "--chains", "2", "--skip", "loco", "forecast", "sweep", "unknown"]
    assert main([*args, *quick, "--models", NAME, "vote_share_latent"]) == 0
    assert main(["report", "--runs", str(runs), "--out", str(reports)]) == 0
    run = runs / (runs / "LATEST").read_text().strip()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["main_model"] == NAME and "independent-expenditure" in manifest["skipped"]["vote_share_latent"]
    effects = pd.read_csv(run / "effects.csv")
    own = effects[(effects.model == NAME) & (effects.effect == "own committee money, doubling")]
    assert len(own) == 1 and own.lo_pp.item() < own.hi_pp.item()
    # Issue 22: own money is quoted from its own median, not the $100k fallback of a board without IE ...
    rows = pd.read_csv(run / "model_rows.csv")
    assert own.reference_usd.item() == rows.own_usd[rows.own_usd > 0].median() != 100_000
    # ... and the terms this board cannot inform (no IE, no runoff, one era) are left out, each with its reason.
    uninformed = manifest["uninformed_terms"]
    assert {"beta_support", "beta_oppose", "beta_consolidation", "beta_oncycle_teachers_association"} <= set(uninformed)
    assert not effects.effect.str.contains("IE|runoff|on-cycle").any()
    report = (reports / "report.md").read_text()
    assert "own committee money" in report
    assert "Left out of the effects because these data cannot inform them" in report
    assert "`beta_consolidation` (no runoff built from its primary in the data)" in report
