"""Report sections 2, 5 and 6 (effects, press claims, limitations) and appendix A5-A7 (priors, counterfactuals of
every race, diagnostic figures)."""

from __future__ import annotations

import pandas as pd

from model.evaluation.claims import ONCYCLE_EFFECT, TURNOUT_EFFECT, assess_claim, claims_context, effect_row, money_line
from model.infra.fmt import fmt_interval, fmt_pp, fmt_prob, fmt_usd
from model.models.points import references_of, regression_effects
from model.outputs.report.document import (
    Block,
    Bullets,
    Figure,
    Heading,
    Para,
    Run,
    Table,
    main_model,
    model_label,
)
from model.outputs.report.race_data import race_anchor, race_key
from model.outputs.report.render import verdict_class

# Diagnostic figures report.html carries itself (the main model's first ones); the rest are linked files.
EMBEDDED_DIAGNOSTICS = 3
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


def effect_order(frames: pd.DataFrame) -> list[str]:
    """Effects in the order the models report them (the main model's first, as effects.csv lists it)."""
    return list(dict.fromkeys(frames.effect)) if "effect" in frames else []


def effects_table(frames: pd.DataFrame, models: list[str], labels: dict[str, str] | None = None) -> Table:
    """Effects (rows) by model (columns) as 'mean [lo, hi]' points."""
    labels = labels or {}
    rows = []
    for effect in effect_order(frames):
        cells = []
        for m in models:
            hit = frames[(frames.model == m) & (frames.effect == effect)]
            cells.append("—" if hit.empty else fmt_interval(*hit[["mean_pp", "lo_pp", "hi_pp"]].iloc[0]))
        rows.append((effect, *cells))
    return Table(("effect (points of share)", *(labels.get(m, m) for m in models)), tuple(rows))


def main_vs_others(effects: pd.DataFrame, main: str, labels: dict[str, str]) -> list[str]:
    """Sentences comparing the main model's estimates with each other Bayesian model's, effect by effect."""
    items = []
    others = [m for m in dict.fromkeys(effects.model) if m != main]
    for effect in effect_order(effects):
        a = effect_row(effects, main, effect)
        if a is None or "per $100k" in effect:
            continue
        for other in others:
            b = effect_row(effects, other, effect)
            if b is None:
                continue
            line = (
                f"{effect[0].upper() + effect[1:]}: {fmt_pp(a.mean_pp)} points in the main model vs "
                f"{fmt_pp(b.mean_pp)} in {labels.get(other, other)} (intervals {fmt_pp(a.hi_pp - a.lo_pp)} vs "
                f"{fmt_pp(b.hi_pp - b.lo_pp)} points wide)"
            )
            clear_a, clear_b = a.lo_pp > 0 or a.hi_pp < 0, b.lo_pp > 0 or b.hi_pp < 0
            if clear_a != clear_b:
                line += f"; only {'the main model' if clear_a else labels.get(other, other)}'s interval excludes zero"
            items.append(line + ".")
    return items


def section_effects(run: Run, pictures: list[Block] | None = None) -> list[Block]:
    """2 What moves votes: Bayesian and regression estimates side by side in points of share; pictures (the chance
    of winning and vote share against money) go before the comparison of the models."""
    eff = run.tables["effects"]
    main = main_model(run)
    refs = references_of(eff) or {"support": 100_000.0}
    coefs = run.tables["coefficients-regression"]
    terms = run.manifest.get("endorsement_terms")
    term_labels = None if terms is None else {t["term"]: t["label"] for t in terms}
    reg = regression_effects(coefs, refs, term_labels) if "coef" in coefs else pd.DataFrame(columns=eff.columns)
    words = {"support": "support IE", "oppose": "IE against", "own": "own committee money"}
    amounts = ", ".join(f"{words[c]} {fmt_usd(refs[c])}" for c in words if c in refs)
    both = pd.concat([eff, reg], ignore_index=True)
    models = list(dict.fromkeys(both.model))
    labels = {m: model_label(run, m) for m in models}
    blocks: list[Block] = [
        Heading(2, "2 What moves votes", "effects"),
        Para(
            f"All effects are percentage points of vote share for a candidate at 50 % of a two-way race, with 90 % "
            f"intervals in brackets. Money effects are for doubling each kind of money from its own median among "
            f"the candidates who had any ({amounts}) and for adding $100k to it. "
            "Regression coefficients (log-odds or log-votes per log(1+$k)) are converted the same way: "
            "100 × (expit(b × Δx) − 0.5), with Δx the change in log(1+$k)."
        ),
        effects_table(both, models, labels),
    ]
    blocks += effects_reading(eff, main)
    notes = coefs[coefs.get("term", pd.Series(dtype=str)) == "(not estimable)"] if not coefs.empty else coefs
    for r in notes.itertuples():
        blocks.append(Para(f"{model_label(run, r.model)}: not estimated on these data: {r.note}."))
    blocks.append(Figure(run.path / "figures" / "effects.png", "Effects of each model with 90 % intervals."))
    blocks += pictures or []
    blocks.append(Heading(3, "The main model against the other Bayesian models"))
    comparison = main_vs_others(eff, main, labels)
    blocks.append(
        Para(
            "Each other Bayesian model's estimate next to the main model's, effect by effect. The models differ "
            "in one modelling choice each (appendix A2), e.g. the plug-in model takes every reported dollar figure "
            "as exact where the latent-money model treats it as a measurement (often a lower bound, 'more than "
            "$X') of an unknown amount; a difference shows how much a conclusion depends on that choice."
            if comparison
            else "The run has no other Bayesian model to compare with."
        )
    )
    if comparison:
        blocks.append(Bullets(tuple(comparison)))
    return blocks


# Plain-language phrasing of the effects people ask about most; any other effect is read by its label.
READINGS = {
    "support IE, doubling": "Doubling the money spent **for** a candidate",
    "oppose IE, doubling": "Doubling the money spent **against** a candidate (negative ads)",
    "incumbent": "Being the incumbent",
    "UTLA endorsement": "A teachers-union (UTLA) endorsement",
    "CCSA endorsement": "A charter-association (CCSA) endorsement",
    TURNOUT_EFFECT: "Each +10 points of turnout for a UTLA-endorsed candidate (off-cycle races)",
    ONCYCLE_EFFECT: "A UTLA endorsement in an on-cycle (even-year, high-turnout) election, beyond off-cycle",
}


def effects_reading(eff: pd.DataFrame, main: str) -> list[Block]:
    """Plain-language sentences on the main model's effects."""
    items = []
    for effect in effect_order(eff[eff.model == main]) if "model" in eff else []:
        if "per $100k" in effect:
            continue
        r = effect_row(eff, main, effect)
        if r is None:
            continue
        what = READINGS.get(effect, effect[0].upper() + effect[1:])
        items.append(
            f"{what}: {fmt_interval(r.mean_pp, r.lo_pp, r.hi_pp)} points; P(effect > 0) = {fmt_prob(r.p_positive)}."
        )
    if not items:
        return []
    note = "For negative ads, a positive effect would mean they helped their target (backfired)."
    return [Para("**Reading the main model.**"), Bullets(tuple(items)), Para(note)]


def top_two(cf: pd.DataFrame) -> pd.DataFrame:
    """The two candidates with the highest actual (else fitted) share in each race, races in date order."""
    key = cf.vote_share.fillna(cf.share_fitted / 100) if "vote_share" in cf else cf.share_fitted
    ranked = cf.assign(_key=key).sort_values(["race_id", "_key"], ascending=[True, False])
    return ranked.groupby("race_id", sort=True).head(2).drop(columns="_key")


def section_counterfactuals(run: Run, data: pd.DataFrame) -> list[Block]:
    """A6 Per-race counterfactuals for the top two candidates."""
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
        Heading(2, "A6 What if: counterfactuals of every modelled race", "counterfactuals"),
        Para(
            "For the two leading candidates of each modelled race (main model): the actual share, the share the model "
            "expects as fitted, with equal spending (every candidate of the race gets the race's average support and "
            "opposition money), and with no negative ads (opposition IE set to zero), each with a 90 % interval; "
            "and the probability of getting the most votes under each scenario. † = preliminary count."
        ),
        Table(header, tuple(rows)),
    ]


def section_priors(run: Run, others: list[Run]) -> list[Block]:
    """A5 How conclusions move under each prior preset."""
    preset = run.manifest.get("priors_preset", "?")
    blocks: list[Block] = [Heading(2, "A5 Prior sensitivity: how conclusions move under each prior preset", "priors")]
    sweep = run.tables.get("effects-by-prior", pd.DataFrame())
    if not sweep.empty:
        presets = list(dict.fromkeys(sweep.priors))
        blocks.append(
            Para(
                f"The main model under each prior preset ('this run' = `{preset}`). If the columns agree, the data, "
                "not the priors, drive the conclusions. " + _sweep_methods(sweep)
            )
        )
        sweep = sweep.drop(columns=[c for c in ("model", "method", "khat") if c in sweep])
        blocks.append(effects_table(sweep.rename(columns={"priors": "model"}), presets))
    elif others:
        main = main_model(run)
        frames = [run.tables["effects"].loc[lambda f: f.model == main].assign(model=preset)]
        frames += [
            o.tables["effects"].loc[lambda f: f.model == main].assign(model=o.manifest["priors_preset"]) for o in others
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


def _sweep_methods(sweep: pd.DataFrame) -> str:
    """One sentence: how each other preset was reached (PSIS reweighting of this run's draws, or a refit)."""
    if "method" not in sweep:
        return "The other presets were refitted with fewer draws."
    per = sweep[sweep.priors != "this run"].drop_duplicates("priors")
    parts = []
    for r in per.itertuples():
        how = "reweighting this run's draws" if r.method == "psis" else "a refit"
        parts.append(f"`{r.priors}` by {how} (PSIS k-hat {r.khat:.2f})")
    return ("Other presets: " + "; ".join(parts) + ". A k-hat above 0.7 sends a preset to a refit.") if parts else ""


def section_claims(run: Run, claims: list[dict], data: pd.DataFrame) -> list[Block]:
    """5 Press claims, each with the quantity that tests it and a verdict."""
    blocks: list[Block] = [
        Heading(2, "5 Press claims", "claims"),
        Para(
            "Each claim from `analysis/claims.toml` is tested against the run. Verdicts: **supported**, **not "
            "supported**, or **the data cannot tell** (the interval includes zero, or the dataset is missing the "
            "money the claim is about). A backfire needs P > 0.9 that removing the attack ads would lower the "
            "target's share; 'spending decided' needs the model to have the winner ahead as fitted and behind "
            "with equal spending. Where the run decomposes a runoff from its primary (section 3), the rules read "
            "the decomposition instead: money (or, for turnout claims, the electorate) **decided** a race when its "
            "step's 90 % interval lies above 0 and the fitted share without it falls below 50 %; a candidate won "
            "**despite** being outspent when the money step's interval lies below 0; a backfire is not supported "
            "when the money step lowered the target's share."
        ),
    ]
    if not claims:
        return [
            *blocks,
            Para(
                "No claims tested: analysis/claims.toml is missing, or the run fitted another data directory than "
                "the bundled data its claims are about."
            ),
        ]
    ctx = claims_context(run.tables, data, main_model(run))
    results = [(c, assess_claim(c, ctx)) for c in claims]
    blocks.append(
        Table(
            ("claim", "race", "test", "verdict"),
            tuple(
                (
                    f"[{c['id']}](#claim-{c['id']})",
                    f"[{c['race_id']}](#{race_anchor(race_key(c['race_id']))})" if c.get("race_id") else "all races",
                    c.get("test", "?"),
                    r.verdict,
                )
                for c, r in results
            ),
        )
    )
    for c, r in results:
        source = f"[{c.get('source_publisher', 'source')}, {c.get('source_date', '')}]({c.get('source_url', '')})"
        blocks += [
            Heading(3, c["id"], f"claim-{c['id']}"),
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
    """6 What the data cannot show: limitations, with the counts that make them concrete."""
    rows = run.tables["model_rows"] if not run.tables["model_rows"].empty else data
    n_races = rows.race_id.nunique() if "race_id" in rows else 0
    n_turnout = rows.dropna(subset=["turnout"]).race_id.nunique() if "turnout" in rows else 0
    known = rows.dropna(subset=["turnout"]) if "turnout" in rows else rows.iloc[:0]
    n_turnout_on = known[known.on_cycle.astype(bool)].race_id.nunique() if "on_cycle" in known else 0
    prelim = rows[rows.count_status == "preliminary"].race_id.nunique() if "count_status" in rows else 0
    n_years = rows.race_id.str[:4].nunique() if "race_id" in rows else 0
    bounds = rows.money_bounds.fillna("").str.contains("at_least").sum() if "money_bounds" in rows else 0
    return [
        Heading(2, "6 What the data cannot show", "limitations"),
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
                "slightly when certified (appendix A1 lists the current status).",
                f"**Money figures are often lower bounds.** {bounds} modelled candidate rows include 'at least' "
                "figures; the latent-money model allows for more money than reported, the plug-in model does not. "
                "Some IE reported in the press is missing from the dataset entirely (see the claims above).",
                f"**Small sample.** {n_races} race-rounds across {n_years} election years: intervals are wide and a "
                "handful of expensive races can drive the estimates.",
            )
        ),
    ]


def section_figures(run: Run) -> list[Block]:
    """A7 Diagnostic figures of every model, with one-line captions: the first EMBEDDED_DIAGNOSTICS in the page,
    the others linked to their files in the run folder (they made up most of report.html's weight)."""
    blocks: list[Block] = [Heading(2, "A7 Diagnostic figures", "figures")]
    figs = sorted((run.path / "figures").glob("*.png"))
    models = list(dict.fromkeys(run.tables["diagnostics"].model))
    shown = 0
    for model in models:
        blocks.append(Heading(3, model))
        for prefix, caption in FIGURE_CAPTIONS.items():
            png = run.path / "figures" / f"{prefix}-{model}.png"
            if png in figs:
                blocks.append(Figure(png, f"{model} — {caption}", embed=shown < EMBEDDED_DIAGNOSTICS))
                shown += 1
    if shown > EMBEDDED_DIAGNOSTICS:
        note = (
            f"The first {EMBEDDED_DIAGNOSTICS} figures are in this page; the other {shown - EMBEDDED_DIAGNOSTICS} are "
            f"links to PNG files in the run folder (`{run.path.name}/figures/`), which open when report.html is read "
            "beside its `runs/` folder."
        )
        blocks.insert(1, Para(note))
    return blocks
