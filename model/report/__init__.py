"""`python -m model report`: the latest run as reports/report.md and a self-contained report.html (never refits).

Rendering only: the verdict rules live in model/claims.py and every number comes from the run's tables."""

from __future__ import annotations

from pathlib import Path

from model.claims import (
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
    load_claims,
)
from model.fmt import fmt_interval, fmt_pp, fmt_prob, fmt_ratio, fmt_usd
from model.points import logit_to_points, money_steps, regression_effects
from model.report.document import Block, Heading, Para, latest_run_dir, load_run, other_runs, read_csv_if
from model.report.render import render_html, render_markdown, write_public
from model.report.sections_results import (
    section_claims,
    section_counterfactuals,
    section_effects,
    section_figures,
    section_limitations,
    section_priors,
    section_skill,
)
from model.report.sections_setup import section_calibration, section_data, section_diagnostics, section_models

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


def write_report(runs: Path, out: Path, root: Path = Path(".")) -> tuple[Path, Path]:
    """Render report.md and report.html for the latest run in runs into out (atomically); return both paths."""
    blocks = build_blocks(Path(runs), Path(root))
    md, page = Path(out) / "report.md", Path(out) / "report.html"
    write_public(md, render_markdown(blocks, Path(out)))
    write_public(page, render_html(blocks))
    return md, page
