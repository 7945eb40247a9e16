"""Primary-to-runoff decomposition of a runoff under the candidate-aware model: how much of the move from a
finalist's two-way primary share to the runoff share comes from the primary's carry-over, the eliminated
candidates' voters, the change in money, the change in backing, the change in the electorate, and the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from model.carryover import CONSOLIDATION_STEP, COVARIATE_PRIORS, RUNOFF_PRIORS, CarryoverData, covariates
from model.effects import INTERVAL, actual_log_money, draws

# The runoffs the press argues about (README, claims.toml): each with the finalist whose share is followed.
CONTESTED = {
    "2017-05-16-D4": "nick-melvoin",
    "2020-11-03-D3": "scott-schmerelson",
    "2024-11-05-D3": "scott-schmerelson",
}
STEPS = (
    ("primary", "two-way share of the primary vote (observed)"),
    ("carry_over", "primary carry-over (beta_primary_share differs from 1)"),
    ("consolidation", "eliminated candidates' voters (aligned backers)"),
    ("money", "change in outside money for and against, primary to runoff"),
    ("backing", "change in endorsements and turnout terms"),
    ("electorate", "change in votes cast (UTLA x electorate)"),
    ("fitted", "expected runoff share under the model"),
    ("residual", "what the model does not explain (actual minus expected)"),
    ("actual", "actual runoff share"),
)


def decomposition(idata, cd: CarryoverData, focus: dict[str, str] = CONTESTED) -> pd.DataFrame:
    """Steps (points of the focus finalist's two-way share, mean and 90 % interval) per contested runoff.

    Each step adds one group of terms of the runoff's linear predictor to the previous step on the logit
    scale, so the steps sum to the expected runoff share; the order is that of STEPS."""
    data = cd.base
    post = {k: draws(idata, k) for k in (*COVARIATE_PRIORS, *RUNOFF_PRIORS)}
    ls, lo = actual_log_money(idata, data)
    n = len(post["beta_support"])
    ls, lo = np.broadcast_to(ls, (n, ls.shape[1])), np.broadcast_to(lo, (n, lo.shape[1]))
    money_only = {k: (post[k] if k in ("beta_support", "beta_oppose") else np.zeros(n)) for k in COVARIATE_PRIORS}
    x_all = covariates(post, data, ls, lo)
    x_money = covariates(money_only, data, ls, lo)
    rows = []
    frame = data.frame.reset_index(drop=True)
    for race_id, cand in focus.items():
        idx = np.flatnonzero((frame.race_id == race_id).to_numpy())
        if len(idx) != 2 or cd.runoff[idx].min() == 0 or cand not in set(frame.candidate_id.iloc[idx]):
            continue  # not a two-finalist runoff built from its primary in these data
        a = idx[frame.candidate_id.iloc[idx].to_numpy() == cand][0]
        b = idx[idx != a][0]
        pa, pb = cd.primary_row[a], cd.primary_row[b]
        log_ratio = np.log(cd.row_share[pa]) - np.log(cd.row_share[pb])
        rho = post["beta_primary_share"]
        aligned = cd.alignment @ cd.row_share / CONSOLIDATION_STEP
        elect = cd.electorate_change[data.race_idx[a]]
        money = (x_money[:, a] - x_money[:, pa]) - (x_money[:, b] - x_money[:, pb])
        backing = (x_all[:, a] - x_all[:, pa]) - (x_all[:, b] - x_all[:, pb]) - money
        terms = {
            "carry_over": (rho - 1.0) * log_ratio,
            "consolidation": post["beta_consolidation"] * (aligned[a] - aligned[b]),
            "money": money,
            "backing": backing,
            "electorate": post["beta_electorate_utla"] * elect * (data.utla[a] - data.utla[b]),
        }
        level = np.full(n, log_ratio)
        steps = {"primary": np.full(n, expit(log_ratio))}
        for name, term in terms.items():
            new = level + term
            steps[name] = expit(new) - expit(level)
            level = new
        fitted = expit(level)
        actual = frame.vote_share.iloc[a] / (frame.vote_share.iloc[a] + frame.vote_share.iloc[b])
        steps.update(fitted=fitted, residual=actual - fitted, actual=np.full(n, actual))
        for step, label in STEPS:
            x = 100 * steps[step]
            lo90, hi90 = np.quantile(x, INTERVAL)
            rows.append(
                {
                    "race_id": race_id,
                    "candidate_id": cand,
                    "opponent_id": frame.candidate_id.iloc[b],
                    "step": step,
                    "label": label,
                    "mean_pp": float(x.mean()),
                    "lo_pp": float(lo90),
                    "hi_pp": float(hi90),
                }
            )
    return pd.DataFrame(
        rows, columns=["race_id", "candidate_id", "opponent_id", "step", "label", "mean_pp", "lo_pp", "hi_pp"]
    )
