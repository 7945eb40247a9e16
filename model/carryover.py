"""The candidate-aware vote-share model: each candidate carries a latent strength across the races they run,
and a runoff starts from its primary (the finalists' primary shares, the eliminated candidates' voters, and
the changes in money, backing and electorate between the two rounds).

The likelihood is the vote-share models' Dirichlet over race-round components (model.bayes), so the log
likelihood, predictive draws, P(first) and LOO machinery are shared; only the linear predictor differs.
With x[i] the covariate part (latent log money for and against, incumbency, UTLA and CCSA endorsements,
UTLA x turnout and UTLA x on-cycle terms) of candidate row i:

    a primary, a single-round race, or a runoff without its primary in the data:
        eta[i] = x[i] + sigma_candidate * z_candidate[person]       (strength shared by every such race)
    a runoff whose finalists' primary shares are known (p[i]: finalist i's share of the primary vote):
        eta[i] = beta_primary_share * log p[i]                       (the primary carries over)
               + x[i] - x[primary row of i]                          (change in money and backing)
               + beta_consolidation * aligned_eliminated[i] / 10 pts (eliminated candidates' voters)
               + beta_electorate_utla * utla[i] * electorate_change  (change in who votes)

A runoff's softmax of beta_primary_share * log p is, at beta_primary_share = 1, the finalists' two-way
share of the primary: the runoff inherits the finalist's whole primary strength (covariates, candidate
effect and that campaign's luck), and the slopes are then identified by what changed between the rounds
for the same candidates, as well as across candidates and across a candidate's later runs (Levitt's
repeat-candidate design). aligned_eliminated is the primary share of the eliminated candidates whose
backers (UTLA or CCSA endorsement, union- or charter-side support IE) back this finalist and not the
other; electorate_change is the change in log votes cast from the primary to the runoff (imputed by its
era's mean where a count is missing). noise='student_t' draws the candidate effects from a Student-t with
NU_CANDIDATE degrees of freedom (heavy tails: a few candidates far from what their covariates say); LOO
decides between the two."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from model.bayes import _PT, _latent_money, dirichlet_loglik, prior_rv
from model.features import VoteShareData, turnout_z
from model.priors import Prior

RUNOFF_ROUNDS = ("general", "special_general")
PRIMARY_OF = {"general": "primary", "special_general": "special_primary"}
CONSOLIDATION_STEP = 0.10  # aligned eliminated share enters per 10 points of the primary vote
NU_CANDIDATE = 4.0  # Student-t degrees of freedom of heavy-tailed candidate effects (finite variance, fat tails)
NOISES = ("normal", "student_t")
COVARIATE_PRIORS = (
    "beta_support",
    "beta_oppose",
    "beta_incumbent",
    "beta_utla",
    "beta_ccsa",
    "beta_turnout_utla",
    "beta_oncycle_utla",
)
RUNOFF_PRIORS = ("beta_primary_share", "beta_consolidation", "beta_electorate_utla")


@dataclass(frozen=True)
class CarryoverData:
    """The vote-share arrays plus who each row is across races and how each runoff follows its primary."""

    base: VoteShareData
    candidates: list[str]  # candidate ids
    candidate_idx: np.ndarray  # (row,)
    runoff: np.ndarray  # (row,) 1.0 for a runoff row built from its primary
    primary_row: np.ndarray  # (row,) the same candidate's row in the linked primary; its own index otherwise
    alignment: np.ndarray  # (row, row) 1 where column j is an eliminated primary candidate aligned with finalist i
    row_share: np.ndarray  # (row,) observed share of each row (unknown shares: their lump split evenly)
    electorate_change: np.ndarray  # (race,) change in log votes cast from the primary (0 for primaries)
    electorate_known: np.ndarray  # (race,) True where both counts are known

    @property
    def aligned_eliminated(self) -> np.ndarray:
        """Aligned eliminated primary share of each runoff finalist, per 10 points (row,)."""
        return self.alignment @ self.row_share / CONSOLIDATION_STEP


def carryover_data(data: VoteShareData) -> CarryoverData:
    """Candidate indices, primary-to-runoff links and electorate changes for the vote-share rows."""
    f = data.frame.reset_index(drop=True)
    candidates = sorted(f.candidate_id.unique())
    row_share = _row_shares(data)
    own_component = np.bincount(data.component_idx, minlength=len(data.component_share))[data.component_idx] == 1
    alignment = np.zeros((len(f), len(f)))
    runoff = np.zeros(len(f))
    primary_row = np.arange(len(f))
    primary_race = _primary_of_race(f)
    linked = {}
    for race_id, primary_id in primary_race.items():
        rows = np.flatnonzero(f.race_id == race_id)
        prim = np.flatnonzero(f.race_id == primary_id)
        finalists = {c: i for i, c in zip(rows, f.candidate_id.iloc[rows], strict=True)}
        prim_of = {c: j for j, c in zip(prim, f.candidate_id.iloc[prim], strict=True)}
        # Built from the primary only when every finalist's primary share is known; else a fresh race.
        if not all(c in prim_of and own_component[prim_of[c]] for c in finalists):
            continue
        linked[race_id] = primary_id
        for c, i in finalists.items():
            runoff[i], primary_row[i] = 1.0, prim_of[c]
        for c, j in prim_of.items():
            if c in finalists:
                continue
            allies = [a for a in finalists if _aligned(f.iloc[j], f.iloc[prim_of[a]])]
            if len(allies) == 1:  # backed by one finalist's side only; shared or no backers: no lean
                alignment[finalists[allies[0]], j] = 1.0
    change, known = _electorate_change(f, data, linked)
    return CarryoverData(
        base=data,
        candidates=candidates,
        candidate_idx=f.candidate_id.map({c: i for i, c in enumerate(candidates)}).to_numpy(),
        runoff=runoff,
        primary_row=primary_row,
        alignment=alignment,
        row_share=row_share,
        electorate_change=change,
        electorate_known=known,
    )


def _primary_of_race(f: pd.DataFrame) -> dict[str, str]:
    """Runoff race id -> the race id of the same cycle and district's primary, where both are modelled."""
    races = f.drop_duplicates("race_id")
    out = {}
    for r in races.itertuples():
        if r.round not in RUNOFF_ROUNDS:
            continue
        prim = races[
            (races.cycle == r.cycle)
            & (races.district == r.district)
            & (races["round"] == PRIMARY_OF[r.round])
            & (races.date < r.date)
        ]
        if len(prim):
            out[r.race_id] = prim.sort_values("date").race_id.iloc[-1]
    return out


def _aligned(eliminated: pd.Series, finalist: pd.Series) -> bool:
    """Whether an eliminated primary candidate's backers also back the finalist (same endorser or IE side)."""
    return bool(
        (eliminated.utla and finalist.utla)
        or (eliminated.ccsa and finalist.ccsa)
        or (eliminated.support_union_usd > 0 and finalist.support_union_usd > 0)
        or (eliminated.support_charter_usd > 0 and finalist.support_charter_usd > 0)
    )


def _row_shares(data: VoteShareData) -> np.ndarray:
    """Each row's observed share: its own component's share, or its lump's share split evenly."""
    members = np.bincount(data.component_idx, minlength=len(data.component_share))
    return data.component_share[data.component_idx] / members[data.component_idx]


def _electorate_change(f: pd.DataFrame, data: VoteShareData, primary_race: dict[str, str]):
    """(race,) change in log votes cast from the primary to the runoff, and whether it is measured.

    Votes cast is the round's sum of candidate votes where every candidate's count is known (or the clean
    table's votes_cast where the build provides it). A linked runoff without both counts gets the mean
    measured change of its era (off-/on-cycle), else 0."""
    counts = f.groupby("race_id").votes.agg(lambda v: v.sum() if v.notna().all() else np.nan)
    if "votes_cast" in f:
        counts = counts.fillna(f.groupby("race_id").votes_cast.first())
    change = np.zeros(data.n_race)
    known = np.zeros(data.n_race, dtype=bool)
    for k, race_id in enumerate(data.race_ids):
        prim = primary_race.get(race_id)
        if prim is not None and np.isfinite(counts.get(race_id, np.nan)) and np.isfinite(counts.get(prim, np.nan)):
            change[k] = np.log(counts[race_id]) - np.log(counts[prim])
            known[k] = True
    is_runoff = np.array([r in primary_race for r in data.race_ids])
    for era in (0.0, 1.0):
        same = data.on_cycle == era
        seen = change[same & known]
        change[same & is_runoff & ~known] = seen.mean() if len(seen) else 0.0
    return change, known


def carryover_model(cd: CarryoverData, priors: dict[str, Prior], noise: str = "normal") -> pm.Model:
    """The candidate-aware multinomial-logit vote-share model with latent money (module docstring)."""
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}")
    data = cd.base
    coords = {
        "candidate": [f"{r} {c}" for r, c in zip(data.frame.race_id, data.frame.candidate_id, strict=True)],
        "race": data.race_ids,
        "person": cd.candidates,
        "component": data.component_label,
        "cell": [f"{r} {c} {s}" for r, c, s in data.money.cells.to_numpy()],
        "figure": list(range(len(data.money.amount_usd))),
    }
    with pm.Model(coords=coords) as model:
        log_share = pm.Data("log_component_share", np.log(data.component_share), dims="component")
        race_weight = pm.Data("race_weight", np.ones(data.n_race), dims="race")
        # The primary shares a runoff starts from are data too: SBC simulates a primary, then its runoff.
        row_share = pm.Data("row_share", cd.row_share, dims="candidate")
        b = {name: prior_rv(name, priors) for name in (*COVARIATE_PRIORS, *RUNOFF_PRIORS)}
        sigma = prior_rv("sigma_candidate", priors)
        if noise == "normal":
            z = pm.Normal("z_candidate", 0.0, 1.0, dims="person")
        else:
            z = pm.StudentT("z_candidate", nu=NU_CANDIDATE, mu=0.0, sigma=1.0, dims="person")
        log_support, log_oppose = _latent_money(data, priors)
        eta = pm.Deterministic(
            "eta", linear_predictor(b, sigma * z, cd, log_support, log_oppose, row_share, xp=pt), dims="candidate"
        )
        concentration = prior_rv("concentration", priors)
        loglik = dirichlet_loglik(eta, concentration, data, xp=_PT, log_share=log_share)
        pm.Potential("vote_share_loglik", (race_weight * loglik).sum())
    return model


def covariates(b: dict, data: VoteShareData, log_support, log_oppose):
    """x: the covariate part of eta (numpy draws x rows, or one pytensor draw)."""
    tz = turnout_z(data.turnout_filled, data.turnout_centre)[data.race_idx]
    return (
        _col(b["beta_support"]) * log_support
        + _col(b["beta_oppose"]) * log_oppose
        + _col(b["beta_incumbent"]) * data.incumbent
        + _col(b["beta_utla"]) * data.utla
        + _col(b["beta_ccsa"]) * data.ccsa
        + _col(b["beta_turnout_utla"]) * data.utla * tz
        + _col(b["beta_oncycle_utla"]) * data.utla * data.on_cycle[data.race_idx]
    )


def linear_predictor(b: dict, person_effect, cd: CarryoverData, log_support, log_oppose, row_share, xp=np):
    """eta per row (module docstring), in numpy (draws x rows; b values and person_effect per draw) or pytensor.

    person_effect is each person's strength, indexed here by candidate_idx."""
    data = cd.base
    x = covariates(b, data, log_support, log_oppose)
    fresh = x + _take(person_effect, cd.candidate_idx)
    prev = cd.primary_row
    carried = (
        _col(b["beta_primary_share"]) * xp.log(_take(row_share, prev))
        + x
        - _take(x, prev)
        + _col(b["beta_consolidation"])
        * (cd.alignment @ row_share if xp is np else xp.dot(cd.alignment, row_share))
        / CONSOLIDATION_STEP
        + _col(b["beta_electorate_utla"]) * data.utla * cd.electorate_change[data.race_idx]
    )
    return xp.where(cd.runoff > 0, carried, fresh)


def _take(x, idx):
    """x[..., idx] for numpy draws, x[idx] for one pytensor draw."""
    return x[idx] if x.ndim == 1 else x[..., idx]


def _col(x):
    """A per-draw numpy vector as a column (draws, 1); scalars and tensors pass through."""
    return x[:, None] if isinstance(x, np.ndarray) and x.ndim == 1 else x


def eta_from_posterior(post: dict[str, np.ndarray], cd: CarryoverData, log_support, log_oppose) -> np.ndarray:
    """eta (draws, row) from posterior draws with the given log money (draws, row): the numpy twin."""
    person = post["sigma_candidate"][:, None] * post["z_candidate"]
    b = {k: post[k] for k in (*COVARIATE_PRIORS, *RUNOFF_PRIORS)}
    return linear_predictor(b, person, cd, log_support, log_oppose, cd.row_share)
