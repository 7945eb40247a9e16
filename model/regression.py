"""Classical baselines with statsmodels: OLS with HC3 errors, and the LAUSD head-to-head regression."""

from __future__ import annotations

import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.regression.linear_model import RegressionResultsWrapper

# The orientation of a head-to-head row is arbitrary (alphabetical ids), so the model has no intercept:
# swapping a and b flips the outcome and every predictor and leaves the coefficients unchanged.
HEAD_TO_HEAD_FORMULA = "logit_share_a ~ 0 + d_log_support + d_log_oppose + d_incumbent + d_utla + d_ccsa"


def ols_hc3(frame: pd.DataFrame, formula: str) -> RegressionResultsWrapper:
    """Return an OLS fit of a Patsy formula with heteroskedasticity-robust HC3 standard errors."""
    return smf.ols(formula, data=frame).fit(cov_type="HC3")


def head_to_head_ols(h2h: pd.DataFrame, formula: str = HEAD_TO_HEAD_FORMULA) -> RegressionResultsWrapper:
    """OLS (HC3) of the logit two-way share of candidate a on a-minus-b differences (rows with shares)."""
    return ols_hc3(h2h.dropna(subset=["logit_share_a"]), formula)
