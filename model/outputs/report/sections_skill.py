"""Report section 'Predicting races the model has not seen': leave-one-cycle-out scores, interval coverage,
runoff forecasts from earlier races only, and the LOO comparison of the vote-share models (each when the run has it)."""

from __future__ import annotations

import pandas as pd

from model.outputs.report.document import (
    Block,
    Figure,
    Heading,
    Para,
    Run,
    Table,
    bayes_models,
    main_model,
    model_label,
)

# loco-summary columns every run has; coverage columns (coverage50, coverage90, ...) come with newer runs.
SCORE_COLUMNS = ("scope", "model", "races", "log_score", "brier", "accuracy")


def score_rows(table: pd.DataFrame, run: Run) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Header and formatted rows of a loco-style summary, with any interval-coverage columns it has."""
    coverage = [c for c in table.columns if c.startswith("coverage")]
    header = (
        "races",
        "model",
        "n",
        "log score",
        "Brier",
        "winner right",
        *(f"{c[8:]} % interval covers" for c in coverage),
    )
    rows = []
    for r in table.itertuples(index=False):
        cells = [
            str(r.scope),
            model_label(run, str(r.model)),
            str(int(r.races)),
            f"{r.log_score:.2f}",
            f"{r.brier:.2f}",
            f"{100 * r.accuracy:.0f} %",
        ]
        cells += ["—" if pd.isna(getattr(r, c)) else f"{100 * getattr(r, c):.0f} %" for c in coverage]
        rows.append(tuple(cells))
    return header, tuple(rows)


def section_skill(run: Run) -> list[Block]:
    """4 Predicting races the model has not seen."""
    loco = run.tables.get("loco-summary", pd.DataFrame())
    blocks: list[Block] = [Heading(2, "4 Predicting races the model has not seen", "skill")]
    if loco.empty:
        reason = run.manifest.get("skipped", {}).get("leave_one_cycle_out")
        why = f" Skipped: {reason}." if reason else ""
        blocks.append(Para(f"This run has no leave-one-cycle-out evaluation.{why}"))
    else:
        blocks.append(
            Para(
                "Each election year in turn is held out; the models are fitted on the other years and predict who "
                "finishes first in each held-out race. **Log score**: mean log probability given to the actual "
                "winner (higher is better; a coin flip between two is -0.69). **Brier**: mean squared error of the "
                "winning probabilities over a race's candidates (lower is better). A simple rule that names a winner "
                "gives it 90 % ('calibrated' rules learn that confidence from the other years); where it names none "
                "it splits evenly. **Interval covers**: how often a held-out share fell inside the model's 50 % / "
                "90 % predictive interval (honest intervals cover about 50 % / 90 %)."
            )
        )
        header, rows = score_rows(loco, run)
        blocks.append(Table(header, rows))
        blocks += baseline_comparison(run, loco)
        blocks += in_sample_blocks(run, loco)
        png = run.path / "figures" / "calibration-loco.png"
        if png.is_file():
            alt = (
                "Reliability diagram: predicted chance of finishing first, in bins, against how often those "
                "candidates did, for the main model and baselines; a calibrated forecaster lies on the diagonal."
            )
            blocks.append(Figure(png, "Held-out predictions: predicted against actual chance of winning.", alt))
    blocks += runoff_forecast_blocks(run)
    blocks += method_blocks(run)
    blocks += comparison_blocks(run)
    return blocks


def method_blocks(run: Run) -> list[Block]:
    """How each held-out fold and forecast date was computed: PSIS from a fitted posterior, or a refit, with
    the Pareto k-hat that chose between them."""
    folds = run.tables.get("loco-folds", pd.DataFrame())
    dates = run.tables.get("runoff-forecast-dates", pd.DataFrame())
    if folds.empty and dates.empty:
        return []
    blocks: list[Block] = [
        Heading(3, "How each held-out number was computed"),
        Para(
            "Refitting every model for every held-out year and every forecast date would take about a hundred "
            "fits. Instead each held-out year is first computed by **Pareto-smoothed importance sampling** (PSIS) "
            "of the fit to all the data, with the held-out year's own parameters (its money-slope deviations, the "
            "candidates who ran only then) drawn afresh rather than kept at values fitted to those very races; "
            "each forecast date reweights the last exact fit by the races added since. The **k-hat** diagnostic "
            "says when the weights cannot be trusted (above about 0.7): that fold or date is refitted exactly. "
            "`make validate` refits everything and compares."
        ),
    ]
    for label, table, unit in (("leave one year out", folds, "cycle"), ("runoff forecast", dates, "date")):
        if table.empty:
            continue
        rows = tuple(
            (str(r.model), str(r[unit]), str(r.method), "" if pd.isna(r.khat) else f"{r.khat:.2f}")
            for _i, r in table.iterrows()
        )
        counts = table.method.value_counts()
        blocks.append(
            Para(
                f"**{label.capitalize()}**: {int(counts.get('psis', 0))} by PSIS, {int(counts.get('refit', 0))} "
                f"refitted."
            )
        )
        blocks.append(Table(("model", unit, "method", "k-hat"), rows))
    return blocks


def favourites_first(counterfactuals: pd.DataFrame) -> tuple[int, int]:
    """(races whose highest fitted share is the candidate who finished first, races) of a counterfactuals table."""
    firsts = counterfactuals.groupby("race_id").apply(
        lambda race: race.share_fitted.idxmax() == race.vote_share.idxmax()
    )
    return int(firsts.sum()), len(firsts)


def in_sample_blocks(run: Run, loco: pd.DataFrame) -> list[Block]:
    """One sentence: how often the main model's in-sample favourite finished first, beside the held-out rate."""
    fitted = run.tables.get("counterfactuals", pd.DataFrame())
    if fitted.empty or not {"race_id", "share_fitted", "vote_share"} <= set(fitted.columns):
        return []
    hits, races = favourites_first(fitted)
    main = main_model(run)
    held_out = loco[(loco.scope == "all races") & (loco.model == main)]
    versus = f", against {100 * held_out.accuracy.iloc[0]:.0f} % held out" if len(held_out) else ""
    return [
        Para(
            "In sample (fitted to every race, each race included), the main model's favourite finished first in "
            f"{hits} of {races} races ({100 * hits / races:.0f} %){versus}: the gap is what fitting a race to itself "
            "adds."
        )
    ]


def baseline_comparison(run: Run, loco: pd.DataFrame) -> list[Block]:
    """One paragraph: the best simple rule on all races against each Bayesian model."""
    main = loco[loco.scope == "all races"].set_index("model")
    fitted = bayes_models(run)
    ordered = [main_model(run), *(m for m in fitted if m != main_model(run))]
    models = [m for m in ordered if m in main.index]
    base = main.drop(index=[m for m in fitted if m in main.index])
    if not models or base.empty:
        return []
    best, top = base.log_score.idxmax(), base.log_score.max()
    sentences = [
        f"{model_label(run, m)} {'beats' if main.loc[m, 'log_score'] > top else 'does not beat'} it "
        f"({main.loc[m, 'log_score']:.2f})"
        for m in models
    ]
    return [
        Para(
            f"On all races the best simple rule is '{best}' (log score {top:.2f}): "
            + "; ".join(sentences)
            + f". With {int(main.races.max())} races a difference of 0.05 in log score is within noise."
        )
    ]


def runoff_forecast_blocks(run: Run) -> list[Block]:
    """Runoff forecasts made from a fit to earlier races only, when the run has them."""
    summary = run.tables.get("runoff-forecast-summary", pd.DataFrame())
    if summary.empty or not set(SCORE_COLUMNS) <= set(summary.columns):
        return []
    header, rows = score_rows(summary, run)
    return [
        Heading(3, "Forecasting each runoff from earlier races only"),
        Para(
            "Each runoff is predicted by a fit to every race before it, its own primary included: what a campaign "
            "could know after the primary. The race sections show each forecast."
        ),
        Table(header, rows),
    ]


def comparison_blocks(run: Run) -> list[Block]:
    """The PSIS-LOO comparison of the vote-share models (az.compare), when the run has it."""
    table = run.tables.get("model-comparison", pd.DataFrame())
    if table.empty or "elpd" not in table:
        return []
    rows = tuple(
        (
            model_label(run, str(r.model)),
            f"{r.elpd:.1f}",
            f"{r.elpd_diff:.1f} ± {r.dse:.1f}" if "dse" in table else f"{r.elpd_diff:.1f}",
            f"{r.weight:.2f}" if "weight" in table else "—",
            f"{r.max_pareto_k:.2f}" if "max_pareto_k" in table else "—",
        )
        for r in table.itertuples(index=False)
    )
    return [
        Heading(3, "Which vote-share model predicts left-out races best (LOO)"),
        Para(
            "ELPD: expected log predictive density of each race's shares when that race is left out (PSIS-LOO; "
            "higher is better). The difference to the best model is worth noting only when it is several times its "
            "standard error. Pareto k above 0.7 means the estimate is unreliable for some race."
        ),
        Table(("model", "ELPD", "difference to best ± se", "stacking weight", "max Pareto k"), rows),
    ]
