"""The same seed gives the same draws: on a cold compile cache or a warm one, and fitted alone or beside another
model. Each fit runs in its own Python process, as a user's `make fit` does, with PyTensor's compile directory
set through PYTENSOR_FLAGS (an empty one for the cold fit)."""

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
main = models.main_name()
names = [main] if sys.argv[1] == "alone" else ["head_to_head", main]
priors = load_priors(resolve_preset("default"), load_terms(raw))
out = fit_models(raw, priors, 7, SamplerSettings(chains=2, draws=30, tune=30), False, names)
post = out["idata"][main].posterior
digest = hashlib.sha256()
for name in sorted(post.data_vars):
    digest.update(name.encode() + post[name].to_numpy().tobytes())
print("DRAWS", digest.hexdigest())
"""


def _fit(compiledir: Path, how: str) -> str:
    """The hash of the main model's draws from a fresh process with this compile directory."""
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compiledir}"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, how], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("DRAWS"))


@pytest.fixture(scope="module")
def draws(tmp_path_factory) -> dict[str, str]:
    """Draw hashes: alone on an empty compile directory, alone again on the warmed one, then beside another
    model on the warm one."""
    compiledir = tmp_path_factory.mktemp("pytensor")
    return {"cold": _fit(compiledir, "alone"), "warm": _fit(compiledir, "alone"), "beside": _fit(compiledir, "beside")}


def test_a_cold_and_a_warm_compile_cache_give_the_same_draws(draws):
    assert draws["cold"] == draws["warm"]


def test_a_model_fitted_beside_another_gives_the_draws_it_gives_alone(draws):
    assert draws["beside"] == draws["warm"]
