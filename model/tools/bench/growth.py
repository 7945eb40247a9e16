"""Growth with data size: one budgeted fit per model, multiple and sampler, each in its own process."""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pymc as pm

from model import models
from model.inference.samplers import jax_device, require_installed, require_sampler
from model.inference.sampling import DEFAULT_DRAWS, SamplerSettings, sample
from model.infra.errors import UserError
from model.models.vote_share import VoteShareModel, parameterisation
from model.priors import DEFAULT_PRIORS
from model.tools.bench.isolation import run_isolated
from model.tools.bench.settings import GROWTH_SETUP_S, POLL_S, WARMUP_GROUPS
from model.tools.bench.tiling import growth_inputs
from model.tools.bench.timing import convergence, ess_rate, leapfrog_steps, load_average, load_inputs, min_bulk_ess


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
    out: dict[str, object] = {
        "compile_s": round(compile_s, 2),
        "sampling_s": round(sampling_s, 2),
        "finished": finished,
    }
    out |= leapfrog_steps(idata)
    if finished:
        ess = min_bulk_ess(idata, names)
        out |= {"min_bulk_ess": round(ess, 1), "ess_per_s": ess_rate(ess, sampling_s)}
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
        "ess_per_s": ess_rate(ess, sampling_s),
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
    row: dict[str, Any] = {"model": name, "sampler": settings.sampler, "multiple": k, "rows": spec.n_rows(tiled)}
    row["data_s"] = round(time.perf_counter() - t0, 2)
    reason = spec.cannot_run(tiled)
    if reason:
        return row | {"finished": False, "skipped": reason}
    row["parameterisation"] = parameterisation(tiled.data) if isinstance(spec, VoteShareModel) else "no groups"
    t0 = time.perf_counter()
    model = spec.build(tiled, DEFAULT_PRIORS)
    row["build_s"] = round(time.perf_counter() - t0, 2)
    row["load_1min_at_start"] = load_average()[0]
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


def growth_models() -> tuple[str, ...]:
    """The models of the growth curve: the main model first, then the vote-share models with plug-in money (the
    growth curve before the main model could run at scale)."""
    plug_in = [
        m.name
        for _position, m in models.bayesian()
        if isinstance(m, VoteShareModel) and type(m).log_money is VoteShareModel.log_money
    ]
    return (models.main_name(), *plug_in)
