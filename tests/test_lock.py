"""Installs reproduce: requirements.lock pins every dependency exactly, the environment matches it, the check
that compares them can fail, and Hypothesis runs derandomized in CI."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"


def _check_lock():
    """The scripts/check-lock module (a script without .py, loaded by path)."""
    from importlib.machinery import SourceFileLoader

    loader = SourceFileLoader("check_lock", str(REPO / "scripts" / "check-lock"))
    spec = importlib.util.spec_from_loader("check_lock", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_lock_pins_every_declared_dependency_to_one_exact_version():
    check = _check_lock()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    names = {check.normalise(re.match(r"[A-Za-z0-9._-]+", d).group(0)) for d in declared}
    pins = check.locked(LOCK.read_text())
    assert names <= set(pins), f"not in the lock: {sorted(names - set(pins))}; run `make lock`"
    body = [ln for ln in LOCK.read_text().splitlines() if ln and not ln.lstrip().startswith("#")]
    assert all("==" in ln for ln in body), "every lock line is an exact pin"


def test_this_environment_has_every_locked_version():
    """The numbers in a committed report come from the locked versions; a venv made by `make setup` has them all.
    (CI checks the stronger `--exact`: nothing installed beyond the lock.)"""
    check = _check_lock()
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    assert check.differences(check.locked(LOCK.read_text()), check.frozen(freeze), exact=False) == []


def test_check_lock_reports_a_wrong_version_a_missing_and_an_extra_package(tmp_path):
    check = _check_lock()
    lock = "numpy==2.5.5\n    # via x\ncolorama==0.4.6 ; sys_platform == 'never'\npandas==3.1.1\n"
    freeze = "numpy==2.5.4\n-e git+local#egg=lausd_money\nextra_pkg==1.0\npip==25.0\n"
    lock_path, freeze_path = tmp_path / "requirements.lock", tmp_path / "freeze.txt"
    lock_path.write_text(lock)
    freeze_path.write_text(freeze)
    diff = check.differences(check.locked(lock), check.frozen(freeze), exact=True)
    assert diff == [
        "numpy: locked 2.5.5, installed 2.5.4",
        "pandas: locked 3.1.1, not installed",
        "extra-pkg: installed 1.0, not in the lock",
    ]
    assert check.main(["--lock", str(lock_path), "--freeze", str(freeze_path)]) == 1
    freeze_path.write_text("numpy==2.5.5\npandas==3.1.1\n")
    assert check.main(["--lock", str(lock_path), "--freeze", str(freeze_path), "--exact"]) == 0


def test_hypothesis_profile_is_derandomized_exactly_when_ci_is_set():
    assert settings.default.derandomize == (
        os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev") == "ci"
    )
    code = (
        "import runpy; runpy.run_path('tests/conftest.py'); "
        "from hypothesis import settings; print(settings.default.derandomize)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    for ci, want in ((None, "False"), ("true", "True")):
        run_env = env if ci is None else {**env, "CI": ci}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=run_env, capture_output=True, text=True)
        assert out.stdout.strip() == want, out.stderr
