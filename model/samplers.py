"""Which NUTS samplers exist and whether the optional JAX ones can load (no PyMC import: the CLI parses with it)."""

from __future__ import annotations

import importlib
import os
import sys

from model.errors import UserError

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
# The JAX samplers and the packages each needs (the optional extra: pip install -e '.[jax]').
JAX_SAMPLERS = {"numpyro": ("jax", "numpyro"), "blackjax": ("jax", "blackjax")}
JAX_INSTALL = "pip install -e '.[jax]'"


def require_sampler(sampler: str) -> None:
    """UserError (one line, with the install command) when a JAX sampler's packages are not installed.

    Imported here, not at module level: the default install has no JAX. Before JAX first loads, its CPU is split
    into one XLA device per core so that chains run in parallel (JAX sees one CPU device otherwise)."""
    if sampler not in SAMPLERS:
        raise UserError(f"unknown sampler '{sampler}'; known: {', '.join(SAMPLERS)}")
    for package in JAX_SAMPLERS.get(sampler, ()):
        if package == "jax" and "jax" not in sys.modules and "XLA_FLAGS" not in os.environ:
            os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={os.cpu_count() or 1}"
        try:
            importlib.import_module(package)
        except ImportError:
            raise UserError(
                f"--sampler {sampler} needs the optional JAX extra ({package} is not installed): {JAX_INSTALL}"
            ) from None


def jax_device() -> str | None:
    """The platform and count of the devices JAX samples on (e.g. 'cpu x 2'); None when JAX is not loaded."""
    jax = sys.modules.get("jax")
    if jax is None:
        return None
    devices = jax.devices()
    return f"{devices[0].platform} x {len(devices)}"
