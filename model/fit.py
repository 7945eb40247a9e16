"""`make fit`: raw data -> every registered model -> diagnostics -> tables and figures -> runs/<run-id>/, atomically.

Orchestration only: what to fit comes from the registries (model.models, model.classical), and every
model-specific step is asked of the model through its protocol."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sys
import time
import warnings
from dataclasses import asdict
from functools import partial
from importlib import metadata
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

from model import models
from model.dataset.snapshot import SNAPSHOT_DIR, write_snapshot
from model.dataset.terms import load_terms
from model.evaluation.data_sensitivity import unknown_money_sensitivity
from model.evaluation.loo import loo_comparison
from model.evaluation.sensitivity import write_sensitivity
from model.evaluation.skill import CALIBRATED, leave_one_cycle_out, loco_unavailable, runoff_forecast
from model.inference.diagnostics import check_table
from model.inference.importance import as_idata, reweight_to_priors
from model.inference.sampling import SECONDARY, SamplerSettings, for_model, sample, sample_each, secondary_settings
from model.infra import atomic, parallel
from model.infra.errors import UserError
from model.infra.paths import BUNDLED_RAW, CLAIMS_FILE
from model.infra.provenance import (
    MODEL_FILES,
    PACKAGES,
    code_hash,
    file_hash,
    git_commit,
    lock_state,
    model_code_hash,
    raw_data_hash,
    raw_file_hashes,
)
from model.models import classical
from model.models.base import BayesModel, Inputs, load_inputs, model_effects, posterior_draws
from model.models.points import FALLBACK_REFERENCE_USD
from model.outputs.figures import calibration_figure, write_figures
from model.outputs.figures_sensitivity import sensitivity_figures
from model.priors import PRESETS, Prior, preset_priors, priors_as_dict, priors_hash, read_priors, resolve_preset

# Names other modules and tests import from here.
__all__ = [
    "MODEL_FILES",
    "PACKAGES",
    "SECONDARY",
    "SamplerSettings",
    "code_hash",
    "file_hash",
    "fit_models",
    "git_commit",
    "model_code_hash",
    "raw_data_hash",
    "run_fit",
    "sample",
    "sample_each",
    "secondary_settings",
]

PRIOR_PREDICTIVE_DRAWS = 500
# Secondary steps a run can leave out (`--skip`): each refits models many times, so together they are most of a
# cold fit's time; a user iterating on priors, or a test of the plumbing, often needs none of them.
SKIPPABLE = {
    "loco": "leave_one_cycle_out",
    "forecast": "runoff_forecast",
    "sweep": "prior_sweep",
    "unknown": "unknown_money_sensitivity",
}


def fit_one(
    model: BayesModel, position: int, inputs: Inputs, priors: dict[str, Prior], seed: int, settings, rng, progress
):
    """Sample one model (seed + its registry position) and add its numpy-twin groups; return idata."""
    pm_model = model.build(inputs, priors)
    with pm_model, warnings.catch_warnings():
        # A vote-share likelihood is a Potential simulated in numpy (add_groups), and the prior predictive should
        # ignore the money figures too; PyMC's warning about that does not apply.
        warnings.simplefilter("ignore", UserWarning)
        prior = pm.sample_prior_predictive(draws=PRIOR_PREDICTIVE_DRAWS, random_seed=seed + position)
    idata = sample(pm_model, seed + position, for_model(settings, model.draws), progress)
    model.add_groups(idata, pm_model, inputs, prior, rng, seed + position)
    idata["prior"] = prior.prior
    return idata


def fit_models(
    raw_dir: Path,
    priors: dict[str, Prior],
    seed: int,
    settings: SamplerSettings,
    progress: bool,
    names: list[str] | None = None,
):
    """Fit every registered model (or the named ones) that can run on the data; return a dict of results
    (inputs, idata and checks per model, skipped models with reasons, wall times)."""
    inputs = load_inputs(raw_dir)
    rng = np.random.default_rng(seed)
    out: dict = {"inputs": inputs, "cr": inputs.cr, "h2h": inputs.h2h, "data": inputs.data}
    out.update(idata={}, checks={}, wall_s={}, skipped={}, models={}, names=names)
    out.update(raw_dir=raw_dir, priors=priors, settings=settings, secondary=secondary_settings(settings))
    out["presets"] = preset_priors(load_terms(raw_dir))  # each read once: the prior sweep and the prior figures
    chosen = models.bayesian(names)
    for k, (position, model) in enumerate(chosen, start=1):
        reason = model.cannot_run(inputs)
        if reason:
            out["skipped"][model.name] = reason
            print(f"  {model.name}: skipped ({reason})", file=sys.stderr)
            continue
        print(f"  fitting model {k}/{len(chosen)}: {model.name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        idata = fit_one(model, position, inputs, priors, seed, settings, rng, progress)
        out["wall_s"][model.name] = round(time.perf_counter() - t0, 2)
        out["checks"][model.name] = check_table(idata, model.gated_vars(idata), model.loo_var).assign(model=model.name)
        out["idata"][model.name] = idata
        out["models"][model.name] = model
        print(f"  {model.name}: {out['wall_s'][model.name]} s", file=sys.stderr)
    out["main_model"] = main_model_of(out["models"])
    out["model_comparison"], out["main_choice"] = pd.DataFrame(), {}
    candidates = [name for name, m in out["models"].items() if m.main_candidate]
    if candidates:
        t0 = time.perf_counter()
        print("  comparing the vote-share models by PSIS-LOO (exact refits where k-hat is high)", file=sys.stderr)
        out["model_comparison"], out["main_choice"] = loo_comparison(out | {"seed": seed}, candidates)
        out["main_model"] = out["main_choice"].get("chosen") or out["main_model"]
        out["wall_s"]["loo_comparison"] = round(time.perf_counter() - t0, 2)
    return out


def main_model_of(fitted: dict[str, BayesModel]) -> str | None:
    """The registry's main model when it was fitted, else the first fitted model (None when none was)."""
    main = models.main_name()
    return main if main in fitted else next(iter(fitted), None)


def bayes_table(idata_by_model: dict) -> pd.DataFrame:
    """Posterior mean, sd and 90 % interval of the main coefficients of each Bayesian model."""
    frames = []
    for name, idata in idata_by_model.items():
        names = [v for v in idata.posterior.data_vars if v.startswith("beta_") and not v.endswith("_cycle")]
        if not names:
            continue
        s = az.summary(idata, var_names=names, kind="stats", ci_prob=0.9, round_to="none")
        s = s.rename(columns={s.columns[2]: "lo90", s.columns[3]: "hi90"})
        frames.append(s.assign(model=name).rename_axis("term").reset_index())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["term", "model"])


def uninformed_terms(result: dict) -> dict[str, str]:
    """Parameters of the fitted models that the data cannot inform, each with its one-line reason (the manifest's
    uninformed_terms)."""
    out: dict[str, str] = {}
    for name, idata in result["idata"].items():
        for parameter, reason in result["models"][name].uninformed(result["inputs"]).items():
            if parameter in idata.posterior:
                out.setdefault(parameter, reason)
    return dict(sorted(out.items()))


def prior_sweep(result: dict, reference_usd: float | dict[str, float], seed: int) -> pd.DataFrame:
    """Effects of the main model under the run's priors and under every preset, to show how much the
    conclusions depend on the priors. Each preset is first reached by PSIS reweighting of the run's posterior
    (the ratio of the two priors); a preset whose k-hat is over the threshold, or every preset when
    result["exact"], is refitted (over result["workers"] processes, or the Dask cluster at result["scheduler"]).
    The method and k-hat of each preset are columns of the table."""
    name = result["main_model"]
    model, inputs, idata = result["models"][name], result["inputs"], result["idata"][name]
    frames = [model_effects(model, idata, inputs, reference_usd, "this run").assign(method="fit", khat=np.nan)]
    post = posterior_draws(idata)
    presets, jobs, khats = [], [], {}
    for i, preset in enumerate(PRESETS):
        if preset == result["priors_name"]:
            continue  # "this run" already is that preset, fitted with the full settings
        priors = result["presets"][preset]
        if isinstance(priors, str):  # e.g. a preset with priors for another electorate's endorsers
            result["skipped"][f"prior sweep: {preset}"] = priors
            continue
        r = reweight_to_priors(post, result["priors"], priors, np.random.default_rng([seed, 50, i]))
        khats[preset] = r.khat
        if r.reliable and not result.get("exact"):
            effects = model_effects(model, as_idata(r.draws), inputs, reference_usd, preset)
            frames.append(effects.assign(method="psis", khat=r.khat))
            continue
        presets.append(preset)
        jobs.append((model.build(inputs, priors), seed + 50 + i))
    task = partial(_sample_models, result["secondary"])
    fits = parallel.map_chunks(task, jobs, *_engine(result))
    for preset, fit in zip(presets, fits, strict=True):
        frames.append(
            model_effects(model, fit, inputs, reference_usd, preset).assign(method="refit", khat=khats[preset])
        )
    return pd.concat(frames).rename(columns={"model": "priors"}).assign(model=name)


def _sample_models(settings: SamplerSettings, jobs: list[tuple[pm.Model, int]]) -> list:
    """Each (model, seed) sampled in turn: a worker's share of the prior sweep."""
    return [sample(pm_model, seed, settings, progress=False) for pm_model, seed in jobs]


def reference_usd(cr: pd.DataFrame, column: str = "support_usd") -> float:
    """Median money of one channel (default support IE) among candidates who had any: the amount that channel's
    effects are quoted from ($100k if nobody had any)."""
    if column not in cr:
        return FALLBACK_REFERENCE_USD
    money = pd.to_numeric(cr[column], errors="coerce")
    positive = money[money > 0]
    return float(positive.median()) if len(positive) else FALLBACK_REFERENCE_USD


def money_references(cr: pd.DataFrame, rows: pd.DataFrame) -> dict[str, float]:
    """Each money channel's reference: its median among candidates who had any. Support and oppose IE over the
    clean candidate rows (the plug-in totals), own money over the modelled rows (the figure by election day, or
    the ceiling after it, that the own-money model reads)."""
    return {
        "support": reference_usd(cr, "support_usd"),
        "oppose": reference_usd(cr, "oppose_usd"),
        "own": reference_usd(rows, "own_usd"),
    }


def run_fit(
    raw_dir: Path,
    priors_name: str,
    seed: int,
    runs_dir: Path,
    settings: SamplerSettings | None = None,
    strict: bool = False,
    progress: bool = False,
    reuse: bool = True,
    models_to_fit: list[str] | None = None,
    skip: frozenset[str] = frozenset(),
    workers: int = 1,
    scheduler: str | None = None,
    exact: bool = False,
) -> tuple[Path, bool]:
    """Fit everything (or the named models) into runs/<run-id>/ (reusing a finished run with the same inputs),
    leaving out the secondary steps named in skip (keys of SKIPPABLE); return the run directory and whether every
    gated diagnostic passed. workers, scheduler: processes (or a Dask cluster) for leave-one-cycle-out, the runoff
    forecast and the prior sweep. exact: refit every fold, date and preset instead of importance sampling
    (`make validate` compares the two)."""
    settings = settings or SamplerSettings()
    unknown = set(skip) - set(SKIPPABLE)
    if unknown:
        raise UserError(f"--skip: unknown step {sorted(unknown)[0]!r} (one of {', '.join(SKIPPABLE)})")
    parallel.check_engine(workers, scheduler)  # a bad --workers or a missing dask stops here, before any work
    atomic.recover_all(runs_dir)  # a fit killed mid-swap: its previous run comes back first
    if models_to_fit:  # "main" names the registry's main model, whichever it is
        models_to_fit = [models.main_name() if n == "main" else n for n in models_to_fit]
    for name in models_to_fit or []:
        models.get(name)  # an unknown name stops here, before any work
    priors_path = resolve_preset(priors_name)
    terms = load_terms(raw_dir)
    read = read_priors(priors_path, terms)  # the run's priors file, parsed once
    priors = read.priors
    data_hash = raw_data_hash(raw_dir)
    key = {
        "data": data_hash,
        "priors": priors_hash(priors),
        "seed": seed,
        "settings": asdict(settings),
        "code": code_hash(),
        "models": sorted(models_to_fit) if models_to_fit else "all",
        "skip": sorted(skip),
        "lock": lock_state()["lock_sha256"],  # other locked versions may give other numbers: a new run
        "exact": exact,  # every held-out number refitted: other numbers, another run
        # Not workers or scheduler: each fit keeps its seed and every later random draw stays in this process, so
        # the numbers do not depend on them (tests/test_parallel.py); a run is reused whatever they are.
    }
    run_id = f"{Path(priors_name).stem}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]}"
    run_dir = Path(runs_dir) / run_id
    if reuse and (run_dir / "manifest.json").exists():
        manifest = json.loads((run_dir / "manifest.json").read_text())
        atomic.write_text(Path(runs_dir) / "LATEST", run_id + "\n")
        print(f"reusing {run_dir} (same data, priors, seed, settings and code)", file=sys.stderr)
        return run_dir, manifest["diagnostics_passed"]
    t0 = time.perf_counter()
    result = fit_models(raw_dir, priors, seed, settings, progress, models_to_fit)
    result.update(priors_name=priors_name, workers=workers, scheduler=scheduler, exact=exact)
    for step in skip:
        result[SKIPPABLE[step]] = False
        result["skipped"][SKIPPABLE[step]] = f"left out on request (--skip {step})"
    Path(runs_dir).mkdir(parents=True, exist_ok=True)
    staged = atomic.staging_dir(run_dir)
    try:
        passed = write_run(staged, result, seed)
        kept = keep_inputs(staged, result, priors_path)
        manifest = {
            **kept,
            "run_id": run_id,
            "git_commit": git_commit(),
            "data_dir": str(raw_dir),
            "data_hash": data_hash,
            "priors_preset": priors_name,
            "priors_file": str(priors_path) if priors_path else None,
            "priors_hash": key["priors"],
            "priors": priors_as_dict(priors),
            "seed": seed,
            "sampler": asdict(settings),
            "code_hash": key["code"],
            "model_code_hash": model_code_hash(),
            "python": platform.python_version(),
            "packages": {p: metadata.version(p) for p in PACKAGES},
            **lock_state(),
            "wall_seconds": {**result["wall_s"], "total": round(time.perf_counter() - t0, 2)},
            "workers": workers,  # the wall times depend on them, the numbers do not
            "scheduler": scheduler,
            "exact_refits": exact,
            "diagnostics_passed": passed,
            "main_model": result["main_model"],
            "main_model_choice": result.get("main_choice", {}),
            "models": models_manifest(result),
            "skipped": result["skipped"],
            "uninformed_terms": result.get("uninformed_terms", {}),
            "endorsement_terms": [{**asdict(t), "used": t in result["data"].terms} for t in terms],
            "priors_defaulted": read.defaulted(terms),
        }
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        atomic.make_readable(staged)  # mkdtemp made it 0700
        atomic.fault_point("manifest")
        atomic.replace_dir(staged, run_dir)  # a --refit of the same run id swaps, never deletes first
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    atomic.fault_point("before_latest")
    atomic.write_text(Path(runs_dir) / "LATEST", run_id + "\n")
    return run_dir, passed


def keep_inputs(out: Path, result: dict, priors_path: Path | None) -> dict:
    """Copy what the run read into its folder, so that its report reads nothing else: the data of its one pass
    (clean tables, chosen counts, money figures, sources, COVERAGE.md, under data/), the press claims (bundled data
    only: they are about the LAUSD races) and the prior files (its own, and the presets).
    Return the manifest entries naming them: the snapshot's hash and the hash of each raw file then."""
    files = write_snapshot(result["inputs"].clean, out / SNAPSHOT_DIR)
    bundled = Path(result["raw_dir"]).resolve() == BUNDLED_RAW.resolve()
    claims = None
    if bundled and CLAIMS_FILE.is_file():
        claims = "claims.toml"
        (out / claims).write_bytes(CLAIMS_FILE.read_bytes())
    # Its own file, and every preset: fit_models reads each for the prior sweep and the prior predictive figures.
    read = ([priors_path] if priors_path else []) + [resolve_preset(p) for p in PRESETS]
    kept = []
    for path in dict.fromkeys(Path(p) for p in read if p is not None):
        (out / "priors").mkdir(exist_ok=True)
        (out / "priors" / path.name).write_bytes(path.read_bytes())
        kept.append(f"priors/{path.name}")
    return {
        "bundled_data": bundled,
        "data_files": raw_file_hashes(result["raw_dir"]),
        "data_snapshot": SNAPSHOT_DIR,
        "data_snapshot_hash": file_hash(files),
        "claims_file": claims,
        "priors_files": kept,
    }


def calibration_compared(result: dict, summary: pd.DataFrame) -> list[str]:
    """Models in the calibration figure: the main model, the best other fitted model, and the two best
    calibrated baselines (by leave-one-cycle-out log score on all races)."""
    scored = summary[summary.scope == "all races"].sort_values("log_score", ascending=False)
    fitted = [m for m in scored.model if m in result["idata"]]
    main = result["main_model"]
    others = [m for m in fitted if m != main][:1]
    baselines = [m for m in scored.model if m.endswith(CALIBRATED)][:2]
    return [m for m in (main, *others, *baselines) if m in set(scored.model)]


def models_manifest(result: dict) -> dict[str, dict]:
    """Per model and estimator of this run: kind, label, one-line description, fitted or skipped (and why), and
    its position (registry order, Bayesian models first: the manifest's keys are sorted by name)."""
    out = {}
    entries = [(m.name, "bayes", m.label, m.description) for _pos, m in models.bayesian(result["names"])]
    entries += [(name, "classical", e.label, e.description) for name, e in classical.ESTIMATORS.items()]
    for position, (name, kind, label, description) in enumerate(entries):
        reason = result["skipped"].get(name)
        out[name] = {"kind": kind, "label": label, "description": description, "position": position}
        out[name]["status"] = "skipped" if reason else "fitted"
        if reason:
            out[name]["reason"] = reason
        if name in result.get("idata", {}):  # its own draw count per chain (BayesModel.draws unless the user set one)
            out[name]["draws"] = int(result["idata"][name].posterior.sizes["draw"])
    return out


def _engine(result: dict) -> tuple[int, str | None]:
    """(workers, scheduler) of a run (1 and None, i.e. serial, when the result does not say)."""
    return result.get("workers", 1), result.get("scheduler")


def write_run(out: Path, result: dict, seed: int) -> bool:
    """Write posteriors, tables and figures of a fit into a (staging) run directory; return pass/fail."""
    rng = np.random.default_rng(seed + 100)
    inputs, fitted = result["inputs"], result["models"]
    for name, idata in result["idata"].items():
        idata.to_netcdf(out / f"posterior-{name}.nc", engine="h5netcdf")
    checks = (
        pd.concat(result["checks"].values(), ignore_index=True)
        if result["checks"]
        else pd.DataFrame(columns=["check", "value", "threshold", "passed", "model"])
    )
    checks.to_csv(out / "diagnostics.csv", index=False)
    reference = reference_usd(result["cr"])  # support IE's: the what-if curve and the tipping points
    references = money_references(result["cr"], inputs.data.frame)
    effects = [model_effects(fitted[name], idata, inputs, references) for name, idata in result["idata"].items()]
    effects_frame = pd.concat(effects) if effects else pd.DataFrame(columns=["model", "effect", "reference_usd"])
    effects_frame.to_csv(out / "effects.csv", index=False)
    result["uninformed_terms"] = uninformed_terms(result)
    coefficients = bayes_table(result["idata"])
    coefficients = coefficients[~coefficients.term.isin(list(result["uninformed_terms"]))]
    coefficients.to_csv(out / "coefficients-bayes.csv", index=False)
    regression, skipped = classical.regression_table(inputs)
    result["skipped"].update(skipped)
    regression.to_csv(out / "coefficients-regression.csv", index=False)
    # Hidden-confounder tables (model/evaluation/sensitivity.py) and their figures, into the run's own figures folder.
    sensitivity_figures(write_sensitivity(out, result, reference), out / "figures")
    main = result["main_model"]
    if main is not None:
        for stem, table in fitted[main].tables(result["idata"][main], inputs, rng, reference).items():
            table.to_csv(out / f"{stem}.csv", index=False)
        comparison = result.get("model_comparison", pd.DataFrame())
        if len(comparison):
            comparison.to_csv(out / "model-comparison.csv", index=False)
    inputs.data.frame.to_csv(out / "model_rows.csv", index=False)
    t0 = time.perf_counter()
    if main is not None and result.get("prior_sweep", True):
        prior_sweep(result, references, seed).to_csv(out / "effects-by-prior.csv", index=False)
    result["wall_s"]["prior_sweep"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    if main is not None and result.get("unknown_money_sensitivity", True):
        print("  refitting the main model without the money rows of unknown kind", file=sys.stderr, flush=True)
        effects_dropped, changes = unknown_money_sensitivity(
            fitted[main], result["idata"][main], inputs, result["priors"], references, seed + 60, result["settings"]
        )
        if len(effects_dropped):
            effects_dropped.to_csv(out / "effects-without-unknown-money.csv", index=False)
            changes.to_csv(out / "money-without-unknown-rows.csv", index=False)
    result["wall_s"]["unknown_money_sensitivity"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    write_figures(out / "figures", result)
    result["wall_s"]["figures"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    if result.get("leave_one_cycle_out", True):
        reason = loco_unavailable(inputs)
        if reason:
            result["skipped"]["leave_one_cycle_out"] = reason
        else:
            per_candidate, summary, folds = leave_one_cycle_out(
                inputs,
                result["priors"],
                seed,
                result["secondary"],
                result["names"],
                *_engine(result),
                fitted=result["idata"],
                exact=result.get("exact", False),
                progress=True,
            )
            per_candidate.to_csv(out / "loco-predictions.csv", index=False)
            summary.to_csv(out / "loco-summary.csv", index=False)
            folds.to_csv(out / "loco-folds.csv", index=False)
            calibration_figure(out / "figures", per_candidate, calibration_compared(result, summary))
    result["wall_s"]["leave_one_cycle_out"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    if result.get("runoff_forecast", True) and main is not None:
        per_candidate, summary, dates = runoff_forecast(
            inputs,
            result["priors"],
            seed,
            result["secondary"],
            result["names"],
            *_engine(result),
            exact=result.get("exact", False),
            progress=True,
            main=main,
        )
        if len(per_candidate):
            per_candidate.to_csv(out / "runoff-forecast-predictions.csv", index=False)
            summary.to_csv(out / "runoff-forecast-summary.csv", index=False)
            dates.to_csv(out / "runoff-forecast-dates.csv", index=False)
    result["wall_s"]["runoff_forecast"] = round(time.perf_counter() - t0, 2)
    return bool(checks.passed.all()) if len(checks) else False
