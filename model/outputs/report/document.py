"""The report's document model (headings, paragraphs, tables, figures) and the run it is read from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model.infra.errors import UserError

# Columns the report reads from each required run table; a run missing one is rejected with a one-line error.
REQUIRED_COLUMNS = {
    "diagnostics": ("check", "value", "threshold", "passed", "model"),
    "effects": ("model", "effect", "mean_pp", "lo_pp", "hi_pp", "p_positive", "reference_usd"),
    "counterfactuals": ("race_id", "candidate_id", "name", "vote_share", "share_fitted", "p_first_fitted"),
}
# Runs written before manifests named their main model had this one.
LEGACY_MAIN_MODEL = "vote_share_latent"


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
    """A PNG figure with a one-line caption; alt describes what it shows for a reader who cannot see it (the
    caption when empty)."""

    path: Path
    caption: str
    alt: str = ""
    embed: bool = True  # False: report.html links to the file in the run folder instead of carrying it


@dataclass(frozen=True)
class Contents:
    """The table of contents: a link to every level-2 heading that has an anchor."""


@dataclass(frozen=True)
class Widget:
    """Ready-made HTML (an interactive part of the page, with its data and script) and the Markdown that stands in
    for it in report.md."""

    html: str
    text: str


Block = Heading | Para | Bullets | Table | Figure | Contents | Widget


@dataclass(frozen=True)
class Run:
    """One fit's outputs as read from runs/<run-id>/."""

    path: Path
    manifest: dict
    tables: dict[str, pd.DataFrame]


def main_model(run: Run) -> str:
    """The run's main model (manifest main_model)."""
    return run.manifest.get("main_model") or LEGACY_MAIN_MODEL


def model_label(run: Run, name: str) -> str:
    """A model's or estimator's label as recorded in the run's manifest (its name when the run has none)."""
    label = run.manifest.get("models", {}).get(name, {}).get("label", name)
    return f"{label} (main)" if name == main_model(run) else label


def recorded_models(run: Run) -> dict[str, dict]:
    """The manifest's models and estimators in registry order (Bayesian first), or {} for older runs."""
    recorded = run.manifest.get("models") or {}
    return dict(sorted(recorded.items(), key=lambda kv: kv[1].get("position", 0)))


def bayes_models(run: Run) -> list[str]:
    """The Bayesian models the run fitted, in registry order (from the manifest, else from diagnostics.csv)."""
    recorded = recorded_models(run)
    if recorded:
        return [n for n, m in recorded.items() if m.get("kind") == "bayes" and m.get("status") == "fitted"]
    return list(dict.fromkeys(run.tables["diagnostics"].model))


def read_csv_if(path: Path) -> pd.DataFrame:
    """A CSV as a frame, or an empty frame when the file is missing."""
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def load_run(run_dir: Path) -> Run:
    """Manifest and tables of a run. Diagnostics and effects are required, and counterfactuals when the run
    has a main model; a run whose manifest records its models may have empty ones (every model skipped)."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    names = ("diagnostics", "effects", "counterfactuals", "coefficients-regression", "coefficients-bayes")
    extra = (
        "win_probability",
        "model_rows",
        "effects-by-prior",
        "loco-summary",
        "money-evidence",
        # Written by newer runs (candidate-aware main model); the report shows them when present.
        "decomposition",
        "model-comparison",
        "runoff-forecast-summary",
        "runoff-forecast-predictions",
        # How each held-out fold, forecast date and prior preset was computed (PSIS or refit, with k-hat).
        "loco-folds",
        "runoff-forecast-dates",
        # The main model refitted without the money rows of unknown kind (data appendix).
        "effects-without-unknown-money",
        "money-without-unknown-rows",
    )
    tables = {n: read_csv_if(run_dir / f"{n}.csv") for n in (*names, *extra)}
    records_models = "models" in manifest
    for n, columns in REQUIRED_COLUMNS.items():
        if n == "counterfactuals" and records_models and not manifest.get("main_model"):
            continue
        path = run_dir / f"{n}.csv"
        if not path.is_file() or (tables[n].empty and not records_models):
            raise UserError(f"incomplete run: {path} is missing or empty")
        missing = [c for c in columns if c not in tables[n]]
        if missing and not tables[n].empty:
            raise UserError(f"incomplete run: {path} lacks column(s) {', '.join(missing)}")
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
