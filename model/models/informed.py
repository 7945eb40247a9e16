"""Which terms of a vote-share model the data can inform: a term whose covariate has no variation the likelihood can
see returns its prior, so its effect is left out of effects.csv and the report, with a one-line reason (issue 22).

Vote shares are a softmax within each race-round, so a covariate informs its coefficient only through differences
between candidates of one race (a race-level value cancels). A switch or money term needs some race whose
candidates differ in it; an interaction with a race-level moderator (turnout, the on-cycle era) needs such races at
two or more levels of the moderator (otherwise it is the main effect again); a runoff term needs a runoff built from
its primary, and the consolidation term an eliminated candidate whose backers back a finalist."""

from __future__ import annotations

import numpy as np

from model.dataset.features import VoteShareData, turnout_z


def contrast_races(x: np.ndarray, race_idx: np.ndarray, n_race: int) -> np.ndarray:
    """(race,) True where the candidates of the race-round differ in x."""
    lo = np.full(n_race, np.inf)
    hi = np.full(n_race, -np.inf)
    np.minimum.at(lo, race_idx, x)
    np.maximum.at(hi, race_idx, x)
    return hi - lo > 1e-12


def levels_with_contrast(x: np.ndarray, moderator: np.ndarray, data: VoteShareData) -> int:
    """How many distinct values of a race-level moderator (race,) the races whose candidates differ in x span."""
    seen = contrast_races(x, data.race_idx, data.n_race)
    return len(np.unique(np.round(moderator[seen], 9)))


def money_present(data: VoteShareData, stance: str) -> np.ndarray:
    """(row,) a candidate's money of one stance as the data know it: plug-in log(1 + $k), or 1 where only a latent
    cell (a combined figure, a bound) says some money was spent."""
    x = data.log_support if stance == "support" else data.log_oppose
    cell = data.support_cell if stance == "support" else data.oppose_cell
    return np.where(cell >= 0, np.maximum(x, 1.0), x)


def vote_share_uninformed(data: VoteShareData) -> dict[str, str]:
    """parameter -> why the data cannot inform it, for the standard vote-share terms (model/models/vote_share.py)."""
    out: dict[str, str] = {}
    words = {"support": "for", "oppose": "against"}
    tz = turnout_z(data.turnout_filled, data.turnout_centre)
    for stance in ("support", "oppose"):
        if not contrast_races(money_present(data, stance), data.race_idx, data.n_race).any():
            who = f"outside money {words[stance]} them"
            out[f"beta_{stance}"] = f"no race has a candidate with {who} beside one without"
    if levels_with_contrast(money_present(data, "support"), tz, data) < 2:
        out["beta_turnout_support"] = "turnout does not vary among the races where support IE differs"
    switches = {
        "beta_incumbent": (data.incumbent, "an incumbent beside a challenger"),
        "beta_experienced": (data.experienced, "a candidate with prior elected office beside one without"),
    }
    for name, (x, who) in switches.items():
        if not contrast_races(x, data.race_idx, data.n_race).any():
            out[name] = f"no race has {who}"
    for k, t in enumerate(data.terms):
        x = data.endorsement[:, k]
        if not contrast_races(x, data.race_idx, data.n_race).any():
            out[f"beta_{t.term}"] = f"no race has a candidate with the {t.label} beside one without"
        if not t.turnout_interactions:
            continue
        if levels_with_contrast(x, tz, data) < 2:
            out[f"beta_turnout_{t.term}"] = f"turnout does not vary among the races where the {t.label} differs"
        if levels_with_contrast(x, data.on_cycle, data) < 2:
            out[f"beta_oncycle_{t.term}"] = f"the races where the {t.label} differs are all of one era (on/off-cycle)"
    return out
