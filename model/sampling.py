"""NUTS settings and seeded sampling (nutpie, PyMC, or numpyro / blackjax through PyMC's JAX path), including one
compiled model run on many datasets."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pymc as pm

from model.samplers import JAX_SAMPLERS, SAMPLERS, jax_device, require_sampler

__all__ = [
    "JAX_SAMPLERS", "SAMPLERS", "SamplerSettings", "jax_device", "require_sampler", "sample", "sample_each",
]  # fmt: skip


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings recorded in every manifest."""

    sampler: str = "nutpie"  # "pymc" for PyMC's own NUTS, "numpyro" or "blackjax" for PyMC's JAX path
    chains: int = 4
    # 2000, not 1000: with 1000 the hierarchical sds (tau_district_support) had bulk ESS ~750 and R-hat 1.008-1.0098
    # over seeds, so the 1.01 gate failed or passed by chance; 2000 gives ESS ~1700 and R-hat ~1.005 (seed 1).
    draws: int = 2000
    tune: int = 1000
    # 0.95 rather than 0.8: the soft lower-bound steps of the latent money model gave a few divergences.
    target_accept: float = 0.95


# The prior sweep and leave-one-cycle-out only need means and intervals of a few effects: fewer draws suffice.
SECONDARY = SamplerSettings(chains=2, draws=500, tune=500)


def secondary_settings(settings: SamplerSettings) -> SamplerSettings:
    """Settings for secondary fits: SECONDARY, but never more than the main fit asked for."""
    return replace(
        settings,
        chains=min(settings.chains, SECONDARY.chains),
        draws=min(settings.draws, SECONDARY.draws),
        tune=min(settings.tune, SECONDARY.tune),
    )


def sample(model: pm.Model, seed: int, settings: SamplerSettings, progress: bool, var_names=None):
    """Posterior draws (InferenceData) from nutpie, PyMC's NUTS or a JAX sampler, seeded (var_names: keep only
    these variables; None keeps all)."""
    require_sampler(settings.sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nutpie/PyMC chatter about unused options
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


def sample_each(model: pm.Model, updates: list[dict[str, np.ndarray]], seeds: list[int], settings: SamplerSettings):
    """Posterior draws (InferenceData, one per update) of one model with its pm.Data values replaced.

    nutpie compiles the model once and swaps the data (compiling takes ~2 s, sampling these models ~0.3 s,
    so refitting for each fold or simulation was almost all compilation); PyMC's NUTS sets the data and
    samples each time (a JAX sampler recompiles each time)."""
    if settings.sampler != "nutpie":
        for update, seed in zip(updates, seeds, strict=True):
            with model:
                pm.set_data(update)
            yield sample(model, seed, settings, progress=False)
        return
    import nutpie

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        compiled = nutpie.compile_pymc_model(model, backend="numba")
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
