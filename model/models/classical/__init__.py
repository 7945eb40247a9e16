"""The registry of classical (statsmodels) estimators: each fits from the model inputs or says, in one line,
why it cannot run on this dataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from patsy import PatsyError

from model.models.base import Inputs
from model.models.classical.regression import (
    REPEAT_CANDIDATE_TERMS,
    head_to_head_formula,
    head_to_head_ols,
    head_to_head_turnout_ols,
    repeat_candidate_fd,
    versus_strongest_rival,
    votes_glm_frame,
)
from model.models.head_to_head import head_to_head_columns


class NotEstimable(ValueError):
    """An estimator cannot run on this dataset; the message is the one-line reason."""


@dataclass(frozen=True)
class ClassicalEstimator:
    """A registered statsmodels estimator: fit(inputs) returns a results object with params, bse, conf_int."""

    name: str
    label: str
    fit: Callable[[Inputs], object]
    description: str = ""  # one line for `python -m model models` and the report
    in_effects_figure: bool = True  # drawn beside the Bayesian estimates in figures/effects.png
    # Its money coefficients get Cinelli & Hazlett robustness values (evaluation/sensitivity.py): the designs whose
    # money terms are the headline classical estimates, not their variants.
    confounding: bool = False


def _terms(inputs: Inputs) -> tuple[str, ...]:
    """The data's endorsement term names."""
    return tuple(t.term for t in inputs.data.terms)


def _varying(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns that are not zero in every row (an all-zero regressor, e.g. attack money in data with none,
    has no estimate and makes the design singular)."""
    return [c for c in columns if frame[c].fillna(0).abs().sum() > 0]


def _h2h_columns(inputs: Inputs) -> list[str]:
    """Head-to-head differences that vary among the rows with a known share."""
    rows = inputs.h2h.dropna(subset=["logit_share_a"])
    columns = _varying(rows, head_to_head_columns(inputs.h2h)[0])
    if not columns:
        raise NotEstimable("no head-to-head difference varies across races")
    return columns


def _head_to_head_ols(inputs: Inputs):
    """OLS head-to-head, when there are more races with a known top two than coefficients."""
    columns = _h2h_columns(inputs)
    n = int(inputs.h2h.logit_share_a.notna().sum())
    if n <= len(columns):
        raise NotEstimable(f"only {n} race-rounds with a known top two; needs more than {len(columns)}")
    return head_to_head_ols(inputs.h2h, head_to_head_formula(columns))


def _head_to_head_turnout_ols(inputs: Inputs):
    """The head-to-head OLS with turnout interactions (it says itself when too few rows have turnout)."""
    columns = _h2h_columns(inputs)
    money = [c for c in ("d_log_support", "d_log_oppose") if c in columns]
    formula = head_to_head_formula(columns) + "".join(f" + {c}:turnout_centred" for c in money)
    return head_to_head_turnout_ols(inputs.h2h, formula)


def _votes_glm(inputs: Inputs):
    """Quasi-Poisson votes, when some race-rounds have every candidate's vote count."""
    frame = votes_glm_frame(inputs.cr, _terms(inputs))
    if frame.race_id.nunique() == 0:
        raise NotEstimable("no race-round has a vote count for every candidate")
    regressors = _varying(frame, ["log_support", "log_oppose", "incumbent", *_terms(inputs)])
    formula = "votes ~ " + " + ".join([*regressors, "C(race_id)"])
    return smf.glm(formula, data=frame, family=sm.families.Poisson()).fit(scale="X2")


def _repeat_candidate(inputs: Inputs):
    """Repeat-candidate first differences, when some candidate ran in two race-rounds with complete shares."""
    panel = versus_strongest_rival(inputs.cr)
    if panel.empty or not panel.candidate_id.duplicated().any():
        raise NotEstimable(
            "no candidate ran in two race-rounds with every share known, so there is nothing to difference"
        )
    fd = repeat_candidate_fd(inputs.cr)
    if fd.n_pairs <= len(fd.results.params):
        raise NotEstimable(f"only {fd.n_pairs} repeat-candidate pairs for {len(fd.results.params)} coefficients")
    return fd.results


ESTIMATORS: dict[str, ClassicalEstimator] = {}


def register(estimator: ClassicalEstimator) -> ClassicalEstimator:
    """Add an estimator to the registry."""
    ESTIMATORS[estimator.name] = estimator
    return estimator


register(
    ClassicalEstimator(
        "head_to_head_ols_hc3",
        "OLS head-to-head (HC3)",
        _head_to_head_ols,
        "OLS of the top two's logit two-way share on their differences, robust (HC3) standard errors.",
        confounding=True,
    )
)
register(
    ClassicalEstimator(
        "votes_quasi_poisson_race_fe",
        "Quasi-Poisson votes, race FE",
        _votes_glm,
        "Quasi-Poisson model of vote counts with one intercept per race (the multinomial-logit slopes).",
    )
)
register(
    ClassicalEstimator(
        "head_to_head_turnout_ols_hc3",
        "OLS head-to-head with turnout (HC3)",
        _head_to_head_turnout_ols,
        "The head-to-head OLS with money differences interacted with centred turnout.",
        in_effects_figure=False,
    )
)
register(
    ClassicalEstimator(
        "repeat_candidate_first_difference",
        "Repeat candidates, first differences",
        _repeat_candidate,
        "First differences for candidates who ran more than once (removes any stable candidate quality).",
        confounding=True,
    )
)


def fit_estimator(estimator: ClassicalEstimator, inputs: Inputs):
    """(results, None) or (None, one-line reason it cannot run on these data)."""
    try:
        return estimator.fit(inputs), None
    except (ValueError, PatsyError, np.linalg.LinAlgError, ZeroDivisionError) as err:
        # ValueError covers NotEstimable and statsmodels' own complaints (e.g. too few rows for HC3 errors).
        return None, " ".join(str(err).split()) or type(err).__name__


def regression_table(inputs: Inputs) -> tuple[pd.DataFrame, dict[str, str]]:
    """Coefficients of every registered estimator with robust SEs and 90 % intervals, and the skipped ones
    with their reasons (also as '(not estimable)' rows of the table)."""
    rows, skipped = [], {}
    for name, est in ESTIMATORS.items():
        res, reason = fit_estimator(est, inputs)
        if res is None:
            skipped[name] = reason
            rows.append({"model": name, "term": "(not estimable)", "note": reason})
            continue
        ci = res.conf_int(alpha=0.10)
        for term in res.params.index:
            if term.startswith("C("):
                continue  # race fixed effects
            rows.append(
                {
                    "model": name,
                    "term": term,
                    "coef": res.params[term],
                    "se": res.bse[term],
                    "lo90": ci.loc[term, 0],
                    "hi90": ci.loc[term, 1],
                    "nobs": int(res.nobs),
                    "note": "",
                }
            )
    return pd.DataFrame(rows), skipped


__all__ = ["ESTIMATORS", "REPEAT_CANDIDATE_TERMS", "ClassicalEstimator", "NotEstimable", "regression_table"]
