"""Candidate quality (prior elected office): the raw table's rules, the clean column, the model term, its priors and
its literature anchor."""

from __future__ import annotations

import shutil
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pymc as pm
import pytest
from csv_rows import read_rows, write_rows

from model import models
from model.cli import main
from model.dataset.features import modelled_races, vote_share_data
from model.dataset.raw import load_raw
from model.dataset.tables import candidate_races
from model.evaluation.literature import AGREES, ANCHORS, LOWER, compare
from model.models.base import load_inputs
from model.models.carryover import VoteShareCarryover, carryover_data
from model.models.vote_share import VoteShareModel
from model.priors import DEFAULT_PRIORS, PRESET_DIR, load_priors

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
QUALITY = "candidate_quality.csv"


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """A writable copy of the bundled raw data."""
    dst = tmp_path / "raw"
    shutil.copytree(RAW, dst)
    return dst


@pytest.fixture(scope="module")
def bundled():
    """The bundled raw tables and their candidate_races."""
    t = load_raw(RAW)
    return t, candidate_races(t)


def line_of(rows: list[list[str]], cycle: str, candidate: str) -> int:
    """The 1-based file line of a candidate's row for a cycle."""
    return next(i + 1 for i, r in enumerate(rows) if r[:2] == [cycle, candidate])


def build(raw: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    """Run `model data`; return exit code and stderr."""
    code = main(
        ["data", "--raw", str(raw), "--out", str(tmp_path / "clean"), "--coverage", str(tmp_path / "COVERAGE.md")]
    )
    return code, capsys.readouterr().err


def edited(raw: Path, cycle: str, candidate: str, **cells: str) -> int:
    """Set cells of one candidate_quality row; return its file line."""
    path = raw / QUALITY
    rows = read_rows(path)
    line = line_of(rows, cycle, candidate)
    for field, value in cells.items():
        rows[line - 1][rows[0].index(field)] = value
    write_rows(path, rows)
    return line


@pytest.mark.parametrize(
    ("cycle", "candidate", "cells", "field", "message"),
    [
        ("2019", "jackie-goldberg", {"offices": ""}, "offices", "elected_office is yes but no office is named"),
        ("2013", "kate-anderson", {"source_ids": ""}, "source_ids", "needs a source id"),
        ("2024", "christian-flagg", {"ballot_designation": "Teacher"}, "source_ids", "needs a source id"),
        ("2013", "kate-anderson", {"offices": "City Council"}, "offices", "offices is filled but elected_office is no"),
        ("2013", "kate-anderson", {"elected_office": "maybe"}, "elected_office", "unknown value 'maybe'"),
        ("2013", "kate-anderson", {"candidate_id": "nobody-here"}, "candidate_id", "unknown candidate"),
        ("2013", "kate-anderson", {"source_ids": "cq-999"}, "source_ids", "not in sources.csv"),
    ],
)
def test_a_bad_candidate_quality_row_gives_one_line_naming_file_row_and_field(
    raw, tmp_path, capsys, cycle, candidate, cells, field, message
):
    line = edited(raw, cycle, candidate, **cells)
    code, err = build(raw, tmp_path, capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{QUALITY}:{line}" in err and field in err and message in err
    assert not (tmp_path / "clean").exists()


def test_a_candidate_listed_twice_in_a_cycle_is_rejected_with_the_earlier_line(raw, tmp_path, capsys):
    path = raw / QUALITY
    rows = read_rows(path)
    first = line_of(rows, "2019", "graciela-ortiz")
    write_rows(path, [*rows, [*rows[first - 1][:-1], "a second note"]])
    code, err = build(raw, tmp_path, capsys)
    assert code == 2 and f"repeats line {first}" in err and f"{QUALITY}:{len(rows) + 1}" in err


def test_every_candidate_of_a_modelled_race_has_a_row_with_a_source_or_an_explicit_unknown(bundled):
    t, cr = bundled
    quality = t["candidate_quality"]
    keys = set(zip(quality.cycle.astype(int), quality.candidate_id, strict=True))
    modelled = modelled_races(cr)
    missing = set(zip(modelled.cycle.astype(int), modelled.candidate_id, strict=True)) - keys
    assert not missing
    known = quality[quality.elected_office != "unknown"]
    assert (known.source_ids != "").all()


def test_experienced_is_prior_office_other_than_the_seat_defended(bundled):
    """Goldberg held the D5 seat going into 2020 and is experienced through the City Council and the Assembly; García
    defending D2 in 2013 is not experienced (her only office is the seat); a former holder of the seat (Lansing
    2020) is; a candidate with no row or an unknown answer is not, and is flagged."""
    _t, cr = bundled
    row = cr.set_index(["race_id", "candidate_id"])
    assert row.loc[("2020-03-03-D5", "jackie-goldberg"), ["incumbent", "experienced"]].tolist() == [True, True]
    assert row.loc[("2013-03-05-D2", "monica-garcia"), ["incumbent", "experienced"]].tolist() == [True, False]
    assert row.loc[("2020-03-03-D7", "mike-lansing"), ["incumbent", "experienced"]].tolist() == [False, True]
    assert row.loc[("2019-03-05-D5", "rocio-rivas"), "experienced"] == False  # noqa: E712 (numpy bool)
    unknown = row.loc[("2024-03-05-D1", "christian-flagg")]
    assert not unknown.experienced and not unknown.experienced_known
    assert row.loc[("2015-03-03-D3", "carl-petersen"), "experienced_known"]


def test_without_the_file_every_candidate_is_unknown_and_not_experienced(raw):
    (raw / QUALITY).unlink()
    t = load_raw(raw)
    cr = candidate_races(t)
    assert not cr.experienced.any() and not cr.experienced_known.any()
    assert vote_share_data(cr, t).experienced.sum() == 0


def test_the_model_arrays_carry_the_flag_in_model_order(bundled):
    t, cr = bundled
    data = vote_share_data(cr, t)
    np.testing.assert_array_equal(data.experienced, data.frame.experienced.astype(float).to_numpy())
    assert data.experienced.sum() == 12  # ten candidate-cycles, Goldberg's and Ortiz's with two rounds each


@pytest.fixture(scope="module")
def inputs():
    """The bundled data's model inputs."""
    return load_inputs(RAW)


def vote_share_models() -> list[str]:
    """Every registered model built on the vote-share linear predictor."""
    return [name for name, m in models.REGISTRY.items() if isinstance(m, VoteShareModel)]


@pytest.mark.parametrize("name", vote_share_models())
def test_every_vote_share_model_moves_experienced_rows_by_beta_experienced(inputs, name):
    """At prior draws, raising beta_experienced by 1 raises eta by exactly 1 on experienced rows and leaves every
    other row alone, in the PyMC graph's numpy twin; the term is reported as an effect. In the candidate-aware models
    a runoff row starts from the candidate's primary share, which already carries the candidate's quality, so the
    term cancels there (x - x[primary] for the same candidate)."""
    model = models.get(name)
    with model.build(inputs, load_priors(None)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Potentials are ignored by prior sampling: intended here
        prior = pm.sample_prior_predictive(draws=3, random_seed=3).prior
    post = {k: prior[k].to_numpy().reshape(3, *prior[k].shape[2:]) for k in prior.data_vars}
    np.testing.assert_allclose(model.eta_draws(post, inputs.data), post["eta"], atol=1e-9)
    moved = dict(post, beta_experienced=post["beta_experienced"] + 1.0)
    delta = model.eta_draws(moved, inputs.data) - model.eta_draws(post, inputs.data)
    expected = inputs.data.experienced.copy()
    if isinstance(model, VoteShareCarryover):
        carried = carryover_data(inputs.data).runoff > 0
        assert expected[carried].sum() > 0  # Goldberg 2019 and Ortiz 2024 went to runoffs
        expected[carried] = 0.0
    np.testing.assert_allclose(delta, np.broadcast_to(expected, delta.shape), atol=1e-12)
    assert "beta_experienced" in [e.parameter for e in model.effects(inputs)]


def test_every_preset_names_beta_experienced_and_the_literature_preset_centres_it_on_jacobson():
    for path in sorted(PRESET_DIR.glob("*.toml")):
        assert "beta_experienced" in tomllib.loads(path.read_text(encoding="utf-8")), path.name
    assert DEFAULT_PRIORS["beta_experienced"].params == {"mu": 0.0, "sigma": 0.5}
    literature = load_priors(PRESET_DIR / "literature.toml")["beta_experienced"]
    assert literature.params["mu"] > 0 and literature.params["sigma"] < 0.5
    assert "Jacobson" in (PRESET_DIR / "literature.toml").read_text(encoding="utf-8")


def test_the_quality_challenger_anchor_is_set_beside_the_prior_office_effect():
    anchor = next(a for a in ANCHORS if a.effect == "prior elected office")
    assert "Jacobson" in anchor.citation and anchor.same_quantity
    assert compare(1.0, 8.0, anchor.lo, anchor.hi) == AGREES
    assert compare(-6.0, -0.5, anchor.lo, anchor.hi) == LOWER
