"""Classical baselines with statsmodels: OLS with HC3 errors, and the LAUSD head-to-head regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.genmod.generalized_linear_model import GLMResultsWrapper
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

# Race fixed effects make the Poisson likelihood for the slopes the multinomial-logit likelihood (Baker 1994).
VOTES_GLM_FORMULA = "votes ~ log_support + log_oppose + incumbent + utla + ccsa + C(race_id)"


def ols_hc3(frame: pd.DataFrame, formula: str) -> RegressionResultsWrapper:
    """Return an OLS fit of a Patsy formula with heteroskedasticity-robust HC3 standard errors."""
    return smf.ols(formula, data=frame).fit(cov_type="HC3")


def head_to_head_ols(h2h: pd.DataFrame, formula: str = HEAD_TO_HEAD_FORMULA) -> RegressionResultsWrapper:
    """OLS (HC3) of the logit two-way share of candidate a on a-minus-b differences (rows with shares)."""
    return ols_hc3(h2h.dropna(subset=["logit_share_a"]), formula)


def log_kusd(usd: pd.Series) -> pd.Series:
    """log(1 + dollars/1000), the spending scale used throughout (zero dollars maps to zero)."""
    return np.log1p(usd / 1e3)


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


def races_with_all_votes(cr: pd.DataFrame) -> pd.DataFrame:
    """Candidate rows of the race-rounds in which every candidate has a vote count."""
    complete = cr.groupby("race_id").votes.transform(lambda v: v.notna().all())
    return cr[complete.astype(bool)]


def votes_glm_frame(cr: pd.DataFrame) -> pd.DataFrame:
    """Candidate rows for the votes GLM: complete-count races, log spending and 0/1 indicators."""
    rows = races_with_all_votes(cr)
    return pd.DataFrame(
        {
            "race_id": rows.race_id,
            "candidate_id": rows.candidate_id,
            "votes": rows.votes,
            "log_support": log_kusd(rows.support_usd),
            "log_oppose": log_kusd(rows.oppose_usd),
            "incumbent": rows.incumbent.astype(int),
            "utla": rows.utla.astype(int),
            "ccsa": rows.ccsa.astype(int),
        }
    )


def votes_glm(cr: pd.DataFrame) -> GLMResultsWrapper:
    """Quasi-Poisson GLM of candidate votes with race fixed effects (the multinomial-logit slopes).

    Uses every candidate of every race-round whose candidates all have vote counts; rounds known only as
    percentages are left out rather than given a made-up count. Coefficients are log vote-ratio effects of
    log(1 + $k support), log(1 + $k oppose), incumbency and UTLA/CCSA endorsement. Standard errors are the
    model-based ones scaled by the Pearson chi-square dispersion (scale='X2'), which absorbs overdispersion;
    cluster-robust errors by race are not used because a dozen clusters make them unreliable. `nobs` on the
    result is the number of candidate rows.
    """
    frame = votes_glm_frame(cr)
    return smf.glm(VOTES_GLM_FORMULA, data=frame, family=sm.families.Poisson()).fit(scale="X2")


def first_differences(
    panel: pd.DataFrame, unit: str, order: str, columns: list[str], keep: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Changes between consecutive appearances of each unit: one row per pair, columns prefixed 'delta_'.

    Rows with any of `columns` missing are dropped first, so a pair spans the unit's consecutive usable rows.
    `order` and the `keep` columns come back at both ends of the pair (the earlier one prefixed 'previous_').
    """
    usable = panel.dropna(subset=columns).sort_values([unit, order])
    changes = usable.groupby(unit)[columns].diff().add_prefix("delta_")
    carried = [order, *keep]
    previous = usable.groupby(unit)[carried].shift().add_prefix("previous_")
    pairs = pd.concat([usable[[unit, *carried]], previous, changes], axis=1)
    return pairs.dropna(subset=changes.columns).reset_index(drop=True)


def first_difference_ols(
    panel: pd.DataFrame, unit: str, order: str, columns: list[str], formula: str
) -> RegressionResultsWrapper:
    """OLS (HC3) of a formula on first differences ('delta_' + column) within units of a long panel."""
    return ols_hc3(first_differences(panel, unit, order, columns), formula)
