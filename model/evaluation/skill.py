"""Out-of-sample skill: leave one cycle out, and forecast each runoff from everything before it (its primary
included); registered models against baselines whose confidence is learnt on the training races."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model import models
from model.inference.importance import INNER_DRAWS, Reweighted, as_idata, marginal_log_lik, reweight
from model.inference.sampling import SamplerSettings, sample_each
from model.infra.progress import Progress
from model.models.base import BayesModel, Inputs, load_inputs, posterior_draws
from model.models.head_to_head import head_to_head_probabilities
from model.models.vote_share import MIN_TRAINING_RACES, race_cycles
from model.priors import Prior

__all__ = [
    "BASELINE_CONFIDENCE",
    "CALIBRATED",
    "all_baselines",
    "baseline_probabilities",
    "head_to_head_probabilities",
    "learnt_confidence",
    "leave_one_cycle_out",
    "loco_folds",
    "loco_unavailable",
    "primary_leaders",
    "runoff_forecast",
    "scores",
    "summarise",
]

# A baseline that names one winner gets this probability for it (the rest is split evenly), so its log
# score is finite when it is wrong; 0.9 is generous to the baselines (they are right about 70-80 % of the time).
# The fixed-confidence baselines are shown beside calibrated ones, whose confidence is learnt on the training races.
BASELINE_CONFIDENCE = 0.9
CALIBRATED = " (calibrated)"


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


def loco_folds(inputs: Inputs) -> list[tuple[int, int]]:
    """(index, cycle) of each cycle that can be held out: it has race-rounds and the other cycles have at least
    MIN_TRAINING_RACES."""
    race_cycle = race_cycles(inputs)
    return [
        (k, cycle)
        for k, cycle in enumerate(inputs.data.cycles)
        if (race_cycle == cycle).any() and (race_cycle != cycle).sum() >= MIN_TRAINING_RACES
    ]


def loco_unavailable(inputs: Inputs) -> str | None:
    """None when leave-one-cycle-out can run on these inputs, else a one-line reason."""
    if len(inputs.data.cycles) < 2:
        return f"the data have {len(inputs.data.cycles)} cycle(s); holding one out needs at least two"
    if not loco_folds(inputs):
        return f"no cycle can be held out with at least {MIN_TRAINING_RACES} race-rounds left to fit on"
    return None


def leave_one_cycle_out(
    source,
    priors: dict[str, Prior],
    seed: int,
    settings: SamplerSettings,
    names=None,
    workers: int = 1,
    scheduler: str | None = None,
    fitted: dict | None = None,
    exact: bool = False,
    progress: bool = False,
):
    """Per held-out cycle and model: predictions of who finished first; returns (per-race rows, summary, folds).

    source: a raw data directory or the model inputs; names: the registered models to score (default all);
    fitted: each model's full-data posterior by name. A fold of a fitted model is first computed by PSIS from
    that posterior, with the held-out cycle's own parameters integrated out of the ratio (importance.py,
    psis_held_out_cycle); a fold whose k-hat is over the threshold for its draw count, every fold of a model
    without a full posterior or without the numpy twins PSIS needs, and every fold when exact=True, is refitted.
    A refit is the model compiled once with per-race likelihood weights and fitted once per fold with the
    held-out cycle's weights set to 0 (model.loco_update): its races then get a new cycle effect from the
    fitted cycle distribution and the district effects learnt from other cycles (sample_each; workers,
    scheduler: over that many processes or a Dask cluster). The random draws behind P(first) come from one
    stream per model and fold, so they depend neither on the other models, nor on how other folds were computed,
    nor (drawn here, after sampling) on the number of workers. The third table records per
    model and fold its method (psis or refit), k-hat and the effective sample size of its weights."""
    inputs = source if isinstance(source, Inputs) else load_inputs(source)
    cr, data = inputs.cr, inputs.data
    if cr is None:  # Inputs built from arrays alone (tests, the bench) cannot be scored against races
        raise ValueError("held-out scores need the candidate_races table (Inputs.cr)")
    folds = loco_folds(inputs)
    fits, fold_rows, plans = {}, [], []
    for _position, model in models.bayesian(names):
        if model.cannot_run(inputs):
            continue
        usable = [(k, c, u) for k, c in folds if (u := model.loco_update(inputs, c)) is not None]
        if usable:
            plans.append((model, usable))
    bar = Progress("leave-one-cycle-out", sum(len(u) for _m, u in plans)) if progress else None
    for model, usable in plans:
        approx: dict[int, Reweighted] = {}
        idata = (fitted or {}).get(model.name)
        if idata is not None and not exact:
            for k, c, _u in usable:
                rng = np.random.default_rng([seed, model.loco_seed_offset, k])
                r = psis_held_out_cycle(model, idata, inputs, c, rng)
                if r is not None:
                    fold_rows.append({"model": model.name, "cycle": c, "khat": r.khat, "ess": r.ess})
                    if r.reliable:
                        approx[c] = r
                        if bar:
                            bar.step(f"{model.name} {c} by PSIS (k-hat {r.khat:.2f})")
        refit = [(k, c, u) for k, c, u in usable if c not in approx]
        draws_by_fold = sample_each(
            model.build(inputs, priors, weighted=True),
            [u for _k, _c, u in refit],
            [seed + model.loco_seed_offset + k for k, _c, _u in refit],
            settings,
            workers,
            scheduler,
        )
        fits[model.name] = (model, {c for _k, c, _u in usable}, approx, draws_by_fold)
    rows, hits = [], []
    for k, cycle in folds:
        held_out = (data.frame.cycle == cycle).to_numpy()
        frame = data.frame[held_out]
        probs, method = {}, {}
        for name, (model, cycles, approx, draws_by_fold) in fits.items():
            if cycle not in cycles:
                continue
            # Its own stream per model and fold: a fold's P(first) does not depend on how the folds before it
            # were computed, so `make validate` compares a refit with the same refit, not with other noise.
            rng = np.random.default_rng([seed, model.loco_seed_offset, k, 1])  # [.., 1]: not the PSIS stream
            if cycle in approx:
                idata, method[name] = as_idata(approx[cycle].draws), "psis"
            else:
                idata, method[name] = next(draws_by_fold), "refit"
                if bar:
                    bar.step(f"{name} {cycle} refitted")
            probs[name] = model.p_first(idata, inputs, held_out, rng)
            h = model.interval_hits(idata, inputs, race_cycles(inputs) == cycle, rng)
            if h is not None:
                hits.append(h.assign(model=name, cycle=cycle))
        probs.update(all_baselines(frame, data.frame[~held_out], cr))
        for model_name, p in probs.items():
            rows.append(
                frame[["race_id", "candidate_id", "rank"]].assign(
                    cycle=cycle,
                    model=model_name,
                    p_first=p,
                    first=(frame["rank"] == 1).astype(int).to_numpy(),
                    method=method.get(model_name, "baseline"),
                )
            )
    per_candidate = pd.concat(rows, ignore_index=True)
    runoff = set(cr.race_id[cr["round"].isin(["general", "special_general"])])
    folds_table = _folds_table(per_candidate, fold_rows, "cycle")
    return per_candidate, summarise(per_candidate, runoff, pd.concat(hits) if hits else None), folds_table


def _folds_table(per_candidate: pd.DataFrame, fold_rows: list[dict], unit: str) -> pd.DataFrame:
    """Per model and fold (cycle or election date): how it was computed, with the k-hat and ESS of PSIS where
    it was tried (a refit after a high k-hat keeps the k-hat that sent it to a refit)."""
    used = per_candidate[per_candidate.method != "baseline"].drop_duplicates(["model", unit])[["model", unit, "method"]]
    tried = pd.DataFrame(fold_rows, columns=["model", unit, "khat", "ess"])
    return used.merge(tried, on=["model", unit], how="left").reset_index(drop=True)


def psis_held_out_cycle(model, idata, inputs: Inputs, cycle: int, rng: np.random.Generator) -> Reweighted | None:
    """The model's posterior without one cycle's races, by PSIS from the full posterior: each draw weighted by
    1 / p(the cycle's races | the other parameters), with the cycle's own parameters (its slope deviations, the
    candidates seen only then) integrated over their population by INNER_DRAWS Monte Carlo draws; then the
    predictive draws with those own parameters drawn afresh. None when the model lacks the numpy twins.

    Naive PSIS of the conditional likelihood (own parameters fixed at their full-data values) is optimistic:
    those parameters were fitted to the very races held out. Latent money stays at its full-data draws: its
    reported figures stay in a refit, and they, not the votes, pin it for most candidates."""
    post = _thinned(posterior_draws(idata))
    race_mask = race_cycles(inputs) == cycle
    redrawn = [model.redraw_cycle_own(post, inputs, cycle, rng) for _m in range(INNER_DRAWS)]
    if redrawn[0] is None:
        return None
    per_inner = [model.race_log_lik_draws(r, inputs) for r in redrawn]
    if per_inner[0] is None:
        return None
    log_marginal = marginal_log_lik(np.stack([ll[:, race_mask].sum(axis=1) for ll in per_inner]))
    return reweight(model.predictive_draws(redrawn[0], inputs), -log_marginal, rng)


MAX_PSIS_DRAWS = 4000  # thinned to at most this many draws: enough for PSIS, and each fold recomputes eta 24 times


def _thinned(post: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every k-th draw so that at most MAX_PSIS_DRAWS remain."""
    n = len(next(iter(post.values())))
    step = int(np.ceil(n / MAX_PSIS_DRAWS))
    return {k: v[::step] for k, v in post.items()}


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


def runoff_forecast(
    source,
    priors: dict[str, Prior],
    seed: int,
    settings: SamplerSettings,
    names=None,
    workers: int = 1,
    scheduler: str | None = None,
    exact: bool = False,
    progress: bool = False,
    main: str | None = None,
):
    """Each runoff predicted from a fit to every race-round before its election date, its own primary included
    (what a campaign knows in March), by the main model and every registered model that asks to be compared there
    (BayesModel.runoff_forecast), beside the baselines; returns (per-candidate rows, summary, dates).

    Runoffs on one date share their training set, so there is one posterior per date. Approximate
    leave-future-out (Bürkner, Gabry & Vehtari 2020): the first date is fitted exactly; each later date reweights
    the last exact fit by the likelihood of the race-rounds added since (PSIS), and is refitted exactly, becoming
    the new reference, when k-hat exceeds the threshold for its draw count (khat_threshold: Bürkner et al.'s
    0.7, or less with fewer draws, as for leave-one-cycle-out; every date with exact=True, or for a model
    without the numpy twins). names: the registered models fitted in this run (default all); a model must also support
    train_update; workers, scheduler: as in leave_one_cycle_out (the exact fits run one at a time here, since
    each decides whether the next date needs one); main: the run's main model (default: the registry's)."""
    inputs = source if isinstance(source, Inputs) else load_inputs(source)
    cr, data = inputs.cr, inputs.data
    if cr is None:  # Inputs built from arrays alone (tests, the bench) cannot be scored against races
        raise ValueError("held-out scores need the candidate_races table (Inputs.cr)")
    per_race = data.frame.drop_duplicates("race_id").set_index("race_id").loc[data.race_ids]
    dates = per_race.date.to_numpy()
    runoffs = [
        k
        for k in range(data.n_race)
        if per_race["round"].iloc[k] in ("general", "special_general")
        and (dates < dates[k]).sum() >= MIN_TRAINING_RACES
    ]
    election_dates = sorted({dates[k] for k in runoffs})
    by_date: dict[str, dict] = {}
    date_rows = []
    plans: list[tuple[BayesModel, list[dict[str, np.ndarray]]]] = []
    for _position, model in models.bayesian(names):
        if not (model.runoff_forecast or model.name == (main or models.main_name())) or model.cannot_run(inputs):
            continue
        updates = [model.train_update(inputs, dates < d) for d in election_dates]
        if election_dates and all(u is not None for u in updates):
            plans.append((model, [u for u in updates if u is not None]))
    bar = Progress("runoff forecast", sum(len(u) for _m, u in plans)) if progress else None
    for model, date_updates in plans:
        pm_model = model.build(inputs, priors, weighted=True)
        # (date index, per-race log-likelihood, predictive draws) of the last exact fit
        reference: tuple[int, np.ndarray | None, dict[str, np.ndarray] | None] | None = None
        for i, (d, update) in enumerate(zip(election_dates, date_updates, strict=True)):
            r = None
            start, ll, predictive = reference if reference is not None else (0, None, None)
            if ll is not None and predictive is not None:
                added = (dates >= election_dates[start]) & (dates < d)
                rng = np.random.default_rng([seed, 200 + model.loco_seed_offset, i])
                r = reweight(predictive, ll[:, added].sum(axis=1), rng)
            row = {"model": model.name, "date": d, "khat": r.khat if r else np.nan, "ess": r.ess if r else np.nan}
            if r is not None and r.reliable:
                by_date.setdefault(model.name, {})[d] = (model, as_idata(r.draws))
                date_rows.append({**row, "method": "psis"})
            else:
                fit_seed = seed + 200 + model.loco_seed_offset + i
                idata = next(sample_each(pm_model, [update], [fit_seed], settings, workers, scheduler))
                reference = (i, None, None)  # exact: no date is reweighted, so nothing to compute from it
                if not exact and i + 1 < len(election_dates):
                    draws = _thinned(posterior_draws(idata))
                    ll = model.race_log_lik_draws(draws, inputs)
                    reference = (i, ll, None if ll is None else model.predictive_draws(draws, inputs))
                by_date.setdefault(model.name, {})[d] = (model, idata)
                date_rows.append({**row, "method": "refit"})
            if bar:
                bar.step(f"{model.name} {d} by {date_rows[-1]['method']}")
    rows = []
    method_of = {(r["model"], r["date"]): r["method"] for r in date_rows}
    for k in runoffs:
        test_rows = data.race_idx == k
        frame = data.frame[test_rows]
        # One stream per model and runoff, as in leave_one_cycle_out.
        probs = {
            name: m.p_first(idata, inputs, test_rows, np.random.default_rng([seed + 1, m.loco_seed_offset, k]))
            for name, (m, idata) in _at(by_date, dates[k])
        }
        probs.update(all_baselines(frame, data.frame[(dates < dates[k])[data.race_idx]], cr))
        for name, p in probs.items():
            rows.append(
                frame[["race_id", "candidate_id", "rank"]].assign(
                    model=name,
                    p_first=p,
                    first=(frame["rank"] == 1).astype(int).to_numpy(),
                    date=dates[k],
                    method=method_of.get((name, dates[k]), "baseline"),
                )
            )
    if not rows:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    per_candidate = pd.concat(rows, ignore_index=True)
    summary = summarise(per_candidate, set(per_candidate.race_id))
    dates_table = pd.DataFrame(date_rows, columns=["model", "date", "method", "khat", "ess"])
    return per_candidate, summary.query("scope == 'all races'").assign(scope="runoff forecast"), dates_table


def _at(by_date: dict[str, dict], date) -> list[tuple[str, tuple]]:
    """(model name, (model, posterior)) of every model's fit for one election date, in registry order."""
    return [(name, fits[date]) for name, fits in by_date.items() if date in fits]
