"""Effects the data can inform (issue 22, part 5): each money effect is quoted from its own channel's median among the
candidates who had any, and a term whose data has no variation is left out of the effects with a one-line reason."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import models
from model.fit import money_references, reference_usd
from model.models.base import load_inputs
from model.models.informed import contrast_races, levels_with_contrast
from model.models.points import Effect, logit_to_points, points_effects, references_of, regression_effects

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import synthetic_electorate

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
RUNOFF_TERMS = ("beta_primary_share", "beta_consolidation", "beta_electorate_teachers_association")


def test_each_money_channel_has_its_own_reference_the_median_of_those_who_had_any():
    cr = pd.DataFrame({"support_usd": [0, 100_000, 300_000, 500_000], "oppose_usd": [0, 0, 0, 40_000]})
    rows = pd.DataFrame({"own_usd": [np.nan, 10_000, 30_000, 0.0]})
    assert money_references(cr, rows) == {"support": 300_000, "oppose": 40_000, "own": 20_000}
    assert reference_usd(cr) == 300_000  # the support channel's, as before
    # A channel nobody has falls back to $100k (and then its effect is uninformed, below).
    assert money_references(cr.assign(oppose_usd=0), rows.assign(own_usd=np.nan))["own"] == 100_000


def test_own_money_effect_is_quoted_from_the_own_money_median():
    """Known answer: beta 0.1 per log(1 + $k) for every draw; +$100k from $20k of own money is 0.1 x log(121/21)
    on the log-odds, from $300k of support IE 0.1 x log(401/301)."""
    beta = {"beta_support": np.full(10, 0.1), "beta_own": np.full(10, 0.1)}
    effects = (Effect("beta_support", "support IE", "money"), Effect("beta_own", "own committee money", "money", "own"))
    table = points_effects(beta, {"support": 300_000, "oppose": 40_000, "own": 20_000}, "m", effects)
    t = table.set_index("effect")
    assert t.loc["own committee money, per $100k", "mean_pp"] == pytest.approx(logit_to_points(0.1, np.log(121 / 21)))
    assert t.loc["support IE, per $100k", "mean_pp"] == pytest.approx(logit_to_points(0.1, np.log(401 / 301)))
    assert t.loc["own committee money, doubling", "reference_usd"] == 20_000
    assert references_of(table) == {"support": 300_000, "own": 20_000}
    # A single amount still works (every channel from it), as callers before channels had their own did.
    assert set(points_effects(beta, 50_000.0, "m", effects).reference_usd) == {50_000.0}
    # The classical oppose coefficient is converted from the oppose reference, like the Bayesian one.
    coefs = pd.DataFrame({"model": ["ols"], "term": ["d_log_oppose"], "coef": [0.1], "lo90": [0.0], "hi90": [0.2]})
    reg = regression_effects(coefs, {"support": 300_000, "oppose": 40_000}).set_index("effect")
    assert reg.loc["oppose IE, per $100k", "mean_pp"] == pytest.approx(logit_to_points(0.1, np.log(141 / 41)))


def test_contrast_within_races_and_levels_of_a_moderator():
    race = np.array([0, 0, 1, 1, 2, 2])
    x = np.array([1, 0, 1, 1, 0, 1.0])
    np.testing.assert_array_equal(contrast_races(x, race, 3), [True, False, True])

    class Data:
        race_idx, n_race = race, 3

    assert levels_with_contrast(x, np.array([0.2, 0.3, 0.2]), Data) == 1  # races 0 and 2 share one level
    assert levels_with_contrast(x, np.array([0.2, 0.3, 0.4]), Data) == 2


def test_bundled_data_inform_every_term():
    inputs = load_inputs(RAW)
    for name in ("vote_share_carryover", "vote_share_own_money", "vote_share_latent", "vote_share_plugin"):
        assert models.get(name).uninformed(inputs) == {}, name


def test_a_board_without_runoffs_one_era_and_no_record_of_office_leaves_those_terms_out(tmp_path):
    """The synthetic board has primaries only (no runoff), odd-year (off-cycle) elections only and no
    candidate_quality.csv: the runoff terms, the on-cycle interaction and prior elected office have nothing to learn
    from; the money, incumbency, endorsement and turnout terms do."""
    inputs = load_inputs(synthetic_electorate(tmp_path / "data", finance=True))
    model = models.get("vote_share_own_money")
    out = model.uninformed(inputs)
    assert set(out) == {*RUNOFF_TERMS, "beta_oncycle_teachers_association", "beta_experienced"}
    assert out["beta_consolidation"] == "no runoff built from its primary in the data"
    assert "one era" in out["beta_oncycle_teachers_association"]
    labels = [e.label for e in model.effects(inputs) if e.parameter not in out]
    assert "runoff: +10 pts of aligned eliminated primary vote" not in labels and "prior elected office" not in labels
    assert "own committee money" in labels and "support IE" in labels and "incumbent" in labels


def test_a_board_without_outside_money_leaves_the_ie_terms_out(tmp_path):
    inputs = load_inputs(synthetic_electorate(tmp_path / "data", spending=False, finance=True))
    out = models.get("vote_share_own_money").uninformed(inputs)
    assert {"beta_support", "beta_oppose", "beta_turnout_support"} <= set(out)
    assert out["beta_support"] == "no race has a candidate with outside money for them beside one without"
    assert "beta_own" not in out
