"""`make bench`: sampler speed (nutpie vs PyMC NUTS), cold and warm `make fit`, and growth with data size (nutpie
and the JAX samplers); `--only SECTION` refreshes one section of an existing bench/results.json."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from importlib import metadata
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import scipy.sparse as sp

from model import atomic, models
from model.errors import UserError
from model.features import SHARE_FLOOR, MoneyEvidence, VoteShareData
from model.models import carryover
from model.models.base import Inputs
from model.models.base import load_inputs as _load_inputs
from model.models.carryover import CarryoverData, VoteShareCarryover, carryover_data
from model.models.dirichlet import component_predictive
from model.models.head_to_head import head_to_head_columns
from model.models.vote_share import CENTRED_MIN_INFORMATION, VoteShareModel, parameterisation
from model.priors import DEFAULT_PRIORS
from model.provenance import PACKAGES, git_commit
from model.samplers import jax_device, require_installed, require_sampler
from model.sampling import DEFAULT_DRAWS, SECONDARY, SamplerSettings, sample

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
GROWTH_SETUP_S = 180.0  # on top of the budget: a growth fit's process simulating its data and building the model
GROWTH_SAMPLERS = ("nutpie", "numpyro", "blackjax")  # JAX ones are skipped (and say so) without the [jax] extra
SECTIONS = (
    "samplers",
    "fit",
    "growth",
    "parallel",
)  # what --only can run; each replaces its keys in an existing results.json
SECTION_KEYS = {
    "samplers": ("samplers",),
    "fit": ("fit",),
    "growth": ("growth", "growth_settings"),
    "parallel": ("parallel",),
}
WARMUP_GROUPS = ("warmup_posterior", "posterior")  # how far an aborted fit got
POLL_S = 0.2  # how often a running growth fit is checked against its budget
ORPHAN_POLL_S = 1.0  # how often a growth fit's process checks that the bench that started it is still there
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
# The candidate-aware (main) model: cycle/district deviations drawn with sd tau (non-zero, so the hierarchy has
# something to find), candidate strengths with sd sigma_candidate, runoffs carrying their primary over fully.
SIM_MAIN = {**SIM_VOTE_SHARE, "tau": 0.05, "sigma_candidate": 0.3, "beta_primary_share": 1.0, "beta_consolidation": 0.1}


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


def leapfrog_steps(idata) -> dict:
    """Mean leapfrog steps (gradients) per warmup iteration and per draw, as far as the fit got: the cost of an
    iteration is this times the cost of a gradient, and it is what grows when a posterior gets harder."""
    out = {}
    for group, key in (("warmup_sample_stats", "leapfrog_per_warmup_iteration"), ("sample_stats", "leapfrog_per_draw")):
        stats = idata[group] if group in idata.children else None
        if stats is not None and "n_steps" in stats and stats["n_steps"].size:
            out[key] = round(float(stats["n_steps"].mean()), 1)
    return out


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
    """k copies of the vote-share design as new races and new candidates (race and candidate ids suffixed '~j'),
    with the money evidence tiled the same way (tile_money_evidence).

    Race-level arrays are tiled; candidate- and component-level indices into races, components and money cells
    are offset by j times their count, so each copy is its own set of races, candidates and IE figures."""
    n_race, n_comp, n_cand = data.n_race, len(data.component_share), len(data.frame)
    n_cell = len(data.money.cells)
    copies = np.repeat(np.arange(k), n_cand)
    frame = pd.concat(
        [data.frame.assign(race_id=data.frame.race_id + f"~{j}", candidate_id=data.frame.candidate_id + f"~{j}")
         for j in range(k)],
        ignore_index=True,
    )  # fmt: skip
    return dataclasses.replace(
        data,
        frame=frame,
        race_ids=[f"{r}~{j}" for j in range(k) for r in data.race_ids],
        race_idx=np.tile(data.race_idx, k) + copies * n_race,
        cycle_idx=np.tile(data.cycle_idx, k),
        district_idx=np.tile(data.district_idx, k),
        incumbent=np.tile(data.incumbent, k),
        experienced=np.tile(data.experienced, k),
        endorsement=np.tile(data.endorsement, (k, 1)),
        log_support=np.tile(data.log_support, k),
        log_oppose=np.tile(data.log_oppose, k),
        support_cell=_offset_cells(data.support_cell, k, n_cell),
        oppose_cell=_offset_cells(data.oppose_cell, k, n_cell),
        turnout=np.tile(data.turnout, k),
        turnout_filled=np.tile(data.turnout_filled, k),
        on_cycle=np.tile(data.on_cycle, k),
        log_votes_cast=np.tile(data.log_votes_cast, k),
        component_idx=np.tile(data.component_idx, k) + copies * n_comp,
        component_race=np.tile(data.component_race, k) + np.repeat(np.arange(k), n_comp) * n_race,
        component_share=np.tile(data.component_share, k),
        component_label=[f"{c}~{j}" for j in range(k) for c in data.component_label],
        money=tile_money_evidence(data.money, k),
    )


def _offset_cells(cell: np.ndarray, k: int, n_cell: int) -> np.ndarray:
    """Per-candidate money-cell indices of k copies: copy j's cells offset by j * n_cell, -1 (no figure) kept."""
    tiled = np.tile(cell, k) + np.repeat(np.arange(k), len(cell)) * n_cell
    return np.where(np.tile(cell, k) < 0, -1, tiled)


def tile_money_evidence(ev: MoneyEvidence, k: int) -> MoneyEvidence:
    """k copies of the IE figures, each covering its own copy's cells: the incidence is block diagonal, stored
    sparse (at 1000x a dense (figure, cell) matrix would take ~80 GB)."""
    cells = pd.concat(
        [ev.cells.assign(race_id=ev.cells.race_id + f"~{j}", candidate_id=ev.cells.candidate_id + f"~{j}")
         for j in range(k)],
        ignore_index=True,
    )  # fmt: skip
    return MoneyEvidence(
        cells=cells,
        incidence=sp.block_diag([sp.csr_array(ev.incidence)] * k, format="csr"),
        amount_usd=np.tile(ev.amount_usd, k),
        kind=np.tile(ev.kind, k),
        source_rows=list(ev.source_rows) * k,
    )


def tile_carryover(cd: CarryoverData, k: int, n_race: int) -> CarryoverData:
    """The carry-over links of k tiled copies (tile_vote_share): each copy's runoffs built from its own primary,
    its eliminated candidates aligned with its own finalists, and its own candidates (ids suffixed '~j')."""
    n_row = len(cd.candidate_idx)
    names = [f"{cd.candidates[c]}~{j}" for j in range(k) for c in cd.candidate_idx]
    candidates = sorted(set(names))
    position = {c: i for i, c in enumerate(candidates)}
    return CarryoverData(
        candidates=candidates,
        candidate_idx=np.array([position[c] for c in names]),
        runoff=np.tile(cd.runoff, k),
        primary_row=np.tile(cd.primary_row, k) + np.repeat(np.arange(k), n_row) * n_row,
        alignment=sp.block_diag([sp.csr_array(cd.alignment)] * k, format="csr"),
        row_share=np.tile(cd.row_share, k),
        electorate_change=np.tile(cd.electorate_change, k),
        electorate_known=np.tile(cd.electorate_known, k),
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


def sample_with_budget(model: pm.Model, settings: SamplerSettings, seed: int, budget_s: float, names) -> dict:
    """Compile and sample with nutpie directly, storing only the named parameters (the per-candidate eta of
    a 1000x dataset would not fit in memory), and abort sampling once compile + sampling exceed budget_s."""
    import nutpie

    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model, backend="numba", var_names=names)
    compile_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run = nutpie.sample(
            compiled,
            draws=settings.draws or DEFAULT_DRAWS,
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
    out |= leapfrog_steps(idata)
    if finished:
        ess = min_bulk_ess(idata, names)
        out |= {"min_bulk_ess": round(ess, 1), "ess_per_s": _rate(ess, sampling_s)}
        out["divergences"] = int(idata.sample_stats["diverging"].sum())
        out |= convergence(idata, names)
    else:
        warm, post = (int(idata[g].sizes.get("draw", 0)) if g in idata.children else 0 for g in WARMUP_GROUPS)
        out["skipped"] = f"over the {budget_s:.0f} s budget: aborted after {warm} warmup + {post} draws per chain"
    return out


def gated_names(spec, model: pm.Model) -> list[str]:
    """The variables whose ESS and R-hat gate a real fit of this model (its gated prefixes, as model.fit applies
    them), excluding none: at 1000x these are all scalars or per-cycle/district vectors."""
    names = [v.name for v in (*model.free_RVs, *model.deterministics)]
    return [n for n in names if any(n.startswith(g) for g in spec.gated)]


def simulate_carryover(spec, data: VoteShareData, cd: CarryoverData, rng: np.random.Generator):
    """(data, links) with component shares, IE figures and primary shares drawn from the candidate-aware model at
    SIM_MAIN (its own simulate, as SBC uses it): true money per cell is the bundled plug-in figure (at least $1k),
    cycle/district deviations and candidate strengths are drawn with the SIM_MAIN sds."""
    carryover.remember(data, cd)
    truth = {name: SIM_MAIN[name] for name in ("beta_support", "beta_oppose", "beta_incumbent", "concentration")}
    truth |= {n: SIM_MAIN[n] for n in ("sigma_candidate", "beta_primary_share", "beta_consolidation")}
    truth["beta_turnout_support"] = 0.0
    for t in data.terms:
        truth[f"beta_{t.term}"] = _term_value(SIM_MAIN, t.term)
        for prefix in ("beta_turnout_", "beta_oncycle_", "beta_electorate_"):
            truth[prefix + t.term] = 0.0
    for stance in ("support", "oppose"):
        for factor, n in (("cycle", len(data.cycles)), ("district", len(data.districts))):
            truth[f"tau_{factor}_{stance}"] = SIM_MAIN["tau"]
            truth[f"z_{factor}_{stance}"] = rng.normal(size=n)
    money_k = np.ones(len(data.money.cells))
    for cell, log_k in ((data.support_cell, data.log_support), (data.oppose_cell, data.log_oppose)):
        money_k[cell[cell >= 0]] = np.maximum(np.expm1(log_k[cell >= 0]), 1.0)
    truth["money_k"] = money_k
    truth["z_candidate"] = rng.normal(size=len(cd.candidates))
    post = {name: np.asarray(v)[None] for name, v in truth.items()}
    truth["eta"] = spec.eta_draws(post, data)[0]
    update = spec.simulate(Inputs(None, None, None, data), truth, rng)
    if update is None:
        raise RuntimeError("a simulated share underflowed to 0; try another seed")
    ev = dataclasses.replace(data.money, amount_usd=np.exp(update["log_reported_money_k"]) * 1000.0)
    sim = dataclasses.replace(data, component_share=np.exp(update["log_component_share"]), money=ev)
    return sim, dataclasses.replace(cd, row_share=update.get("row_share", cd.row_share))


def growth_inputs(inputs: Inputs, spec, k: int, seed: int) -> Inputs:
    """Simulated data k times the bundled size for one model: the candidate-aware models draw from their own
    simulate (with tiled money evidence and carry-over links), the others from the plug-in model at
    SIM_VOTE_SHARE and the head-to-head model at SIM_HEAD_TO_HEAD."""
    rng = np.random.default_rng([seed, k])
    tiled = tile_vote_share(inputs.data, k)
    h2h = simulate_head_to_head(tile_head_to_head(inputs.h2h, k), SIM_HEAD_TO_HEAD, rng)
    if isinstance(spec, VoteShareCarryover):
        links = tile_carryover(carryover_data(inputs.data), k, inputs.data.n_race)
        data, links = simulate_carryover(spec, tiled, links, rng)
        carryover.remember(data, links)
        return Inputs(None, None, h2h, data)
    return Inputs(None, None, h2h, simulate_vote_share(tiled, SIM_VOTE_SHARE, rng))


def sample_jax(model: pm.Model, settings: SamplerSettings, seed: int, names: list[str]) -> dict:
    """Sample with numpyro or blackjax through PyMC's JAX path, keeping only the named variables. Sampling time is
    PyMC's clock around the sampler, which includes XLA's compile of the sampler; compile_s is the rest (the
    PyTensor-to-JAX conversion, initial points and post-processing)."""
    t0 = time.perf_counter()
    idata = sample(model, seed, settings, progress=False, var_names=names)
    total_s = time.perf_counter() - t0
    sampling_s = float(idata.posterior.attrs["sampling_time"])
    ess = min_bulk_ess(idata, names)
    return {
        "compile_s": round(total_s - sampling_s, 2),
        "sampling_s": round(sampling_s, 2),
        "finished": True,
        "min_bulk_ess": round(ess, 1),
        "ess_per_s": _rate(ess, sampling_s),
        "divergences": int(idata.sample_stats["diverging"].sum()),
        **convergence(idata, names),
        **leapfrog_steps(idata),
    }


def growth_fit(raw_dir: Path, name: str, k: int, settings: SamplerSettings, seed: int, budget_s: float) -> dict:
    """One growth row, meant to run in its own process (run_isolated): simulate the data, build, compile, sample,
    and the process's peak resident memory (ru_maxrss: data, compiled model, sampler and draws together)."""
    spec = models.get(name)
    require_sampler(settings.sampler)  # also makes the JAX gradients finite (samplers.jax_safe_special_functions)
    t0 = time.perf_counter()
    tiled = growth_inputs(load_inputs(raw_dir), spec, k, seed)
    row = {"model": name, "sampler": settings.sampler, "multiple": k, "rows": spec.n_rows(tiled)}
    row["data_s"] = round(time.perf_counter() - t0, 2)
    reason = spec.cannot_run(tiled)
    if reason:
        return row | {"finished": False, "skipped": reason}
    row["parameterisation"] = parameterisation(tiled.data) if isinstance(spec, VoteShareModel) else "no groups"
    t0 = time.perf_counter()
    model = spec.build(tiled, DEFAULT_PRIORS)
    row["build_s"] = round(time.perf_counter() - t0, 2)
    row["load_1min_at_start"] = _load()[0]
    names = gated_names(spec, model)
    row["ess_params"] = len(names)
    if settings.sampler == "nutpie":
        row |= sample_with_budget(model, settings, seed + k, budget_s, names)
        row["device"] = "cpu (nutpie, numba)"
    else:
        row |= sample_jax(model, settings, seed + k, names)
        row["device"] = f"{jax_device()} (jax)"
    row["wall_s"] = round(row["build_s"] + row["compile_s"] + row["sampling_s"], 2)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux
    return row


def _child(conn, fn, args, parent_pid: int) -> None:
    """Run fn(*args) in a child process and send its result (or the error, as one line) to the parent."""
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    try:
        conn.send(fn(*args))
    except Exception as err:  # the parent records it as a skipped row
        conn.send({"finished": False, "skipped": f"error: {type(err).__name__}: {str(err)[:300]}"})
    finally:
        conn.close()


def _exit_with_parent(parent_pid: int) -> None:
    """End this process once its parent is gone: a bench killed from outside never reaches its own kill of the
    fit, and a 1000x fit left behind would sample for hours on the cores the next run needs."""
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_POLL_S)
    os._exit(1)


def run_isolated(fn, args: tuple, timeout_s: float) -> dict:
    """fn(*args) in a fresh (spawned) process, so that each fit's peak memory is its own and a fit over its
    budget can be stopped; {'finished': False, 'skipped': ...} when it did not report within timeout_s."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, os.getpid()), daemon=True)
    proc.start()
    send.close()
    try:
        got = receive.poll(timeout_s)
        out = receive.recv() if got else None
    except EOFError:  # the child died without reporting (e.g. killed for memory)
        out = None
    if proc.is_alive():
        proc.kill()
    proc.join()
    if out is None:
        reason = f"over the {timeout_s:.0f} s limit" if proc.exitcode == -9 else f"exit code {proc.exitcode}"
        out = {"finished": False, "skipped": f"no result from the fit process ({reason})"}
    return out


def bench_growth(
    raw_dir: Path, names, samplers, multiples, settings: SamplerSettings, seed: int, budget_s: float
) -> list[dict]:
    """Each named model with each sampler on simulated datasets k times the bundled size, one fit at a time, each
    in its own process (peak memory per fit); a sampler whose extra is missing is recorded as skipped."""
    rows = []
    for name in names:
        for k in multiples:
            for sampler in samplers:
                run = dataclasses.replace(settings, sampler=sampler)
                head = {"model": name, "sampler": sampler, "multiple": k}
                head |= {"chains": run.chains, "tune": run.tune, "draws": run.draws, "budget_s": budget_s}  # runs merge
                try:
                    require_installed(sampler)  # finds JAX without importing it here: each fit runs in its own process
                except UserError as err:
                    rows.append(head | {"finished": False, "skipped": str(err)})
                    continue
                # The child's own budget stops nutpie; the limit here also stops a JAX sampler (it cannot be
                # aborted from inside) and leaves time for simulating the data and building the model.
                args = (Path(raw_dir), name, k, run, seed, budget_s)
                row = head | run_isolated(growth_fit, args, budget_s + GROWTH_SETUP_S)
                print(f"  growth {name} {sampler} x{k}: {row.get('wall_s', '-')} s, ESS {row.get('min_bulk_ess', '-')},"
                      f" ESS/s {row.get('ess_per_s', '-')}, {row.get('peak_rss_mb', '-')} MB"
                      f"{' (' + row['skipped'] + ')' if 'skipped' in row else ''}", file=sys.stderr)  # fmt: skip
                print(f"  row {json.dumps(row)}", file=sys.stderr)  # kept in the log should a later fit be stopped
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
        per_candidate, _summary, _folds = leave_one_cycle_out(inputs, DEFAULT_PRIORS, seed, SECONDARY, names, workers=n)
        out[f"workers_{n}"] = {"wall_s": round(time.perf_counter() - t0, 2), "load_at_start": load}
        print(f"  leave-one-cycle-out, {n} worker(s): {out[f'workers_{n}']['wall_s']} s", file=sys.stderr)
        tables.append(per_candidate)
    out["speed_up"] = round(out["workers_1"]["wall_s"] / out[f"workers_{workers}"]["wall_s"], 2)
    out["same_numbers"] = bool(tables[0].equals(tables[1]))
    out["load_at_end"] = _load()
    return out


def run_bench(
    raw_dir: Path,
    quick: bool,
    seed: int = SEED,
    budget_s: float = GROWTH_BUDGET_S,
    only: list[str] | None = None,
    growth: dict | None = None,
) -> dict:
    """The benchmark sections (only: some of SECTIONS; default all) as one JSON-able dict (quick: one model, one
    sampler, 10x, no subprocess fits of make fit; growth: 'models', 'samplers', 'multiples' to run instead of all,
    'draws' and 'tune' per chain instead of GROWTH's)."""
    inputs = load_inputs(raw_dir)
    settings = QUICK if quick else FULL
    growth_settings = QUICK if quick else GROWTH
    sections = only or list(SECTIONS)
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
    if "samplers" in sections:
        print("samplers", file=sys.stderr)
        models, samplers = (MODELS[:1], SAMPLERS[:1]) if quick else (MODELS, SAMPLERS)
        result["samplers"] = bench_samplers(inputs, models, samplers, settings, seed)
    if "fit" in sections and not quick:
        print("make fit: cold, warm, a priors edit (make iterate, make fit)", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="bench-fit-") as work:
            result["fit"] = bench_fit(Path(raw_dir), Path(work))
    if "growth" in sections:
        print("growth", file=sys.stderr)
        # Quick: the plug-in model with nutpie (a smoke test; the main model at 10x takes minutes to compile and run).
        names = growth_models()[1:2] if quick else growth_models()
        samplers = GROWTH_SAMPLERS[:1] if quick else GROWTH_SAMPLERS
        names, samplers = (growth or {}).get("models") or names, (growth or {}).get("samplers") or samplers
        lengths = {k: (growth or {}).get(k) for k in ("draws", "tune")}
        growth_settings = dataclasses.replace(growth_settings, **{k: v for k, v in lengths.items() if v})
        result["growth_settings"] = dataclasses.asdict(growth_settings) | {
            "budget_s": budget_s,
            "models": list(names),
            "samplers": list(samplers),
            "simulated_at": {"candidate-aware models": SIM_MAIN, "other vote-share models": SIM_VOTE_SHARE,
                             "head-to-head models": SIM_HEAD_TO_HEAD},
            "centred_min_information": CENTRED_MIN_INFORMATION,
            "jax_packages": _versions(("jax", "jaxlib", "numpyro", "blackjax")),
            "peak_rss": "ru_maxrss of the process that simulated, built, compiled and sampled the fit (one per fit)",
            "jax_timing": "sampling_s includes XLA's compile of the sampler (PyMC times the two together)",
        }  # fmt: skip
        multiples = (growth or {}).get("multiples") or (MULTIPLES[:1] if quick else MULTIPLES)
        result["growth"] = bench_growth(raw_dir, names, samplers, multiples, growth_settings, seed, budget_s)
    if "parallel" in sections and not quick:
        print("leave-one-cycle-out at 1 and 2 workers", file=sys.stderr)
        result["parallel"] = bench_parallel(inputs, seed)
    result["machine"]["load_average_at_end"] = _load()
    return result


def _versions(packages) -> dict[str, str | None]:
    """Installed versions of optional packages (None: not installed), read without importing them."""
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def growth_models() -> tuple[str, ...]:
    """The models of the growth curve: the main model first, then the vote-share models with plug-in money (the
    growth curve before the main model could run at scale)."""
    plug_in = [
        m.name
        for _position, m in models.bayesian()
        if isinstance(m, VoteShareModel) and type(m).log_money is VoteShareModel.log_money
    ]
    return (models.main_name(), *plug_in)


def merge_sections(previous: dict, result: dict, sections: list[str]) -> dict:
    """previous (an earlier bench/results.json) with the given sections replaced by result's; the machine
    record of each section says when and where that section was measured."""
    by_section = previous.get("machine_by_section") or {s: previous["machine"] for s in SECTIONS if s in previous}
    merged = {k: v for k, v in previous.items() if k not in ("machine_by_section",)}
    for section in sections:
        for key in SECTION_KEYS[section]:
            merged.pop(key, None)
            if key in result:
                merged[key] = result[key]
        by_section[section] = result["machine"]
    if "growth" in sections:
        # Growth rows are refreshed per (model, sampler, multiple): rows of other models or samplers stay.
        fresh = {_growth_key(r) for r in result["growth"]}
        kept = [_with_run_settings(r, previous.get("growth_settings", {})) for r in previous.get("growth", [])]
        merged["growth"] = [r for r in kept if _growth_key(r) not in fresh] + result["growth"]
    merged |= {k: result[k] for k in ("machine", "quick", "seed", "data")}
    merged["machine_by_section"] = by_section
    return merged


def _with_run_settings(row: dict, settings: dict) -> dict:
    """A growth row with the chain lengths and budget of the run that measured it (rows from before rows carried
    them take their run's growth_settings, which a merge replaces)."""
    keys = ("chains", "tune", "draws", "budget_s")
    return {k: settings[k] for k in keys if k in settings and k not in row} | row


def _growth_key(row: dict) -> tuple:
    """Which fit a growth row measures."""
    return row["model"], row.get("sampler", "nutpie"), row["multiple"]


def main(argv: list[str] | None = None) -> int:
    """`python -m model.bench --raw DIR --out FILE [--quick] [--only SECTION ...]`: run the benchmark, write JSON."""
    parser = argparse.ArgumentParser(prog="python -m model.bench", description=__doc__)
    parser.add_argument("--raw", type=Path, default=Path("data/raw"))
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--quick", action="store_true", help="one model, one sampler, 1 chain x 50 draws, 10x only")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--budget", type=float, default=GROWTH_BUDGET_S, help="seconds per growth fit")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, help="run these sections and merge them into an existing --out"
    )
    parser.add_argument("--growth-models", nargs="+", metavar="M", help="growth: these models (default: main, plugin)")
    parser.add_argument("--growth-samplers", nargs="+", choices=GROWTH_SAMPLERS, help="growth: these samplers")
    parser.add_argument("--growth-multiples", nargs="+", type=int, metavar="K", help="growth: these multiples")
    parser.add_argument("--growth-draws", type=int, metavar="N", help=f"growth: draws per chain ({GROWTH.draws})")
    parser.add_argument("--growth-tune", type=int, metavar="N", help=f"growth: warmup per chain ({GROWTH.tune})")
    args = parser.parse_args(argv)
    growth = {"models": args.growth_models, "samplers": args.growth_samplers, "multiples": args.growth_multiples}
    growth |= {"draws": args.growth_draws, "tune": args.growth_tune}
    result = run_bench(args.raw, args.quick, args.seed, args.budget, args.only, growth)
    if args.only and args.out.exists():
        result = merge_sections(json.loads(args.out.read_text()), result, args.only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
