"""Which NUTS samplers exist and whether the optional JAX ones can load (no PyMC import: the CLI parses with it)."""

from __future__ import annotations

import importlib.util
import os
import sys

from model.infra.errors import UserError

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
# The JAX samplers and the packages each needs (the optional extra: pip install -e '.[jax]').
JAX_SAMPLERS = {"numpyro": ("jax", "numpyro"), "blackjax": ("jax", "blackjax")}
JAX_INSTALL = "pip install -e '.[jax]'"


def require_sampler(sampler: str) -> None:
    """require_installed, then make the JAX gradients finite (jax_safe_special_functions) for a JAX sampler."""
    require_installed(sampler)
    if sampler in JAX_SAMPLERS:
        jax_safe_special_functions()


def require_installed(sampler: str) -> None:
    """UserError (one line, with the install command) when a sampler is unknown or its JAX packages are missing.

    Found, not imported: importing blackjax starts JAX's backend, and a backend started before PyMC's JAX module
    splits the CPU into XLA host devices has one device, on which blackjax's parallel chains fail (pmap over 2
    chains on 1 device)."""
    if sampler not in SAMPLERS:
        raise UserError(f"unknown sampler '{sampler}'; known: {', '.join(SAMPLERS)}")
    for package in JAX_SAMPLERS.get(sampler, ()):
        if importlib.util.find_spec(package) is None:
            missing = f"({package} is not installed)"
            raise UserError(f"--sampler {sampler} needs the optional JAX extra {missing}: {JAX_INSTALL}")


def jax_device() -> str | None:
    """The platform JAX samples on ('cpu', 'gpu', ...) and the cores this process may use; None without JAX.
    (PyMC splits a CPU into 100 XLA host devices, so their count says nothing about the hardware.)"""
    jax = sys.modules.get("jax")
    if jax is None:
        return None
    return f"{jax.devices()[0].platform}, {len(os.sched_getaffinity(0))} cores"


def jax_safe_special_functions() -> None:
    """Make PyTensor's JAX erfc and erfcx finite, with finite derivatives, at far tails, so that the JAX samplers
    get finite gradients.

    PyMC's normal log-CDF (the latent-money models' soft lower bound) is a switch between log(erfcx(-z/sqrt 2)/2)
    - z^2/2 and log1p(-erfc(z/sqrt 2)/2); JAX evaluates both branches, and far above the bound the unused one is
    log(inf), whose NaN gradient survives jnp.where (NaN * 0) and stops numpyro and blackjax at every draw. Their
    arguments are clipped where the functions leave float64 (erfcx below -26 overflows; erfc below -5 is 2 to 12
    digits, and log1p(-1) follows): the branch the switch uses never reaches these arguments (it takes erfc at
    arguments above -0.71 and erfcx at positive ones), so every value it uses is unchanged, and the unused branch
    gets a zero gradient. Only the JAX dispatch changes: nutpie and PyMC's NUTS compile through numba and C."""
    import jax.numpy as jnp
    from jax.scipy import special
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.scalar.math import Erfc, Erfcx

    @jax_funcify.register(Erfc)
    def _erfc(op, **kwargs):
        return lambda x: special.erfc(jnp.maximum(x, -5.0))

    @jax_funcify.register(Erfcx)
    def _erfcx(op, **kwargs):
        return lambda x: special.erfcx(jnp.maximum(x, -26.0))
