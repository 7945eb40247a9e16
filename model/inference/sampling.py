"""NUTS settings and seeded sampling (nutpie, PyMC, or numpyro / blackjax through PyMC's JAX path), including one
compiled model run on many datasets."""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pymc as pm
import pytensor

from model.inference.samplers import JAX_SAMPLERS, SAMPLERS, jax_device, require_sampler
from model.infra import parallel

# model/__init__.py turns numba's fast-math off through PYTENSOR_FLAGS, which PyTensor reads when first imported; a
# process that imported PyTensor before this package gets the same setting here (read when a graph is compiled).
pytensor.config.numba__fastmath = "numba__fastmath=True" in os.environ.get("PYTENSOR_FLAGS", "")

__all__ = [
    "JAX_SAMPLERS", "SAMPLERS", "SamplerSettings", "jax_device", "require_sampler", "sample", "sample_each",
]  # fmt: skip


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings recorded in every manifest."""

    sampler: str = "nutpie"  # "pymc" for PyMC's own NUTS, "numpyro" or "blackjax" for PyMC's JAX path
    chains: int = 4
    # None: each model's own number (BayesModel.draws, DEFAULT_DRAWS unless a model mixes slowly); a number given
    # by the user (make fit DRAWS=...) applies to every model.
    draws: int | None = None
    tune: int = 1000
    # 0.9: at 0.95 the candidate-aware models took 47-49 leapfrog steps per draw (step 0.10-0.11), at 0.9 they take
    # 31 (step 0.14-0.17), the same draws' worth of ESS in two thirds of the time; over seeds 20260305, 1 and 2 every
    # default model passed the gate at 0.9 without a divergence. 0.8 had once given the latent money model's soft
    # lower bounds a few divergences (before the prior_parameters vector and the experienced term).
    target_accept: float = 0.9


# 2000, not 1000: with 1000 the hierarchical sds (tau_district_support) had bulk ESS ~750 and R-hat 1.008-1.0098
# over seeds, so the 1.01 gate failed or passed by chance; 2000 gives ESS ~1700 and R-hat ~1.005 (seed 1).
DEFAULT_DRAWS = 2000


def for_model(settings: SamplerSettings, model_draws: int) -> SamplerSettings:
    """The settings one model is fitted with: its own draw count unless the user set one."""
    return settings if settings.draws is not None else replace(settings, draws=model_draws)


# The prior sweep and leave-one-cycle-out only need means and intervals of a few effects: fewer draws suffice.
SECONDARY = SamplerSettings(chains=2, draws=500, tune=500)


def secondary_settings(settings: SamplerSettings) -> SamplerSettings:
    """Settings for secondary fits: SECONDARY, but never more than the main fit asked for."""
    return replace(
        settings,
        chains=min(settings.chains, SECONDARY.chains),
        draws=min(settings.draws or DEFAULT_DRAWS, SECONDARY.draws or DEFAULT_DRAWS),
        tune=min(settings.tune, SECONDARY.tune),
    )


def sample(model: pm.Model, seed: int, settings: SamplerSettings, progress: bool, var_names=None):
    """Posterior draws (InferenceData) from nutpie, PyMC's NUTS or a JAX sampler, seeded (var_names: keep only
    these variables; None keeps all).

    nutpie samples a compiled model taken from this process's compile cache (compiled_nutpie), with the same
    seed, options and InferenceData fix-ups as pm.sample(nuts_sampler="nutpie") would use."""
    require_sampler(settings.sampler)
    settings = for_model(settings, DEFAULT_DRAWS)
    if settings.sampler != "nutpie":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PyMC chatter about unused options
            return pm.sample(
                model=model,
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                random_seed=seed,
                nuts_sampler=settings.sampler,
                # PyMC guesses half the CPUs are hyperthreads and would run chains one after another on 2 cores.
                cores=min(settings.chains, os.cpu_count() or 1),
                target_accept=settings.target_accept,
                progressbar=progress,
                compute_convergence_checks=False,
                var_names=var_names,
            )
    import nutpie
    from pymc.backends.arviz import patch_nutpie_idata
    from pymc.util import get_random_generator

    compiled = compiled_nutpie(model, var_names)
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        idata = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=min(settings.chains, os.cpu_count() or 1),
            # The seed pm.sample(nuts_sampler="nutpie") hands nutpie: its first chain's spawned generator.
            seed=int(get_random_generator(seed).spawn(settings.chains)[0].integers(2**30)),
            target_accept=settings.target_accept,
            save_warmup=False,
            progress_bar=progress,
        )
    patch_nutpie_idata(idata, model, sampling_time=time.time() - t0)
    return idata


def sample_each(
    model: pm.Model,
    updates: list[dict[str, np.ndarray]],
    seeds: list[int],
    settings: SamplerSettings,
    workers: int = 1,
    scheduler: str | None = None,
) -> Iterator:
    """Posterior draws (InferenceData, one per update, in order) of one model with its pm.Data values replaced.

    nutpie compiles the model once (or takes it from this process's compile cache) and swaps the data
    (compiling takes 10-30 s, sampling these models ~0.3 s, so refitting for each fold or simulation was almost
    all compilation); PyMC's NUTS sets the data and samples each time (a JAX sampler recompiles each time). With
    workers > 1 (or a Dask scheduler) the updates are cut into one chunk per worker (model.parallel) and each
    worker compiles once for its chunk (or reuses its own cache); each update keeps its own seed, so the draws
    are the same as in one process."""
    if parallel.serial(workers, scheduler):
        return _sample_chunk_lazily(model, updates, seeds, settings)
    jobs = list(zip(updates, seeds, strict=True))
    return iter(parallel.map_chunks(partial(_sample_chunk, model, settings), jobs, workers, scheduler))


def _sample_chunk(model: pm.Model, settings: SamplerSettings, jobs: list[tuple[dict, int]]) -> list:
    """A worker's share of sample_each: (update, seed) pairs sampled after one compile."""
    return list(_sample_chunk_lazily(model, [u for u, _s in jobs], [s for _u, s in jobs], settings))


def _sample_chunk_lazily(model: pm.Model, updates: list[dict[str, np.ndarray]], seeds: list[int], settings):
    """sample_each in this process, one fit per next()."""
    settings = for_model(settings, DEFAULT_DRAWS)
    if settings.sampler != "nutpie":
        for update, seed in zip(updates, seeds, strict=True):
            with model:
                pm.set_data(update)
            yield sample(model, seed, settings, progress=False)
        return
    import nutpie

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        compiled = compiled_nutpie(model)
        for update, seed in zip(updates, seeds, strict=True):
            yield nutpie.sample(
                compiled.with_data(**update),
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                seed=seed,
                target_accept=settings.target_accept,
                progress_bar=False,
            )


# Compiled nutpie models of this process by graph_key, each with the pm.Data of the model it was compiled from.
# Compiling is most of a fit (10-30 s per model against well under a second of sampling), and a run builds the
# same model several times: the main fit, leave one cycle out, the runoff forecast and the prior sweep differ only
# in pm.Data values (weights, prior parameters).
_COMPILED: dict[str, tuple[Any, dict[str, Any]]] = {}
COMPILE_CACHE_SIZE = 16  # a run has at most a few models; tests that fit many datasets evict the oldest


def compiled_nutpie(model: pm.Model, var_names=None):
    """nutpie's compiled model of a PyMC model (storing var_names, or every variable), compiled once per graph and
    given this model's data values.

    On a cache hit the new values go into the compiled log density (with_data) and into the pm.Data of the
    model first compiled, which nutpie's initial-point function reads (a prior's mean is its starting point):
    so a cached model samples exactly as a freshly compiled one, whatever was compiled before it."""
    import nutpie

    key = graph_key(model) + repr(None if var_names is None else sorted(var_names))  # the variables nutpie stores
    if key not in _COMPILED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            compiled = nutpie.compile_pymc_model(model, backend="numba", var_names=var_names)
        if len(_COMPILED) >= COMPILE_CACHE_SIZE:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = (compiled, {v.name: v for v in model.data_vars})
    compiled, first_data = _COMPILED[key]
    values = {v.name: v.get_value() for v in model.data_vars}
    for name, value in values.items():
        if name in first_data:  # a pm.Data outside the graph is not in the key, and may be new to it
            first_data[name].set_value(value)
    names = {var.name for var in compiled.shared_var_keys}
    return compiled.with_data(**{k: v for k, v in values.items() if k in names})


def graph_key(model: pm.Model) -> str:
    """Content hash of what nutpie compiles: the log density and the deterministics, op by op, with every
    constant's bytes and the name, type and shape of every pm.Data (whose values compiled_nutpie swaps in).

    Two models with the same key compute the same function of their data, so one compiled model serves both;
    anything this key cannot tell apart (an op whose parameters have no faithful repr) only makes keys differ,
    which costs a compile, never a wrong model."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import io_toposort

    outputs = [model.logp(), *model.deterministics]
    free = [model.rvs_to_values[rv] for rv in model.free_RVs]
    digest = hashlib.sha256()
    ids: dict[object, int] = {}

    def ref(var) -> int:
        if var not in ids:
            ids[var] = len(ids)
            if isinstance(var, Constant):
                data = np.asarray(var.data)
                # An object array's bytes are pointers: a random variable's size=None constant differs per process.
                payload = repr(var.data).encode() if data.dtype == object else data.tobytes()
                leaf: tuple = ("const", str(var.type), data.shape, hashlib.sha256(payload).hexdigest())
            elif isinstance(var, SharedVariable):
                leaf = ("data", var.name, str(var.type), np.shape(var.get_value(borrow=True)))
            else:
                leaf = ("input", var.name, str(var.type))
            digest.update(repr(leaf).encode())
        return ids[var]

    for var in free:
        ref(var)
    for node in io_toposort([], outputs):
        inputs = tuple(ref(v) for v in node.inputs)
        digest.update(repr((_op_signature(node.op), inputs)).encode())
        for out in node.outputs:
            ids.setdefault(out, len(ids))
    digest.update(repr([ref(o) for o in outputs]).encode())
    digest.update(repr([d.name for d in model.deterministics]).encode())
    return digest.hexdigest()


def _op_signature(op) -> str:
    """An op's class and parameters (arrays by their bytes), for graph_key."""
    props = getattr(op, "__props__", None)
    if props is None:
        return f"{type(op).__module__}.{type(op).__qualname__}:{op}"
    return f"{type(op).__module__}.{type(op).__qualname__}" + repr(
        tuple((p, _canonical(getattr(op, p))) for p in props)
    )


def _canonical(value):
    """A repr-able stand-in for an op parameter: arrays by dtype, shape and bytes; containers element-wise."""
    if isinstance(value, np.ndarray):
        return ("array", str(value.dtype), value.shape, hashlib.sha256(value.tobytes()).hexdigest())
    if isinstance(value, tuple | list):
        return tuple(_canonical(v) for v in value)
    return repr(value)
