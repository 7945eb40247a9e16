"""`python -m model report`: the latest run as reports/report.md and a self-contained report.html (never refits)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from model import atomic
from model.errors import UserError

MONEY_UNIT_USD = 1000.0  # money enters the models as log(1 + dollars / 1000) (model/features.py)
P_BACKFIRE = 0.9  # a backfire needs P(removing the attack ads lowers the target's share) above this
RATIO_AGREES = 1.5  # a press spending ratio "agrees" with the data when within this factor of it

SUPPORTED, NOT_SUPPORTED, CANNOT_TELL = "supported", "not supported", "the data cannot tell"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, CANNOT_TELL)

MAIN_MODEL = "vote_share_carryover"  # the same name as model.fit.MAIN_MODEL (kept apart: no PyMC import here)
PLUGIN_MODEL = "vote_share_plugin"
TURNOUT_EFFECT = "UTLA endorsement x +10 pts turnout"
ONCYCLE_EFFECT = "UTLA endorsement x on-cycle election"
EFFECT_ORDER = (
    "support IE, doubling",
    "support IE, per $100k",
    "oppose IE, doubling",
    "oppose IE, per $100k",
    "incumbent",
    "UTLA endorsement",
    "CCSA endorsement",
    TURNOUT_EFFECT,
    ONCYCLE_EFFECT,
)
MODEL_LABELS = {
    "vote_share_carryover": "Bayes: vote share, candidates carry over (main)",
    "vote_share_carryover_t": "Bayes: vote share, candidates carry over, Student-t strengths",
    "vote_share_latent": "Bayes: vote share, latent money",
    "vote_share_plugin": "Bayes: vote share, plug-in money",
    "head_to_head": "Bayes: head-to-head",
    "head_to_head_ols_hc3": "OLS head-to-head (HC3)",
    "votes_quasi_poisson_race_fe": "Quasi-Poisson votes, race FE",
    "repeat_candidate_first_difference": "Repeat candidates, first differences",
    "head_to_head_turnout_ols_hc3": "OLS head-to-head with turnout (HC3)",
}
REGRESSION_KEYS = {"support", "oppose", "incumbent", "utla", "ccsa"}
BINARY_EFFECTS = {"incumbent": "incumbent", "utla": "UTLA endorsement", "ccsa": "CCSA endorsement"}
PRIOR_MEANINGS = {
    "beta_support": "support IE for the candidate, per log(1+$k), on the log-odds of vote share",
    "beta_oppose": "attack IE against the candidate, per log(1+$k); above 0 means the attacks backfired",
    "beta_incumbent": "incumbent running, log-odds",
    "beta_utla": "endorsed by the teachers union (UTLA), log-odds",
    "beta_ccsa": "endorsed by the charter schools association (CCSA), log-odds",
    "beta_turnout_utla": "extra UTLA-endorsement effect per 10 points of turnout",
    "beta_turnout_support": "extra support-IE effect per 10 points of turnout",
    "beta_oncycle_utla": "extra UTLA-endorsement effect in on-cycle (even-year, high-turnout) elections from 2020",
    "tau_cycle": "how much the money effects vary between election years",
    "tau_district": "how much the money effects vary between districts",
    "concentration": "how tightly vote shares follow the model (higher = less noise)",
    "sigma_head_to_head": "noise of the head-to-head model (log-odds)",
    "money_log_mu": "typical log IE of a candidate and stance (latent-money model)",
    "money_log_sigma": "spread of log IE between candidates (latent-money model)",
}
FIGURE_CAPTIONS = {
    "rank": "Rank plots: each chain's ranks should look uniform (curves near zero, p above α); black marks a chain "
    "that differs from the others.",
    "trace": "Traces and per-chain densities: the chains should overlap and look like noise.",
    "energy": "Energy plot: the two energy distributions should overlap (E-BFMI at least 0.3).",
    "ppc": "Posterior predictive check: vote shares simulated from the fit against the observed ones.",
    "ppc_race": "Posterior predictive check per race: each race's leading candidate's observed share (dot) against "
    "the model's 90 % predictive interval (bar); red dots are races the model does not reproduce.",
    "loo_pit": "LOO-PIT: close to flat if the model predicts left-out candidates with honest uncertainty.",
    "prior_posterior": "Prior against posterior for each coefficient: how far the data moved each prior.",
    "psense": "Power-scaling sensitivity: how much estimates move when the prior or the likelihood is scaled.",
}
# Columns the report reads from each required run table; a run missing one is rejected with a one-line error.
REQUIRED_COLUMNS = {
    "diagnostics": ("check", "value", "threshold", "passed", "model"),
    "effects": ("model", "effect", "mean_pp", "lo_pp", "hi_pp", "p_positive", "reference_usd"),
    "counterfactuals": ("race_id", "candidate_id", "name", "vote_share", "share_fitted", "p_first_fitted"),
}
NATIONAL = re.compile(r"\b(United States|US history|in the US|nation(al|wide)?)\b", re.IGNORECASE)

CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;padding:0 1.2em;color:#222;
line-height:1.5;background:#fff}
h1,h2,h3{font-family:Helvetica,Arial,sans-serif;color:#1a3550}h1{font-size:1.8em;margin-bottom:.2em}
h2{border-bottom:2px solid #1a3550;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;font-family:Helvetica,Arial,sans-serif;font-size:.82em;margin:.8em 0}
th,td{border:1px solid #ccd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#e8eef5}td:first-child{white-space:nowrap}tr:nth-child(even) td{background:#f7f9fb}
.scroll{overflow-x:auto}figure{margin:1em 0}img{max-width:100%;border:1px solid #dde}
figcaption{font-size:.9em;color:#444;font-style:italic}
.v-supported{color:#11642a;font-weight:bold}.v-not-supported{color:#a01818;font-weight:bold}
.v-cannot-tell{color:#8a5a00;font-weight:bold}.pass{color:#11642a}.fail{color:#a01818;font-weight:bold}
nav{background:#f2f5f8;padding:.5em 1em;border-radius:4px}code{background:#f0f0f0;padding:0 .2em}
"""


# ---------------------------------------------------------------- document blocks


@dataclass(frozen=True)
class Heading:
    """A section heading; anchor is the id used by the table of contents."""

    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Para:
    """A paragraph with inline **bold**, `code` and [links](https://...); css is an optional HTML class."""

    text: str
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    """A bulleted list of inline-marked-up items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figure:
    """A PNG figure with a one-line caption."""

    path: Path
    caption: str


Block = Heading | Para | Bullets | Table | Figure


@dataclass(frozen=True)
class Run:
    """One fit's outputs as read from runs/<run-id>/."""

    path: Path
    manifest: dict
    tables: dict[str, pd.DataFrame]


@dataclass(frozen=True)
class ClaimResult:
    """What the run says about one press claim."""

    quantity: str
    verdict: str
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- formatting


def fmt_pp(x: float) -> str:
    """Points of vote share to 1 decimal, or an em dash when missing."""
    return "—" if x is None or not np.isfinite(x) else f"{x:.1f}"


def fmt_interval(mean: float, lo: float, hi: float) -> str:
    """'mean [lo, hi]' in points to 1 decimal."""
    if mean is None or not np.isfinite(mean):
        return "—"
    return f"{fmt_pp(mean)} [{fmt_pp(lo)}, {fmt_pp(hi)}]"


def fmt_prob(p: float) -> str:
    """A probability to 2 decimals."""
    return "—" if p is None or not np.isfinite(p) else f"{p:.2f}"


def fmt_usd(x: float) -> str:
    """Dollars as $1.2M, $65k or $950."""
    if x is None or not np.isfinite(x):
        return "—"
    if abs(x) >= 1e6:
        return f"${x / 1e6:.1f}M"
    if abs(x) >= 1e4:
        return f"${x / 1e3:.0f}k"
    return f"${x:,.0f}"


def fmt_ratio(r: float) -> str:
    """A spending ratio 'N to 1'."""
    if np.isnan(r):
        return "no IE on either side"
    if np.isinf(r):
        return "all recorded IE on one side"
    return f"{r:.0f} to 1" if r >= 10 else f"{r:.1f} to 1"


def verdict_class(text: str) -> str:
    """CSS class for a verdict cell, or '' for other text."""
    return {SUPPORTED: "v-supported", NOT_SUPPORTED: "v-not-supported", CANNOT_TELL: "v-cannot-tell"}.get(text, "")


# ---------------------------------------------------------------- reading inputs


def latest_run_dir(runs: Path) -> Path:
    """The run directory named by <runs>/LATEST; UserError when there is none."""
    latest = Path(runs) / "LATEST"
    if not latest.is_file():
        raise UserError(f"no run found: {latest} does not exist; run `make fit` first")
    run_id = latest.read_text(encoding="utf-8").strip()
    run_dir = Path(runs) / run_id
    if not run_id or not (run_dir / "manifest.json").is_file():
        raise UserError(f"no run found: {latest} names '{run_id}' but {run_dir}/manifest.json is missing")
    return run_dir


def read_csv_if(path: Path) -> pd.DataFrame:
    """A CSV as a frame, or an empty frame when the file is missing."""
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def load_run(run_dir: Path) -> Run:
    """Manifest and tables of a run; diagnostics, effects and counterfactuals are required."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    names = ("diagnostics", "effects", "counterfactuals", "coefficients-regression", "coefficients-bayes")
    extra = ("win_probability", "model_rows", "effects-by-prior", "loco-summary", "money-evidence")
    tables = {n: read_csv_if(run_dir / f"{n}.csv") for n in (*names, *extra)}
    for n, columns in REQUIRED_COLUMNS.items():
        if tables[n].empty:
            raise UserError(f"incomplete run: {run_dir / (n + '.csv')} is missing or empty")
        missing = [c for c in columns if c not in tables[n]]
        if missing:
            raise UserError(f"incomplete run: {run_dir / (n + '.csv')} lacks column(s) {', '.join(missing)}")
    return Run(run_dir, manifest, tables)


def other_runs(runs: Path, current: Run) -> list[Run]:
    """The newest run of every other priors preset in runs/ (by manifest time), for the prior comparison."""
    newest: dict[str, tuple[float, Path]] = {}
    for m in Path(runs).glob("*/manifest.json"):
        if m.parent == current.path:
            continue
        preset = json.loads(m.read_text(encoding="utf-8")).get("priors_preset", "?")
        if preset != current.manifest.get("priors_preset") and m.stat().st_mtime > newest.get(preset, (0, m))[0]:
            newest[preset] = (m.stat().st_mtime, m.parent)
    found = []
    for _, path in sorted(newest.values(), key=lambda t: str(t[1])):
        try:
            found.append(load_run(path))
        except (UserError, ValueError, OSError):
            continue  # an unfinished or broken run of another preset is simply not compared
    return found


def parse_markdown_table(text: str) -> tuple[Table | None, list[str]]:
    """The first pipe table of a Markdown text, and its other non-empty lines (without headings)."""
    rows, other = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = tuple(c.strip() for c in line.strip().strip("|").split("|"))
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
        elif line.strip() and not line.startswith("#"):
            other.append(line.strip())
    return (Table(rows[0], tuple(rows[1:])) if rows else None), other


def load_claims(path: Path) -> list[dict]:
    """The [[claim]] entries of analysis/claims.toml (empty when the file is missing)."""
    if not path.is_file():
        return []
    with path.open("rb") as f:
        return list(tomllib.load(f).get("claim", []))


# ---------------------------------------------------------------- effects


def money_steps(reference_usd: float) -> dict[str, float]:
    """Change in log(1+$k) for doubling reference_usd and for adding $100k to it."""
    x0 = np.log1p(reference_usd / MONEY_UNIT_USD)
    return {
        "doubling": float(np.log1p(2 * reference_usd / MONEY_UNIT_USD) - x0),
        "per $100k": float(np.log1p((reference_usd + 100_000) / MONEY_UNIT_USD) - x0),
    }


def logit_to_points(b: float, dx: float = 1.0) -> float:
    """Points of vote share for a candidate at 50 % of a two-way race when the log-odds move by b * dx."""
    return float(100 * (expit(b * dx) - 0.5))


def regression_key(term: str) -> str | None:
    """'support', 'oppose', 'incumbent', 'utla' or 'ccsa' for a regression term name, else None."""
    key = term
    for prefix in ("delta_", "d_", "log_"):
        key = key.removeprefix(prefix)
    return key if key in REGRESSION_KEYS else None


def regression_effects(coefs: pd.DataFrame, reference_usd: float) -> pd.DataFrame:
    """Regression coefficients (logit / log scale per log(1+$k)) as points of share, like effects.csv.

    For the quasi-Poisson votes model a log-votes change b*dx against an unchanged rival is the same share
    change as a log-odds change b*dx, so one conversion serves all estimators."""
    rows = []
    for r in coefs.dropna(subset=["coef"]).itertuples():
        key = regression_key(str(r.term))
        if key in ("support", "oppose"):
            for label, dx in money_steps(reference_usd).items():
                pts = [logit_to_points(b, dx) for b in (r.coef, r.lo90, r.hi90)]
                rows.append((r.model, f"{key} IE, {label}", *pts))
        elif key in BINARY_EFFECTS:
            rows.append((r.model, BINARY_EFFECTS[key], *(logit_to_points(b) for b in (r.coef, r.lo90, r.hi90))))
    return pd.DataFrame(rows, columns=["model", "effect", "mean_pp", "lo_pp", "hi_pp"])


def effects_table(frames: pd.DataFrame, models: list[str]) -> Table:
    """Effects (rows) by model (columns) as 'mean [lo, hi]' points."""
    rows = []
    for effect in EFFECT_ORDER:
        cells = []
        for m in models:
            hit = frames[(frames.model == m) & (frames.effect == effect)]
            cells.append("—" if hit.empty else fmt_interval(*hit[["mean_pp", "lo_pp", "hi_pp"]].iloc[0]))
        rows.append((effect, *cells))
    return Table(("effect (points of share)", *(MODEL_LABELS.get(m, m) for m in models)), tuple(rows))


def effect_row(effects: pd.DataFrame, model: str, effect: str) -> pd.Series | None:
    """One row of effects.csv, or None."""
    hit = effects[(effects.model == model) & (effects.effect == effect)]
    return None if hit.empty else hit.iloc[0]


def latent_vs_plugin(effects: pd.DataFrame) -> list[str]:
    """Sentences comparing the latent-money and plug-in estimates, effect by effect."""
    items = []
    for effect in EFFECT_ORDER:
        a, b = effect_row(effects, MAIN_MODEL, effect), effect_row(effects, PLUGIN_MODEL, effect)
        if a is None or b is None or "per $100k" in effect:
            continue
        line = (
            f"{effect[0].upper() + effect[1:]}: {fmt_pp(a.mean_pp)} points with latent money vs "
            f"{fmt_pp(b.mean_pp)} with plug-in money (intervals {fmt_pp(a.hi_pp - a.lo_pp)} vs "
            f"{fmt_pp(b.hi_pp - b.lo_pp)} points wide)"
        )
        clear_a, clear_b = a.lo_pp > 0 or a.hi_pp < 0, b.lo_pp > 0 or b.hi_pp < 0
        if clear_a != clear_b:
            line += f"; only the {'latent' if clear_a else 'plug-in'} model's interval excludes zero"
        items.append(line + ".")
    return items


# ---------------------------------------------------------------- race data and claims


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
    hit = cf[(cf.race_id == race_id) & (cf.candidate_id == candidate_id)]
    return None if hit.empty else hit.iloc[0]


def interval_verdict(lo: float, hi: float) -> str:
    """Supported above zero, not supported below zero, otherwise the data cannot tell."""
    return SUPPORTED if lo > 0 else NOT_SUPPORTED if hi < 0 else CANNOT_TELL


def claim_oppose_backfired(claim: dict, ctx: dict) -> ClaimResult:
    """Backfire: removing the attack ads would lower the target's share with P > P_BACKFIRE."""
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
    used = race_money(ctx["run_rows"], claim["race_id"]).get(claim["candidate_id"], (0.0, 0.0))
    gap = model_gap(ctx["run_rows"], ctx["data"], claim["race_id"])
    if used[1] == 0 and gap is None:
        gap = "the run has no attack-ad money against this candidate in this race"
    return with_gap(ClaimResult(quantity, verdict), gap)


def with_gap(result: ClaimResult, gap: str | None) -> ClaimResult:
    """Downgrade a model-based verdict to 'the data cannot tell' when the run cannot test it."""
    if gap is None:
        return result
    note = f"Data gap: {gap} (the model alone would say: {result.verdict})."
    return ClaimResult(result.quantity, CANNOT_TELL, (*result.notes, note))


def claim_overcame_outspending(claim: dict, ctx: dict) -> ClaimResult:
    """Won although outspent: data ratio > 1, won, and equal spending would raise P(first)."""
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
    ok = won and ratio > 1 and row.p_first_equal_spending > row.p_first_fitted
    verdict = SUPPORTED if ok else NOT_SUPPORTED
    return with_gap(ClaimResult(quantity, verdict, tuple(notes)), model_gap(ctx["run_rows"], ctx["data"], race))


def claim_spending_decided(claim: dict, ctx: dict) -> ClaimResult:
    """Spending decided the race: the model has the winner ahead as fitted (P(most votes) >= 0.5) and behind
    with equal spending (< 0.5). A model that has the winner behind as fitted cannot say what decided it."""
    row = cf_row(ctx["cf"], claim["race_id"], claim["candidate_id"])
    if row is None:
        return ClaimResult("the candidate is not in the run's counterfactuals", CANNOT_TELL)
    p_eq = float(row.p_first_equal_spending)
    quantity = (
        f"{row['name']}'s P(most votes): fitted {fmt_prob(row.p_first_fitted)}, with equal spending {fmt_prob(p_eq)}"
    )
    if row.p_first_fitted < 0.5:
        note = (
            "As fitted, the model gives the actual winner less than an even chance: it does not reproduce this "
            "result, so it cannot say what decided it."
        )
        result = ClaimResult(quantity, CANNOT_TELL, (note,))
    else:
        result = ClaimResult(quantity, SUPPORTED if p_eq < 0.5 else NOT_SUPPORTED)
    return with_gap(result, model_gap(ctx["run_rows"], ctx["data"], claim["race_id"]))


def turnout_effect(ctx: dict) -> tuple[pd.Series | None, str]:
    """The main model's turnout x UTLA effect and a sentence quoting it."""
    row = effect_row(ctx["effects"], MAIN_MODEL, TURNOUT_EFFECT)
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
    era = effect_row(ctx["effects"], MAIN_MODEL, ONCYCLE_EFFECT)
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
    """Low turnout decided a race: needs a turnout figure and a turnout x UTLA interval clear of zero."""
    row, text = turnout_effect(ctx)
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


# ---------------------------------------------------------------- sections


def section_data(root: Path, run: Run, data: pd.DataFrame) -> list[Block]:
    """1 Data: the coverage table and the races resting on preliminary counts."""
    blocks: list[Block] = [Heading(2, "1 Data", "data")]
    path = root / "data" / "COVERAGE.md"
    if not path.is_file():
        return [*blocks, Para(f"`{path}` not found: run `make data` to build the coverage table.")]
    table, lines = parse_markdown_table(path.read_text(encoding="utf-8"))
    blocks += [Para(line) for line in lines if not line.startswith("Generated by")]
    if table is not None:
        blocks.append(Table(table.header, table.rows))
        status = table.header.index("count status") if "count status" in table.header else None
        prelim = [r[0] for r in table.rows if status is not None and r[status] == "preliminary"]
        modelled = set(run.tables["model_rows"].get("race_id", pd.Series(dtype=str)))
        used = [r for r in prelim if r in modelled]
        blocks.append(
            Para(
                f"**Preliminary counts.** {len(prelim)} race-rounds rest on preliminary (election-night or early) "
                f"counts: {', '.join(prelim) or 'none'}. Of these, {len(used)} are in the models: "
                f"{', '.join(used) or 'none'}. Their shares may move slightly when the count is certified."
            )
        )
    blocks += stale_warning(run, data)
    return blocks


def stale_warning(run: Run, data: pd.DataFrame) -> list[Block]:
    """A paragraph naming candidate rows whose money changed in data/clean since the run, if any."""
    rows = run.tables["model_rows"]
    if rows.empty or data.empty:
        return []
    m = rows.merge(data, on=["race_id", "candidate_id"], suffixes=("_run", "_now"))
    cols = ["support_usd", "oppose_usd"]
    changed = m[~np.isclose(m[[c + "_run" for c in cols]].to_numpy(), m[[c + "_now" for c in cols]].to_numpy()).all(1)]
    if changed.empty:
        return [Para("The run used the same money figures as the current `data/clean/candidate_races.csv`.")]
    items = tuple(
        f"{r.race_id} {r.candidate_id}: support {fmt_usd(r.support_usd_run)} → {fmt_usd(r.support_usd_now)}, "
        f"oppose {fmt_usd(r.oppose_usd_run)} → {fmt_usd(r.oppose_usd_now)}"
        for r in changed.itertuples()
    )
    return [
        Para(
            f"**The run predates data fixes.** {len(changed)} candidate rows have different money figures in the "
            "current dataset than in the run; run `make fit` to refit. Claims about these races are marked "
            "'the data cannot tell' until then."
        ),
        Bullets(items),
    ]


def section_models(run: Run) -> list[Block]:
    """2 Models in plain words, with the priors actually used."""
    m = run.manifest
    sampler = m.get("sampler", {})
    prior_rows = tuple(
        (
            name,
            spec.get("dist", "?"),
            ", ".join(f"{k}={v:g}" for k, v in spec.items() if k != "dist"),
            PRIOR_MEANINGS.get(name, ""),
        )
        for name, spec in sorted(m.get("priors", {}).items())
    )
    wall = ", ".join(f"{k} {v:g} s" for k, v in m.get("wall_seconds", {}).items())
    packages = ", ".join(f"{k} {v}" for k, v in sorted(m.get("packages", {}).items()))
    return [
        Heading(2, "2 Models in plain words", "models"),
        Bullets(
            (
                "**vote_share_latent (main model).** Each race splits 100 % of the vote among its candidates. "
                "A candidate's pull is a sum of effects (money spent for and against them, incumbency, "
                "endorsements, turnout) and the shares follow from those pulls, with Dirichlet noise. Money is "
                "treated as an unknown quantity that must agree with the reported figures (many of which are "
                "'at least' amounts), so uncertainty about the money flows into the effects.",
                "**vote_share_plugin.** The same model with the reported dollar figures taken at face value.",
                "**head_to_head.** For two-candidate contests: the log-odds of candidate A's two-way share against "
                "the differences A minus B in money, incumbency and endorsements. Directly comparable with the "
                "classical least-squares (OLS) regression beside it.",
                "**Classical baselines (statsmodels).** OLS on the same head-to-head data with robust (HC3) "
                "standard errors; a quasi-Poisson model of vote counts with one intercept per race; "
                "first differences for candidates who ran more than once (removes any stable candidate quality).",
            )
        ),
        Para(
            "Money enters every model as log(1 + dollars/1000), so equal proportional increases have equal effects. "
            "Effects are reported in percentage points of vote share for a candidate at 50 % of a two-way race."
        ),
        Heading(3, f"Priors used (preset `{m.get('priors_preset', '?')}`)"),
        Table(("parameter", "distribution", "parameters", "meaning"), prior_rows),
        Para(
            f"Sampler: {sampler.get('sampler', '?')}, {sampler.get('chains', '?')} chains × "
            f"{sampler.get('draws', '?')} draws after {sampler.get('tune', '?')} tuning steps, target acceptance "
            f"{sampler.get('target_accept', '?')}; seed {m.get('seed', '?')}. Wall time: {wall or '?'}. "
            f"Run `{m.get('run_id', run.path.name)}`, git commit `{str(m.get('git_commit', '?'))[:12]}`, "
            f"data hash `{m.get('data_hash', '?')}`. Packages: {packages or '?'}; requirements.lock "
            f"`{m.get('lock_sha256', '?')}` ({'matched' if m.get('lock_matches') else 'NOT matched'} by the install)."
        ),
    ]


def check_status(value: float, threshold: str, passed: bool) -> str:
    """'pass', 'FAIL', or 'above threshold (not gated)' for a diagnostic shown but not gated."""
    if not passed:
        return "FAIL"
    match = re.match(r"\s*([<>]=)\s*([-\d.eE+]+)", str(threshold))
    if match and np.isfinite(value):
        bound = float(match.group(2))
        meets = value <= bound if match.group(1) == "<=" else value >= bound
        if not meets:
            return "above threshold (not gated)"
    return "pass"


def fmt_value(value: float) -> str:
    """A diagnostic value: integers plainly, small numbers to 3 decimals, large ones to whole numbers."""
    if not np.isfinite(value):
        return "—"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3f}"


def section_diagnostics(run: Run) -> list[Block]:
    """3 Diagnostics: one row per check, one column per model."""
    d = run.tables["diagnostics"]
    models = list(dict.fromkeys(d.model))
    rows = []
    for check in dict.fromkeys(d.check):
        sub = d[d.check == check].set_index("model")
        cells = []
        for m in models:
            if m not in sub.index:
                cells.append("—")
                continue
            r = sub.loc[m]
            cells.append(f"{fmt_value(float(r.value))} {check_status(float(r.value), r.threshold, bool(r.passed))}")
        rows.append((check, str(sub.threshold.iloc[0]), *cells))
    verdict = "passed" if run.manifest.get("diagnostics_passed") else "FAILED"
    by_model = ", ".join(f"{m}: {'pass' if d[d.model == m].passed.all() else 'FAIL'}" for m in models)
    return [
        Heading(2, "3 Diagnostics", "diagnostics"),
        Para(
            f"The sampler checks decide whether the posterior can be trusted: every gated check **{verdict}** "
            f"({by_model}). R-hat compares chains (≤ 1.01, Vehtari et al. 2021); ESS is the effective number of "
            "independent draws; divergences flag regions the sampler could not explore; E-BFMI flags poor "
            "exploration of the tails. Pareto k above 0.7 means leave-one-out predictions are unreliable for some "
            "candidates; it is shown, not gated."
        ),
        Table(("check", "threshold", *models), tuple(rows)),
    ]


def section_calibration(runs: Path, run: Run, root: Path) -> list[Block]:
    """3b Calibration: the latest `make sbc` results (not part of a fit), and whether they match this run's code."""
    blocks: list[Block] = [Heading(2, "3b Calibration (simulation-based)", "calibration")]
    table = read_csv_if(runs / "sbc-uniformity.csv")
    if table.empty:
        return [
            *blocks,
            Para(
                "No calibration results yet: `make sbc` simulates data from each model's priors, "
                "refits, and checks that the true values sit uniformly within the posteriors."
            ),
        ]
    record_path = runs / "sbc-manifest.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    same = record.get("model_code_hash") == run.manifest.get("model_code_hash") and record.get(
        "data_hash"
    ) == run.manifest.get("data_hash")
    provenance = (
        f"From `make sbc` on {record.get('date_utc', 'an unknown date')} "
        f"({record.get('sims', '?')} simulations per model, default priors), "
        + (
            "with the same model code and data as this run."
            if same
            else "with **different model code or data than this run**: rerun `make sbc` to check the current models."
        )
    )
    bad = table[~table.inside_band.astype(bool)]
    verdict = (
        "Every parameter's rank ECDF stays inside its 95 % simultaneous band: no sign of miscalibration."
        if bad.empty
        else f"Outside the band: {', '.join(f'{r.model} {r.parameter}' for r in bad.itertuples())}."
    )
    blocks.append(
        Para(
            "Simulation-based calibration draws parameters from the priors, simulates elections from them, refits "
            "and ranks each true value among its posterior draws; a model that computes honest posteriors gives "
            f"uniform ranks. {provenance} {verdict}"
        )
    )
    rows = tuple(
        (
            r.model,
            r.parameter,
            str(int(r.n_sims)),
            f"{r.p_chisq:.3f}",
            f"{r.p_ecdf:.3f}",
            "yes" if r.inside_band else "**no**",
            str(int(r.divergent_fits)),
        )
        for r in table.itertuples()
    )
    blocks.append(Table(("model", "parameter", "sims", "χ² p", "ECDF p", "inside band", "fits with divergences"), rows))
    for model in dict.fromkeys(table.model):
        png = root / "figures" / f"sbc-{model}.png"
        if png.is_file():
            blocks.append(Figure(png, f"{model} — SBC rank ECDF minus uniform, with the 95 % simultaneous band."))
    return blocks


def section_effects(run: Run) -> list[Block]:
    """4 Effects: Bayesian and regression estimates side by side in points of share."""
    eff = run.tables["effects"]
    ref = float(eff.reference_usd.iloc[0]) if "reference_usd" in eff else 100_000.0
    coefs = run.tables["coefficients-regression"]
    reg = regression_effects(coefs, ref) if not coefs.empty else pd.DataFrame(columns=eff.columns)
    both = pd.concat([eff, reg], ignore_index=True)
    models = list(dict.fromkeys(both.model))
    blocks: list[Block] = [
        Heading(2, "4 Effects", "effects"),
        Para(
            f"All effects are percentage points of vote share for a candidate at 50 % of a two-way race, with 90 % "
            f"intervals in brackets. Money effects are for doubling the independent expenditure from "
            f"{fmt_usd(ref)} (the median support IE of candidates who had any) and for adding $100k to it. "
            "Regression coefficients (log-odds or log-votes per log(1+$k)) are converted the same way: "
            "100 × (expit(b × Δx) − 0.5), with Δx the change in log(1+$k)."
        ),
        effects_table(both, models),
    ]
    blocks += effects_reading(eff)
    notes = coefs[coefs.get("term", pd.Series(dtype=str)) == "(not estimable)"] if not coefs.empty else coefs
    for r in notes.itertuples():
        blocks.append(Para(f"{MODEL_LABELS.get(r.model, r.model)}: {r.note}."))
    blocks.append(Figure(run.path / "figures" / "effects.png", "Effects of each model with 90 % intervals."))
    blocks += win_probability_blocks(run)
    blocks.append(Heading(3, "Latent money against plug-in money"))
    comparison = latent_vs_plugin(eff)
    blocks.append(
        Para(
            "The latent-money model treats each reported dollar figure as a measurement (often a lower bound, "
            "'more than $X') of an unknown true amount; the plug-in model takes the reported figure as exact. "
            "Differences between the two show how much the conclusions depend on trusting incomplete money figures."
            if comparison
            else "The run has no plug-in model to compare with."
        )
    )
    if comparison:
        blocks.append(Bullets(tuple(comparison)))
    return blocks


def effects_reading(eff: pd.DataFrame) -> list[Block]:
    """Plain-language sentences on the main model's effects."""
    items = []
    for effect, what in (
        ("support IE, doubling", "Doubling the money spent **for** a candidate"),
        ("oppose IE, doubling", "Doubling the money spent **against** a candidate (negative ads)"),
        ("incumbent", "Being the incumbent"),
        ("UTLA endorsement", "A teachers-union (UTLA) endorsement"),
        ("CCSA endorsement", "A charter-association (CCSA) endorsement"),
        (TURNOUT_EFFECT, "Each +10 points of turnout for a UTLA-endorsed candidate (off-cycle races)"),
        (ONCYCLE_EFFECT, "A UTLA endorsement in an on-cycle (even-year, high-turnout) election, beyond off-cycle"),
    ):
        r = effect_row(eff, MAIN_MODEL, effect)
        if r is None:
            continue
        items.append(
            f"{what}: {fmt_interval(r.mean_pp, r.lo_pp, r.hi_pp)} points; P(effect > 0) = {fmt_prob(r.p_positive)}."
        )
    if not items:
        return []
    note = "For negative ads, a positive effect would mean they helped their target (backfired)."
    return [Para("**Reading the main model.**"), Bullets(tuple(items)), Para(note)]


def win_probability_blocks(run: Run) -> list[Block]:
    """The P(win) figure and a small table at round spending ratios."""
    blocks: list[Block] = [Heading(3, "Chance of winning by spending ratio")]
    wp = run.tables["win_probability"]
    if not wp.empty:
        rows = []
        for target in (0.25, 0.5, 1.0, 2.0, 4.0):
            r = wp.iloc[int(np.argmin(np.abs(np.log(wp.ratio / target))))]
            rows.append((f"{r.ratio:.2g}", fmt_interval(100 * r.p_win_mean, 100 * r.p_win_lo, 100 * r.p_win_hi)))
        blocks.append(Table(("support IE ratio (candidate / opponent)", "P(win) in % [90 % interval]"), tuple(rows)))
    blocks.append(
        Figure(run.path / "figures" / "win_probability.png", "P(win) of an otherwise even two-way race by IE ratio.")
    )
    return blocks


def top_two(cf: pd.DataFrame) -> pd.DataFrame:
    """The two candidates with the highest actual (else fitted) share in each race, races in date order."""
    key = cf.vote_share.fillna(cf.share_fitted / 100) if "vote_share" in cf else cf.share_fitted
    ranked = cf.assign(_key=key).sort_values(["race_id", "_key"], ascending=[True, False])
    return ranked.groupby("race_id", sort=True).head(2).drop(columns="_key")


def section_counterfactuals(run: Run, data: pd.DataFrame) -> list[Block]:
    """5 Per-race counterfactuals for the top two candidates."""
    cf = top_two(run.tables["counterfactuals"])
    status = {}
    for frame in (run.tables["model_rows"], data):
        if "count_status" in frame:
            status.update(dict(zip(frame.race_id, frame.count_status, strict=False)))
    rows = []
    for r in cf.itertuples():
        mark = " †" if status.get(r.race_id) == "preliminary" else ""
        rows.append(
            (
                r.race_id + mark,
                r.name,
                str(getattr(r, "outcome", "")),
                fmt_pp(100 * r.vote_share),
                fmt_interval(r.share_fitted, r.share_fitted_lo, r.share_fitted_hi),
                fmt_interval(r.share_equal_spending, r.share_equal_spending_lo, r.share_equal_spending_hi),
                fmt_interval(r.share_no_negative_ads, r.share_no_negative_ads_lo, r.share_no_negative_ads_hi),
                " / ".join(
                    fmt_prob(p) for p in (r.p_first_fitted, r.p_first_equal_spending, r.p_first_no_negative_ads)
                ),
            )
        )
    header = (
        "race",
        "candidate",
        "result",
        "actual %",
        "fitted %",
        "equal spending %",
        "no negative ads %",
        "P(most votes): fitted / equal / no neg.",
    )
    return [
        Heading(2, "5 What if: per-race counterfactuals", "counterfactuals"),
        Para(
            "For the two leading candidates of each modelled race (main model): the actual share, the share the model "
            "expects as fitted, with equal spending (every candidate of the race gets the race's average support and "
            "opposition money), and with no negative ads (opposition IE set to zero), each with a 90 % interval; "
            "and the probability of getting the most votes under each scenario. † = preliminary count."
        ),
        Table(header, tuple(rows)),
    ]


def section_skill(run: Run) -> list[Block]:
    """5b Out-of-sample skill: leave-one-cycle-out scores of the models against simple baselines."""
    loco = run.tables.get("loco-summary", pd.DataFrame())
    blocks: list[Block] = [Heading(2, "5b Out-of-sample skill: predicting a cycle the model has not seen", "skill")]
    if loco.empty:
        return [*blocks, Para("This run has no leave-one-cycle-out evaluation.")]
    blocks.append(
        Para(
            "Each election year in turn is held out; the models are fitted on the other years and predict who "
            "finishes first in each held-out race. Log score: mean log probability given to the actual "
            "winner (higher is better; a coin flip between two is -0.69). Brier: mean squared error of the "
            "winning probabilities over a race's candidates (lower is better). A baseline that names a winner "
            "gives it 90 %; where it names none (no incumbent running, no money, no primary) it splits evenly."
        )
    )
    rows = tuple(
        (
            r.scope,
            r.model,
            str(int(r.races)),
            f"{r.log_score:.2f}",
            f"{r.brier:.2f}",
            f"{100 * r.accuracy:.0f} %",
        )
        for r in loco.itertuples()
    )
    blocks.append(Table(("races", "model", "n", "log score", "Brier", "winner right"), rows))
    main = loco[(loco.scope == "all races")].set_index("model")
    models = [m for m in (MAIN_MODEL, PLUGIN_MODEL, "head_to_head") if m in main.index]
    base = main.drop(index=models)
    if models and not base.empty:
        best = base.log_score.idxmax()
        top = base.log_score.max()
        sentences = [
            f"{MODEL_LABELS.get(m, m)} {'beats' if main.loc[m, 'log_score'] > top else 'does not beat'} it "
            f"({main.loc[m, 'log_score']:.2f})"
            for m in models
        ]
        blocks.append(
            Para(
                f"On all races the best baseline is '{best}' (log score {top:.2f}): "
                + "; ".join(sentences)
                + f". With {int(main.races.max())} races a difference of 0.05 in log score is within noise."
            )
        )
    return blocks


def section_priors(run: Run, others: list[Run]) -> list[Block]:
    """6 How conclusions move under each prior preset."""
    preset = run.manifest.get("priors_preset", "?")
    blocks: list[Block] = [Heading(2, "6 How conclusions move under each prior preset", "priors")]
    sweep = run.tables.get("effects-by-prior", pd.DataFrame())
    if not sweep.empty:
        presets = list(dict.fromkeys(sweep.priors))
        blocks.append(
            Para(
                f"The main model refitted under each prior preset in this run ('this run' = `{preset}`, full "
                "settings; the other presets with fewer draws). If the columns agree, the data, not the priors, "
                "drive the conclusions."
            )
        )
        blocks.append(effects_table(sweep.drop(columns="model").rename(columns={"priors": "model"}), presets))
    elif others:
        frames = [run.tables["effects"].query("model == @MAIN_MODEL").assign(model=preset)]
        frames += [
            o.tables["effects"].query("model == @MAIN_MODEL").assign(model=o.manifest["priors_preset"]) for o in others
        ]
        presets = [preset, *(o.manifest["priors_preset"] for o in others)]
        blocks.append(
            Para(f"Main-model effects under each preset that has a run in the runs folder ({', '.join(presets)}).")
        )
        blocks.append(effects_table(pd.concat(frames, ignore_index=True), presets))
        differ = [
            o.manifest["priors_preset"] for o in others if o.manifest.get("data_hash") != run.manifest.get("data_hash")
        ]
        if differ:
            blocks.append(Para(f"Caution: the runs for {', '.join(differ)} were fitted on different data."))
    else:
        blocks.append(
            Para(
                f"Only the `{preset}` preset has a run. To see how the conclusions move, run "
                "`make fit PRIORS=skeptical` (and `make fit PRIORS=literature`), then `make report` again."
            )
        )
    blocks.append(
        Para(
            "Prior predictive checks: what each preset believes before seeing any vote (left: the leading candidate's "
            "share against the observed ones; right: the implied effect of doubling support IE)."
        )
    )
    for png in sorted((run.path / "figures").glob("prior_predictive-*.png")):
        name = png.stem.removeprefix("prior_predictive-")
        blocks.append(Figure(png, f"Prior predictive check of the `{name}` preset."))
    return blocks


def claims_context(run: Run, data: pd.DataFrame) -> dict:
    """Inputs shared by the claim tests."""
    rows = run.tables["model_rows"]
    n_turnout = rows.dropna(subset=["turnout"]).race_id.nunique() if "turnout" in rows else 0
    return {
        "cf": run.tables["counterfactuals"],
        "effects": run.tables["effects"],
        "run_rows": rows,
        "data": data if not data.empty else rows,
        "turnout_rows": f"Only {n_turnout} of {rows.race_id.nunique() if 'race_id' in rows else 0} modelled races "
        "have a turnout figure, so turnout effects are weakly identified.",
    }


def section_claims(run: Run, claims: list[dict], data: pd.DataFrame) -> list[Block]:
    """7 Press claims, each with the quantity that tests it and a verdict."""
    blocks: list[Block] = [
        Heading(2, "7 Press claims", "claims"),
        Para(
            "Each claim from `analysis/claims.toml` is tested against the run. Verdicts: **supported**, **not "
            "supported**, or **the data cannot tell** (the interval includes zero, or the dataset is missing the "
            "money the claim is about). A backfire needs P > 0.9 that removing the attack ads would lower the "
            "target's share; 'spending decided' needs the model to have the winner ahead as fitted and behind "
            "with equal spending."
        ),
    ]
    if not claims:
        return [*blocks, Para("No claims file found (analysis/claims.toml).")]
    ctx = claims_context(run, data)
    results = [(c, assess_claim(c, ctx)) for c in claims]
    blocks.append(
        Table(
            ("claim", "race", "test", "verdict"),
            tuple((c["id"], c.get("race_id") or "all races", c.get("test", "?"), r.verdict) for c, r in results),
        )
    )
    for c, r in results:
        source = f"[{c.get('source_publisher', 'source')}, {c.get('source_date', '')}]({c.get('source_url', '')})"
        blocks += [
            Heading(3, c["id"]),
            Para(f"**Claim:** {c.get('text', '')}"),
            Para(f"**Race:** {c.get('race_id') or 'all races'} · **Source:** {source} · **Test:** `{c.get('test')}`"),
            Para(f"**What the run says:** {r.quantity}."),
            Para(f"**Verdict: {r.verdict}.**", verdict_class(r.verdict)),
        ]
        if c.get("race_id"):
            blocks.append(
                Para(f"Money in the dataset now: {money_line(ctx['data'], c['race_id']) or 'none recorded'}.")
            )
        blocks += [Para(n) for n in r.notes]
        if c.get("checked_facts"):
            blocks.append(
                Para(f"*Checked facts (as recorded in claims.toml, may predate data fixes):* {c['checked_facts']}")
            )
    return blocks


def section_limitations(run: Run, data: pd.DataFrame) -> list[Block]:
    """8 Limitations, with the counts that make them concrete."""
    rows = run.tables["model_rows"] if not run.tables["model_rows"].empty else data
    n_races = rows.race_id.nunique() if "race_id" in rows else 0
    n_turnout = rows.dropna(subset=["turnout"]).race_id.nunique() if "turnout" in rows else 0
    known = rows.dropna(subset=["turnout"]) if "turnout" in rows else rows.iloc[:0]
    n_turnout_on = known[known.on_cycle.astype(bool)].race_id.nunique() if "on_cycle" in known else 0
    prelim = rows[rows.count_status == "preliminary"].race_id.nunique() if "count_status" in rows else 0
    n_years = rows.race_id.str[:4].nunique() if "race_id" in rows else 0
    bounds = rows.money_bounds.fillna("").str.contains("at_least").sum() if "money_bounds" in rows else 0
    return [
        Heading(2, "8 Limitations", "limitations"),
        Bullets(
            (
                "**Spending is not randomly assigned.** Outside money flows to competitive races and to candidates "
                "who already look likely to win, so part of the money 'effect' may be money following votes rather "
                "than buying them. The estimates are associations adjusted for incumbency and endorsements, not "
                "experiments.",
                "**What the repeat-candidate design fixes and what it does not.** Comparing the same candidate across "
                "elections removes stable qualities (name recognition, base, skill). It does not remove qualities "
                "that change over time (a scandal, a stronger campaign) or money that is strategic, i.e. sent "
                "because donors expect a closer or easier race.",
                f"**Missing turnout.** Only {n_turnout} of {n_races} modelled races have a turnout figure "
                f"({n_turnout_on} of them on-cycle, from 2020); the others are filled at their era's average (the "
                "off-cycle one where an era has none), so the turnout x UTLA effect rests on very few races. "
                "The on-cycle x UTLA term uses the election calendar instead, known for every race, but it "
                "compares eras (2013-2019 against 2020-2026): anything else that changed for union-backed candidates "
                "in 2020 is mixed into it.",
                f"**Preliminary counts.** {prelim} modelled races were fitted on preliminary counts, which may shift "
                "slightly when certified (section 1 lists the current status).",
                f"**Money figures are often lower bounds.** {bounds} modelled candidate rows include 'at least' "
                "figures; the latent-money model allows for more money than reported, the plug-in model does not. "
                "Some IE reported in the press is missing from the dataset entirely (see the claims above).",
                f"**Small sample.** {n_races} race-rounds across {n_years} election years: intervals are wide and a "
                "handful of expensive races can drive the estimates.",
            )
        ),
    ]


def section_figures(run: Run) -> list[Block]:
    """9 Diagnostic figures of every model, with one-line captions."""
    blocks: list[Block] = [Heading(2, "9 Diagnostic figures", "figures")]
    figs = sorted((run.path / "figures").glob("*.png"))
    models = list(dict.fromkeys(run.tables["diagnostics"].model))
    for model in models:
        blocks.append(Heading(3, model))
        for prefix, caption in FIGURE_CAPTIONS.items():
            png = run.path / "figures" / f"{prefix}-{model}.png"
            if png in figs:
                blocks.append(Figure(png, f"{model} — {caption}"))
    return blocks


def build_blocks(runs: Path, root: Path) -> list[Block]:
    """Every block of the report for the latest run in runs, with repo inputs read from root."""
    run = load_run(latest_run_dir(runs))
    data = read_csv_if(root / "data" / "clean" / "candidate_races.csv")
    m = run.manifest
    title = [
        Heading(1, "Outside money and votes in LAUSD school-board races"),
        Para(
            f"Generated from run `{m.get('run_id', run.path.name)}` (priors `{m.get('priors_preset', '?')}`). "
            "IE = independent expenditure: money spent by outside groups for or against a candidate. "
            "All intervals are 90 % intervals."
        ),
    ]
    body = [
        *section_data(root, run, data),
        *section_models(run),
        *section_diagnostics(run),
        *section_calibration(runs, run, root),
        *section_effects(run),
        *section_counterfactuals(run, data),
        *section_skill(run),
        *section_priors(run, other_runs(runs, run)),
        *section_claims(run, load_claims(root / "analysis" / "claims.toml"), data),
        *section_limitations(run, data),
        *section_figures(run),
    ]
    return [*title, *body]


# ---------------------------------------------------------------- rendering


LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def inline_html(text: str) -> str:
    """Escape text, then render [links](url), **bold**, *italic* and `code`."""
    out = html.escape(text, quote=True)
    out = LINK.sub(lambda mt: f'<a href="{mt.group(2)}">{mt.group(1)}</a>', out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def png_data_uri(path: Path) -> str:
    """A PNG file as a base64 data URI."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def html_block(block: Block) -> str:
    """One block as HTML."""
    if isinstance(block, Heading):
        anchor = f' id="{block.anchor}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{inline_html(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        cls = f' class="{block.css}"' if block.css else ""
        return f"<p{cls}>{inline_html(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        head = "".join(f"<th>{inline_html(h)}</th>" for h in block.header)
        body = "".join("<tr>" + "".join(html_cell(c) for c in row) + "</tr>" for row in block.rows)
        return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    if not block.path.is_file():
        return f"<p><em>Figure missing: {html.escape(block.path.name)}</em></p>"
    alt = html.escape(block.caption, quote=True)
    return (
        f'<figure><img src="{png_data_uri(block.path)}" alt="{alt}">'
        f"<figcaption>{inline_html(block.caption)}</figcaption></figure>"
    )


def html_cell(text: str) -> str:
    """A table cell, coloured when it is a verdict or a diagnostic status."""
    cls = verdict_class(text)
    if not cls and text.endswith(" FAIL"):
        cls = "fail"
    elif not cls and text.endswith(" pass"):
        cls = "pass"
    return f'<td class="{cls}">{inline_html(text)}</td>' if cls else f"<td>{inline_html(text)}</td>"


def render_html(blocks: list[Block]) -> str:
    """The whole report as one self-contained HTML page (inline CSS, images as data URIs)."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "Report")
    toc = " · ".join(
        f'<a href="#{b.anchor}">{html.escape(b.text)}</a>' for b in blocks if isinstance(b, Heading) and b.anchor
    )
    parts = [html_block(b) for b in blocks]
    parts.insert(2, f"<nav>{toc}</nav>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def md_cell(text: str) -> str:
    """A Markdown table cell with pipes escaped."""
    return text.replace("|", "\\|")


def md_block(block: Block, out_dir: Path) -> str:
    """One block as Markdown; figures link to the run's PNGs relative to out_dir."""
    if isinstance(block, Heading):
        return "#" * block.level + " " + block.text
    if isinstance(block, Para):
        return block.text
    if isinstance(block, Bullets):
        return "\n".join(f"- {i}" for i in block.items)
    if isinstance(block, Table):
        lines = ["| " + " | ".join(md_cell(h) for h in block.header) + " |", "|" + "---|" * len(block.header)]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    rel = os.path.relpath(block.path.resolve(), Path(out_dir).resolve())
    return f"![{block.caption}]({rel})\n\n*{block.caption}*"


def render_markdown(blocks: list[Block], out_dir: Path) -> str:
    """The whole report as Markdown."""
    return "\n\n".join(md_block(b, out_dir) for b in blocks) + "\n"


def write_report(runs: Path, out: Path, root: Path = Path(".")) -> tuple[Path, Path]:
    """Render report.md and report.html for the latest run in runs into out (atomically); return both paths."""
    blocks = build_blocks(Path(runs), Path(root))
    md, page = Path(out) / "report.md", Path(out) / "report.html"
    write_public(md, render_markdown(blocks, Path(out)))
    write_public(page, render_html(blocks))
    return md, page


def write_public(path: Path, text: str) -> None:
    """Write text atomically (temp file, then os.replace) with world-readable permissions, as a report is shared."""

    def writer(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)

    atomic.write_with(path, writer)
