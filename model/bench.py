"""`make bench`: sampler speed (nutpie vs PyMC NUTS), cold and warm `make fit`, and growth with data size."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

from model import atomic, models
from model.features import SHARE_FLOOR, MoneyEvidence, VoteShareData
from model.models.base import Inputs
from model.models.base import load_inputs as _load_inputs
from model.models.dirichlet import component_predictive
from model.models.head_to_head import head_to_head_columns
from model.priors import DEFAULT_PRIORS
from model.provenance import PACKAGES, git_commit
from model.sampling import SECONDARY, SamplerSettings, sample

SEED = 20260305  # the Makefile's SEED, so the benchmark samples what `make fit` samples
# Every registered model, in reverse registration order (the quick mode times only the first: the last
# registered, which for the bundled registry is the cheap head-to-head model).
MODELS = tuple(reversed(models.REGISTRY))
SAMPLERS = ("nutpie", "pymc")
MULTIPLES = (10, 100, 1000)
# Same chains/draws as `make fit`, so ESS/s here is what a user of the pipeline gets.
FULL = SamplerSettings()
# Growth fits use fewer draws: 2 x 500 post-warmup draws is enough for a stable min bulk ESS.
GROWTH = SamplerSettings(chains=2, draws=500, tune=500)
QUICK = SamplerSettings(chains=1, draws=50, tune=50)
# Wall-clock budget per growth fit (compile + sampling); a fit still running then is aborted and
# recorded as skipped, with the time and draws it got through.
GROWTH_BUDGET_S = 600.0
WARMUP_GROUPS = ("warmup_posterior", "posterior")  # how far an aborted fit got
POLL_S = 0.2  # how often a running growth fit is checked against its budget
# Posterior-mean-like values of the bundled-data fits (rounded), used to simulate the growth datasets.
# Cycle/district deviations and turnout interactions are set to zero.
SIM_VOTE_SHARE = {
    "beta_support": 0.1,
    "beta_oppose": 0.0,
    "beta_incumbent": 0.2,
    "beta_<each endorsement term>": 0.2,
    "concentration": 20.0,
}
SIM_HEAD_TO_HEAD = {**SIM_VOTE_SHARE, "sigma_head_to_head": 0.3}


def machine_info() -> dict:
    """Where and when the numbers were taken: CPUs, Python, package versions, date, git commit."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "packages": {p: metadata.version(p) for p in PACKAGES},
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "load_average_at_start": _load(),
    }


def _load() -> list[float]:
    """1-, 5- and 15-minute load averages: other work on the machine slows every number here."""
    return [round(x, 2) for x in os.getloadavg()]


def main_params(posterior_vars) -> list[str]:
    """Scalar coefficients and the noise/overdispersion parameter (the quantities the report reads)."""
    keep = [v for v in posterior_vars if v.startswith("beta_") and not v.endswith("_cycle")]
    return keep + [v for v in posterior_vars if v in ("concentration", "sigma_head_to_head")]


def min_bulk_ess(idata, names: list[str]) -> float:
    """The smallest rank-normalised bulk ESS over the named variables."""
    ess = az.ess(idata, var_names=names, method="bulk")
    return float(min(np.min(ess[n].to_numpy()) for n in names))


def convergence(idata, names: list[str]) -> dict:
    """Which parameter has the smallest bulk ESS, and the largest R-hat (a low ESS/s may be a failed fit)."""
    ess = az.ess(idata, var_names=names, method="bulk")
    rhat = az.rhat(idata, var_names=names)
    worst = min(names, key=lambda n: float(np.min(ess[n].to_numpy())))
    max_rhat = float(max(np.max(rhat[n].to_numpy()) for n in names))
    # R-hat needs two or more chains; JSON has no NaN.
    return {"min_ess_param": worst, "max_rhat": round(max_rhat, 3) if np.isfinite(max_rhat) else None}


def _rate(ess: float, seconds: float) -> float:
    """ESS per second (0 when nothing was timed)."""
    return round(ess / seconds, 2) if seconds > 0 else 0.0


def load_inputs(raw_dir: Path) -> Inputs:
    """The bundled data as model inputs (inputs['data'] and inputs['h2h'] also work)."""
    return _load_inputs(raw_dir)


def build_model(name: str, inputs: Inputs) -> pm.Model:
    """One of the registered models, by name."""
    return models.get(name).build(inputs, DEFAULT_PRIORS)


def time_sampler(name: str, inputs: Inputs, settings: SamplerSettings, seed: int) -> dict:
    """Build and sample one model; split wall time into build, compile/initialise and sampling.

    Sampling time is the sampler's own clock (posterior attrs 'sampling_time', set by PyMC for both
    samplers); compile is the rest of pm.sample (nutpie: numba compile; PyMC: pytensor C compile,
    initialisation and process start-up)."""
    load = _load()[0]
    t0 = time.perf_counter()
    model = build_model(name, inputs)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    idata = sample(model, seed, settings, progress=False)
    total_s = time.perf_counter() - t1
    sampling_s = float(idata.posterior.attrs["sampling_time"])
    names = main_params(idata.posterior.data_vars)
    ess = min_bulk_ess(idata, names)
    return {
        "model": name,
        "sampler": settings.sampler,
        "settings": dataclasses.asdict(settings),
        "build_s": round(build_s, 3),
        "compile_s": round(total_s - sampling_s, 3),
        "sampling_s": round(sampling_s, 3),
        "total_s": round(build_s + total_s, 3),
        "min_bulk_ess": round(ess, 1),
        "ess_params": names,
        "ess_per_s": _rate(ess, sampling_s),
        "ess_per_s_incl_compile": _rate(ess, build_s + total_s),
        "divergences": int(idata.sample_stats["diverging"].sum()),
        **convergence(idata, names),
        "load_1min_at_start": load,
    }


def bench_samplers(inputs: Inputs, models, samplers, settings: SamplerSettings, seed: int) -> list[dict]:
    """Every model with every sampler at the same chains and draws."""
    rows = []
    for i, name in enumerate(models):
        for sampler in samplers:
            row = time_sampler(name, inputs, dataclasses.replace(settings, sampler=sampler), seed + i)
            print(f"  {name} / {sampler}: {row['total_s']:.1f} s, ESS/s {row['ess_per_s']}", file=sys.stderr)
            rows.append(row)
    return rows


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
    """A copy of the default preset with one value changed (beta_support's prior sd), as a user would edit it."""
    text = (src / "analysis" / "priors" / "default.toml").read_text()
    head, tail = text.split("[beta_support]", 1)
    edited = head + "[beta_support]" + tail.replace("sigma = 0.2", f"sigma = {sigma}", 1)
    if edited == text:
        raise RuntimeError("default.toml no longer has [beta_support] sigma = 0.2: update the bench's edit")
    dest.write_text(edited)
    return dest


# Speed targets of issue 12 (seconds, 2-core machine): what each step of a user's loop should take.
TARGETS_S = {"cold": 60.0, "priors_edit_iterate": 30.0, "priors_edit_full": 30.0, "warm": 5.0}
ITERATE = ("--models", "main", "--skip", "loco", "forecast", "sweep")


def bench_fit(raw_dir: Path, work: Path) -> dict:
    """A user's loop, each step a fit plus the report as `make fit` runs them: cold (fresh runs dir), warm (same
    inputs: reused by content hash), then one prior value edited in a copied preset, fitted by `make iterate`
    (main model only, no secondary steps) and by a full `make fit PRIORS=...` (another value, so nothing is
    reused); with where the cold fit's time goes."""
    src = snapshot_source(Path(__file__).resolve().parents[1], work / "src")
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
            "load_1min_at_end": _load()[0],
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


def tile_vote_share(data: VoteShareData, k: int) -> VoteShareData:
    """k copies of the vote-share design as new races (ids suffixed '~j'), without money evidence.

    Race-level arrays are tiled; candidate- and component-level indices into races and components are
    offset by j times the number of races and components, so each copy is its own set of races."""
    n_race, n_comp, n_cand = data.n_race, len(data.component_share), len(data.frame)
    copies = np.repeat(np.arange(k), n_cand)
    frame = pd.concat([data.frame.assign(race_id=data.frame.race_id + f"~{j}") for j in range(k)], ignore_index=True)
    no_cell = np.full(n_cand * k, -1)
    empty = MoneyEvidence(pd.DataFrame(columns=["race_id", "candidate_id", "stance"]), np.zeros((0, 0)), np.zeros(0),
                          np.array([], dtype=str), [])  # fmt: skip
    return dataclasses.replace(
        data,
        frame=frame,
        race_ids=[f"{r}~{j}" for j in range(k) for r in data.race_ids],
        race_idx=np.tile(data.race_idx, k) + copies * n_race,
        cycle_idx=np.tile(data.cycle_idx, k),
        district_idx=np.tile(data.district_idx, k),
        incumbent=np.tile(data.incumbent, k),
        endorsement=np.tile(data.endorsement, (k, 1)),
        log_support=np.tile(data.log_support, k),
        log_oppose=np.tile(data.log_oppose, k),
        support_cell=no_cell,
        oppose_cell=no_cell,
        turnout=np.tile(data.turnout, k),
        turnout_filled=np.tile(data.turnout_filled, k),
        on_cycle=np.tile(data.on_cycle, k),
        log_votes_cast=np.tile(data.log_votes_cast, k),
        component_idx=np.tile(data.component_idx, k) + copies * n_comp,
        component_race=np.tile(data.component_race, k) + np.repeat(np.arange(k), n_comp) * n_race,
        component_share=np.tile(data.component_share, k),
        component_label=[f"{c}~{j}" for j in range(k) for c in data.component_label],
        money=empty,
    )


def simulate_vote_share(data: VoteShareData, params: dict[str, float], rng: np.random.Generator) -> VoteShareData:
    """Replace the observed component shares by a draw from the plug-in model at the given parameters."""
    eta = (
        params["beta_support"] * data.log_support
        + params["beta_oppose"] * data.log_oppose
        + params["beta_incumbent"] * data.incumbent
        + data.endorsement @ np.array([_term_value(params, t.term) for t in data.terms])
    )
    shares = component_predictive(eta[None], np.array([params["concentration"]]), data, rng)[0]
    # The same floor the data builder applies: a share of exactly 0 has zero Dirichlet density.
    return dataclasses.replace(data, component_share=np.maximum(shares, SHARE_FLOOR))


def tile_head_to_head(h2h: pd.DataFrame, k: int) -> pd.DataFrame:
    """k copies of the head-to-head rows as new races (ids suffixed '~j')."""
    rows = h2h.dropna(subset=["logit_share_a"])
    return pd.concat([rows.assign(race_id=rows.race_id + f"~{j}") for j in range(k)], ignore_index=True)


def _term_value(params: dict[str, float], term: str) -> float:
    """The simulated coefficient of an endorsement term: its own entry, else the shared one."""
    return params.get(f"beta_{term}", params["beta_<each endorsement term>"])


def simulate_head_to_head(h2h: pd.DataFrame, params: dict[str, float], rng: np.random.Generator) -> pd.DataFrame:
    """Replace logit_share_a by Normal draws from the head-to-head model at the given parameters."""
    columns, names = head_to_head_columns(h2h)
    x = h2h[columns].to_numpy(dtype=float)
    beta = np.array([params[n] if n in params else _term_value(params, n.removeprefix("beta_")) for n in names])
    return h2h.assign(logit_share_a=x @ beta + rng.normal(0.0, params["sigma_head_to_head"], len(h2h)))


def _finished(run) -> bool:
    """Whether a background nutpie sampler is done (nutpie 0.16 raises TimeoutError while it is not)."""
    try:
        return bool(run.is_finished)
    except TimeoutError:
        return False


def sample_with_budget(model: pm.Model, settings: SamplerSettings, seed: int, budget_s: float) -> dict:
    """Compile and sample with nutpie directly, storing only the main parameters (the per-candidate eta of
    a 1000x dataset would not fit in memory), and abort sampling once compile + sampling exceed budget_s."""
    import nutpie

    names = main_params([v.name for v in model.free_RVs])
    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model, backend="numba", var_names=names)
    compile_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            seed=seed,
            target_accept=settings.target_accept,
            save_warmup=True,  # only the main parameters are stored; kept to say how far an aborted fit got
            progress_bar=False,
            blocking=False,
        )
        deadline = t0 + budget_s
        while not _finished(run) and time.perf_counter() < deadline:
            time.sleep(POLL_S)
        finished = _finished(run)
        idata = run.wait() if finished else run.abort()
    sampling_s = time.perf_counter() - t1
    out = {"compile_s": round(compile_s, 2), "sampling_s": round(sampling_s, 2), "finished": finished}
    if finished:
        ess = min_bulk_ess(idata, names)
        out |= {"min_bulk_ess": round(ess, 1), "ess_per_s": _rate(ess, sampling_s)}
        out["divergences"] = int(idata.sample_stats["diverging"].sum())
        out |= convergence(idata, names)
    else:
        warm, post = (int(idata[g].sizes.get("draw", 0)) if g in idata.children else 0 for g in WARMUP_GROUPS)
        out["skipped"] = f"over the {budget_s:.0f} s budget: aborted after {warm} warmup + {post} draws per chain"
    return out


def bench_growth(inputs: Inputs, multiples, settings: SamplerSettings, seed: int, budget_s: float) -> list[dict]:
    """Fit every registered model that can run on simulated datasets k times the bundled size (the tiled data
    carry no money figures, so a latent-money model is left out)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in multiples:
        vs = simulate_vote_share(tile_vote_share(inputs["data"], k), SIM_VOTE_SHARE, rng)
        h2h = simulate_head_to_head(tile_head_to_head(inputs["h2h"], k), SIM_HEAD_TO_HEAD, rng)
        tiled = Inputs(None, None, h2h, vs)
        for _position, spec in models.bayesian():
            reason = spec.cannot_run(tiled)
            if reason:
                print(f"  growth {spec.name} x{k}: skipped ({reason})", file=sys.stderr)
                continue
            t0 = time.perf_counter()
            model = spec.build(tiled, DEFAULT_PRIORS)
            row = {"model": spec.name, "multiple": k, "rows": spec.n_rows(tiled)}
            row["build_s"] = round(time.perf_counter() - t0, 2)
            row["load_1min_at_start"] = _load()[0]
            row |= sample_with_budget(model, settings, seed + k, budget_s)
            row["wall_s"] = round(row["build_s"] + row["compile_s"] + row["sampling_s"], 2)
            print(f"  growth {spec.name} x{k}: {row['wall_s']} s, ESS/s {row.get('ess_per_s', '-')}", file=sys.stderr)
            rows.append(row)
    return rows


def bench_parallel(inputs: Inputs, seed: int, workers: int = 2) -> dict:
    """Leave-one-cycle-out of the main model with the secondary settings (as `make fit` runs it), in one process and
    over `workers` processes (model.parallel; the first parallel call also starts the workers), with the speed-up
    and whether the two gave the same table."""
    from model.evaluate import leave_one_cycle_out

    names = [models.main_name()]
    out: dict = {"model": names[0], "settings": dataclasses.asdict(SECONDARY), "cpu_count": os.cpu_count()}
    tables = []
    for n in (1, workers):
        load = _load()
        t0 = time.perf_counter()
        per_candidate, _summary = leave_one_cycle_out(inputs, DEFAULT_PRIORS, seed, SECONDARY, names, workers=n)
        out[f"workers_{n}"] = {"wall_s": round(time.perf_counter() - t0, 2), "load_at_start": load}
        print(f"  leave-one-cycle-out, {n} worker(s): {out[f'workers_{n}']['wall_s']} s", file=sys.stderr)
        tables.append(per_candidate)
    out["speed_up"] = round(out["workers_1"]["wall_s"] / out[f"workers_{workers}"]["wall_s"], 2)
    out["same_numbers"] = bool(tables[0].equals(tables[1]))
    out["load_at_end"] = _load()
    return out


def run_bench(raw_dir: Path, quick: bool, seed: int = SEED, budget_s: float = GROWTH_BUDGET_S) -> dict:
    """All benchmark sections as one JSON-able dict (quick: one model, one sampler, 10x, no subprocess fits)."""
    inputs = load_inputs(raw_dir)
    settings = QUICK if quick else FULL
    growth_settings = QUICK if quick else GROWTH
    result: dict = {
        "machine": machine_info(),
        "quick": quick,
        "seed": seed,
        "data": {
            "vote_share_candidates": len(inputs["data"].frame),
            "vote_share_races": inputs["data"].n_race,
            "head_to_head_races": int(inputs["h2h"].logit_share_a.notna().sum()),
        },
    }
    print("samplers", file=sys.stderr)
    models, samplers = (MODELS[:1], SAMPLERS[:1]) if quick else (MODELS, SAMPLERS)
    result["samplers"] = bench_samplers(inputs, models, samplers, settings, seed)
    if not quick:
        print("make fit, cold and warm", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="bench-fit-") as work:
            result["fit"] = bench_fit(Path(raw_dir), Path(work))
    print("growth", file=sys.stderr)
    result["growth_settings"] = dataclasses.asdict(growth_settings) | {"budget_s": budget_s, "simulated_at": {
        "vote-share models": SIM_VOTE_SHARE, "head-to-head models": SIM_HEAD_TO_HEAD}}  # fmt: skip
    result["growth"] = bench_growth(inputs, MULTIPLES[:1] if quick else MULTIPLES, growth_settings, seed, budget_s)
    if not quick:
        result["parallel"] = bench_parallel(inputs, seed)
    result["machine"]["load_average_at_end"] = _load()
    return result


def main(argv: list[str] | None = None) -> int:
    """`python -m model.bench --raw DIR --out FILE [--quick]`: run the benchmark and write JSON."""
    parser = argparse.ArgumentParser(prog="python -m model.bench", description=__doc__)
    parser.add_argument("--raw", type=Path, default=Path("data/raw"))
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--quick", action="store_true", help="one model, one sampler, 1 chain x 50 draws, 10x only")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    result = run_bench(args.raw, args.quick, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
