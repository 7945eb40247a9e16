"""A model is one file: a toy model defined here, not under model/, registered at run time, goes through the fit
(few draws), leave-one-cycle-out, an SBC smoke run and the report without any change to the package."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model import models
from model.cli import main
from model.evaluation.sbc import bundled_design, run_sbc
from model.models import Effect, VoteShareModel, prior_rv
from model.outputs.report import write_report

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


class IncumbencyOnly(VoteShareModel):
    """Vote shares moved by incumbency alone: the shared Dirichlet likelihood with a one-term linear predictor."""

    name = "toy_incumbency_only"
    label = "Toy: incumbency only"
    description = "Test-only vote-share model whose linear predictor is incumbency alone."
    gated = ("beta_incumbent", "concentration")
    figure_vars = sbc_parameters = ("beta_incumbent", "concentration")

    def eta(self, data, priors, plug_in=False):
        """beta_incumbent x incumbent."""
        return prior_rv("beta_incumbent", priors) * data.incumbent

    def eta_draws(self, post, data, log_support=None, log_oppose=None):
        """The same in numpy over posterior draws."""
        return post["beta_incumbent"][:, None] * data.incumbent[None, :]

    def effects(self, inputs):
        """Only incumbency."""
        return (Effect("beta_incumbent", "incumbent"),)


@pytest.fixture(scope="module")
def toy():
    """The toy model, registered for these tests only."""
    model = models.register(IncumbencyOnly())
    yield model
    models.unregister(model.name)


@pytest.fixture(scope="module")
def toy_run(toy, tmp_path_factory):
    """One quick fit of the toy model alone (with leave-one-cycle-out) and its report."""
    tmp = tmp_path_factory.mktemp("toy")
    args = ["fit", "--raw", str(RAW), "--seed", "7", "--runs", str(tmp / "runs"), "--figures", str(tmp / "figures")]
    assert main([*args, "--draws", "100", "--tune", "100", "--chains", "2", "--models", toy.name]) == 0
    run_dir = tmp / "runs" / (tmp / "runs" / "LATEST").read_text().strip()
    md, _page = write_report(tmp / "runs", tmp / "reports", root=ROOT)
    return run_dir, md


def test_the_toy_model_is_listed_by_the_registry(toy):
    assert toy.name in models.REGISTRY and models.main_name() != toy.name


def test_the_toy_model_fits_and_is_the_run_s_main_model(toy, toy_run):
    run_dir, _md = toy_run
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["main_model"] == toy.name
    assert manifest["models"][toy.name]["status"] == "fitted"
    assert (run_dir / f"posterior-{toy.name}.nc").is_file()
    effects = (run_dir / "effects.csv").read_text()
    assert f"{toy.name},incumbent," in effects
    assert (run_dir / "counterfactuals.csv").is_file()  # inherited from VoteShareModel
    assert (run_dir / "figures" / f"rank-{toy.name}.png").is_file()
    assert (run_dir / "figures" / f"ppc_race-{toy.name}.png").is_file()


def test_the_toy_model_is_scored_out_of_sample(toy, toy_run):
    run_dir, _md = toy_run
    summary = (run_dir / "loco-summary.csv").read_text()
    assert f"all races,{toy.name}," in summary


def test_the_report_renders_the_toy_run(toy, toy_run):
    _run_dir, md = toy_run
    text = md.read_text()
    assert f"**{toy.name}** (main model)" in text
    assert "Test-only vote-share model" in text


def test_sbc_smoke_run_of_the_toy_model_gives_ranks_for_its_parameters(toy):
    ranks = run_sbc(toy.name, 3, seed=3, draws=100, tune=100, design=bundled_design(RAW))
    assert set(ranks.parameter) == set(toy.sbc_parameters)
    assert ranks["rank"].between(0, ranks.n_draws).all() and np.issubdtype(ranks["rank"].dtype, np.integer)


def test_run_files_and_figures_are_world_readable(toy_run):
    """0644 files and 0755 folders, as `stat -c %a` shows them: tempfile's 0600 would hide them from colleagues."""
    run_dir, _md = toy_run
    paths = [run_dir, *run_dir.rglob("*"), *(run_dir.parents[1] / "figures").iterdir(), run_dir.parent / "LATEST"]
    assert len(paths) > 20
    for p in paths:
        assert oct(p.stat().st_mode & 0o777) == ("0o755" if p.is_dir() else "0o644"), p
