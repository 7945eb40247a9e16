"""The report's hidden-confounder section (2c) and its 'What we found' sentence show the run's sensitivity tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from test_report import RUN_ID, tiny_png, write_run

from model.evaluation.sensitivity import (
    CLASSICAL_FILE,
    TIPPING_FILE,
    TIPPING_GRID_FILE,
    classical_verdicts,
    ovb_table,
    tipping_grid,
    tipping_points,
)
from model.outputs.figures_sensitivity import CONTOUR_PNG, TIPPING_PNG, contour_figure, tipping_figure
from model.outputs.report import write_report
from model.priors import Prior

SEED = 20261204
HEADING = "## 2c How strong would a hidden confounder have to be?"


def sensitivity_tables(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A classical table from a simulated confounded OLS and a tipping grid from simulated slope draws."""
    rng = np.random.default_rng(seed)
    u, x = rng.normal(size=300), rng.normal(size=300)
    d = 0.4 * (u + x) + rng.normal(size=300)
    frame = pd.DataFrame({"d_log_support": d, "d_incumbent": x, "logit_share_a": 0.4 * (u + x) + rng.normal(size=300)})
    fit = smf.ols("logit_share_a ~ 0 + d_log_support + d_incumbent", data=frame).fit(cov_type="HC3")
    table = ovb_table(fit, "simulated_ols", {}).assign(label="Simulated OLS")
    slope = rng.normal(0.08, 0.025, size=4000)
    prior = Prior("normal", {"mu": 0.0, "sigma": 0.2}, "")
    grid = tipping_grid(slope, prior, 0.69, 0.27)
    tips = tipping_points(grid, float(slope.mean()), 0.69, 0.27)
    extra = {"effect": "support IE", "parameter": "beta_support", "apparent": float(slope.mean()), "incumbency": 0.27}
    return table, grid.assign(**extra), tips.assign(**extra)


@pytest.fixture
def rendered(tmp_path) -> dict:
    """A fake run with sensitivity tables and figures, rendered."""
    png = tmp_path / "tiny.png"
    tiny_png(png)
    runs = tmp_path / "runs"
    run = write_run(runs, RUN_ID, "default", png)
    table, grid, tips = sensitivity_tables()
    table.to_csv(run / CLASSICAL_FILE, index=False)
    grid.to_csv(run / TIPPING_GRID_FILE, index=False)
    tips.to_csv(run / TIPPING_FILE, index=False)
    contour_figure(table, run / "figures")
    tipping_figure(grid, tips, run / "figures")
    (runs / "LATEST").write_text(RUN_ID + "\n")
    md, page = write_report(runs, tmp_path / "reports", root=tmp_path)
    return {"md": md.read_text(), "html": page.read_text(), "table": table, "tips": tips}


def test_the_section_follows_the_literature_and_holds_robustness_values_tipping_points_and_both_figures(rendered):
    """The classical RVs (as percentages of the table's values), the tipping point in incumbency units and both
    figures appear in section 2c, right after 2b."""
    md = rendered["md"]
    heads = re.findall(r"^## (.+)$", md, re.MULTILINE)
    assert heads[heads.index("2b Estimates beside the literature") + 1] == HEADING.removeprefix("## ")
    section = md.split(HEADING)[1].split("\n## ")[0]
    base = rendered["table"].iloc[0]
    row = next(line for line in section.splitlines() if line.startswith("| Simulated OLS | support IE |"))
    assert f"| {100 * base.rv_q1:.1f} % | {100 * base.rv_q1_alpha10:.1f} % |" in row
    assert classical_verdicts(rendered["table"]).verdict.iloc[0] in row
    ci = rendered["tips"].iloc[1]
    assert f"reaches zero at a bias of {ci.b_incumbency:.2f} times the incumbency effect" in section
    assert CONTOUR_PNG in section and TIPPING_PNG in section


def test_what_we_found_states_the_tipping_point_in_one_sentence_linking_to_the_section(rendered):
    """One bullet of the findings carries the main model's tipping point and the classical verdict."""
    findings = rendered["md"].split("## What we found")[1].split("\n## ")[0]
    bullet = next(line for line in findings.splitlines() if "**How fragile the money effect is.**" in line)
    assert "times the incumbency effect" in bullet and "Simulated OLS regression" in bullet
    assert bullet.endswith("[Details](#confounding)") and 'id="confounding"' in rendered["html"]


def test_a_run_without_sensitivity_tables_has_no_such_section(tmp_path):
    """Runs written before the analysis existed render as before: no section 2c and no findings bullet."""
    png = tmp_path / "tiny.png"
    tiny_png(png)
    write_run(tmp_path / "runs", RUN_ID, "default", png)
    (tmp_path / "runs" / "LATEST").write_text(RUN_ID + "\n")
    md, _page = write_report(tmp_path / "runs", tmp_path / "reports", root=tmp_path)
    text = md.read_text()
    assert HEADING not in text and "How fragile the money effect is" not in text
