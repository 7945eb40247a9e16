"""`python -m model report`: the latest run as reports/report.md and a self-contained report.html (never refits).

Rendering only: the verdict rules live in model/evaluation/claims.py and every number comes from the run's tables."""

from __future__ import annotations

from pathlib import Path

from model.dataset.snapshot import read_snapshot
from model.evaluation.claims import (
    CANNOT_TELL,
    CLAIM_TESTS,
    NOT_SUPPORTED,
    SUPPORTED,
    VERDICTS,
    ClaimResult,
    assess_claim,
    claim_oppose_backfired,
    claim_overcame_outspending,
    claim_spending_decided,
    claim_spending_record,
    claim_turnout_decided,
    claim_turnout_favours_union,
    claims_context,
    load_claims,
)
from model.infra.fmt import fmt_interval, fmt_pp, fmt_prob, fmt_ratio, fmt_usd
from model.models.points import logit_to_points, money_steps, regression_effects
from model.outputs.freshness import latest_run_dir
from model.outputs.report.document import (
    Block,
    Contents,
    Heading,
    Para,
    load_run,
    main_model,
    other_runs,
)
from model.outputs.report.race_data import run_data
from model.outputs.report.render import render_html, render_markdown, write_public
from model.outputs.report.sections_findings import section_findings, section_glossary
from model.outputs.report.sections_literature import section_literature
from model.outputs.report.sections_money import section_money, share_money_blocks, win_probability_blocks
from model.outputs.report.sections_races import section_races
from model.outputs.report.sections_results import (
    section_claims,
    section_counterfactuals,
    section_effects,
    section_figures,
    section_limitations,
    section_priors,
)
from model.outputs.report.sections_sensitivity import section_sensitivity
from model.outputs.report.sections_setup import section_calibration, section_data, section_diagnostics, section_models
from model.outputs.report.sections_skill import section_skill

__all__ = [
    "CANNOT_TELL",
    "CLAIM_TESTS",
    "NOT_SUPPORTED",
    "SUPPORTED",
    "VERDICTS",
    "ClaimResult",
    "assess_claim",
    "build_blocks",
    "claim_oppose_backfired",
    "claim_overcame_outspending",
    "claim_spending_decided",
    "claim_spending_record",
    "claim_turnout_decided",
    "claim_turnout_favours_union",
    "fmt_interval",
    "fmt_pp",
    "fmt_prob",
    "fmt_ratio",
    "fmt_usd",
    "logit_to_points",
    "money_steps",
    "regression_effects",
    "write_report",
]


LAUSD_TITLE = "Outside money and votes in LAUSD school-board races"


def bundled_data(run) -> bool:
    """Whether the run fitted the repository's own data (as its manifest says; runs without a data_dir did)."""
    m = run.manifest
    return bool(m.get("bundled_data", m.get("data_dir") is None))


def data_change(run, data_now: dict[str, str] | None) -> str:
    """A sentence naming the raw files that differ from those the run fitted ('' when none do, or when either side
    is unknown): the report's numbers all come from the run folder, so the reader learns that a refit is due."""
    then = run.manifest.get("data_files")
    if data_now is None or then is None:
        return ""
    changed = [
        f"`{name}` {'added' if name not in then else 'removed' if name not in data_now else 'changed'}"
        for name in sorted(set(then) | set(data_now))
        if then.get(name) != data_now.get(name)
    ]
    if not changed:
        return ""
    return (
        f" **The data in `{run.manifest.get('data_dir')}` has changed since this run** ({', '.join(changed)}): every "
        f"number here, race pages included, is from the run's own copy (data hash `{run.manifest.get('data_hash')}`); "
        "`make fit` refits on the current data."
    )


def other_data(run) -> list[Block]:
    """Section 1 for a run on another data directory: where the data came from."""
    rows = run.tables["model_rows"]
    n_races = rows.race_id.nunique() if "race_id" in rows else 0
    return [
        Heading(2, "A1 Data", "data"),
        Para(
            f"This run fitted `{run.manifest.get('data_dir')}` (data hash `{run.manifest.get('data_hash', '?')}`): "
            f"{n_races} modelled race-rounds. Run `python -m model data --raw <dir> --out <dir>/clean --coverage "
            "<dir>/COVERAGE.md` for its coverage table. The press claims in analysis/claims.toml are about the "
            "bundled LAUSD data and are not tested here."
        ),
    ]


def build_blocks(runs: Path, root: Path, figures: Path, data_now: dict[str, str] | None = None) -> list[Block]:
    """Every block of the report for the latest run in runs, from its run folder alone (root: where `make sbc`
    leaves its calibration figures); the figures drawn from data when the report is rendered go to figures;
    data_now: the hash of each file of the run's data directory today, to say whether it changed since the run.
    Reader first: findings, money, effects, races, skill, claims, limitations; then the machinery in an appendix,
    and a glossary."""
    run = load_run(latest_run_dir(runs))
    m = run.manifest
    bundled = bundled_data(run)
    # The data the run fitted, as its folder keeps it (clean table, sources, counts, money figures, coverage), and
    # the press claims it copied (bundled data only: they are about the LAUSD races).
    snap = read_snapshot(run.path)
    data = snap.cr
    claims = load_claims(run.path / "claims.toml")
    repo = run_data(snap)
    ctx = claims_context(run.tables, data, main_model(run))
    results = [(c, assess_claim(c, ctx)) for c in claims]
    checks = (
        ""
        if m.get("diagnostics_passed", True)
        else " **The sampler checks of this run failed (A3): treat it as provisional.**"
    )
    title: list[Block] = [
        Heading(1, "Outside money and votes in school-board races" if not bundled else LAUSD_TITLE),
        Para(
            f"Run `{m.get('run_id', run.path.name)}`, priors `{m.get('priors_preset', '?')}`. IE = independent "
            f"expenditure: money outside groups spend for or against a candidate.{checks}{data_change(run, data_now)}",
            "meta",
        ),
    ]
    reader = [
        *section_findings(run, results),
        Contents(),
        *section_money(run, repo, figures),
        *section_effects(run, [*win_probability_blocks(run, figures), *share_money_blocks(run, repo, figures)]),
        *section_literature(run),
        *section_sensitivity(run),
        *section_races(run, repo, results),
        *section_skill(run),
        *section_claims(run, claims, data),
        *section_limitations(run, data),
    ]
    appendix = [
        *(section_data(run, snap.coverage, data_change(run, data_now)) if bundled else other_data(run)),
        *section_models(run),
        *section_diagnostics(run),
        *section_calibration(runs, run, root),
        *section_priors(run, other_runs(runs, run)),
        *section_counterfactuals(run, data),
        *section_figures(run),
        *section_glossary(),
    ]
    return [*title, *reader, *appendix]


def write_report(
    runs: Path, out: Path, root: Path = Path("."), data_now: dict[str, str] | None = None
) -> tuple[Path, Path]:
    """Render report.md and report.html for the latest run in runs into out (atomically); return both paths.
    data_now: the hash of each file of the run's data directory today (build_blocks)."""
    blocks = build_blocks(Path(runs), Path(root), Path(out) / "figures", data_now)
    md, page = Path(out) / "report.md", Path(out) / "report.html"
    write_public(md, render_markdown(blocks, Path(out)))
    write_public(page, render_html(blocks, Path(out)))
    return md, page
