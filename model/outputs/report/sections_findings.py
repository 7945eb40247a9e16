"""The report's opening: 'What we found' in plain sentences, each with its number, interval and a link to its
detail, and the glossary that closes the report."""

from __future__ import annotations

import pandas as pd
from scipy.stats import beta as beta_dist

from model.evaluation.claims import (
    CANNOT_TELL,
    NOT_SUPPORTED,
    ONCYCLE_EFFECT,
    SUPPORTED,
    TURNOUT_EFFECT,
    ClaimResult,
    effect_row,
)
from model.evaluation.literature import AGREES, HIGHER, LOWER, literature_rows
from model.infra.fmt import fmt_usd
from model.outputs.report.document import Block, Bullets, Heading, Para, Run, bayes_models, main_model, model_label
from model.outputs.report.race_data import race_anchor, race_key, race_title
from model.outputs.report.sections_sensitivity import confounding_sentence

ClaimResults = list[tuple[dict, ClaimResult]]
# A baseline in loco-summary is any row that is not one of the run's Bayesian models.
SKILL_SCOPE = "all races"


def signed(x: float) -> str:
    """'+1.7', '−0.4' (a real minus sign, as a reader expects)."""
    return f"{x:+.1f}".replace("-", "−")


def span(row: pd.Series) -> str:
    """'+1.7 points (90 % interval +0.4 to +2.9)'."""
    return f"{signed(row.mean_pp)} points (90 % interval {signed(row.lo_pp)} to {signed(row.hi_pp)})"


def reading(row: pd.Series, up: str, down: str, chance: str = "") -> str:
    """What an interval lets a reader conclude: up above zero, down below, else that the data cannot tell for sure,
    with the posterior probability that the effect is positive (chance names what positive means)."""
    if row.lo_pp > 0:
        return up
    if row.hi_pp < 0:
        return down
    text = "the interval includes zero, so the data cannot tell for sure"
    if chance and "p_positive" in row and pd.notna(row.p_positive):
        text += f" (chance that {chance}: {100 * row.p_positive:.0f} %)"
    return text


def money_sentence(eff: pd.DataFrame, main: str) -> str | None:
    """Doubling and +$100k of support IE."""
    dbl, per = effect_row(eff, main, "support IE, doubling"), effect_row(eff, main, "support IE, per $100k")
    if dbl is None:
        return None
    ref = float(dbl.reference_usd) if "reference_usd" in dbl else 100_000.0
    text = (
        "**Money for a candidate.** Doubling the outside money spent for a candidate "
        f"(from {fmt_usd(ref)}, the typical amount) goes with {span(dbl)} of vote share"
    )
    if per is not None:
        text += f"; each extra $100k with {signed(per.mean_pp)} ({signed(per.lo_pp)} to {signed(per.hi_pp)})"
    return text + f": {reading(dbl, 'more money, more votes', 'more money, fewer votes')}. [Details](#effects)"


def attack_sentence(eff: pd.DataFrame, main: str) -> str | None:
    """Doubling the IE against a candidate."""
    r = effect_row(eff, main, "oppose IE, doubling")
    if r is None:
        return None
    verdict = reading(
        r, "the attacks tended to help their target", "the attacks cost their target votes", "they helped"
    )
    return (
        f"**Negative ads.** Doubling the money spent against a candidate changes that candidate's share by "
        f"{span(r)}: {verdict}. [Details](#effects)"
    )


def incumbent_sentence(eff: pd.DataFrame, main: str) -> str | None:
    """The incumbency effect."""
    r = effect_row(eff, main, "incumbent")
    if r is None:
        return None
    verdict = reading(r, "incumbents do better", "incumbents do worse", "incumbency helps")
    return (
        f"**Incumbency.** A sitting board member gets {span(r)} over an otherwise similar challenger: {verdict}. "
        "[Details](#effects)"
    )


def endorsement_labels(run: Run, eff: pd.DataFrame, main: str) -> list[str]:
    """The main model's endorsement effects, named as the run's endorsement terms label them."""
    terms = run.manifest.get("endorsement_terms")
    labels = [t["label"] for t in terms] if terms is not None else ["UTLA endorsement", "CCSA endorsement"]
    return [label for label in labels if effect_row(eff, main, label) is not None]


def endorsement_sentence(run: Run, eff: pd.DataFrame, main: str) -> str | None:
    """Each endorsement effect."""
    labels = endorsement_labels(run, eff, main)
    if not labels:
        return None
    rows = [r for label in labels if (r := effect_row(eff, main, label)) is not None]
    parts = [f"{label.removesuffix(' endorsement')} {span(r)}" for label, r in zip(labels, rows, strict=True)]
    clear = [label for label, r in zip(labels, rows, strict=True) if r.lo_pp > 0 or r.hi_pp < 0]
    tail = (
        f"only {', '.join(clear)} is clearly different from zero"
        if clear
        else "no interval excludes zero, so the data cannot tell whether endorsements move votes"
    )
    return f"**Endorsements.** {'; '.join(parts)}: {tail}. [Details](#effects)"


def turnout_sentence(eff: pd.DataFrame, main: str) -> str | None:
    """The on-cycle (else turnout) interaction with the UTLA endorsement."""
    r = effect_row(eff, main, ONCYCLE_EFFECT)
    if r is not None:
        return (
            "**On-cycle elections.** Since 2020 board races share the ballot with state elections and turnout is "
            f"higher; there a UTLA endorsement is worth {span(r)} more than in the off-cycle years: "
            f"{reading(r, 'union backing helps more', 'union backing helps less', 'it helps more')}. "
            "[Details](#effects)"
        )
    r = effect_row(eff, main, TURNOUT_EFFECT)
    if r is None:
        return None
    return (
        f"**Turnout.** Each +10 points of turnout changes a UTLA endorsement's worth by {span(r)}: "
        f"{reading(r, 'union backing helps more when more people vote', 'union backing helps less')}. "
        "[Details](#effects)"
    )


def hit_interval(hits: int, n: int) -> tuple[float, float]:
    """90 % Jeffreys interval of a hit rate (a Beta(1/2, 1/2) prior: the usual choice for a proportion)."""
    return tuple(beta_dist.ppf([0.05, 0.95], hits + 0.5, n - hits + 0.5))


def skill_sentence(run: Run) -> str | None:
    """How often the main model names the winner of races it was not fitted to, against the best simple rule."""
    loco = run.tables.get("loco-summary", pd.DataFrame())
    main = main_model(run)
    if loco.empty or "scope" not in loco:
        return None
    rows = loco[loco.scope == SKILL_SCOPE].set_index("model")
    if main not in rows.index:
        return None
    m = rows.loc[main]
    n = int(m.races)
    hits = round(float(m.accuracy) * n)
    lo, hi = hit_interval(hits, n)
    base = rows.drop(index=[x for x in bayes_models(run) if x in rows.index])
    text = (
        f"**Predicting races it has not seen.** Fitted without each election year in turn, the main model "
        f"({model_label(run, main).removesuffix(' (main)')}) named the winner of {hits} of {n} held-out races "
        f"({100 * m.accuracy:.0f} %, 90 % interval {100 * lo:.0f} to {100 * hi:.0f} %)"
    )
    if not base.empty:
        best = base.log_score.idxmax()
        b = base.loc[best]
        better = "better" if m.log_score > b.log_score else "not better"
        text += (
            f"; the best simple rule, '{best}', named {100 * b.accuracy:.0f} %, and by log score the model is {better} "
            f"({m.log_score:.2f} against {b.log_score:.2f})".replace("-", "−")
        )
    forecast = run.tables.get("runoff-forecast-summary", pd.DataFrame())
    hit = forecast[forecast.model == main] if "model" in forecast else forecast
    if not hit.empty:
        k, total = round(float(hit.accuracy.iloc[0]) * int(hit.races.iloc[0])), int(hit.races.iloc[0])
        text += f"; forecasting each runoff from earlier races only, it named {k} of {total} winners"
    return text + ". [Details](#skill)"


def race_links(claims: ClaimResults, verdict: str) -> str:
    """Links to the race sections of the claims with a verdict, each race once."""
    keys = dict.fromkeys(race_key(c["race_id"]) for c, r in claims if r.verdict == verdict and c.get("race_id"))
    return ", ".join(f"[{race_title(k)}](#{race_anchor(k)})" for k in keys)


def claims_sentence(claims: ClaimResults) -> str | None:
    """How many press claims each verdict got, with links to the races of the decided ones."""
    if not claims:
        return None
    count = {v: sum(r.verdict == v for _, r in claims) for v in (SUPPORTED, NOT_SUPPORTED, CANNOT_TELL)}
    parts = []
    for verdict, words in ((SUPPORTED, "supported by the data"), (NOT_SUPPORTED, "not")):
        links = race_links(claims, verdict)
        verb = "is" if count[verdict] == 1 else "are"
        parts.append(f"{count[verdict]} {verb} {words}" + (f" ({links})" if links else ""))
    return (
        f"**Press claims.** Of {len(claims)} claims from news coverage, {parts[0]}, {parts[1]}, and for "
        f"{count[CANNOT_TELL]} the data cannot tell (the interval includes zero, the model does not reproduce the "
        "result, or the money the claim is about is missing). Where a runoff is decomposed from its primary, the "
        "verdict reads the money or electorate step. [Details](#claims)"
    )


CAVEAT = (
    "**What the data cannot show.** Outside money is not randomly assigned: it flows to close races and to "
    "candidates who already look likely to win, so these numbers are associations adjusted for incumbency and "
    "endorsements, not proof that money buys votes. [Why](#limitations)"
)


def literature_sentence(run: Run, main: str) -> str | None:
    """How many published anchors the main model's estimates agree with and which they depart from."""
    lit = literature_rows(run.tables["effects"], main, run.tables["model_rows"])
    judged = lit[lit.verdict.isin((AGREES, HIGHER, LOWER))]
    if judged.empty:
        return None
    departs = [
        f"{r.citation.split(')')[0]}) ({r.verdict.removeprefix('departs: LAUSD ')} in LAUSD)"
        for r in judged.itertuples()
        if r.verdict != AGREES
    ]
    return (
        f"**Beside the literature.** {int((judged.verdict == AGREES).sum())} of {len(judged)} published anchors "
        "that the estimates can be judged against lie inside the LAUSD intervals"
        + (f"; departs from {', '.join(departs)}" if departs else "")
        + ". [Details](#literature)"
    )


def section_findings(run: Run, claims: ClaimResults) -> list[Block]:
    """What we found: 5-8 plain sentences for a reader who stops after the first screen."""
    eff, main = run.tables["effects"], main_model(run)
    sentences = [
        money_sentence(eff, main),
        attack_sentence(eff, main),
        incumbent_sentence(eff, main),
        endorsement_sentence(run, eff, main),
        turnout_sentence(eff, main),
        literature_sentence(run, main),
        confounding_sentence(run),
        skill_sentence(run),
        claims_sentence(claims),
    ]
    found = [s for s in sentences if s]
    if not found:
        found = ["The run has no main model, so it estimates no effects; see the models in the appendix."]
    intro = (
        "Effects are points of vote share for a candidate in an otherwise even two-way race; a 90 % interval is the "
        "range the model puts 90 % probability on. Other terms: [glossary](#glossary)."
    )
    return [Heading(2, "What we found", "findings"), Para(intro, "lede"), Bullets((*found, CAVEAT))]


GLOSSARY = (
    "**IE (independent expenditure)**: money spent by an outside group (a union, a charter-school association, "
    "a reform group) for or against a candidate, without coordinating with the candidate's campaign.",
    "**Points of vote share**: percentage points; +2 points takes a candidate from 50 % to 52 %.",
    "**90 % interval**: the range in which the model puts 90 % probability; an interval that includes zero means "
    "the data cannot tell whether the effect is positive or negative.",
    "**Prior / posterior**: what a model assumes before seeing the votes / what it believes after seeing them.",
    "**Main model**: the model whose numbers the findings, race pages and claim verdicts use (named in each run).",
    "**Plug-in vs latent money**: the plug-in model takes every reported dollar figure as exact; the latent-money "
    "model treats each as a measurement (often a floor, 'more than $X') of an unknown true amount.",
    "**Counterfactual**: the share the model expects under a changed scenario (equal spending, no negative ads).",
    "**Held-out (out-of-sample) prediction**: predicting races the model was not fitted to; log score and Brier "
    "score measure how much probability it gave to what actually happened.",
    "**On-cycle**: elections held with state elections in even years (LAUSD from 2020), with higher turnout.",
    "**Preliminary count**: an election-night or early count, before certification; shares may still change.",
    "**R-hat, ESS, divergences**: checks that the sampler explored the posterior well (R-hat near 1, many "
    "effective draws, no divergences).",
    "**ELPD, LOO, Pareto k**: expected log predictive density, estimated by leaving one candidate out; a Pareto k "
    "above 0.7 marks a candidate whose left-out prediction is unreliable.",
    "**Simulation-based calibration (SBC)**: fits to data simulated from known parameters, to check that the "
    "intervals contain the truth as often as they claim.",
)


def section_glossary() -> list[Block]:
    """A short glossary of the statistical terms the report uses."""
    return [Heading(2, "Glossary", "glossary"), Bullets(GLOSSARY)]
