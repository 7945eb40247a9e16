"""`make fit` timed as a user runs it: cold, warm, and after a priors edit, from a snapshot of the source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from model.infra.paths import REPO_ROOT
from model.priors import DEFAULT_PRIORS
from model.tools.bench.settings import ITERATE, MODELS, TARGETS_S
from model.tools.bench.timing import load_average


def _fit_command(raw_dir: Path, work: Path, *extra: str) -> list[str]:
    """The `make fit` equivalent (same defaults: priors, seed, sampler settings) into a scratch directory."""
    return [
        sys.executable, "-m", "model", "fit", "--raw", str(raw_dir), "--runs", str(work / "runs"),
        "--figures", str(work / "figs"), *extra,
    ]  # fmt: skip


def _report_command(work: Path) -> list[str]:
    """The report step `make fit` runs after the fit."""
    return [sys.executable, "-m", "model", "report", "--runs", str(work / "runs"), "--out", str(work / "reports")]


def _timed_run(cmd: list[str], src: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Run a command with src first on PYTHONPATH; return wall seconds and the finished process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc


def snapshot_source(repo: Path, dest: Path) -> Path:
    """Copy the package and its prior presets, so that edits to the working tree during the benchmark cannot
    change the code hash between the cold and the warm fit (the warm fit must find the cold fit's run)."""
    shutil.copytree(repo / "model", dest / "model", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo / "analysis", dest / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _latest_run(runs: Path) -> str:
    """The run id a fit just wrote or reused."""
    return (runs / "LATEST").read_text().strip()


def edited_preset(src: Path, dest: Path, sigma: str) -> Path:
    """A priors file that changes one value (beta_support's prior sd) and keeps every other default, as a user's
    copy would: written from the code's defaults (model/priors.py), never by editing default.toml's text. src: the
    benchmark's copy of the repository (its presets are not read)."""
    p = DEFAULT_PRIORS["beta_support"]
    params = {**p.params, "sigma": float(sigma)}
    dest.write_text("[beta_support]\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items()))
    return dest


# Speed targets of issue 12 (seconds, 2-core machine): what each step of a user's loop should take.


def bench_fit(raw_dir: Path, work: Path) -> dict:
    """A user's loop, each step a fit plus the report as `make fit` runs them: cold (fresh runs dir), warm (same
    inputs: reused by content hash), then one prior value edited in a copied preset, fitted by `make iterate`
    (main model only, no secondary steps) and by a full `make fit PRIORS=...` (another value, so nothing is
    reused); with where the cold fit's time goes."""
    src = snapshot_source(REPO_ROOT, work / "src")
    raw_dir = Path(raw_dir).resolve()
    import_s, _ = _timed_run([sys.executable, "-c", "import model.fit, model.figures"], src)
    out: dict = {"command": " ".join(_fit_command(raw_dir, Path("<tmp>"))), "python_import_s": round(import_s, 2)}
    steps = {
        "cold": (),
        "warm": (),
        "priors_edit_iterate": ("--priors", str(edited_preset(src, work / "edit-a.toml", "0.3")), *ITERATE),
        "priors_edit_full": ("--priors", str(edited_preset(src, work / "edit-b.toml", "0.25"))),
    }
    for label, extra in steps.items():
        fit_s, proc = _timed_run(_fit_command(raw_dir, work, *extra), src)
        if proc.returncode != 0:
            raise RuntimeError(f"{label} fit failed ({proc.returncode}): {proc.stderr[-2000:]}")
        report_s, rep = _timed_run(_report_command(work), src)
        if rep.returncode != 0:
            raise RuntimeError(f"{label} report failed ({rep.returncode}): {rep.stderr[-2000:]}")
        out[label] = {
            "wall_s": round(fit_s + report_s, 2),
            "fit_s": round(fit_s, 2),
            "report_s": round(report_s, 2),
            "target_s": TARGETS_S[label],
            "run_id": _latest_run(work / "runs"),
            "reused_run": "reusing" in proc.stderr,
            "load_1min_at_end": load_average()[0],
        }
        print(f"  {label}: {out[label]['wall_s']} s (target {TARGETS_S[label]:.0f} s)", file=sys.stderr)
    manifest = json.loads((work / "runs" / out["cold"]["run_id"] / "manifest.json").read_text())
    out["cold"]["breakdown_s"] = fit_breakdown(manifest["wall_seconds"], out["cold"]["fit_s"])
    return out


def fit_breakdown(wall_seconds: dict[str, float], wall_s: float) -> dict:
    """Where a cold fit's time goes, from the manifest's clocks: each model, each other timed step, what the
    manifest's total does not attribute, and what happens outside its clock."""
    total = wall_seconds["total"]
    steps = {k: v for k, v in wall_seconds.items() if k != "total"}
    return {
        "models": {k: v for k, v in steps.items() if k in MODELS},
        "other_steps": {k: v for k, v in steps.items() if k not in MODELS},
        # Loading data, writing posteriors (netCDF) and tables: inside the manifest's total, not timed apart.
        "unattributed": round(total - sum(steps.values()), 2),
        "manifest_total": total,
        # Python start-up and imports, run-id hashing, copying figures to --figures.
        "outside_manifest": round(wall_s - total, 2),
    }
