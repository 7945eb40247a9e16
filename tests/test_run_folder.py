"""One pass, one run folder: each command validates the data once and computes every derived number once, and the
report reads the run folder alone, so an edit to the data after a fit never reaches it (it is named instead)."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from model.cli import main
from model.dataset.snapshot import SNAPSHOT_FILES, read_snapshot
from model.infra.fmt import fmt_usd
from model.infra.provenance import file_hash
from model.outputs.report.race_data import figure_amount
from model.priors import PRESETS, resolve_preset

REPO = Path(__file__).resolve().parents[1]
QUICK = [
    "--models",
    "main",
    "--skip",
    "loco",
    "forecast",
    "sweep",
    "unknown",
    "--draws",
    "50",
    "--tune",
    "50",
    "--chains",
    "2",
]
# The dataset layer's passes: validation, the count choice, the money-figure rule (with its netting), the clean table.
COUNTED = {
    "load_raw": "dataset/raw.py",
    "choose_counts": "dataset/counts.py",
    "money_figure_parts": "dataset/money.py",
    "candidate_races": "dataset/tables.py",
}
EDITED_USD = "987654321"


def calls(argv: list[str]) -> tuple[int, dict[str, int]]:
    """Run one command; its exit code and how often each COUNTED function ran. Every binding of the function in a
    loaded model module (its own module's, and each `from ... import`) is wrapped, so no call goes uncounted."""
    import model.dataset.counts
    import model.dataset.money
    import model.dataset.raw
    import model.dataset.tables
    import model.outputs.report  # noqa: F401  (load the report's modules before wrapping)

    counts = dict.fromkeys(COUNTED, 0)
    originals = {
        name: getattr(sys.modules[f"model.{path[:-3].replace('/', '.')}"], name) for name, path in COUNTED.items()
    }

    def counting(name: str, fn):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    with pytest.MonkeyPatch.context() as mp:
        for mod in [m for n, m in list(sys.modules.items()) if n.startswith("model") and m is not None]:
            for name, fn in originals.items():
                if getattr(mod, name, None) is fn:
                    mp.setattr(mod, name, counting(name, fn))
        code = main(argv)
    return code, counts


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> dict:
    """A copy of the bundled data (treated as the bundled data), built, fitted (main model, few draws) and reported,
    each command profiled."""
    tmp = tmp_path_factory.mktemp("runfolder")
    raw = tmp / "raw"
    shutil.copytree(REPO / "data" / "raw", raw)
    runs, out = tmp / "runs", tmp / "reports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("model.fit.BUNDLED_RAW", raw)  # the claims and the LAUSD title, as for data/raw
        counted = {
            "data": calls(["data", "--raw", str(raw), "--out", str(tmp / "clean"), "--coverage", str(tmp / "COV.md")]),
            "fit": calls(["fit", "--raw", str(raw), "--runs", str(runs), "--figures", str(tmp / "figures"), *QUICK]),
            "report": calls(["report", "--runs", str(runs), "--out", str(out)]),
        }
    run = runs / (runs / "LATEST").read_text().strip()
    return {"tmp": tmp, "raw": raw, "runs": runs, "out": out, "run": run, "calls": counted}


def test_each_command_validates_the_data_once_and_computes_each_derived_number_once(fitted):
    """`make data`, `fit` and `report` each validate data/raw at most once and run the count choice, the money rule
    and candidate_races at most once. Before (acda08a): fit validated once but ran candidate_races and the count
    choice twice and the money rule three times; the report validated again and ran the money rule three times and
    the count choice once (data + fit + report: 3 validations, 7 money rules, 4 count choices)."""
    once = dict.fromkeys(COUNTED, 1)
    assert fitted["calls"]["data"] == (0, once)
    assert fitted["calls"]["fit"][1] == once
    assert fitted["calls"]["report"] == (0, dict.fromkeys(COUNTED, 0))


def test_the_run_folder_holds_the_data_claims_and_priors_it_read_with_their_hash(fitted):
    run = fitted["run"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["data_snapshot_hash"] == file_hash([run / "data" / name for name in SNAPSHOT_FILES])
    assert manifest["data_files"]["spending.csv"] == file_hash([fitted["raw"] / "spending.csv"])
    assert (run / "claims.toml").read_bytes() == (REPO / "analysis" / "claims.toml").read_bytes()
    assert manifest["priors_files"] == [f"priors/{p}.toml" for p in PRESETS]
    for preset in PRESETS:
        assert (run / "priors" / f"{preset}.toml").read_bytes() == resolve_preset(preset).read_bytes()
    # The run's clean table is the one `make data` builds from the same data, byte for byte.
    for name in ("candidate_races.csv", "head_to_head.csv"):
        assert (run / "data" / name).read_bytes() == (fitted["tmp"] / "clean" / name).read_bytes()
    assert (run / "data" / "COVERAGE.md").read_bytes() == (fitted["tmp"] / "COV.md").read_bytes()


def test_an_edit_to_the_data_after_the_fit_is_named_and_never_shown(fitted):
    """Fit, then edit data/raw, then render the report: the race pages show the run's figure, and the header
    names the file that changed."""
    before = (fitted["out"] / "report.md").read_text()
    assert "has changed since this run" not in before
    figures = read_snapshot(fitted["run"]).figures
    fig = figures[~figures.derived & figures.single & (figures.scope != "cycle")].iloc[0]
    path = fitted["raw"] / "spending.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    rows[int(fig._row) - 1][header.index("amount_usd")] = EDITED_USD
    if "unit" in header:
        rows[int(fig._row) - 1][header.index("unit")] = "usd"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    assert main(["report", "--runs", str(fitted["runs"]), "--out", str(fitted["out"])]) == 0
    after = (fitted["out"] / "report.md").read_text()
    head, body = after.split("## What we found", 1)
    assert "has changed since this run** (`spending.csv` changed)" in head
    page = body.split(f"{fig.race_id[:10]}", 1)[1]
    assert figure_amount(fig) in page and fmt_usd(float(EDITED_USD)) not in after
    # Apart from the sentences saying so (in the header and in A1), the report is the same report.
    said = ("changed since this run", "is the data the run fitted", "Run `")
    assert [x for x in after.splitlines() if not any(w in x for w in said)] == [
        x for x in before.splitlines() if not any(w in x for w in said)
    ]


def test_the_snapshot_reads_back_as_the_dataset_layer_made_it(fitted):
    """Money figures and counts keep their types through the run folder (the report formats them as before)."""
    snap = read_snapshot(fitted["run"])
    assert snap.figures.amount_usd.dtype == float and snap.figures.final.dtype == bool
    assert set(snap.counts.columns) >= {"race_id", "candidate_id", "count_status", "as_of", "source_ids"}
    assert not snap.sources.empty and pd.api.types.is_string_dtype(snap.sources.url)
