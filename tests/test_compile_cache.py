"""The compile cache: one compiled model per graph, reused across pm.Data values, sampling as a fresh compile."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pymc as pm

from model.inference import sampling
from model.inference.sampling import SamplerSettings, graph_key, sample
from model.models.base import prior_rv
from model.priors import Prior

SETTINGS = SamplerSettings(chains=2, draws=100, tune=100)
Y = np.array([0.3, -0.1, 0.8, 0.4, 0.0])


def tiny(mu: float, y: np.ndarray = Y, constant: float = 1.0) -> pm.Model:
    """A normal mean with a prior from a Prior (pm.Data parameters), data as pm.Data, and one constant."""
    priors = {"beta_mean": Prior("normal", {"mu": mu, "sigma": 0.5}, "a mean")}
    with pm.Model() as model:
        beta = prior_rv("beta_mean", priors)
        obs = pm.Data("y", y)
        pm.Potential("loglik", pm.logp(pm.Normal.dist(beta, constant), obs).sum())
    return model


def test_models_that_differ_only_in_data_values_share_a_key_and_others_do_not():
    assert graph_key(tiny(0.0)) == graph_key(tiny(1.5)) == graph_key(tiny(0.0, Y + 1))
    assert graph_key(tiny(0.0)) != graph_key(tiny(0.0, constant=2.0))  # a constant's value is part of the graph
    assert graph_key(tiny(0.0)) != graph_key(tiny(0.0, np.append(Y, 1.0)))  # so is a data shape


def test_a_graph_key_is_the_same_in_another_process():
    """A key is content, not memory: a deterministic's graph holds its random variables' size=None constants,
    whose bytes as a numpy object array are a pointer."""
    script = (
        "import pymc as pm, pytensor.tensor as pt; from model.inference.sampling import graph_key\n"
        "with pm.Model() as m:\n"
        "    x = pm.Normal('x', 0, 1, shape=3)\n"
        "    pm.Potential('p', (x[None, :] * pt.ones((2, 3))).sum())\n"
        "    pm.Deterministic('d', 2 * pm.Normal('y', 0, 1))\n"
        "print(graph_key(m))"
    )
    keys = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}  # fmt: skip
    assert len(keys) == 1 and len(keys.pop().strip()) == 64


def test_a_cached_model_samples_exactly_as_a_fresh_compile_and_as_pm_sample():
    """The second prior is sampled from the first model's compiled code, with the prior mean (which is also the
    starting point) swapped in; it must match a fresh compile bit for bit, and PyMC's own nutpie path."""
    sampling._COMPILED.clear()
    first = sample(tiny(0.0), 3, SETTINGS, progress=False)
    cached = sample(tiny(2.0), 3, SETTINGS, progress=False)
    assert len(sampling._COMPILED) == 1
    sampling._COMPILED.clear()
    fresh = sample(tiny(2.0), 3, SETTINGS, progress=False)
    np.testing.assert_array_equal(cached.posterior.beta_mean, fresh.posterior.beta_mean)
    assert not np.array_equal(first.posterior.beta_mean, cached.posterior.beta_mean)  # the prior did change
    ref = pm.sample(
        model=tiny(2.0), draws=100, tune=100, chains=2, random_seed=3, nuts_sampler="nutpie", cores=2,
        target_accept=SETTINGS.target_accept, progressbar=False, compute_convergence_checks=False,
    )  # fmt: skip
    np.testing.assert_array_equal(ref.posterior.beta_mean, fresh.posterior.beta_mean)
