"""Leave-one-cycle-out skill: fit on the other cycles, predict the held-out cycle's winners, against baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from model.bayes import head_to_head_model, vote_share_model
from model.build import candidate_races, head_to_head
from model.effects import draws, p_first
from model.features import VoteShareData, turnout_z, vote_share_data
from model.fit import SamplerSettings, sample
from model.priors import Prior
from model.raw import load_raw

# A baseline that names one winner gets this probability for it (the rest is split evenly), so its log
# score is finite when it is wrong; 0.9 is generous to the baselines (they are right about 70-80 % of the time).
BASELINE_CONFIDENCE = 0.9


def held_out_eta(idata, train: VoteShareData, test: VoteShareData, rng: np.random.Generator) -> np.ndarray:
    """eta (draws, candidate) for races of an unseen cycle: its cycle effect is a new draw from the
    fitted cycle distribution; district effects carry over where the district was seen, else new draws."""
    n = len(draws(idata, "concentration"))
    tz = turnout_z(test.turnout_filled, train.turnout_centre)[test.race_idx]
    post = {k: draws(idata, k) for k in idata.posterior.data_vars}
    slope = {}
    for stance in ("support", "oppose"):
        z_cycle = rng.standard_normal((n, 1))
        z_district = np.stack(
            [
                post[f"z_district_{stance}"][:, train.districts.index(d)]
                if d in train.districts
                else rng.standard_normal(n)
                for d in test.districts
            ],
            axis=1,
        )
        slope[stance] = (
            post[f"beta_{stance}"][:, None]
            + post[f"tau_cycle_{stance}"][:, None] * z_cycle
            + post[f"tau_district_{stance}"][:, None] * z_district[:, test.district_idx]
        )
    return (
        slope["support"] * test.log_support
        + slope["oppose"] * test.log_oppose
        + post["beta_incumbent"][:, None] * test.incumbent
        + post["beta_utla"][:, None] * test.utla
        + post["beta_ccsa"][:, None] * test.ccsa
        + post["beta_turnout_utla"][:, None] * test.utla * tz
        + post["beta_turnout_support"][:, None] * test.log_support * tz
        + post["beta_oncycle_utla"][:, None] * test.utla * test.on_cycle[test.race_idx]
    )


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
    """Per held-out cycle and model: predictions of who finished first; returns (per-race rows, summary)."""
    raw = load_raw(raw_dir)
    cr = candidate_races(raw)
    data = vote_share_data(cr, raw)
    rows = []
    rng = np.random.default_rng(seed)
    for k, cycle in enumerate(data.cycles):
        train_cr = cr[cr.cycle != cycle]
        test_cr = cr[(cr.cycle == cycle) & cr.race_id.isin(data.race_ids)]
        if test_cr.empty or train_cr.race_id.nunique() < 5:
            continue
        train, test = vote_share_data(train_cr, raw), vote_share_data(test_cr, raw)
        idata = sample(vote_share_model(train, priors, money="plugin"), seed + k, settings, progress=False)
        probs = {
            "vote_share_plugin": p_first(
                held_out_eta(idata, train, test, rng), draws(idata, "concentration"), test, rng
            )
        }
        frame = test.frame
        probs.update(baseline_probabilities(frame, cr))
        h2h_p = _head_to_head_probabilities(train_cr, frame, priors, seed + 100 + k, settings)
        if h2h_p is not None:
            probs["head_to_head"] = h2h_p
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


def _head_to_head_probabilities(train_cr, frame, priors, seed, settings) -> np.ndarray | None:
    """P(first) from the head-to-head model for the held-out top two; other candidates get 0 (the model
    only speaks about the top two), and races without a head-to-head row get an even split."""
    train = head_to_head(train_cr)
    test = head_to_head(frame)
    if len(train.dropna(subset=["logit_share_a"])) < 5 or test.empty:
        return None
    idata = sample(head_to_head_model(train, priors), seed, settings, progress=False)
    beta = np.stack(
        [draws(idata, n) for n in ("beta_support", "beta_oppose", "beta_incumbent", "beta_utla", "beta_ccsa")]
    )
    sigma = draws(idata, "sigma_head_to_head")
    x = test[["d_log_support", "d_log_oppose", "d_incumbent", "d_utla", "d_ccsa"]].to_numpy(float)
    p_a = norm.sf(0, loc=x @ beta, scale=sigma).mean(axis=1)  # P(logit share of a > 0) = P(a finishes first of two)
    p = np.array([1.0 / n for n in frame.groupby("race_id").candidate_id.transform("size")])
    for (race_id, a, b), pa in zip(test[["race_id", "candidate_a", "candidate_b"]].to_numpy(), p_a, strict=True):
        in_race = frame.race_id.to_numpy() == race_id
        p[in_race] = 0.0
        p[in_race & (frame.candidate_id.to_numpy() == a)] = pa
        p[in_race & (frame.candidate_id.to_numpy() == b)] = 1 - pa
    return p
