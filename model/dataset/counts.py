"""Which vote count stands for each candidate, their shares, and the votes cast per race-round."""

from __future__ import annotations

import numpy as np
import pandas as pd

STATUS_RANK = {"certified": 0, "semi_official": 1, "preliminary": 2}


def choose_counts(results: pd.DataFrame) -> pd.DataFrame:
    """Return one row per candidate per race: the best count (certified > semi-official > preliminary,
    then latest), preferring a count with a figure for every candidate of the race, then a two-candidate count
    printing one share (the other share is its complement)."""
    r = results.assign(_rank=results.count_status.map(STATUS_RANK))
    chosen = []
    for _race_id, race in r.groupby("race_id", sort=True):
        cands = set(race.candidate_id)
        sets = []
        for (status_rank, as_of), count in race.groupby(["_rank", "as_of"]):
            has = count[count.votes.notna() | count.pct_reported.notna()]
            # A derived complement is weaker than printed figures for both, and better than no figure at all.
            coverage = 0 if set(has.candidate_id) == cands else 1 if _complement_count(count, cands) else 2
            sets.append((coverage, status_rank, _neg_date(as_of), count))
        sets.sort(key=lambda s: s[:3])
        best = sets[0][3]
        missing = cands - set(best.candidate_id)
        extra = race[race.candidate_id.isin(missing)].sort_values(["_rank", "as_of"]).drop_duplicates("candidate_id")
        if sets[0][0] == 1:
            # The complement belongs to this count: figures another count gives the other candidate are not mixed in.
            printed = best[best.pct_reported.notna()].iloc[0]
            extra = extra.assign(
                votes=np.nan,
                pct_reported=np.nan,
                count_status=printed.count_status,
                as_of=printed.as_of,
                source_ids=printed.source_ids,
            )
        chosen.append(pd.concat([best, extra]))
    return pd.concat(chosen).drop(columns="_rank").reset_index(drop=True)


def _complement_count(count: pd.DataFrame, cands: set[str]) -> bool:
    """Whether count is a two-candidate count that prints exactly one candidate's share."""
    return len(cands) == 2 and int(count.pct_reported.notna().sum()) == 1


def _neg_date(iso: str) -> int:
    """Sort key that puts later ISO dates first."""
    return -int(iso.replace("-", "") or 0)  # an undated count sorts after dated ones


def vote_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """Add vote_share (0-1) and share_basis per candidate: votes/total when every candidate has votes ('votes'),
    else percents renormalised to sum to 1 ('pct'); in a two-candidate race with one printed percent, the other
    share is 100 minus it ('complement'); else the printed percent alone ('pct_partial') or NaN ('missing').
    Percent-based shares of a race with a 'more than' percent are NaN with basis 'bound'."""
    out = []
    for _, race in counts.groupby("race_id", sort=True):
        race = race.copy()
        pct = race.pct_reported
        if race.votes.notna().all() and race.votes.sum() > 0:
            race["vote_share"] = race.votes / race.votes.sum()
            race["share_basis"] = "votes"
        elif pct.notna().all() and pct.sum() > 0:
            race["vote_share"] = pct / pct.sum()
            race["share_basis"] = "pct"
        elif len(race) == 2 and pct.notna().sum() == 1:
            printed = pct.dropna().iloc[0]
            race["vote_share"] = np.where(pct.notna(), printed / 100, 1 - printed / 100)
            race["share_basis"] = np.where(pct.notna(), "pct", "complement")
        else:
            race["vote_share"] = pct / 100
            race["share_basis"] = np.where(pct.notna(), "pct_partial", "missing")
        # A 'more than' percent is a bound, and so is anything derived from it (its complement, a renormalised
        # share): no point share comes from percents in such a race; votes, where printed, still do.
        if race.pct_bound.eq("at_least").any():
            from_pct = race.share_basis.isin(["pct", "complement", "pct_partial"]).to_numpy()
            race.loc[from_pct, "vote_share"] = np.nan
            race.loc[from_pct, "share_basis"] = "bound"
        out.append(race)
    return pd.concat(out)


def votes_cast(results: pd.DataFrame) -> pd.DataFrame:
    """Per race: the votes cast in one count and how they are known, from the best count (certified >
    semi-official > preliminary, then latest) that gives them. sum_votes: the sum of candidate votes of a count
    with votes for every candidate of the race; else votes_over_pct: in a count printing one candidate's votes and
    percent, votes / percent (the total the percent was taken of; the candidate with the most votes, whose rounded
    percent errs least). Races with neither are left out."""
    r = results.assign(_rank=results.count_status.map(STATUS_RANK))
    rows = []
    for race_id, race in r.groupby("race_id", sort=True):
        cands = set(race.candidate_id)
        complete, scaled = [], []
        for (status_rank, as_of), count in race.groupby(["_rank", "as_of"]):
            key = (status_rank, _neg_date(as_of))
            if set(count.candidate_id[count.votes.notna()]) == cands:
                complete.append((*key, count.votes.sum(), count.count_status.iloc[0]))
            both = count[count.votes.notna() & count.pct_reported.gt(0) & count.pct_bound.ne("at_least")]
            if not both.empty:
                top = both.loc[both.votes.idxmax()]
                scaled.append((*key, round(100 * top.votes / top.pct_reported), top.count_status))
        if complete or scaled:
            basis, (_rank, _date, total, status) = (
                ("sum_votes", min(complete))
                if complete
                else (
                    "votes_over_pct",
                    min(scaled),
                )
            )
            rows.append({"race_id": race_id, "counted_votes": total, "counted_basis": basis, "counted_status": status})
    return pd.DataFrame(rows, columns=["race_id", "counted_votes", "counted_basis", "counted_status"])
