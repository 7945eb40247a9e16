"""The per-race facts the race pages show, from the run folder's copy of the data it used (clean table, sources,
chosen counts, money figures: model/dataset/snapshot.py): pure functions over frames, no rendering."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from model.dataset.snapshot import Snapshot
from model.infra.fmt import fmt_usd
from model.outputs.figures import SIDE_GROUP

# How the report names each round (LAUSD's 'general' is the runoff between a primary's top two).
ROUND_NAMES = {
    "primary": "primary",
    "general": "runoff",
    "special_primary": "special primary",
    "special_general": "special runoff",
}
# How a money figure's kind of bound reads before the amount.
BOUND_WORDS = {"exact": "", "approx": "about ", "at_least": "at least ", "at_most": "at most "}


@dataclass(frozen=True)
class RunData:
    """The data the run used, as its folder keeps it: the clean candidate table, the chosen counts, the money figures
    (None when the run folder has none: an older run) and the sources."""

    cr: pd.DataFrame
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: pd.DataFrame | None = None
    source_table: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def sources(self) -> dict[str, pd.Series]:
        """source_id -> its sources.csv row."""
        src = self.source_table
        return {r.source_id: r for _, r in src.iterrows()} if not src.empty else {}


def run_data(snap: Snapshot) -> RunData:
    """The race pages' data from a run folder's snapshot."""
    return RunData(snap.cr, snap.counts, snap.figures if snap.has_figures else None, snap.sources)


def race_key(race_id: str) -> str:
    """'2017-05-16-D4' -> '2017-D4': the rounds of one seat's election in one year form one race."""
    return f"{race_id[:4]}-D{race_id.split('-D')[-1]}"


def race_anchor(key: str) -> str:
    """The HTML id of a race's section."""
    return f"race-{key}"


def race_title(key: str) -> str:
    """'2017-D4' -> '2017, District 4'."""
    year, district = key.split("-D", 1)
    return f"{year}, District {district}"


def race_keys(rows: pd.DataFrame) -> dict[str, list[str]]:
    """Race key -> its race-round ids in date order, races in date order of their first round."""
    ids = sorted(set(rows.race_id)) if "race_id" in rows else []
    out: dict[str, list[str]] = {}
    for rid in ids:  # race ids start with the ISO date, so sorting them sorts by date
        out.setdefault(race_key(rid), []).append(rid)
    return out


def round_name(race_id: str, rows: pd.DataFrame, mark_preliminary: bool = False) -> str:
    """'runoff, 2017-05-16' for a race-round ('... (preliminary)' when asked and its count is preliminary)."""
    r = rows[rows.race_id == race_id]
    rnd = str(r["round"].iloc[0]) if "round" in r and len(r) else ""
    prelim = mark_preliminary and "count_status" in r and (r.count_status == "preliminary").any()
    return f"{ROUND_NAMES.get(rnd, rnd or 'round')}, {race_id[:10]}" + (" (preliminary)" if prelim else "")


def source_links(ids: str | float, sources: dict[str, pd.Series]) -> str:
    """'[s17-04](url), ...' for a ';'-separated source id list (ids without a URL stay plain)."""
    out = []
    for sid in [s for s in str(ids if isinstance(ids, str) else "").split(";") if s]:
        url = str(sources[sid].url) if sid in sources else ""
        out.append(f"[{sid}]({url})" if url.startswith("http") else sid)
    return ", ".join(out)


def money_figures(figures: pd.DataFrame | None) -> pd.DataFrame:
    """One row per spending figure and race-round it bears on (a figure about two candidates is one row)."""
    if figures is None or figures.empty:
        return pd.DataFrame()
    return figures.drop_duplicates(["_row", "race_id"]).sort_values(["race_id", "as_of", "_row"])


def floor_sides(figures: pd.DataFrame | None) -> pd.DataFrame | None:
    """(race_id, candidate_id, side) whose plug-in money includes an 'at least' figure, sides as the figure names
    them; None when the run folder has no money figures."""
    if figures is None:
        return None
    if figures.empty:
        return pd.DataFrame(columns=["race_id", "candidate_id", "side"])
    hit = figures[(figures.bound == "at_least") & figures.single]
    return hit.assign(side=hit.side.map(SIDE_GROUP))[["race_id", "candidate_id", "side"]].drop_duplicates()


def figure_amount(fig: pd.Series) -> str:
    """'at least $2.9M', 'about $1.2M' or '$615k'."""
    return BOUND_WORDS.get(str(fig.bound), "") + fmt_usd(float(fig.amount_usd))


def figure_about(fig: pd.Series, names: dict[str, str]) -> str:
    """Who a figure is for or against, in words: 'for A', 'against B', 'for A / against B (one combined figure)'."""

    def who(col: str) -> str:
        ids = [c for c in str(fig[col] if isinstance(fig[col], str) else "").split(";") if c]
        return " and ".join(names.get(c, c) for c in ids)

    if fig.stance == "support":
        text = f"for {who('beneficiary_id')}"
    elif fig.stance == "oppose":
        text = f"against {who('target_id')}"
    elif who("beneficiary_id") and who("target_id"):
        text = f"for {who('beneficiary_id')} / against {who('target_id')} (one combined figure)"
    else:  # a combined figure the source gives for a candidate without naming the other side
        text = f"for and against, about {who('beneficiary_id') or who('target_id')} (one combined figure)"
    shared = ";" in str(fig.beneficiary_id) + str(fig.target_id) and fig.stance != "combined"
    return text + (" (shared)" if shared else "")


def side_money(row: pd.Series, stance: str) -> str:
    """'union $700k · charter $1.2M' for a candidate-round's plug-in support or oppose money by side."""
    total = float(row.get(f"{stance}_usd", 0.0) or 0.0)
    union = float(row.get(f"{stance}_union_usd", 0.0) or 0.0)
    charter = float(row.get(f"{stance}_charter_usd", 0.0) or 0.0)
    parts = [("union", union), ("charter", charter), ("other", max(total - union - charter, 0.0))]
    shown = [f"{side} {fmt_usd(usd)}" for side, usd in parts if usd > 0]
    return " · ".join(shown) or "none recorded"
