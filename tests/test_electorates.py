"""Electorates are data: a synthetic 8-district electorate whose endorsers are a "Teachers Association" and a
"Reform PAC" fits with `make fit DATA=... RUNS=...` and no code edit, and datasets that lack what an estimator
needs still fit what can be fitted, each skipped estimator saying why in one line (manifest and report)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from model.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import synthetic_electorate

ROOT = Path(__file__).resolve().parents[1]
QUICK = "--draws 100 --tune 100 --chains 2"


def run_dir_of(runs: Path) -> Path:
    """The latest run in a runs folder."""
    return runs / (runs / "LATEST").read_text().strip()


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """`make fit` on the synthetic electorate into its own runs, figures and reports folders."""
    tmp = tmp_path_factory.mktemp("electorate")
    data = synthetic_electorate(tmp / "data")
    args = [f"DATA={data}", f"RUNS={tmp / 'runs'}", f"FIGURES={tmp / 'figures'}", f"REPORTS={tmp / 'reports'}"]
    proc = subprocess.run(
        # The prior sweep stays (a test reads its skip reason); the steps no test here reads are left out.
        ["make", "-o", ".venv/.installed", "fit", *args, "STRICT=", f"FIT_ARGS={QUICK}", "SKIP=loco forecast"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir_of(tmp / "runs"), tmp


def test_the_synthetic_electorate_reports_its_endorsement_effects_under_their_names(synthetic_run):
    run, tmp = synthetic_run
    effects = pd.read_csv(run / "effects.csv")
    main_effects = set(effects[effects.model == "vote_share_latent"].effect)
    assert {"Teachers Association endorsement", "Reform PAC endorsement"} <= main_effects
    assert "Teachers Association endorsement x +10 pts turnout" in main_effects
    assert not any("UTLA" in e or "CCSA" in e for e in effects.effect)
    coefs = pd.read_csv(run / "coefficients-regression.csv")
    assert {"d_teachers_association", "d_reform_pac"} <= set(coefs.term)
    report = (tmp / "reports" / "report.md").read_text()
    assert "Teachers Association endorsement" in report and "Reform PAC endorsement" in report


def test_district_ids_are_names_and_cycles_any_year(synthetic_run):
    run, _tmp = synthetic_run
    rows = pd.read_csv(run / "model_rows.csv")
    assert set(rows.district) == {"North", "South", "East", "West", "Harbor", "Valley", "Hills", "Central"}
    assert set(rows.cycle) == {2031, 2035}


def test_endorsement_priors_the_file_lacks_get_the_documented_default_and_the_report_says_so(synthetic_run):
    run, tmp = synthetic_run
    manifest = json.loads((run / "manifest.json").read_text())
    assert "beta_teachers_association" in manifest["priors_defaulted"]
    assert manifest["priors"]["beta_teachers_association"] == {"dist": "normal", "mu": 0.0, "sigma": 0.5}
    assert "documented default prior" in (tmp / "reports" / "report.md").read_text()
    # The literature preset sets priors for LAUSD's UTLA, which this electorate does not have: skipped, said why.
    assert "unknown prior name" in manifest["skipped"]["prior sweep: literature"]


def fit_quietly(data: Path, tmp: Path, *skip: str, models: tuple[str, ...] = ()) -> tuple[Path, dict, str]:
    """`python -m model fit` (few draws, leaving out the steps named; the models named, else all) and `report` on a
    data directory: run folder, manifest, report text."""
    args = ["fit", "--raw", str(data), "--runs", str(tmp / "runs"), "--figures", str(tmp / "figures")]
    args += [*QUICK.split(), *(("--skip", *skip) if skip else ()), *(("--models", *models) if models else ())]
    assert main(args) == 0
    assert main(["report", "--runs", str(tmp / "runs"), "--out", str(tmp / "reports")]) == 0
    run = run_dir_of(tmp / "runs")
    return run, json.loads((run / "manifest.json").read_text()), (tmp / "reports" / "report.md").read_text()


@pytest.fixture(scope="module")
def one_cycle(tmp_path_factory):
    """A single cycle of primaries: nothing to hold out and no candidate who ran twice."""
    tmp = tmp_path_factory.mktemp("one-cycle")
    data = synthetic_electorate(tmp / "data", cycles=(2031,), repeat_candidates=False)
    # Leave-one-cycle-out runs (its skip reason is tested); the latent-money model is the only one a test reads.
    return fit_quietly(data, tmp, "forecast", "sweep", models=("vote_share_latent",))


@pytest.fixture(scope="module")
def no_endorsements_no_ie(tmp_path_factory):
    """Two cycles without a single endorsement or independent-expenditure figure."""
    tmp = tmp_path_factory.mktemp("bare")
    return fit_quietly(
        synthetic_electorate(tmp / "data", endorsements=False, spending=False), tmp, "loco", "forecast", "sweep"
    )


def test_a_single_cycle_skips_leave_one_cycle_out_with_a_reason(one_cycle):
    run, manifest, report = one_cycle
    reason = manifest["skipped"]["leave_one_cycle_out"]
    assert "cycle" in reason and "\n" not in reason
    assert not (run / "loco-summary.csv").exists()
    assert f"Skipped: {reason}" in report
    assert manifest["models"]["vote_share_latent"]["status"] == "fitted"


def test_no_repeat_candidate_skips_the_first_difference_regression_with_a_reason(one_cycle):
    _run, manifest, report = one_cycle
    reason = manifest["skipped"]["repeat_candidate_first_difference"]
    assert reason.startswith("no candidate ran in two race-rounds") and "\n" not in reason
    assert reason in report and "Traceback" not in report


def test_no_endorsements_leaves_the_endorsement_terms_out_and_says_so(no_endorsements_no_ie):
    run, manifest, report = no_endorsements_no_ie
    assert not any(t["used"] for t in manifest["endorsement_terms"])
    effects = pd.read_csv(run / "effects.csv")
    assert not effects.effect.str.contains("endorsement").any()
    assert "endorsing no modelled candidate, so left out: Teachers Association, Reform PAC" in report


def test_no_ie_skips_the_latent_money_model_and_makes_the_next_model_main(no_endorsements_no_ie):
    run, manifest, report = no_endorsements_no_ie
    reason = manifest["skipped"]["vote_share_latent"]
    assert "no independent-expenditure figure" in reason
    assert manifest["main_model"] == "vote_share_plugin"
    assert (run / "counterfactuals.csv").is_file()
    assert f"**Skipped on these data:** {reason}" in report


def test_a_bad_endorser_terms_row_stops_the_fit_with_one_line_naming_file_row_and_field(tmp_path, capsys):
    data = synthetic_electorate(tmp_path / "data")
    terms = data / "endorser_terms.csv"
    terms.write_text(terms.read_text().replace("reform_pac", "Reform PAC!"))
    runs = tmp_path / "runs"
    assert main(["fit", "--raw", str(data), "--runs", str(runs), "--figures", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{terms}:3: term:" in err
    assert not runs.exists()


def test_steps_left_out_on_request_write_nothing_and_the_report_says_why(no_endorsements_no_ie):
    run, manifest, report = no_endorsements_no_ie
    assert manifest["skipped"]["leave_one_cycle_out"] == "left out on request (--skip loco)"
    assert manifest["skipped"]["prior_sweep"] == "left out on request (--skip sweep)"
    for table in ("loco-summary", "runoff-forecast-summary", "effects-by-prior"):
        assert not (run / f"{table}.csv").exists(), table
    assert "Skipped: left out on request (--skip loco)" in report
