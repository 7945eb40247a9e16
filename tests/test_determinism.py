"""The same seed gives the same draws: on a cold compile cache or a warm one, and fitted alone or beside another
model. Each fit runs in its own Python process, as a user's `make fit` does, with PyTensor's compile directory
set through PYTENSOR_FLAGS (an empty one for the cold fit).

The fast suite checks this on the cheapest registered model (head_to_head, about 20 s to compile cold), fitted alone
and after vote_share_plugin; the cause it guards against (numba fast-math, other rewrites or initial points on a
fresh compile) is not specific to one model. `make test-slow` (and so `make validate`) repeats it on the main model,
whose cold compile alone takes minutes on the 2-core machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = """
import hashlib, sys
from pathlib import Path
from model import models
from model.fit import fit_models
from model.priors import load_priors, resolve_preset
from model.inference.sampling import SamplerSettings
from model.dataset.terms import load_terms
raw = Path("data/raw")
target = models.main_name() if sys.argv[2] == "main" else sys.argv[2]
names = [target] if sys.argv[1] == "alone" else [sys.argv[3], target]  # fitted in registry order
priors = load_priors(resolve_preset("default"), load_terms(raw))
out = fit_models(raw, priors, 7, SamplerSettings(chains=2, draws=30, tune=30), False, names)
post = out["idata"][target].posterior
digest = hashlib.sha256()
for name in sorted(post.data_vars):
    digest.update(name.encode() + post[name].to_numpy().tobytes())
print("DRAWS", digest.hexdigest())
"""


def _fit(compiledir: Path, how: str, target: str, other: str) -> str:
    """The hash of the target model's draws (fitted alone, or after other) from a fresh process with this compile
    directory."""
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compiledir}"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, how, target, other],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("DRAWS"))


def _draws(compiledir: Path, target: str, other: str) -> dict[str, str]:
    """Draw hashes of target: alone on an empty compile directory, alone again on the warmed one, then after other
    (a model registered before it) on the warm one."""
    return {
        "cold": _fit(compiledir, "alone", target, other),
        "warm": _fit(compiledir, "alone", target, other),
        "beside": _fit(compiledir, "beside", target, other),
    }


@pytest.fixture(scope="module")
def draws(tmp_path_factory) -> dict[str, str]:
    """The cheapest model, head_to_head, alone and after vote_share_plugin (registered before it)."""
    return _draws(tmp_path_factory.mktemp("pytensor"), "head_to_head", "vote_share_plugin")


@pytest.fixture(scope="module")
def main_draws(tmp_path_factory) -> dict[str, str]:
    """The main model, alone and after head_to_head."""
    return _draws(tmp_path_factory.mktemp("pytensor-main"), "main", "head_to_head")


def test_a_cold_and_a_warm_compile_cache_give_the_same_draws(draws):
    assert draws["cold"] == draws["warm"]


def test_a_model_fitted_beside_another_gives_the_draws_it_gives_alone(draws):
    assert draws["beside"] == draws["warm"]


@pytest.mark.slow
def test_the_main_model_gives_the_same_draws_on_a_cold_and_a_warm_compile_cache(main_draws):
    assert main_draws["cold"] == main_draws["warm"]


@pytest.mark.slow
def test_the_main_model_fitted_beside_another_gives_the_draws_it_gives_alone(main_draws):
    assert main_draws["beside"] == main_draws["warm"]
