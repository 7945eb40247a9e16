"""Classical baselines with statsmodels: OLS with HC3 errors, and the LAUSD head-to-head regression."""

from __future__ import annotations

from dataclasses import dataclass

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

# HC3 divides each residual by (1 - leverage); with 7 coefficients and 8 rows some leverages are 1 and the
# standard errors are infinite (seen on the bundled data). 7 coefficients + 5 residual degrees of freedom is a
# rule of thumb, not a derived threshold.
MIN_TURNOUT_ROWS = 12

# Race fixed effects make the Poisson likelihood for the slopes the multinomial-logit likelihood (Baker 1994).
VOTES_GLM_FORMULA = "votes ~ log_support + log_oppose + incumbent + utla + ccsa + C(race_id)"

# Within-candidate changes in the candidate-minus-strongest-rival differences. No intercept, as in the
# head-to-head model: swapping candidate and rival negates the outcome and every regressor.
REPEAT_CANDIDATE_OUTCOME = "delta_logit_share_vs_rival"
REPEAT_CANDIDATE_TERMS = ("delta_d_log_support", "delta_d_log_oppose", "delta_d_incumbent")

# Shares are complete (every candidate's share known) only on these bases; with pct_partial the strongest
# rival may be a candidate whose share is missing (2019-03-05-D5: Repenning out-polled Gonzalez).
COMPLETE_SHARE_BASES = ("votes", "pct")


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


def head_to_head_formula(columns: list[str]) -> str:
    """The no-intercept head-to-head formula over these difference columns (base terms and d_<term>)."""
    return "logit_share_a ~ 0 + " + " + ".join(columns)


def turnout_formula(base: str) -> str:
    """A head-to-head formula plus the money differences times centred turnout."""
    return base + " + d_log_support:turnout_centred + d_log_oppose:turnout_centred"


def head_to_head_turnout_ols(
    h2h: pd.DataFrame, formula: str = HEAD_TO_HEAD_TURNOUT_FORMULA
) -> RegressionResultsWrapper:
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
    res = ols_hc3(frame, formula)
    if not np.isfinite(res.bse).all():
        raise ValueError(f"turnout interactions not estimable: HC3 errors are infinite with {len(frame)} rows")
    return res


def races_with_all_votes(cr: pd.DataFrame) -> pd.DataFrame:
    """Candidate rows of the race-rounds in which every candidate has a vote count."""
    complete = cr.groupby("race_id").votes.transform(lambda v: v.notna().all())
    return cr[complete.astype(bool)]


# The bundled LAUSD data's endorsement terms (data/raw/endorser_terms.csv), the default of the GLM helpers.
LAUSD_TERMS = ("utla", "ccsa")


def votes_glm_frame(cr: pd.DataFrame, terms: tuple[str, ...] = LAUSD_TERMS) -> pd.DataFrame:
    """Candidate rows for the votes GLM: complete-count races, log spending and 0/1 indicators (one per
    endorsement term, from cr's column of that name)."""
    rows = races_with_all_votes(cr)
    return pd.DataFrame(
        {
            "race_id": rows.race_id,
            "candidate_id": rows.candidate_id,
            "votes": rows.votes,
            "log_support": log_kusd(rows.support_usd),
            "log_oppose": log_kusd(rows.oppose_usd),
            "incumbent": rows.incumbent.astype(int),
            **{t: rows[t].astype(int) for t in terms},
        }
    )


def votes_glm_formula(terms: tuple[str, ...]) -> str:
    """The votes GLM formula with these endorsement terms."""
    return "votes ~ " + " + ".join(["log_support", "log_oppose", "incumbent", *terms, "C(race_id)"])


def votes_glm(cr: pd.DataFrame, terms: tuple[str, ...] = LAUSD_TERMS) -> GLMResultsWrapper:
    """Quasi-Poisson GLM of candidate votes with race fixed effects (the multinomial-logit slopes).

    Uses every candidate of every race-round whose candidates all have vote counts; rounds known only as
    percentages are left out rather than given a made-up count. Coefficients are log vote-ratio effects of
    log(1 + $k support), log(1 + $k oppose), incumbency and UTLA/CCSA endorsement. Standard errors are the
    model-based ones scaled by the Pearson chi-square dispersion (scale='X2'), which absorbs overdispersion;
    cluster-robust errors by race are not used because a dozen clusters make them unreliable. `nobs` on the
    result is the number of candidate rows.
    """
    frame = votes_glm_frame(cr, terms)
    return smf.glm(votes_glm_formula(terms), data=frame, family=sm.families.Poisson()).fit(scale="X2")


def versus_strongest_rival(cr: pd.DataFrame) -> pd.DataFrame:
    """One row per candidate of a contested complete-share race: logit two-way share vs the strongest rival
    (the top other candidate by share) and candidate-minus-rival log support, log oppose and incumbency."""
    rows = cr[cr.share_basis.isin(COMPLETE_SHARE_BASES) & (cr.vote_share > 0)].copy()
    rows = rows[rows.groupby("race_id").candidate_id.transform("size") >= 2]
    rows["log_support"] = log_kusd(rows.support_usd)
    rows["log_oppose"] = log_kusd(rows.oppose_usd)
    rows["incumbent"] = rows.incumbent.astype(int)
    ranked = rows.sort_values(["race_id", "vote_share", "candidate_id"], ascending=[True, False, True])
    ranked["place"] = ranked.groupby("race_id").cumcount()
    # The leader's strongest rival is the runner-up (place 1); everyone else's is the leader (place 0).
    ranked["rival_place"] = (ranked.place == 0).astype(int)
    rivals = ranked[["race_id", "place", "candidate_id", "vote_share", "log_support", "log_oppose", "incumbent"]]
    both = ranked.merge(rivals, left_on=["race_id", "rival_place"], right_on=["race_id", "place"], suffixes=("", "_r"))
    share = both.vote_share / (both.vote_share + both.vote_share_r)
    return pd.DataFrame(
        {
            "race_id": both.race_id,
            "date": both.date,
            "candidate_id": both.candidate_id,
            "rival_id": both.candidate_id_r,
            "logit_share_vs_rival": np.log(share / (1 - share)),
            "d_log_support": both.log_support - both.log_support_r,
            "d_log_oppose": both.log_oppose - both.log_oppose_r,
            "d_incumbent": both.incumbent - both.incumbent_r,
        }
    )


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


def drop_mirror_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Drop the alphabetically later of two candidates who were each other's strongest rival in both rounds.

    Their two rows are exact negatives (outcome and every regressor), so the second adds no information and
    counting it would understate the standard errors.
    """
    same_rival = pairs.rival_id == pairs.previous_rival_id
    key = pairs.previous_race_id + "|" + pairs.race_id + "|"
    mine = key + pairs.candidate_id + ">" + pairs.rival_id
    theirs = key + pairs.rival_id + ">" + pairs.candidate_id
    mirrored = same_rival & theirs.isin(set(mine[same_rival])) & (pairs.candidate_id > pairs.rival_id)
    return pairs[~mirrored].reset_index(drop=True)


def repeat_candidate_formula(pairs: pd.DataFrame) -> str:
    """No-intercept formula over the change terms that vary in these pairs (in a rematch incumbency rarely does)."""
    terms = [t for t in REPEAT_CANDIDATE_TERMS if pairs[t].abs().sum() > 0]
    return f"{REPEAT_CANDIDATE_OUTCOME} ~ 0 + " + " + ".join(terms)


@dataclass(frozen=True)
class RepeatCandidateFit:
    """A repeat-candidate first-difference fit with the pairs it used."""

    results: RegressionResultsWrapper
    pairs: pd.DataFrame  # one row per consecutive pair of a candidate's race-rounds
    n_candidates: int
    n_pairs: int


def repeat_candidate_fd(cr: pd.DataFrame, same_rival_only: bool = False) -> RepeatCandidateFit:
    """Levitt (1994)-style first-difference OLS (HC3, no intercept) over candidates seen in 2+ race-rounds.

    Outcome: logit of the candidate's two-way share against the strongest rival in the same round,
    s / (s + s_rival). A plain logit share would move mechanically with the size of the field (a six-way
    primary vs a two-way runoff); the two-way share does not, and it is the outcome of the head-to-head model,
    so the coefficients are comparable. Regressors are the changes in candidate-minus-rival log(1 + $k)
    support, log oppose and incumbency; differencing removes the candidate's fixed quality. As in the
    head-to-head model there is no intercept: swapping candidate and rival negates outcome and regressors.
    Only race-rounds with every share known (share_basis votes or pct) and two or more candidates are used,
    since elsewhere the strongest rival is uncertain; mirror-image pairs are kept once (drop_mirror_pairs).
    When the rival changes between rounds, the rival's quality change stays in the error; same_rival_only=True
    keeps only Levitt's same-opponent rematches, which remove both candidates' fixed quality. Consecutive
    differences of a candidate with 3+ rounds are correlated; HC3 ignores that (too few candidates to cluster).
    """
    panel = versus_strongest_rival(cr)
    columns = ["logit_share_vs_rival", "d_log_support", "d_log_oppose", "d_incumbent"]
    pairs = drop_mirror_pairs(first_differences(panel, "candidate_id", "date", columns, keep=("race_id", "rival_id")))
    if same_rival_only:
        pairs = pairs[pairs.rival_id == pairs.previous_rival_id].reset_index(drop=True)
    results = ols_hc3(pairs, repeat_candidate_formula(pairs))
    return RepeatCandidateFit(results, pairs, int(pairs.candidate_id.nunique()), len(pairs))
