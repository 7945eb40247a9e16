"""Verdict rules for press claims: pure functions of a run's tables (counterfactuals, effects, model rows) and
the clean data. The report only renders what these return."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.infra.fmt import fmt_interval, fmt_pp, fmt_prob, fmt_ratio, fmt_usd

P_BACKFIRE = 0.9  # a backfire needs P(removing the attack ads lowers the target's share) above this


RATIO_AGREES = 1.5  # a press spending ratio "agrees" with the data when within this factor of it


SUPPORTED, NOT_SUPPORTED, CANNOT_TELL = "supported", "not supported", "the data cannot tell"


VERDICTS = (SUPPORTED, NOT_SUPPORTED, CANNOT_TELL)


TURNOUT_EFFECT = "UTLA endorsement x +10 pts turnout"


ONCYCLE_EFFECT = "UTLA endorsement x on-cycle election"


NATIONAL = re.compile(r"\b(United States|US history|in the US|nation(al|wide)?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ClaimResult:
    """What the run says about one press claim."""

    quantity: str
    verdict: str
    notes: tuple[str, ...] = ()


def load_claims(path: Path) -> list[dict]:
    """The [[claim]] entries of analysis/claims.toml (empty when the file is missing)."""
    if not path.is_file():
        return []
    with path.open("rb") as f:
        return list(tomllib.load(f).get("claim", []))


def effect_row(effects: pd.DataFrame, model: str, effect: str) -> pd.Series | None:
    """One row of effects.csv, or None."""
    hit = effects[(effects.model == model) & (effects.effect == effect)]
    return None if hit.empty else hit.iloc[0]


def race_rows(frame: pd.DataFrame, race_id: str) -> pd.DataFrame:
    """Candidate rows of one race (empty when the frame or race is missing)."""
    if frame.empty or "race_id" not in frame:
        return frame
    return frame[frame.race_id == race_id]


def race_money(frame: pd.DataFrame, race_id: str) -> dict[str, tuple[float, float]]:
    """candidate_id -> (support_usd, oppose_usd) in one race."""
    rows = race_rows(frame, race_id)
    return {r.candidate_id: (float(r.support_usd), float(r.oppose_usd)) for r in rows.itertuples()}


def money_line(frame: pd.DataFrame, race_id: str) -> str:
    """'name: support $x, oppose $y; ...' for one race."""
    rows = race_rows(frame, race_id)
    return "; ".join(
        f"{r.name}: support {fmt_usd(r.support_usd)}, oppose {fmt_usd(r.oppose_usd)}" for r in rows.itertuples()
    )


def model_gap(run_rows: pd.DataFrame, data: pd.DataFrame, race_id: str) -> str | None:
    """Why the run cannot test a claim about race_id (not modelled, no IE, or stale money), else None."""
    used = race_money(run_rows, race_id)
    if not used:
        return "the race is not among the modelled races of this run"
    now = race_money(data, race_id)
    if all(s == 0 and o == 0 for s, o in used.values()):
        later = any(s or o for s, o in now.values())
        return "the run has no independent-expenditure figure for any candidate in this race" + (
            "; the current dataset has some, so a refit (`make fit`) could test it" if later else ""
        )
    if now and any(not np.allclose(used[c], now[c]) for c in used if c in now):
        return "the money figures for this race have changed in data/clean since the run; refit (`make fit`)"
    return None


def sides(data: pd.DataFrame, race_id: str, candidate_id: str) -> tuple[float, float]:
    """IE for the candidate (own support + attacks on the top rival) and against (rival's support + attacks on them)."""
    rows = race_rows(data, race_id)
    me = rows[rows.candidate_id == candidate_id]
    rivals = rows[rows.candidate_id != candidate_id].sort_values("vote_share", ascending=False)
    if me.empty or rivals.empty:
        return float("nan"), float("nan")
    me, rival = me.iloc[0], rivals.iloc[0]
    return float(me.support_usd + rival.oppose_usd), float(rival.support_usd + me.oppose_usd)


def spend_ratio(for_usd: float, against_usd: float) -> float:
    """against / for, inf when only the other side spent, nan when nobody did."""
    if not for_usd and not against_usd:
        return float("nan")
    return float("inf") if not for_usd else against_usd / for_usd


def cf_row(cf: pd.DataFrame, race_id: str, candidate_id: str) -> pd.Series | None:
    """The counterfactual row of one candidate, or None."""
    if cf.empty:
        return None
    hit = cf[(cf.race_id == race_id) & (cf.candidate_id == candidate_id)]
    return None if hit.empty else hit.iloc[0]


def interval_verdict(lo: float, hi: float) -> str:
    """Supported above zero, not supported below zero, otherwise the data cannot tell."""
    return SUPPORTED if lo > 0 else NOT_SUPPORTED if hi < 0 else CANNOT_TELL


LEVEL_STEPS = ("primary", "fitted", "actual")  # shares in the decomposition; every other step is a change


Step = tuple[float, float, float]  # mean, lo, hi in points of two-way share


def decomposition_of(dec: pd.DataFrame, race_id: str, candidate_id: str) -> dict[str, Step]:
    """step -> (mean, lo, hi) of the primary-to-runoff decomposition of race_id in candidate_id's two-way share
    (the table is in the runoff winner's: the opponent's shares are 100 minus them and the changes flip sign);
    {} when the run has no decomposition of the race or the candidate is not a finalist."""
    if dec.empty or "race_id" not in dec:
        return {}
    rows = dec[dec.race_id == race_id]
    if rows.empty or candidate_id not in (*rows.candidate_id, *rows.opponent_id):
        return {}
    winner = rows.candidate_id.iloc[0] == candidate_id
    out = {}
    for r in rows.itertuples():
        m, lo, hi = float(r.mean_pp), float(r.lo_pp), float(r.hi_pp)
        if not winner:
            m, lo, hi = (100 - m, 100 - hi, 100 - lo) if r.step in LEVEL_STEPS else (-m, -hi, -lo)
        out[r.step] = (m, lo, hi)
    return out


def informative(steps: dict[str, Step], step: str) -> bool:
    """Whether the decomposition has the step and fitted share, and the step is not identically zero (a step the
    race's data leave at exactly 0, e.g. no votes-cast figure, says nothing)."""
    return "fitted" in steps and step in steps and steps[step][1:] != (0.0, 0.0)


def step_decided(step: Step, fitted: float, what: str = "step") -> tuple[str, str]:
    """Whether one decomposition step decided a race the candidate is fitted to win (fitted >= 50), and why:
    supported when the step's 90 % interval lies above 0 and the fitted share minus the step falls below 50 %;
    not supported when the interval lies below 0, when the step helped but removing it leaves the candidate at
    50 % or more, or when even the interval's upper end could not take the candidate below 50 %; otherwise the
    data cannot tell."""
    mean, lo, hi = step
    if lo > 0 and fitted - mean < 50:
        return SUPPORTED, f"The {what} step's 90 % interval lies above 0 and without it the fitted share is below 50 %."
    if lo > 0:
        return NOT_SUPPORTED, f"The {what} step helped, but without it the fitted share stays at 50 % or more."
    if hi < 0:
        return NOT_SUPPORTED, f"The {what} step's 90 % interval lies below 0: it worked against the candidate."
    if fitted - hi >= 50:
        return NOT_SUPPORTED, (
            f"Even the upper end of the {what} step's interval ({fmt_pp(hi)}) leaves the fitted share at "
            f"{fmt_pp(fitted - hi)} % without it: it could not have decided the race."
        )
    return CANNOT_TELL, (
        f"The {what} step's 90 % interval includes 0 and reaches far enough to have decided the race: the data "
        "cannot tell."
    )


def step_text(steps: dict[str, Step], step: str, what: str) -> str:
    """'<what> step +x [lo, hi] points (primary p %, fitted f [lo, hi] %, actual a %)' from a decomposition."""
    fitted = steps["fitted"]
    text = f"{what} step {fmt_interval(*steps[step])} points of two-way share"
    text += f" (primary {fmt_pp(steps['primary'][0])} %, " if "primary" in steps else " ("
    text += f"fitted runoff share {fmt_interval(*fitted)} %"
    text += f", actual {fmt_pp(steps['actual'][0])} %)" if "actual" in steps else ")"
    return text


DECOMPOSITION_NOTE = (
    "Steps of the primary-to-runoff decomposition (main model): each is the change between the two rounds, so "
    "money spent before the primary is already in the primary share."
)


def claim_oppose_backfired(claim: dict, ctx: dict) -> ClaimResult:
    """Backfire: removing the attack ads would lower the target's share with P > P_BACKFIRE; not supported either
    where the run decomposes the runoff and the money step (for and against) lowered the target's share."""
    row = cf_row(ctx["cf"], claim["race_id"], claim["candidate_id"])
    if row is None:
        return ClaimResult("the candidate is not in the run's counterfactuals", CANNOT_TELL)
    p = float(row.p_delta_no_negative_ads_negative)
    quantity = (
        f"Without the attack ads {row['name']}'s expected share changes by "
        f"{fmt_interval(row.delta_no_negative_ads, row.delta_no_negative_ads_lo, row.delta_no_negative_ads_hi)} "
        f"points; P(share would be lower) = {fmt_prob(p)} (backfire needs > {P_BACKFIRE})"
    )
    verdict = SUPPORTED if p > P_BACKFIRE else NOT_SUPPORTED if p < 1 - P_BACKFIRE else CANNOT_TELL
    notes: tuple[str, ...] = ()
    steps = decomposition_of(ctx.get("decomposition", pd.DataFrame()), claim["race_id"], claim["candidate_id"])
    if informative(steps, "money"):
        # The money step nets the runoff's change in money for and against: when it lowered the target's share,
        # the money (attacks included) worked as intended on balance, which is no backfire.
        quantity += "; decomposition: " + step_text(steps, "money", "money")
        notes = (DECOMPOSITION_NOTE + " The money step mixes money for and against the candidate.",)
        if steps["money"][2] < 0:
            verdict = NOT_SUPPORTED
            notes = ("The money step's 90 % interval lies below 0: the money lowered the target's share.", *notes)
    used = race_money(ctx["run_rows"], claim["race_id"]).get(claim["candidate_id"], (0.0, 0.0))
    gap = model_gap(ctx["run_rows"], ctx["data"], claim["race_id"])
    if used[1] == 0 and gap is None:
        gap = "the run has no attack-ad money against this candidate in this race"
    return with_gap(ClaimResult(quantity, verdict, notes), gap)


def with_gap(result: ClaimResult, gap: str | None) -> ClaimResult:
    """Downgrade a model-based verdict to 'the data cannot tell' when the run cannot test it."""
    if gap is None:
        return result
    note = f"Data gap: {gap} (the model alone would say: {result.verdict})."
    return ClaimResult(result.quantity, CANNOT_TELL, (*result.notes, note))


def claim_overcame_outspending(claim: dict, ctx: dict) -> ClaimResult:
    """Won although outspent: data ratio > 1, won, and the money worked against the candidate: where the run
    decomposes the runoff, the money step's 90 % interval lies below 0 (above 0: not supported; across 0: cannot
    tell); otherwise equal spending would raise P(first)."""
    race, cand = claim["race_id"], claim["candidate_id"]
    for_usd, against_usd = sides(ctx["data"], race, cand)
    ratio = spend_ratio(for_usd, against_usd)
    quantity = (
        f"Dataset IE against vs for the candidate: {fmt_usd(against_usd)} vs {fmt_usd(for_usd)} ({fmt_ratio(ratio)})"
    )
    notes = []
    if "claimed_ratio" in claim and np.isfinite(ratio):
        agree = 1 / RATIO_AGREES <= ratio / float(claim["claimed_ratio"]) <= RATIO_AGREES
        notes.append(
            f"The press put it at {claim['claimed_ratio']:g} to 1; the dataset {'agrees' if agree else 'differs'}."
        )
    row = cf_row(ctx["cf"], race, cand)
    if row is None or np.isnan(ratio):
        return ClaimResult(quantity, CANNOT_TELL, (*notes, "No model result or no IE figure for this race."))
    p_fit, p_eq = fmt_prob(row.p_first_fitted), fmt_prob(row.p_first_equal_spending)
    quantity += f"; P(most votes) fitted {p_fit}, with equal spending {p_eq}"
    won = race_rows(ctx["data"], race).set_index("candidate_id").get("outcome", pd.Series(dtype=str)).get(cand) == "won"
    steps = decomposition_of(ctx.get("decomposition", pd.DataFrame()), race, cand)
    if informative(steps, "money"):
        # Where the runoff is decomposed, 'despite' is read off the money step: the runoff's change in money
        # must have lowered the winner's expected share.
        quantity += "; decomposition: " + step_text(steps, "money", "money")
        _, lo, hi = steps["money"]
        despite = SUPPORTED if hi < 0 else NOT_SUPPORTED if lo > 0 else CANNOT_TELL
        verdict = despite if won and ratio > 1 else NOT_SUPPORTED
        side = {SUPPORTED: "lies below 0", NOT_SUPPORTED: "lies above 0", CANNOT_TELL: "includes 0"}[despite]
        notes.append(
            f"The money step's 90 % interval {side}: the change in money between the rounds "
            + {SUPPORTED: "lowered", NOT_SUPPORTED: "raised", CANNOT_TELL: "may have raised or lowered"}[despite]
            + " the candidate's expected share."
        )
        notes.append(DECOMPOSITION_NOTE)
        return with_gap(ClaimResult(quantity, verdict, tuple(notes)), model_gap(ctx["run_rows"], ctx["data"], race))
    ok = won and ratio > 1 and row.p_first_equal_spending > row.p_first_fitted
    verdict = SUPPORTED if ok else NOT_SUPPORTED
    return with_gap(ClaimResult(quantity, verdict, tuple(notes)), model_gap(ctx["run_rows"], ctx["data"], race))


def claim_spending_decided(claim: dict, ctx: dict) -> ClaimResult:
    """Spending decided the race. Where the run decomposes the runoff, the money step must have decided it
    (step_decided: interval above 0 and the fitted share without it below 50 %). Otherwise the model has the winner
    ahead as fitted (P(most votes) >= 0.5) and behind with equal spending (< 0.5). A model that has the winner
    behind as fitted cannot say what decided it."""
    row = cf_row(ctx["cf"], claim["race_id"], claim["candidate_id"])
    if row is None:
        return ClaimResult("the candidate is not in the run's counterfactuals", CANNOT_TELL)
    p_eq = float(row.p_first_equal_spending)
    quantity = (
        f"{row['name']}'s P(most votes): fitted {fmt_prob(row.p_first_fitted)}, with equal spending {fmt_prob(p_eq)}"
    )
    steps = decomposition_of(ctx.get("decomposition", pd.DataFrame()), claim["race_id"], claim["candidate_id"])
    if informative(steps, "money"):
        result = decided_by_step(steps, "money", "money", quantity)
    elif row.p_first_fitted < 0.5:
        note = (
            "As fitted, the model gives the actual winner less than an even chance: it does not reproduce this "
            "result, so it cannot say what decided it."
        )
        result = ClaimResult(quantity, CANNOT_TELL, (note,))
    else:
        result = ClaimResult(quantity, SUPPORTED if p_eq < 0.5 else NOT_SUPPORTED)
    return with_gap(result, model_gap(ctx["run_rows"], ctx["data"], claim["race_id"]))


def decided_by_step(steps: dict[str, Step], step: str, what: str, context: str) -> ClaimResult:
    """'<step> decided the race' from the decomposition (step_decided), quoting the step, the fitted share and
    the share without the step; context (the rule's older quantity) follows as a note."""
    fitted = steps["fitted"][0]
    without = fitted - steps[step][0]
    quantity = (
        f"Decomposition: {step_text(steps, step, what)}; without the {what} step the fitted share would be "
        f"{fmt_pp(without)} %"
    )
    notes = [DECOMPOSITION_NOTE, f"Also: {context}."]
    if fitted < 50:
        reason = "As fitted, the model has the actual winner below 50 %: it cannot say what decided the race."
        return ClaimResult(quantity, CANNOT_TELL, (reason, *notes))
    verdict, reason = step_decided(steps[step], fitted, what)
    return ClaimResult(quantity, verdict, (reason, *notes))


def turnout_effect(ctx: dict) -> tuple[pd.Series | None, str]:
    """The main model's turnout x UTLA effect and a sentence quoting it."""
    row = effect_row(ctx["effects"], ctx["main_model"], TURNOUT_EFFECT)
    if row is None:
        return None, "the run has no turnout x UTLA effect"
    text = (
        f"Extra effect of a UTLA endorsement per +10 points of turnout: "
        f"{fmt_interval(row.mean_pp, row.lo_pp, row.hi_pp)} points of share"
    )
    return row, text


def claim_turnout_favours_union(claim: dict, ctx: dict) -> ClaimResult:
    """Higher turnout helps UTLA-endorsed candidates. The on-cycle x UTLA term (known for every race) is the
    test; the turnout x UTLA term (turnout figures of off-cycle races only) is quoted beside it. Supported or
    not only when both intervals agree or the other one cannot tell."""
    row, text = turnout_effect(ctx)
    era = effect_row(ctx["effects"], ctx["main_model"], ONCYCLE_EFFECT)
    if row is None and era is None:
        return ClaimResult(text, CANNOT_TELL)
    parts = (
        []
        if era is None
        else [
            f"Extra effect of a UTLA endorsement in on-cycle (even-year, high-turnout) elections: "
            f"{fmt_interval(era.mean_pp, era.lo_pp, era.hi_pp)} points of share"
        ]
    )
    if row is not None:
        parts.append(text)
    verdicts = {interval_verdict(r.lo_pp, r.hi_pp) for r in (era, row) if r is not None} - {CANNOT_TELL}
    verdict = verdicts.pop() if len(verdicts) == 1 else CANNOT_TELL
    return ClaimResult("; ".join(parts), verdict, (f"{ctx['turnout_rows']}",))


def claim_turnout_decided(claim: dict, ctx: dict) -> ClaimResult:
    """Low turnout decided a race. Where the run decomposes the race, the electorate step must have decided it
    (step_decided); otherwise it needs a turnout figure and a turnout x UTLA interval clear of zero."""
    row, text = turnout_effect(ctx)
    steps = decomposition_of(ctx.get("decomposition", pd.DataFrame()), claim["race_id"], claim["candidate_id"])
    if informative(steps, "electorate"):
        result = decided_by_step(steps, "electorate", "electorate", text)
        note = (
            "The electorate step is the change in votes cast between the rounds acting through the UTLA x "
            "electorate term: it measures the change in turnout, not its level."
        )
        return ClaimResult(result.quantity, result.verdict, (*result.notes, note, ctx["turnout_rows"]))
    if row is None:
        return ClaimResult(text, CANNOT_TELL)
    rows = race_rows(ctx["data"], claim["race_id"])
    notes = [ctx["turnout_rows"]]
    if rows.empty or rows.turnout.isna().all():
        notes.append("This race has no turnout figure in the dataset.")
        return ClaimResult(text, CANNOT_TELL, tuple(notes))
    verdict = interval_verdict(row.lo_pp, row.hi_pp)
    if verdict != CANNOT_TELL:
        utla = bool(rows.set_index("candidate_id").utla.get(claim["candidate_id"], False))
        verdict = SUPPORTED if (verdict == SUPPORTED) != utla else NOT_SUPPORTED
    return ClaimResult(text, verdict, tuple(notes))


def district_cycle_totals(data: pd.DataFrame) -> pd.Series:
    """Total IE (support + oppose, all rounds) per district and year, indexed '<year>-D<district>'."""
    key = data.race_id.str[:4] + "-D" + data.race_id.str.split("-D").str[-1]
    return (data.support_usd + data.oppose_usd).groupby(key).sum()


def claim_spending_record(claim: dict, ctx: dict) -> ClaimResult:
    """Record spending: the claim's district-year total beats every earlier one in the dataset."""
    data, race = ctx["data"], claim["race_id"]
    if data.empty or race_rows(data, race).empty:
        return ClaimResult("the race is not in the dataset", CANNOT_TELL)
    totals = district_cycle_totals(data)
    key = f"{race[:4]}-D{race.split('-D')[-1]}"
    earlier = totals[totals.index.str[:4] < race[:4]]
    by_year = (data.support_usd + data.oppose_usd).groupby(data.race_id.str[:4]).sum()
    year = race[:4]
    prev_years = by_year[by_year.index < year]
    quantity = f"Dataset IE in {key} (all rounds): {fmt_usd(totals[key])}"
    if not earlier.empty:
        quantity += f"; largest earlier district-year: {earlier.idxmax()} {fmt_usd(earlier.max())}"
    quantity += f"; all {year} races: {fmt_usd(by_year[year])}"
    if not prev_years.empty:
        quantity += f" (largest earlier year: {prev_years.idxmax()} {fmt_usd(prev_years.max())})"
    notes = ["Dataset money figures are often lower bounds ('more than $X'), so totals understate spending."]
    if NATIONAL.search(claim.get("text", "")):
        notes.append("The claim compares with elections outside LAUSD, which this dataset does not cover.")
        return ClaimResult(quantity, CANNOT_TELL, tuple(notes))
    if totals[key] == 0:
        notes.append("The dataset has no IE figure for this race.")
        return ClaimResult(quantity, CANNOT_TELL, tuple(notes))
    if earlier.empty or totals[key] > earlier.max():
        return ClaimResult(quantity, SUPPORTED, tuple(notes))
    if district_year_is_lower_bound(data, key):
        # A total built from 'more than $X' or running figures is a floor: it cannot show the record was not set.
        notes.append(f"{key}'s total rests on lower bounds or running totals, so it cannot rule the record out.")
        return ClaimResult(quantity, CANNOT_TELL, tuple(notes))
    return ClaimResult(quantity, NOT_SUPPORTED, tuple(notes))


def district_year_is_lower_bound(data: pd.DataFrame, key: str) -> bool:
    """Whether any money figure behind a district-year total ('<year>-D<district>') is a lower bound."""
    if "money_bounds" not in data:
        return False
    rows = data[(data.race_id.str[:4] + "-D" + data.race_id.str.split("-D").str[-1]) == key]
    bounds = rows.money_bounds.fillna("").astype(str)
    return bool(bounds.str.contains("at_least|running").any())


CLAIM_TESTS = {
    "oppose_backfired": claim_oppose_backfired,
    "overcame_outspending": claim_overcame_outspending,
    "spending_decided": claim_spending_decided,
    "turnout_decided": claim_turnout_decided,
    "turnout_favours_union": claim_turnout_favours_union,
    "spending_record": claim_spending_record,
}


def assess_claim(claim: dict, ctx: dict) -> ClaimResult:
    """Run the claim's `test` against the run; unknown tests cannot tell."""
    test = CLAIM_TESTS.get(claim.get("test", ""))
    if test is None:
        return ClaimResult(f"unknown test kind '{claim.get('test')}'", CANNOT_TELL)
    return test(claim, ctx)


def claims_context(tables: dict[str, pd.DataFrame], data: pd.DataFrame, main_model: str) -> dict:
    """Inputs shared by the claim rules: the run's counterfactuals, effects and model rows, the current clean
    data (the run's rows when it is missing), the name of the main model, and a sentence on turnout coverage."""
    rows = tables["model_rows"]
    n_turnout = rows.dropna(subset=["turnout"]).race_id.nunique() if "turnout" in rows else 0
    return {
        "cf": tables["counterfactuals"],
        "effects": tables["effects"],
        "decomposition": tables.get("decomposition", pd.DataFrame()),
        "run_rows": rows,
        "data": data if not data.empty else rows,
        "main_model": main_model,
        "turnout_rows": f"Only {n_turnout} of {rows.race_id.nunique() if 'race_id' in rows else 0} modelled races "
        "have a turnout figure, so turnout effects are weakly identified.",
    }
