"""Out-of-sample skill: leave one cycle out, and forecast each runoff from everything before it (its primary
included); models against baselines whose confidence is learnt on the training races."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from model.bayes import HEAD_TO_HEAD_PRIORS, HEAD_TO_HEAD_TERMS, component_predictive, head_to_head_model
from model.build import candidate_races, head_to_head
from model.carryover import carryover_data
from model.effects import draws, p_first
from model.features import VoteShareData, vote_share_data
from model.fit import MAIN_MODEL, SamplerSettings, sample_each, vote_share_builders
from model.priors import Prior
from model.raw import load_raw

# A baseline that names one winner gets this probability for it (the rest is split evenly), so its log
# score is finite when it is wrong; 0.9 is generous to the baselines (they are right about 70-80 % of the time).
# The fixed-confidence baselines are shown beside calibrated ones, whose confidence is learnt on the training races.
BASELINE_CONFIDENCE = 0.9
CALIBRATED = " (calibrated)"
COVERAGE_LEVELS = (0.5, 0.9)  # central predictive intervals whose coverage of held-out shares is reported


def baseline_picks(test: pd.DataFrame, cr: pd.DataFrame) -> dict[str, pd.Series]:
    """Each baseline's pick (True for the candidate it names) per candidate row."""
    money = test.support_usd + test.oppose_usd.groupby(test.race_id).transform("sum") - test.oppose_usd
    leaders = primary_leaders(cr)
    return {
        "incumbent wins": test.incumbent.astype(bool),
        # "more outside money" counts IE for a candidate and IE against their rivals as on their side.
        "more outside money wins": money.eq(money.groupby(test.race_id).transform("max")) & (money > 0),
        "primary leader wins the runoff": pd.Series(
            [leaders.get((r, c), False) for r, c in zip(test.race_id, test.candidate_id, strict=True)], index=test.index
        ),
    }


def baseline_probabilities(
    test: pd.DataFrame, cr: pd.DataFrame, confidence: float | dict[str, float] = BASELINE_CONFIDENCE
) -> dict[str, np.ndarray]:
    """P(first) per candidate row under each baseline: its pick gets `confidence` (one number, or one per
    baseline name), the others share the rest; a baseline with no single pick in a race splits evenly."""
    out = {}
    for name, pick in baseline_picks(test, cr).items():
        conf = confidence[name] if isinstance(confidence, dict) else confidence
        p = np.zeros(len(test))
        for _race, idx in test.groupby("race_id").indices.items():
            chosen = pick.to_numpy()[idx]
            k = len(idx)
            if chosen.sum() == 1:
                p[idx] = np.where(chosen, conf, (1 - conf) / max(k - 1, 1))
            else:
                p[idx] = 1.0 / k
        out[name] = p
    return out


def learnt_confidence(train: pd.DataFrame, cr: pd.DataFrame) -> dict[str, float]:
    """Each baseline's hit rate on the training races where it names one candidate, (hits + 1) / (picks + 2)
    (Laplace's rule: a rule never tried says 1/2, one right every time still leaves room to be wrong)."""
    out = {}
    for name, pick in baseline_picks(train, cr).items():
        hits = picks = 0
        for _race, idx in train.groupby("race_id").indices.items():
            chosen = pick.to_numpy()[idx]
            if chosen.sum() == 1:
                picks += 1
                hits += int(train["rank"].to_numpy()[idx][chosen.argmax()] == 1)
        out[name] = (hits + 1) / (picks + 2)
    return out


def all_baselines(test: pd.DataFrame, train: pd.DataFrame, cr: pd.DataFrame) -> dict[str, np.ndarray]:
    """Fixed-confidence baselines and the same rules with their confidence learnt on the training races."""
    calibrated = baseline_probabilities(test, cr, learnt_confidence(train, cr))
    return {**baseline_probabilities(test, cr), **{k + CALIBRATED: v for k, v in calibrated.items()}}


def interval_hits(idata, data: VoteShareData, held_out_race: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Per held-out component with an observed share of its own: whether its central 50 % and 90 % predictive
    intervals contain the observed share."""
    pred = component_predictive(draws(idata, "eta"), draws(idata, "concentration"), data, rng)
    members = np.bincount(data.component_idx, minlength=len(data.component_share))
    keep = held_out_race[data.component_race] & (members == 1)
    out = pd.DataFrame({"component": np.array(data.component_label)[keep]})
    for level in COVERAGE_LEVELS:
        lo, hi = np.quantile(pred[:, keep], [(1 - level) / 2, (1 + level) / 2], axis=0)
        y = data.component_share[keep]
        out[f"in{int(level * 100)}"] = ((y >= lo) & (y <= hi)).astype(float)
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
    builders = vote_share_builders(data, carryover_data(data), priors)
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
    vote_share_fits = {name: sample_each(build(), updates, seeds, settings) for name, build in builders.items()}
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
    rows, hits = [], []
    rng = np.random.default_rng(seed)
    for _k, cycle in folds:
        held_out = (data.frame.cycle == cycle).to_numpy()
        frame = data.frame[held_out]
        probs = {}
        for name, fits in vote_share_fits.items():
            idata = next(fits)
            probs[name] = p_first(draws(idata, "eta"), draws(idata, "concentration"), data, rng)[held_out]
            hits.append(interval_hits(idata, data, race_cycle == cycle, rng).assign(model=name, cycle=cycle))
        probs.update(all_baselines(frame, data.frame[~held_out], cr))
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
    return per_candidate, summarise(per_candidate, runoff, pd.concat(hits, ignore_index=True))


def summarise(per_candidate: pd.DataFrame, runoff: set[str], hits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Scores per scope (all races, runoffs) and model, with the interval coverage of held-out shares."""
    summary = []
    for scope in ("all races", "runoffs"):
        subset = per_candidate if scope == "all races" else per_candidate[per_candidate.race_id.isin(runoff)]
        for model, g in subset.groupby("model", sort=False):
            row = {"scope": scope, "model": model, **scores(g.p_first.to_numpy(), g["first"].to_numpy(), g.race_id)}
            if hits is not None and scope == "all races" and (hits.model == model).any():
                h = hits[hits.model == model]
                row.update({c.replace("in", "coverage"): h[c].mean() for c in h.columns if c.startswith("in")})
                row["n_shares"] = len(h)
            summary.append(row)
    return pd.DataFrame(summary)


def runoff_forecast(raw_dir, priors: dict[str, Prior], seed: int, settings: SamplerSettings, models=None):
    """Each runoff predicted from a fit to every race before it, its own primary included (what a campaign
    knows in March), by the vote-share models named (default: the main model and vote_share_latent) and the
    calibrated baselines; returns (per-candidate rows, summary)."""
    raw = load_raw(raw_dir)
    cr = candidate_races(raw)
    data = vote_share_data(cr, raw)
    builders = vote_share_builders(data, carryover_data(data), priors)
    names = models or [MAIN_MODEL, "vote_share_latent"]
    per_race = data.frame.drop_duplicates("race_id").set_index("race_id").loc[data.race_ids]
    dates = per_race.date.to_numpy()
    runoffs = [
        k
        for k, r in enumerate(data.race_ids)
        if per_race["round"].iloc[k] in ("general", "special_general") and (dates < dates[k]).sum() >= 5
    ]
    updates = [{"race_weight": (dates < dates[k]).astype(float)} for k in runoffs]
    fits = {n: sample_each(builders[n](), updates, [seed + 200 + k for k in runoffs], settings) for n in names}
    rng = np.random.default_rng(seed + 1)
    rows = []
    for k in runoffs:
        test_rows = data.race_idx == k
        frame = data.frame[test_rows]
        train = data.frame[(dates < dates[k])[data.race_idx]]
        probs = {}
        for name in names:
            idata = next(fits[name])
            probs[name] = p_first(draws(idata, "eta"), draws(idata, "concentration"), data, rng)[test_rows]
        probs.update(all_baselines(frame, train, cr))
        for model, p in probs.items():
            rows.append(
                frame[["race_id", "candidate_id", "rank"]].assign(
                    model=model, p_first=p, first=(frame["rank"] == 1).astype(int).to_numpy()
                )
            )
    per_candidate = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    summary = summarise(per_candidate, set(per_candidate.get("race_id", []))) if rows else pd.DataFrame()
    return per_candidate, summary.query("scope == 'all races'").assign(scope="runoff forecast")


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
