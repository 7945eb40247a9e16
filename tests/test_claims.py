"""The verdict rules for press claims (model/evaluation/claims.py), one test per rule, on small hand-made run tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.evaluation.claims import (
    CANNOT_TELL,
    CLAIM_TESTS,
    NOT_SUPPORTED,
    ONCYCLE_EFFECT,
    SUPPORTED,
    TURNOUT_EFFECT,
    assess_claim,
    claims_context,
)

RACE = "2020-11-03-D3"
MAIN = "some_main_model"


def rows(**changes) -> pd.DataFrame:
    """One two-candidate race: Ann (won, UTLA-endorsed, attacked) and Bob (lost), plus one earlier race."""
    frame = pd.DataFrame(
        {
            "race_id": [RACE, RACE, "2017-05-16-D4", "2017-05-16-D4"],
            "candidate_id": ["ann", "bob", "cat", "dan"],
            "name": ["Ann A", "Bob B", "Cat C", "Dan D"],
            "outcome": ["won", "lost", "won", "lost"],
            "vote_share": [0.55, 0.45, 0.52, 0.48],
            "support_usd": [100_000.0, 600_000.0, 50_000.0, 0.0],
            "oppose_usd": [500_000.0, 0.0, 0.0, 0.0],
            "turnout": [0.2, 0.2, 0.15, 0.15],
            "utla": [True, False, False, True],
            "money_bounds": ["exact", "exact", "exact", ""],
        }
    )
    return frame.assign(**changes)


def cf(**changes) -> pd.DataFrame:
    """Counterfactual rows of the same candidates."""
    frame = rows()[["race_id", "candidate_id", "name", "vote_share", "outcome"]].assign(
        p_first_fitted=0.7,
        p_first_equal_spending=0.4,
        delta_no_negative_ads=-2.0,
        delta_no_negative_ads_lo=-4.0,
        delta_no_negative_ads_hi=-0.5,
        p_delta_no_negative_ads_negative=0.95,
    )
    return frame.assign(**changes)


def effects(turnout=(3.0, 1.0, 5.0), oncycle=(2.0, 0.5, 4.0), model=MAIN) -> pd.DataFrame:
    """The main model's turnout x UTLA and on-cycle x UTLA effects (mean, lo, hi points)."""
    return pd.DataFrame(
        [(model, TURNOUT_EFFECT, *turnout, 0.9), (model, ONCYCLE_EFFECT, *oncycle, 0.9)],
        columns=["model", "effect", "mean_pp", "lo_pp", "hi_pp", "p_positive"],
    )


def decomposition(money=(3.0, 1.0, 5.0), electorate=(0.0, 0.0, 0.0), fitted=(52.0, 45.0, 59.0), race=RACE):
    """A primary-to-runoff decomposition of RACE in the winner Ann's two-way share (mean, lo, hi points)."""
    steps = {
        "primary": (47.0, 47.0, 47.0),
        "carry_over": (1.0, -1.0, 3.0),
        "money": money,
        "electorate": electorate,
        "fitted": fitted,
        "actual": (55.0, 55.0, 55.0),
    }
    return pd.DataFrame(
        [(race, "ann", "bob", step, step, *v) for step, v in steps.items()],
        columns=["race_id", "candidate_id", "opponent_id", "step", "label", "mean_pp", "lo_pp", "hi_pp"],
    )


def ctx(cf_frame=None, eff=None, data=None, dec=None) -> dict:
    """A claims context whose run and current data agree (with a decomposition when dec is given)."""
    data = rows() if data is None else data
    tables = {
        "counterfactuals": cf() if cf_frame is None else cf_frame,
        "effects": eff if eff is not None else effects(),
    }
    if dec is not None:
        tables["decomposition"] = dec
    return claims_context({**tables, "model_rows": data}, data, MAIN)


def claim(test: str, **extra) -> dict:
    """A claim about Ann in RACE."""
    return {"id": "c", "race_id": RACE, "candidate_id": "ann", "test": test, "text": "a claim", **extra}


def test_every_claim_kind_has_a_rule_and_an_unknown_kind_cannot_tell():
    assert set(CLAIM_TESTS) == {
        "oppose_backfired",
        "overcame_outspending",
        "spending_decided",
        "turnout_decided",
        "turnout_favours_union",
        "spending_record",
    }
    assert assess_claim(claim("made_up"), ctx()).verdict == CANNOT_TELL


@pytest.mark.parametrize("p, expected", [(0.95, SUPPORTED), (0.6, CANNOT_TELL), (0.05, NOT_SUPPORTED)])
def test_backfire_is_supported_only_when_removing_the_ads_lowers_the_share_with_p_above_0_9(p, expected):
    result = assess_claim(claim("oppose_backfired"), ctx(cf(p_delta_no_negative_ads_negative=p)))
    assert result.verdict == expected


def test_backfire_cannot_tell_when_the_run_has_no_attack_money_against_the_candidate():
    data = rows(oppose_usd=0.0)
    result = assess_claim(claim("oppose_backfired"), ctx(data=data))
    assert result.verdict == CANNOT_TELL and any("no attack-ad money" in n for n in result.notes)


def test_overcoming_outspending_needs_a_win_against_more_money_that_equal_money_would_have_made_easier():
    """Ann: $100k for her and $500k against, Bob $600k for him: outspent 11 to 1, won, equal money helps her."""
    c = claim("overcame_outspending", claimed_ratio=11.0)
    result = assess_claim(c, ctx(cf(p_first_fitted=0.6, p_first_equal_spending=0.8)))
    assert result.verdict == SUPPORTED and "agrees" in result.notes[0]
    assert assess_claim(c, ctx(cf(p_first_fitted=0.6, p_first_equal_spending=0.5))).verdict == NOT_SUPPORTED
    lost = rows(outcome=["lost", "won", "won", "lost"])
    assert assess_claim(c, ctx(cf(p_first_equal_spending=0.8), data=lost)).verdict == NOT_SUPPORTED


@pytest.mark.parametrize(
    "fitted, equal, expected", [(0.7, 0.4, SUPPORTED), (0.7, 0.6, NOT_SUPPORTED), (0.44, 0.36, CANNOT_TELL)]
)
def test_spending_decided_needs_the_fit_to_reproduce_the_win_and_equal_money_to_reverse_it(fitted, equal, expected):
    result = assess_claim(claim("spending_decided"), ctx(cf(p_first_fitted=fitted, p_first_equal_spending=equal)))
    assert result.verdict == expected


def test_spending_decided_cannot_tell_when_the_money_changed_since_the_run():
    context = ctx()
    context["data"] = rows(support_usd=[100_000.0, 900_000.0, 50_000.0, 0.0])
    assert assess_claim(claim("spending_decided"), context).verdict == CANNOT_TELL


def test_turnout_favours_union_when_both_turnout_terms_agree_or_one_cannot_tell():
    """Both above zero: supported; one above and one below: cannot tell; both below: not supported."""
    c = claim("turnout_favours_union", race_id="", candidate_id="")
    assert assess_claim(c, ctx(eff=effects())).verdict == SUPPORTED
    assert assess_claim(c, ctx(eff=effects(oncycle=(0.0, -1.0, 1.0)))).verdict == SUPPORTED
    assert assess_claim(c, ctx(eff=effects(oncycle=(-2.0, -4.0, -0.5)))).verdict == CANNOT_TELL
    assert assess_claim(c, ctx(eff=effects((-3.0, -5.0, -1.0), (-2.0, -4.0, -0.5)))).verdict == NOT_SUPPORTED


def test_turnout_rules_read_the_main_model_named_by_the_run_not_a_fixed_name():
    c = claim("turnout_favours_union", race_id="", candidate_id="")
    assert assess_claim(c, ctx(eff=effects(model="another_model"))).verdict == CANNOT_TELL


def test_low_turnout_decided_is_supported_against_the_union_candidate_only_when_turnout_helps_the_union():
    """Ann is UTLA-endorsed: if higher turnout helps UTLA candidates, low turnout did not help her win."""
    c = claim("turnout_decided")
    assert assess_claim(c, ctx(eff=effects())).verdict == NOT_SUPPORTED
    assert assess_claim(c, ctx(eff=effects((-3.0, -5.0, -1.0)))).verdict == SUPPORTED
    assert assess_claim(c, ctx(eff=effects((1.0, -2.0, 4.0)))).verdict == CANNOT_TELL
    no_turnout = rows(turnout=np.nan)
    assert assess_claim(c, ctx(eff=effects(), data=no_turnout)).verdict == CANNOT_TELL


def test_a_spending_record_needs_the_largest_district_year_total_so_far():
    """RACE's $1.2M beats 2017's $50k (supported); below an exact earlier record it is refuted; resting on lower
    bounds it cannot tell; against elections outside the dataset it cannot tell either."""
    c = claim("spending_record")
    assert assess_claim(c, ctx()).verdict == SUPPORTED
    richer_past = rows(support_usd=[100_000.0, 600_000.0, 5_000_000.0, 0.0])
    assert assess_claim(c, ctx(data=richer_past)).verdict == NOT_SUPPORTED
    bounded = richer_past.assign(money_bounds=["at_least", "exact", "exact", ""])
    assert assess_claim(c, ctx(data=bounded)).verdict == CANNOT_TELL
    national = claim("spending_record", text="the most expensive school board race in US history")
    assert assess_claim(national, ctx()).verdict == CANNOT_TELL


@pytest.mark.parametrize(
    "money, fitted, expected, why",
    [
        ((3.0, 1.0, 5.0), (52.0, 45.0, 59.0), SUPPORTED, "above 0 and without it"),  # 52 - 3 = 49 < 50
        ((1.0, 0.5, 1.5), (52.0, 45.0, 59.0), NOT_SUPPORTED, "stays at 50 % or more"),  # helped, not decisive
        ((-3.0, -5.0, -1.0), (52.0, 45.0, 59.0), NOT_SUPPORTED, "below 0"),
        ((0.5, -1.0, 1.5), (52.0, 45.0, 59.0), NOT_SUPPORTED, "could not have decided"),  # 52 - 1.5 >= 50
        ((4.0, -7.0, 15.0), (51.0, 38.0, 64.0), CANNOT_TELL, "includes 0"),  # the 2017 D4 shape
        ((3.0, 1.0, 5.0), (48.0, 40.0, 56.0), CANNOT_TELL, "below 50 %"),  # the fit misses the win
    ],
)
def test_money_decided_a_decomposed_runoff_only_if_its_step_excludes_zero_and_flips_the_result(
    money, fitted, expected, why
):
    """The counterfactuals alone would say supported (P(first) 0.7 fitted, 0.4 with equal money): the
    decomposition overrides them and its numbers are quoted."""
    result = assess_claim(claim("spending_decided"), ctx(dec=decomposition(money, fitted=fitted)))
    assert result.verdict == expected and why in result.notes[0]
    assert result.quantity.startswith("Decomposition: money step") and "P(most votes)" in " ".join(result.notes)


def test_the_decomposition_is_read_from_the_losers_side_with_shares_and_steps_flipped():
    """Bob lost: his fitted share is 48 % and the money step -3 [-5, -1] for him, so money did not decide for him."""
    result = assess_claim(claim("spending_decided", candidate_id="bob"), ctx(dec=decomposition()))
    assert result.verdict == CANNOT_TELL and "-3.0 [-5.0, -1.0]" in result.quantity and "48.0" in result.quantity


def test_runs_without_the_race_in_their_decomposition_use_the_counterfactual_rules():
    other = decomposition(money=(-3.0, -5.0, -1.0), race="2017-05-16-D4")
    assert assess_claim(claim("spending_decided"), ctx(dec=other)).verdict == SUPPORTED
    no_money_change = decomposition(money=(0.0, 0.0, 0.0))
    assert assess_claim(claim("spending_decided"), ctx(dec=no_money_change)).verdict == SUPPORTED


@pytest.mark.parametrize(
    "electorate, expected",
    [((3.0, 1.0, 5.0), SUPPORTED), ((-1.0, -2.0, -0.5), NOT_SUPPORTED), ((-0.1, -1.7, 2.5), CANNOT_TELL)],
)
def test_low_turnout_decided_a_decomposed_runoff_only_if_the_electorate_step_did(electorate, expected):
    """The effects alone would say not supported (turnout helps UTLA and Ann is UTLA-endorsed)."""
    result = assess_claim(claim("turnout_decided"), ctx(dec=decomposition(electorate=electorate)))
    assert result.verdict == expected and result.quantity.startswith("Decomposition: electorate step")


def test_low_turnout_falls_back_to_the_turnout_effect_when_the_decomposition_has_no_electorate_change():
    assert assess_claim(claim("turnout_decided"), ctx(dec=decomposition())).verdict == NOT_SUPPORTED


@pytest.mark.parametrize(
    "money, expected",
    [((-4.4, -8.4, -1.0), SUPPORTED), ((5.5, 0.1, 10.9), NOT_SUPPORTED), ((-2.1, -5.5, 0.4), CANNOT_TELL)],
)
def test_won_despite_being_outspent_reads_the_sign_of_the_decomposed_money_step(money, expected):
    """Ann won outspent 11 to 1; the counterfactuals alone would say not supported (equal money 0.4 < 0.7)."""
    result = assess_claim(claim("overcame_outspending"), ctx(dec=decomposition(money)))
    assert result.verdict == expected and "money step" in result.quantity
    lost = rows(outcome=["lost", "won", "won", "lost"])
    assert (
        assess_claim(claim("overcame_outspending"), ctx(data=lost, dec=decomposition(money))).verdict == NOT_SUPPORTED
    )


def test_no_backfire_when_the_decomposed_money_step_lowered_the_targets_share():
    """The counterfactual says backfire (P 0.95); a money step below zero overrules it, one across zero does not."""
    c = claim("oppose_backfired")
    assert assess_claim(c, ctx(dec=decomposition(money=(-3.0, -5.0, -1.0)))).verdict == NOT_SUPPORTED
    kept = assess_claim(c, ctx(dec=decomposition(money=(-2.1, -5.5, 0.4))))
    assert kept.verdict == SUPPORTED and "money step -2.1 [-5.5, 0.4]" in kept.quantity
