"""Priors are configuration: presets load, user files merge over defaults, and typos are errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from model.cli import main
from model.dataset.terms import Term, load_terms
from model.infra.errors import UserError
from model.infra.paths import BUNDLED_RAW
from model.priors import (
    DEFAULT_PRIORS,
    PRESET_DIR,
    PRESETS,
    default_toml,
    defaulted_term_priors,
    load_priors,
    preset_priors,
    priors_hash,
    resolve_preset,
    term_priors,
)

# The model parameters plus the documented defaults of the bundled data's endorsement-term priors.
DEFAULTS = {**DEFAULT_PRIORS, **term_priors(load_terms(BUNDLED_RAW))}


def test_default_preset_file_is_generated_from_the_code_defaults():
    """Each default is written once, in model/priors.py; default.toml is generated from it (`make priors`), so the
    committed file is exactly the generated text. Endorsement terms are data (data/raw/endorser_terms.csv), so the
    file leaves their priors to the documented default."""
    assert (PRESET_DIR / "default.toml").read_text(encoding="utf-8") == default_toml(), "run `make priors`"
    assert load_priors(PRESET_DIR / "default.toml") == DEFAULTS
    assert set(tomllib.loads(default_toml())) == set(DEFAULT_PRIORS)


def test_every_preset_is_listed_by_the_priors_module_and_read_once_per_fit():
    """PRESETS (model/priors.py) names every file in analysis/priors/; preset_priors reads each once."""
    assert set(PRESETS) == {p.stem for p in PRESET_DIR.glob("*.toml")}
    read = preset_priors(load_terms(BUNDLED_RAW))
    assert read["default"] == DEFAULTS and set(read) == set(PRESETS)


def test_an_endorsement_term_prior_is_found_by_the_term_name_else_takes_the_documented_default(tmp_path: Path):
    terms = (Term("Teachers Association", "teachers_association", "Teachers Association endorsement", True),)
    path = tmp_path / "mine.toml"
    path.write_text("[beta_teachers_association]\nmu = 0.3\nsigma = 0.2\n")
    priors = load_priors(path, terms)
    assert priors["beta_teachers_association"].params == {"mu": 0.3, "sigma": 0.2}
    assert priors["beta_turnout_teachers_association"].params == {"mu": 0.0, "sigma": 0.5}
    assert defaulted_term_priors(path, terms) == [
        "beta_turnout_teachers_association",
        "beta_oncycle_teachers_association",
        "beta_electorate_teachers_association",
    ]


def test_a_prior_for_an_endorser_the_data_does_not_model_is_an_unknown_name(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text("[beta_utla]\nmu = 0.0\n")
    with pytest.raises(UserError, match=r"\[beta_utla\]: unknown prior name"):
        load_priors(path, (Term("Reform PAC", "reform_pac", "Reform PAC endorsement"),))


def test_skeptical_preset_tightens_spending_priors_around_zero():
    skeptical = load_priors(resolve_preset("skeptical"))
    for name in ("beta_support", "beta_oppose"):
        assert skeptical[name].params["mu"] == 0.0
        assert skeptical[name].params["sigma"] < DEFAULT_PRIORS[name].params["sigma"] / 5
    assert priors_hash(skeptical) != priors_hash(DEFAULT_PRIORS)


def test_literature_preset_cites_its_sources():
    text = (PRESET_DIR / "literature.toml").read_text()
    for citation in ("Wooldridge", "Levitt (1994", "Lau, Sigelman & Rovner (2007"):
        assert citation in text


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[beta_suport]\nmu = 0.0\n", "[beta_suport]: unknown prior name; known: beta_ccsa"),
        ("[beta_support]\nsd = 1.0\n", "[beta_support] sd: unknown parameter for normal; known: mu, sigma"),
        ("[beta_support]\nsigma = -1.0\n", "[beta_support] sigma: must be positive"),
        ("[beta_support]\nsigma = 'wide'\n", "[beta_support] sigma: expected a number"),
        ("[beta_support]\ndist = 'cauchy'\n", "[beta_support] dist: unknown family 'cauchy'"),
        ("[beta_support\n", "not valid TOML"),
    ],
)
def test_bad_priors_file_is_rejected_with_the_key_named(tmp_path: Path, toml: str, message: str):
    path = tmp_path / "mine.toml"
    path.write_text(toml)
    with pytest.raises(UserError) as err:
        load_priors(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_user_file_overrides_only_what_it_names(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text("[beta_oppose]\nsigma = 0.2\n")
    priors = load_priors(path)
    assert priors["beta_oppose"].params == {"mu": 0.0, "sigma": 0.2}
    assert {k: v for k, v in priors.items() if k != "beta_oppose"} == {
        k: v for k, v in DEFAULTS.items() if k != "beta_oppose"
    }


def test_fit_with_misspelled_prior_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, capsys):
    path = tmp_path / "typo.toml"
    path.write_text("[beta_suport]\nmu = 0.0\n")
    runs = tmp_path / "runs"
    assert main(["fit", "--priors", str(path), "--runs", str(runs), "--figures", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "beta_suport" in err
    assert not runs.exists()


def test_unknown_preset_name_lists_the_presets():
    with pytest.raises(UserError, match="unknown prior preset; known: default, literature, skeptical"):
        resolve_preset("skeptic")
