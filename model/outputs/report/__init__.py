"""`python -m model report`: the latest run as reports/report.md and a self-contained report.html (never refits).

Rendering only: the verdict rules live in model/evaluation/claims.py and every number comes from the run's tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
from model.outputs.report.document import (
    Block,
    Contents,
    Heading,
    Para,
    latest_run_dir,
    load_run,
    main_model,
    other_runs,
    read_csv_if,
)
from model.outputs.report.race_data import RepoData, load_repo_data
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


def bundled_data(run, root: Path) -> bool:
    """Whether the run fitted the repository's own data/raw (runs without a recorded data_dir did)."""
    data_dir = run.manifest.get("data_dir")
    return data_dir is None or (Path(root) / "data" / "raw").resolve() == Path(data_dir).resolve()


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


def build_blocks(runs: Path, root: Path, figures: Path) -> list[Block]:
    """Every block of the report for the latest run in runs, with repo inputs read from root; the figures drawn from
    data when the report is rendered go to figures. Reader first: findings, money, effects, races, skill, claims,
    limitations; then the machinery in an appendix, and a glossary."""
    run = load_run(latest_run_dir(runs))
    m = run.manifest
    bundled = bundled_data(run, root)
    # The repository's clean table, coverage and press claims describe the bundled data; another data directory
    # is described by the run's own rows.
    data = read_csv_if(root / "data" / "clean" / "candidate_races.csv") if bundled else pd.DataFrame()
    claims = load_claims(root / "analysis" / "claims.toml") if bundled else []
    # Another data directory: no raw tables or sources here, the race pages show the run's rows.
    repo = load_repo_data(root, data) if bundled else RepoData(data)
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
            f"expenditure: money outside groups spend for or against a candidate.{checks}",
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
        *(section_data(root, run, data) if bundled else other_data(run)),
        *section_models(run),
        *section_diagnostics(run),
        *section_calibration(runs, run, root),
        *section_priors(run, other_runs(runs, run)),
        *section_counterfactuals(run, data),
        *section_figures(run),
        *section_glossary(),
    ]
    return [*title, *reader, *appendix]


def write_report(runs: Path, out: Path, root: Path = Path(".")) -> tuple[Path, Path]:
    """Render report.md and report.html for the latest run in runs into out (atomically); return both paths."""
    blocks = build_blocks(Path(runs), Path(root), Path(out) / "figures")
    md, page = Path(out) / "report.md", Path(out) / "report.html"
    write_public(md, render_markdown(blocks, Path(out)))
    write_public(page, render_html(blocks, Path(out)))
    return md, page
