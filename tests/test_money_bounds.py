"""Money dated after election day (issue 22, part 4): a total filed after the vote includes the money spent by then, so
it enters as an upper bound on the money by election day (own money: derived from the date; IE: entered as at_most),
and a board whose only money is such totals fits every candidate-aware model without code edits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import models
from model.dataset.finance import own_money_by_round
from model.dataset.money import net_bound
from model.fit import SamplerSettings, sample
from model.models.base import draws, load_inputs, model_effects
from model.models.own_money import own_cells, own_evidence, simulate_own_figures
from model.priors import load_priors

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import synthetic_electorate

CANDIDATE_AWARE = ("vote_share_carryover", "vote_share_own_money", "vote_share_latent")


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A synthetic board whose only money (IE and own) is cycle totals dated 31 December, after every vote."""
    return synthetic_electorate(tmp_path_factory.mktemp("after") / "data", finance=True, after_election=True)


def test_a_report_dated_after_election_day_bounds_the_rounds_money_from_above():
    """Derivation from the date: exact/approx after the vote (or at_most on or after it) is a ceiling; at_least after
    it, at_most before it and a later figure below the round's own figure (one filing period) are not; the smallest
    valid later total is the bound; a round with nothing by election day takes the ceiling as its one figure."""
    finance = pd.DataFrame(
        [
            (2031, "ann", 30_000, None, "exact", "2031-02-28"),  # by the primary
            (2031, "ann", 5_000, None, "exact", "2031-04-10"),  # one filing period after it: below 30k, not a total
            (2031, "ann", 90_000, None, "approx", "2031-05-01"),  # the smallest valid later total: the ceiling
            (2031, "ann", 200_000, None, "exact", "2031-12-31"),  # also a ceiling, a looser one
            (2031, "ann", 60_000, None, "at_least", "2031-06-01"),  # a floor on a later total: bounds nothing
            (2031, "bob", 40_000, 38_000, "exact", "2031-12-31"),  # only a year-end total: spent is the ceiling
            (2031, "cy", 70_000, None, "at_most", "2031-03-04"),  # at_most by hand on election day: a ceiling
            (2031, "dee", 70_000, None, "at_most", "2031-02-01"),  # at_most before the vote: bounds nothing
            (2031, "eve", 80_000, None, "at_least", "2031-12-31"),  # only a floor after the vote: nothing
        ],
        columns=["cycle", "candidate_id", "raised_usd", "spent_usd", "bound", "as_of"],
    )
    rows = pd.DataFrame(
        [(2031, c, "2031-03-04") for c in ("ann", "bob", "cy", "dee", "eve")] + [(2031, "ann", "2031-05-13")],
        columns=["cycle", "candidate_id", "date"],
    )
    out = own_money_by_round(finance, rows).assign(cid=rows.candidate_id, date=rows.date)
    ann = out.iloc[0]
    assert (ann.own_usd, ann.own_evidence, ann.own_upper_usd, ann.own_upper_as_of) == (
        30_000,
        "exact",
        90_000,
        "2031-05-01",
    )
    bob = out.iloc[1]
    assert (bob.own_usd, bob.own_basis, bob.own_kind, bob.own_evidence, bob.own_upper_usd) == (
        38_000,
        "spent",
        "exact",
        "upper",
        38_000,
    )
    assert (out.iloc[2].own_usd, out.iloc[2].own_kind, out.iloc[2].own_evidence) == (70_000, "upper", "upper")
    for i in (3, 4):
        assert np.isnan(out.iloc[i].own_usd) and np.isnan(out.iloc[i].own_upper_usd) and out.iloc[i].own_evidence == ""
    # The runoff: 90k of 1 May (twelve days out) is its figure by election day, 200k of December its ceiling.
    runoff = out.iloc[5]
    assert (runoff.own_usd, runoff.own_evidence, runoff.own_upper_usd) == (90_000, "approx", 200_000)


def test_ie_entered_at_most_is_upper_evidence_and_a_cycle_ceiling_net_of_an_exact_primary_stays_one(board):
    inputs = load_inputs(board)
    ev = inputs.data.money
    assert len(ev.kind) > 0 and set(ev.kind) == {"upper"}
    primary = pd.DataFrame({"bound": ["exact", "at_least"]})
    assert net_bound(pd.Series({"bound": "at_most", "final": False}), primary) == ("at_most", True)
    assert net_bound(pd.Series({"bound": "at_most", "final": True}), primary.assign(bound="approx"))[0] == "approx"


def test_own_money_evidence_has_a_ceiling_beside_the_figure_by_election_day():
    """Bundled data: 2013 D2 Garcia has 'about $430,000' by the primary and $507,032 spent by year end (two pieces of
    evidence on one cell); 2022 D2 Brenes has only the total of 10 November, for both rounds (an upper bound each)."""
    inputs = load_inputs(Path(__file__).resolve().parents[1] / "data" / "raw")
    data = inputs.data
    f = data.frame.iloc[own_cells(data)].reset_index(drop=True)
    cell, log_reported, kind = own_evidence(data)
    garcia = np.flatnonzero((f.race_id == "2013-03-05-D2") & (f.candidate_id == "monica-garcia"))[0]
    assert sorted(kind[cell == garcia]) == ["approx", "upper"]
    assert np.exp(log_reported[(cell == garcia) & (kind == "upper")]) * 1000 == pytest.approx([507_032])
    brenes = np.flatnonzero(f.candidate_id == "maria-brenes")
    assert len(brenes) == 2 and all(list(kind[cell == b]) == ["upper"] for b in brenes)
    # Each cell's own figure comes first, in cell order (what SBC's simulated figures line up with).
    np.testing.assert_array_equal(cell[: len(f)], np.arange(len(f)))


def test_simulated_upper_bounds_sit_above_the_true_money():
    kind = np.array(["upper"] * 1000)
    log_reported = simulate_own_figures(np.full(1000, 100.0), kind, np.random.default_rng(4))
    gap = log_reported - np.log(100.0)
    assert (gap > -0.1).all() and 0.3 < gap.mean() < 0.7


@pytest.mark.parametrize("name", ["vote_share_own_money", "vote_share_latent"])
def test_money_above_the_upper_bound_is_penalised(board, name):
    """The model's log density at one cell's latent money 0.5 (log scale) above its ceiling is far below that at
    0.2 below it, everything else fixed: the soft step penalises money beyond an upper bound."""
    inputs = load_inputs(board)
    model = models.get(name)
    pm_model = model.build(inputs, load_priors(None, inputs.data.terms))
    var = "log_own_money_k" if name == "vote_share_own_money" else "log_money_k"
    if name == "vote_share_own_money":
        _cell, log_bound, _kind = own_evidence(inputs.data)
    else:
        log_bound = np.log(inputs.data.money.amount_usd / 1000.0)  # one figure per cell here
        assert (inputs.data.money.incidence.sum(axis=1) == 1).all()
    point = pm_model.initial_point()
    logp = pm_model.compile_logp()
    values = {}
    for shift in (-0.2, 0.5):
        p = dict(point)
        p[var] = np.asarray(log_bound + shift, dtype=float)
        values[shift] = float(logp(p))
    assert values[0.5] < values[-0.2] - 50  # 0.5 / 0.05 = 10 sd of the step beyond the ceiling, per cell


def test_a_board_with_only_post_election_totals_fits_every_candidate_aware_model(board):
    """No code edits: every candidate-aware model runs on a board whose money is all year-end totals, reports its money
    effects, and keeps the money it infers below the ceilings."""
    inputs = load_inputs(board)
    priors = load_priors(None, inputs.data.terms)
    for name in CANDIDATE_AWARE:
        model = models.get(name)
        assert model.cannot_run(inputs) is None, name
        idata = sample(model.build(inputs, priors), 5, SamplerSettings(chains=1, draws=40, tune=40), progress=False)
        effects = model_effects(model, idata, inputs, 100_000.0)
        assert effects.effect.str.startswith("support IE").any(), name
        money = draws(idata, "money_k") @ inputs.data.money.incidence.T
        assert (np.median(money, axis=0) <= inputs.data.money.amount_usd / 1000 * 1.05).all(), name
        if name == "vote_share_own_money":
            assert effects.effect.str.startswith("own committee money").any()
            cell, log_reported, _kind = own_evidence(inputs.data)
            own = np.log(draws(idata, "own_money_k"))[:, cell]
            assert (np.median(own, axis=0) <= log_reported + 0.05).all()


UPPER_MEASURED = (
    *("beta_support", "beta_oppose", "money_log_mu", "money_log_sigma"),
    *("beta_own", "own_log_mu", "own_log_sigma"),
)


@pytest.mark.slow
def test_upper_bounds_are_calibrated_in_sbc(board):
    """SBC of the own-money model (latent IE and own money) on the board whose every money figure is an upper bound:
    the money parameters' ranks stay inside the 95 % simultaneous ECDF band. Measured with these settings: p_ecdf
    0.18-0.80 for each of them (60 simulations, about 15 minutes on 2 busy cores)."""
    from model.evaluation.sbc import run_sbc, uniformity

    ranks = run_sbc("vote_share_own_money", 60, seed=2026, draws=200, tune=300, design=load_inputs(board))
    table = uniformity(ranks).set_index("parameter").loc[list(UPPER_MEASURED)]
    assert table.inside_band.all(), table.to_string()
