"""Classical baselines with statsmodels: OLS with HC3 errors, and the LAUSD head-to-head regression."""

from __future__ import annotations

import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.regression.linear_model import RegressionResultsWrapper

# The orientation of a head-to-head row is arbitrary (alphabetical ids), so the model has no intercept:
# swapping a and b flips the outcome and every predictor and leaves the coefficients unchanged.
HEAD_TO_HEAD_FORMULA = "logit_share_a ~ 0 + d_log_support + d_log_oppose + d_incumbent + d_utla + d_ccsa"

# Spending differences interact with centred turnout; turnout has no main effect because it is not an a-minus-b
# difference: flipping a and b would flip the outcome but not turnout, so its coefficient must be zero.
HEAD_TO_HEAD_TURNOUT_FORMULA = HEAD_TO_HEAD_FORMULA + " + d_log_support:turnout_centred + d_log_oppose:turnout_centred"

# Below this many head-to-head rows with turnout, 7 coefficients leave almost no residual degrees of freedom
# and HC3 leverage corrections blow up; a rule of thumb, not a derived threshold.
MIN_TURNOUT_ROWS = 8


def ols_hc3(frame: pd.DataFrame, formula: str) -> RegressionResultsWrapper:
    """Return an OLS fit of a Patsy formula with heteroskedasticity-robust HC3 standard errors."""
    return smf.ols(formula, data=frame).fit(cov_type="HC3")


def head_to_head_ols(h2h: pd.DataFrame, formula: str = HEAD_TO_HEAD_FORMULA) -> RegressionResultsWrapper:
    """OLS (HC3) of the logit two-way share of candidate a on a-minus-b differences (rows with shares)."""
    return ols_hc3(h2h.dropna(subset=["logit_share_a"]), formula)


def with_centred_turnout(h2h: pd.DataFrame) -> pd.DataFrame:
    """Rows with a share and a turnout (fraction of registered voters), plus turnout minus their mean turnout."""
    known = h2h.dropna(subset=["logit_share_a", "turnout"])
    return known.assign(turnout_centred=known.turnout - known.turnout.mean())


def head_to_head_turnout_ols(h2h: pd.DataFrame) -> RegressionResultsWrapper:
    """OLS (HC3) of the head-to-head model plus d_log_support and d_log_oppose times centred turnout.

    Uses only rows with known turnout; main effects are the spending effects at the mean turnout of those rows,
    interactions the change per unit of turnout (fraction of registered voters). Raises ValueError when fewer
    than MIN_TURNOUT_ROWS rows have turnout: the model is then not estimable.
    """
    frame = with_centred_turnout(h2h)
    if len(frame) < MIN_TURNOUT_ROWS:
        raise ValueError(
            f"turnout interactions not estimable: {len(frame)} head-to-head rows have turnout, "
            f"need at least {MIN_TURNOUT_ROWS}"
        )
    return ols_hc3(frame, HEAD_TO_HEAD_TURNOUT_FORMULA)
