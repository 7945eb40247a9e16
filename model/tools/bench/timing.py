"""Sampler timing on the bundled data: ESS per second, leapfrog steps, convergence, the parallel fan-out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import arviz as az
import numpy as np
import pymc as pm

from model import models
from model.inference.sampling import SECONDARY, SamplerSettings, sample
from model.infra.provenance import PACKAGES, git_commit
from model.models.base import Inputs
from model.models.base import load_inputs as _load_inputs
from model.priors import DEFAULT_PRIORS


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
        "load_average_at_start": load_average(),
    }


def load_average() -> list[float]:
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


def ess_rate(ess: float, seconds: float) -> float:
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
    load = load_average()[0]
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
        "ess_per_s": ess_rate(ess, sampling_s),
        "ess_per_s_incl_compile": ess_rate(ess, build_s + total_s),
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


def bench_parallel(inputs: Inputs, seed: int, workers: int = 2) -> dict:
    """Leave-one-cycle-out of the main model with the secondary settings (as `make fit` runs it), in one process and
    over `workers` processes (model.parallel; the first parallel call also starts the workers), with the speed-up
    and whether the two gave the same table."""
    from model.evaluation.skill import leave_one_cycle_out

    names = [models.main_name()]
    out: dict = {"model": names[0], "settings": dataclasses.asdict(SECONDARY), "cpu_count": os.cpu_count()}
    tables = []
    for n in (1, workers):
        load = load_average()
        t0 = time.perf_counter()
        per_candidate, _summary, _folds = leave_one_cycle_out(inputs, DEFAULT_PRIORS, seed, SECONDARY, names, workers=n)
        out[f"workers_{n}"] = {"wall_s": round(time.perf_counter() - t0, 2), "load_at_start": load}
        print(f"  leave-one-cycle-out, {n} worker(s): {out[f'workers_{n}']['wall_s']} s", file=sys.stderr)
        tables.append(per_candidate)
    out["speed_up"] = round(out["workers_1"]["wall_s"] / out[f"workers_{workers}"]["wall_s"], 2)
    out["same_numbers"] = bool(tables[0].equals(tables[1]))
    out["load_at_end"] = load_average()
    return out
