"""The per-race facts the race pages show, gathered from data/clean, data/raw (sources, counts, money figures) and
the run: pure functions over frames, no rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from model.dataset.counts import choose_counts
from model.dataset.money import money_figure_parts
from model.dataset.raw import load_raw
from model.infra.errors import UserError
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
class RepoData:
    """The repository's data as the race pages need it: the clean candidate table and the validated raw tables."""

    cr: pd.DataFrame
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def sources(self) -> dict[str, pd.Series]:
        """source_id -> its sources.csv row."""
        src = self.raw.get("sources", pd.DataFrame())
        return {r.source_id: r for _, r in src.iterrows()} if not src.empty else {}


def load_repo_data(root: Path, cr: pd.DataFrame) -> RepoData:
    """The clean table and, when data/raw is there and valid, the raw tables (else none: pages show less)."""
    raw_dir = Path(root) / "data" / "raw"
    if not (raw_dir / "sources.csv").is_file():
        return RepoData(cr)
    try:
        return RepoData(cr, load_raw(raw_dir))
    except UserError:
        return RepoData(cr)  # `make data` reports what is wrong; the report still shows the clean table


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


def chosen_counts(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The count behind each candidate's share in candidate_races (same rule), with its source ids."""
    results = raw.get("results", pd.DataFrame())
    return choose_counts(results) if not results.empty else pd.DataFrame()


def money_figures(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per spending figure and race-round it bears on (a figure about two candidates is one row)."""
    need = ("spending", "races", "results")
    if any(raw.get(n, pd.DataFrame()).empty for n in need):
        return pd.DataFrame()
    parts = money_figure_parts(raw["spending"], raw["races"], raw["results"])
    if parts.empty:
        return parts
    return parts.drop_duplicates(["_row", "race_id"]).sort_values(["race_id", "as_of", "_row"])


def floor_sides(raw: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """(race_id, candidate_id, side) whose plug-in money includes an 'at least' figure, sides as the figure names
    them; None without raw data."""
    need = ("spending", "races", "results")
    if any(raw.get(n, pd.DataFrame()).empty for n in need):
        return None
    parts = money_figure_parts(raw["spending"], raw["races"], raw["results"])
    if parts.empty:
        return pd.DataFrame(columns=["race_id", "candidate_id", "side"])
    hit = parts[(parts.bound == "at_least") & parts.single]
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
