"""Where figures and reports go: the repository's figures/ and reports/ only for the bundled data in runs/."""

from __future__ import annotations

import json
from pathlib import Path

from model.cli import default_output
from model.infra.paths import BUNDLED_RAW, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "own-money-board"


def test_a_bring_your_own_run_writes_beside_its_runs_never_into_the_repository(tmp_path):
    """`make fit DATA=examples/own-money-board RUNS=runs-example` leaves figures/ and reports/ alone."""
    assert default_output(Path("runs-example"), "figures", EXAMPLE) == Path("runs-example") / "figures"
    assert default_output(Path("runs-example"), "reports", EXAMPLE) == Path("runs-example") / "reports"
    assert default_output(Path("runs"), "figures", EXAMPLE) == Path("runs") / "figures"  # other data, default runs
    assert default_output(tmp_path / "r", "reports", BUNDLED_RAW) == tmp_path / "r" / "reports"  # other runs
    assert default_output(Path("runs"), "figures", BUNDLED_RAW) == Path("figures")  # the bundled run
    assert default_output(Path("runs"), "reports", BUNDLED_RAW) == Path("reports")


def test_the_report_command_finds_the_data_of_the_latest_run_from_its_manifest(tmp_path):
    """`make report RUNS=runs-example` (no DATA) reads the fitted data directory from the latest run's manifest."""
    runs = tmp_path / "runs-example"
    (runs / "default-abc").mkdir(parents=True)
    (runs / "default-abc" / "manifest.json").write_text(json.dumps({"data_dir": str(EXAMPLE)}))
    (runs / "LATEST").write_text("default-abc\n")
    assert default_output(runs, "reports") == runs / "reports"
