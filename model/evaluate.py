"""Leave-one-cycle-out skill: fit on the other cycles, predict the held-out cycle's winners, against baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from model.bayes import HEAD_TO_HEAD_PRIORS, HEAD_TO_HEAD_TERMS, head_to_head_model, vote_share_model
from model.build import candidate_races, head_to_head
from model.effects import draws, p_first
from model.features import vote_share_data
from model.fit import SamplerSettings, sample_each
from model.priors import Prior
from model.raw import load_raw

# A baseline that names one winner gets this probability for it (the rest is split evenly), so its log
# score is finite when it is wrong; 0.9 is generous to the baselines (they are right about 70-80 % of the time).
BASELINE_CONFIDENCE = 0.9


def baseline_probabilities(test: pd.DataFrame, cr: pd.DataFrame) -> dict[str, np.ndarray]:
    """P(first) per candidate row under each baseline; a baseline with no pick in a race splits evenly."""
    out = {}
    money = test.support_usd + test.oppose_usd.groupby(test.race_id).transform("sum") - test.oppose_usd
    leaders = primary_leaders(cr)
    picks = {
        "incumbent wins": test.incumbent.astype(bool),
        # "more outside money" counts IE for a candidate and IE against their rivals as on their side.
        "more outside money wins": money.eq(money.groupby(test.race_id).transform("max")) & (money > 0),
        "primary leader wins the runoff": pd.Series(
            [leaders.get((r, c), False) for r, c in zip(test.race_id, test.candidate_id, strict=True)], index=test.index
        ),
    }
    for name, pick in picks.items():
        p = np.zeros(len(test))
        for _race, idx in test.groupby("race_id").indices.items():
            chosen = pick.to_numpy()[idx]
            k = len(idx)
            if chosen.sum() == 1:
                p[idx] = np.where(chosen, BASELINE_CONFIDENCE, (1 - BASELINE_CONFIDENCE) / max(k - 1, 1))
            else:
                p[idx] = 1.0 / k
        out[name] = p
    return out


def primary_leaders(cr: pd.DataFrame) -> dict[tuple[str, str], bool]:
    """(runoff race, candidate) -> True when the candidate led the same district's primary that cycle."""
    out = {}
    general = cr[cr["round"].isin(["general", "special_general"])]
    for race_id, g in general.groupby("race_id"):
        first = g.iloc[0]
        primary = cr[(cr.cycle == first.cycle) & (cr.district == first.district) & cr["round"].str.contains("primary")]
        leader = primary.sort_values("rank").candidate_id.iloc[0] if len(primary) else None
        for c in g.candidate_id:
            out[(race_id, c)] = c == leader
    return out


def scores(p: np.ndarray, first: np.ndarray, race: np.ndarray) -> dict[str, float]:
    """Mean log P(actual winner), mean Brier score over a race's candidates, and winner accuracy."""
    frame = pd.DataFrame({"p": p, "first": first, "race": race})
    per_race = frame.groupby("race").apply(
        lambda g: pd.Series(
            {
                "log": np.log(max(g.p[g["first"] == 1].sum(), 1e-12)),
                "brier": ((g.p - g["first"]) ** 2).sum(),
                "correct": float(g["first"].to_numpy()[np.argmax(g.p.to_numpy())] == 1),
            }
        ),
        include_groups=False,
    )
    return {
        "races": len(per_race),
        "log_score": per_race.log.mean(),
        "brier": per_race.brier.mean(),
        "accuracy": per_race.correct.mean(),
    }


def leave_one_cycle_out(raw_dir, priors: dict[str, Prior], seed: int, settings: SamplerSettings):
    """Per held-out cycle and model: predictions of who finished first; returns (per-race rows, summary).

    The vote-share models are fitted once per cycle on every race with the held-out cycle's likelihood weights
    set to 0: its races then get a new cycle effect from the fitted cycle distribution and the district
    effects learnt from other cycles, as a refit without them would, while one compiled model serves every
    fold (fit.sample_each). The head-to-head model is fitted the same way."""
    raw = load_raw(raw_dir)
    cr = candidate_races(raw)
    data = vote_share_data(cr, raw)
    cycle_of_race = cr.groupby("race_id").cycle.first()
    race_cycle = cycle_of_race.reindex(data.race_ids).to_numpy()
    folds = [
        (k, cycle)
        for k, cycle in enumerate(data.cycles)
        if (race_cycle == cycle).any() and (race_cycle != cycle).sum() >= 5
    ]
    updates = [{"race_weight": (race_cycle != cycle).astype(float)} for _k, cycle in folds]
    seeds = [seed + k for k, _c in folds]
    # The latent-money model's money evidence stays in for the held-out cycle: it says nothing about votes.
    vote_share_fits = {
        f"vote_share_{money}": sample_each(vote_share_model(data, priors, money=money), updates, seeds, settings)
        for money in ("latent", "plugin")
    }
    h2h = head_to_head(cr).dropna(subset=["logit_share_a"])
    h2h_cycle = cycle_of_race.reindex(h2h.race_id).to_numpy()
    # Folds whose other cycles hold at least 5 head-to-head races (fewer cannot pin down 6 parameters).
    h2h_folds = [(k, c) for k, c in folds if (h2h_cycle != c).sum() >= 5 and (h2h_cycle == c).any()]
    h2h_fits = sample_each(
        head_to_head_model(h2h, priors, weighted=True),
        [{"race_weight": (h2h_cycle != c).astype(float)} for _k, c in h2h_folds],
        [seed + 100 + k for k, _c in h2h_folds],
        settings,
    )
    h2h_by_cycle = dict(zip([c for _k, c in h2h_folds], h2h_fits, strict=True))
    rows = []
    rng = np.random.default_rng(seed)
    for _k, cycle in folds:
        held_out = (data.frame.cycle == cycle).to_numpy()
        frame = data.frame[held_out]
        probs = {}
        for name, fits in vote_share_fits.items():
            idata = next(fits)
            probs[name] = p_first(draws(idata, "eta"), draws(idata, "concentration"), data, rng)[held_out]
        probs.update(baseline_probabilities(frame, cr))
        if cycle in h2h_by_cycle:
            probs["head_to_head"] = head_to_head_probabilities(h2h_by_cycle[cycle], h2h[h2h_cycle == cycle], frame)
        for model, p in probs.items():
            rows.append(
                frame[["race_id", "candidate_id", "rank"]].assign(
                    cycle=cycle, model=model, p_first=p, first=(frame["rank"] == 1).astype(int).to_numpy()
                )
            )
    per_candidate = pd.concat(rows, ignore_index=True)
    runoff = set(cr.race_id[cr["round"].isin(["general", "special_general"])])
    summary = []
    for scope in ("all races", "runoffs"):
        subset = per_candidate if scope == "all races" else per_candidate[per_candidate.race_id.isin(runoff)]
        for model, g in subset.groupby("model", sort=False):
            summary.append(
                {
                    "scope": scope,
                    "model": model,
                    **scores(g.p_first.to_numpy(), g["first"].to_numpy(), g.race_id.to_numpy()),
                }
            )
    return per_candidate, pd.DataFrame(summary)


def head_to_head_probabilities(idata, test: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """P(first) from a head-to-head fit for the held-out top two (test: their head-to-head rows); other
    candidates get 0 (the model only speaks about the top two), races without a head-to-head row an even split."""
    beta = np.stack([draws(idata, n) for n in HEAD_TO_HEAD_PRIORS])
    sigma = draws(idata, "sigma_head_to_head")
    x = test[list(HEAD_TO_HEAD_TERMS)].to_numpy(float)
    p_a = norm.sf(0, loc=x @ beta, scale=sigma).mean(axis=1)  # P(logit share of a > 0) = P(a finishes first of two)
    p = np.array([1.0 / n for n in frame.groupby("race_id").candidate_id.transform("size")])
    for (race_id, a, b), pa in zip(test[["race_id", "candidate_a", "candidate_b"]].to_numpy(), p_a, strict=True):
        in_race = frame.race_id.to_numpy() == race_id
        p[in_race] = 0.0
        p[in_race & (frame.candidate_id.to_numpy() == a)] = pa
        p[in_race & (frame.candidate_id.to_numpy() == b)] = 1 - pa
    return p
