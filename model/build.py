"""Build the clean tables (candidate_races, head_to_head) and COVERAGE.md from validated raw data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from model import atomic
from model.raw import load_raw

STATUS_RANK = {"certified": 0, "semi_official": 1, "preliminary": 2}
# Which of two same-day finance reports to trust: exact over approximate over a lower bound over unstated.
BOUND_PRECISION = {"exact": 3, "approx": 2, "at_least": 1}
# Plug-in money columns of candidate_races, per candidate-round.
MONEY_COLUMNS = (
    "support_usd",
    "oppose_usd",
    "support_union_usd",
    "support_charter_usd",
    "oppose_union_usd",
    "oppose_charter_usd",
    "n_money_figures",
    "n_combined",
    "money_bounds",
)
# LAUSD board elections moved to the statewide even-year dates in 2020.
ON_CYCLE_FROM = 2020
# Clean-table columns that hold whole numbers: written without decimals, empty where unknown.
INTEGER_COLUMNS = (
    "cycle",
    "district",
    "rank",
    "votes",
    "n_candidates",
    "registered_voters",
    "ballots_cast",
    "votes_cast",
    "n_money_figures",
    "n_combined",
    "d_incumbent",
    "d_utla",
    "d_ccsa",
)
# Money kinds that enter the IE plug-in and the latent IE evidence (README, "Money kinds"): a contribution to the
# candidate's own committee is the candidate's own money (model/finance.py), not outside spending.
IE_MONEY_KINDS = ("ie", "unknown")
ROUND_OF_SCOPE = {
    "primary": ("primary", "special_primary"),
    "general": ("general", "special_general"),
    "special_primary": ("special_primary",),
    "special_general": ("special_general",),
}


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


def money_figure_parts(
    spending: pd.DataFrame,
    races: pd.DataFrame,
    results: pd.DataFrame,
    kinds: tuple[str, ...] = IE_MONEY_KINDS,
) -> pd.DataFrame:
    """One row per (spending figure of one of kinds, candidate, stance) it bears on, with its race-round.

    Cycle-scope figures go to the last round the candidate ran in, net of the primary's money (net_of_primary);
    where the round has a figure of its own for the candidate and stance, the derived one is dropped
    (round_figures_win). Column single is True when the figure is about that candidate and stance alone (not a
    combined or shared sum); _row is the figure's line; derived is True for a figure net of the primary, whose
    primary lines are primary_rows."""
    spending = spending[spending.money_kind.isin(kinds)]
    rounds = (
        results[["race_id", "candidate_id"]]
        .drop_duplicates()
        .merge(races[["race_id", "cycle", "district", "round", "date"]], on="race_id")
    )
    rows = []
    for rec in spending.to_dict("records"):
        for stance, col in (("support", "beneficiary_id"), ("oppose", "target_id")):
            ids = [c for c in str(rec[col]).split(";") if c]
            if rec["stance"] not in (stance, "combined") or not ids:
                continue
            single = rec["stance"] == stance and len(ids) == 1
            for cid in ids:
                mine = rounds[
                    (rounds.candidate_id == cid) & (rounds.cycle == rec["cycle"]) & (rounds.district == rec["district"])
                ]
                first_date = mine.date.min()  # the candidate's first round of the cycle, whatever the scope
                if rec["scope"] != "cycle":
                    mine = mine[mine["round"].isin(ROUND_OF_SCOPE[rec["scope"]])]
                if mine.empty:
                    continue
                mine = mine.sort_values("date")
                rows.append(
                    {
                        **rec,
                        "race_id": mine.race_id.iloc[-1],
                        "candidate_id": cid,
                        "kind": stance,
                        "single": single,
                        "round_date": mine.date.iloc[-1],
                        "first_date": first_date,
                    }
                )
    if not rows:
        return pd.DataFrame(rows)
    return round_figures_win(net_of_primary(pd.DataFrame(rows))).drop(columns=["round_date", "first_date"])


def round_figures_win(parts: pd.DataFrame) -> pd.DataFrame:
    """Drop each derived single-candidate part when its race-round, candidate and stance also has a printed figure
    for that round alone from the same committees or more ('all' of the same side covers any): a figure a source
    gives for the round beats one computed from a cycle figure less a primary figure."""
    printed = parts[parts.single & ~parts.derived & (parts.scope != "cycle")]
    beaten = np.zeros(len(parts), dtype=bool)
    for i, d in enumerate(parts.itertuples()):
        if not (d.derived and d.single):
            continue
        same_cell = printed[
            (printed.race_id == d.race_id) & (printed.candidate_id == d.candidate_id) & (printed.kind == d.kind)
        ]
        beaten[i] = any(_covers(p.committee_id, p.side, d.committee_id, d.side) for p in same_cell.itertuples())
    return parts[~beaten].reset_index(drop=True)


def _covers(key: str, side: str, other_key: str, other_side: str) -> bool:
    """Whether a figure of committees key (side) covers every committee of a figure of other_key (other_side)."""
    if key == "all":
        return side in ("all", other_side)
    return other_key != "all" and set(other_key.split(";")) <= set(key.split(";"))


def net_of_primary(parts: pd.DataFrame) -> pd.DataFrame:
    """Reduce each cycle-scope figure that lands on a later round than the candidate's first by the primary's money
    for the same cells (rule in data/README.md), so that a runoff does not inherit the primary's spending.

    The pool is the earlier-round figures of the same side (any side for a side-'all' figure) and of the same
    committees, matched by committee_id (a figure over keys a;b takes figures whose keys are among a and b; 'all'
    takes any). The primary's money P is the larger of (a) the plug-in total of the pool's figures with the same
    stance, beneficiaries and targets, and (b) the sum over the figure's cells of the plug-in totals of the pool's
    single-candidate figures. The figure becomes max(0, C - P), flagged derived, with a bound both support:
    exact when C is exact and final and P is exact and complete; at least when C is a lower bound ('at least' or
    a running total) and P is exact and complete; else approximate (an approximate C or P bounds nothing, and a
    P that is itself a lower bound makes C - P too large)."""
    parts = parts.assign(derived=False, primary_rows="")
    later = parts[(parts.scope == "cycle") & (parts.round_date > parts.first_date)]
    for row, fig in later.groupby("_row", sort=True):
        c = fig.iloc[0]
        pool = parts[
            (parts.scope != "cycle")
            & (parts.cycle == c.cycle)
            & (parts.district == c.district)
            & (parts.round_date < c.round_date)
        ]
        if c.committee_id != "all":
            keys = set(c.committee_id.split(";"))
            pool = pool[np.array([set(k.split(";")) <= keys for k in pool.committee_id], dtype=bool)]
        if c.side != "all":
            pool = pool[pool.side == c.side]
        same = pool[
            (pool.stance == c.stance) & (pool.beneficiary_id == c.beneficiary_id) & (pool.target_id == c.target_id)
        ].drop_duplicates("_row")
        cells = [
            pool[pool.single & (pool.candidate_id == cid) & (pool.kind == kind)]
            for cid, kind in zip(fig.candidate_id, fig.kind, strict=True)
        ]
        by_cells = [chosen_figures(g) for g in cells if not g.empty]
        p_cells = sum(total_usd(g) for g in by_cells)
        p_same = total_usd(same) if not c.single else 0.0
        if p_same == 0 and p_cells == 0:
            continue  # nothing known of the primary: the figure stays as printed
        chosen = chosen_figures(same) if p_same > p_cells else pd.concat(by_cells)
        p = max(p_same, p_cells)
        bound, final = net_bound(c, chosen)
        idx = parts._row == row
        parts.loc[idx, "amount_usd"] = max(0.0, float(c.amount_usd) - p)
        parts.loc[idx, "bound"] = bound
        parts.loc[idx, "final"] = final
        parts.loc[idx, "derived"] = True
        parts.loc[idx, "primary_rows"] = ";".join(str(r) for r in sorted(set(chosen._row)))
    return parts


def net_bound(cycle_figure: pd.Series, primary: pd.DataFrame) -> tuple[str, bool]:
    """Bound and final flag of C - P for a cycle figure C and the primary figures P it is netted against.

    P is exact and complete when every figure is exact and final or dated on or after its round's election day.
    Then C - P keeps C's bound (a running C gives a running lower bound); otherwise, and whenever C is
    approximate, C - P is approximate and not a running total (it bounds nothing either way)."""
    p_exact = ((primary.bound == "exact") & (primary.final | (primary.as_of >= primary.round_date))).all()
    if cycle_figure.bound == "approx" or not p_exact:
        return "approx", True
    if cycle_figure.bound == "exact" and cycle_figure.final:
        return "exact", True
    return "at_least", bool(cycle_figure.final)


def chosen_figures(figures: pd.DataFrame) -> pd.DataFrame:
    """The figures the plug-in rule adds up: each committee's (committee_id's) final, else latest, else largest
    figure; a figure over several named committees (keys a;b) in place of theirs when it is at least their sum,
    else dropped; or the largest 'all committees' figure when it is at least the sum of the rest."""
    if figures.empty:
        return figures
    ranked = figures.sort_values(["final", "as_of", "amount_usd"], ascending=False).reset_index(drop=True)
    named = ranked[ranked.committee_id != "all"].drop_duplicates("committee_id")
    several = named.committee_id.str.contains(";", regex=False)
    keep = list(named.index[~several])
    for i in named.index[several]:
        members = [j for j in keep if ranked.committee_id[j] in ranked.committee_id[i].split(";")]
        if ranked.amount_usd[i] >= ranked.amount_usd[members].sum():
            keep = [j for j in keep if j not in members] + [i]
    named = ranked.loc[keep]
    overall = ranked[ranked.committee_id == "all"].nlargest(1, "amount_usd")
    if not overall.empty and overall.amount_usd.iloc[0] >= named.amount_usd.sum():
        return overall
    return named


def money_by_candidate_round(spending: pd.DataFrame, races: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Plug-in IE dollars per candidate-round and stance from single-candidate figures.

    Rule (documented in data/README.md): per committee take the final figure, else the latest, else the
    largest; a round's total is the larger of any 'all committees' figure and the sum over committees.
    Cycle-scope figures go to the last round the candidate ran in, net of the primary's money (net_of_primary),
    flagged 'derived' in money_bounds. Combined for/against figures and
    figures shared by several candidates are counted in n_combined but not split here (the Bayesian
    model treats them as constraints on latent spending)."""
    cols = ["race_id", "candidate_id", *MONEY_COLUMNS]
    fig = money_figure_parts(spending, races, results)
    if fig.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for (race_id, cid), g in fig.groupby(["race_id", "candidate_id"], sort=True):
        rec = {
            "race_id": race_id,
            "candidate_id": cid,
            "n_money_figures": len(g),
            "n_combined": int((~g.single).sum()),
            "money_bounds": ";".join(
                sorted(
                    set(g.bound)
                    | ({"running"} if (~g.final).any() else set())
                    | ({"derived"} if g.derived.any() else set())
                )
            ),
        }
        for kind in ("support", "oppose"):
            k = g[(g.kind == kind) & g.single]
            rec[f"{kind}_usd"] = total_usd(k)
            for side in ("union", "charter"):
                rec[f"{kind}_{side}_usd"] = total_usd(k[k.side == side])
        out.append(rec)
    return pd.DataFrame(out)[cols]


def total_usd(figures: pd.DataFrame) -> float:
    """Total dollars of a set of figures for one candidate-round and stance (the figures chosen_figures keeps)."""
    return float(chosen_figures(figures).amount_usd.sum()) if not figures.empty else 0.0


def candidate_races(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per candidate per race-round with share, turnout, endorsements and plug-in money."""
    races, results = t["races"], t["results"]
    counts = vote_shares(choose_counts(results))
    df = counts.merge(races.drop(columns=["_row", "source_ids", "notes", "count_status"]), on="race_id")
    df = df.merge(votes_cast(results), on="race_id", how="left")
    df = df.assign(**turnout_columns(df))
    df["era"] = era(df.cycle)
    df["on_cycle"] = df.era == "on-cycle"
    df["seat_open"] = df.seat == "open"
    df["n_candidates"] = df.groupby("race_id").candidate_id.transform("size")
    # Tied shares are ranked by candidate id, not by the order of rows in results.csv.
    df = df.sort_values(["race_id", "candidate_id"], kind="stable").reset_index(drop=True)
    df["rank"] = df.groupby("race_id").vote_share.rank(ascending=False, method="first")
    end = t["endorsements"]
    for endorser in ("UTLA", "CCSA", "SEIU99"):
        e = end[end.endorser == endorser]
        df[endorser.lower()] = [
            bool(((e.candidate_id == c) & (e.cycle == y) & e.scope.isin(["cycle", _scope(rnd)])).any())
            for c, y, rnd in zip(df.candidate_id, df.cycle, df["round"], strict=True)
        ]
    money = money_by_candidate_round(t["spending"], races, results)
    df = df.merge(money, on=["race_id", "candidate_id"], how="left")
    for col in [c for c in money.columns if c.endswith("_usd")]:
        df[col] = df[col].fillna(0.0).astype(float)  # float even when no spending row exists at all
    df["n_money_figures"] = df.n_money_figures.fillna(0).astype(int)
    df["n_combined"] = df.n_combined.fillna(0).astype(int)
    df["money_bounds"] = df.money_bounds.fillna("")
    # The latest report; on the same date the most precise, then most complete, then largest. Decided by content
    # alone: keeping the last row in file order made the result depend on the order of rows in the raw file.
    fin = t["candidate_finance"].assign(
        _precision=lambda f: f.bound.map(BOUND_PRECISION).fillna(0),
        _known=lambda f: f[["raised_usd", "spent_usd"]].notna().sum(axis=1),
    )
    fin = fin.sort_values(
        ["as_of", "_precision", "_known", "raised_usd", "spent_usd"], na_position="first", kind="stable"
    ).drop_duplicates(["cycle", "candidate_id"], keep="last")
    df = df.merge(
        fin[["cycle", "candidate_id", "raised_usd", "spent_usd"]].rename(
            columns={"raised_usd": "own_raised_usd", "spent_usd": "own_spent_usd"}
        ),
        on=["cycle", "candidate_id"],
        how="left",
    )
    df = df.assign(**experience_columns(df, t["candidate_quality"]))
    df["support_per_voter"] = df.support_usd / df.registered_voters
    df["oppose_per_voter"] = df.oppose_usd / df.registered_voters
    keep = [
        "race_id",
        "cycle",
        "date",
        "round",
        "district",
        "seat_open",
        "on_cycle",
        "era",
        "candidate_id",
        "name",
        "incumbent",
        "outcome",
        "votes",
        "pct_reported",
        "vote_share",
        "share_basis",
        "count_status",
        "as_of",
        "rank",
        "n_candidates",
        "registered_voters",
        "ballots_cast",
        "turnout",
        "turnout_basis",
        "turnout_status",
        "citywide_turnout",
        "votes_cast",
        "votes_cast_basis",
        "votes_cast_status",
        "utla",
        "ccsa",
        "seiu99",
        *MONEY_COLUMNS,
        "support_per_voter",
        "oppose_per_voter",
        "own_raised_usd",
        "own_spent_usd",
        "experienced",
        "experienced_known",
    ]
    return df[keep].sort_values(["date", "district", "rank", "candidate_id"]).reset_index(drop=True)


def experience_columns(df: pd.DataFrame, quality: pd.DataFrame) -> dict[str, pd.Series]:
    """experienced: held an elected office before the cycle other than the seat defended (candidate_quality.csv);
    experienced_known: the table answers yes or no. A candidate it lacks or marks unknown is not experienced."""
    answer = quality.set_index(["cycle", "candidate_id"]).elected_office
    keys = pd.MultiIndex.from_arrays([df.cycle.astype(float), df.candidate_id])
    found = answer.reindex(keys).to_numpy()
    return {
        "experienced": pd.Series(found == "yes", index=df.index),
        "experienced_known": pd.Series(pd.Series(found).isin(["yes", "no"]).to_numpy(), index=df.index),
    }


def turnout_columns(df: pd.DataFrame) -> dict[str, pd.Series]:
    """District turnout (0-1), its basis and its count's status, citywide turnout (0-1, never district turnout), and
    the votes cast in the round (ballots cast where printed, else from one count: votes_cast) with its basis and, for
    a count, that count's status (an election-night count understates the electorate)."""
    # Counts beat a printed percentage: the percentage is rounded.
    counted = df.ballots_cast / df.registered_voters
    printed = df.turnout_pct / 100
    return {
        "turnout": counted.fillna(printed),
        "turnout_basis": pd.Series(
            np.select([counted.notna(), printed.notna()], ["ballots/registered", "district_pct"], "none"), df.index
        ),
        # The status of the count the turnout comes from: an election-night figure is never mistaken for a final one.
        "turnout_status": df.turnout_status.where(counted.notna() | printed.notna(), ""),
        "citywide_turnout": df.citywide_turnout_pct / 100,
        "votes_cast": df.ballots_cast.fillna(df.counted_votes),
        "votes_cast_basis": pd.Series(
            np.where(df.ballots_cast.notna(), "ballots_cast", df.counted_basis.fillna("none")), df.index
        ),
        "votes_cast_status": df.counted_status.where(df.ballots_cast.isna() & df.counted_votes.notna(), ""),
    }


def era(cycle: pd.Series) -> pd.Series:
    """'on-cycle' for LAUSD's even-year elections from ON_CYCLE_FROM (consolidated with statewide ones), else
    'off-cycle' (the odd-year stand-alone elections before, and any odd-year special after)."""
    on = (cycle >= ON_CYCLE_FROM) & (cycle % 2 == 0)
    return pd.Series(np.where(on, "on-cycle", "off-cycle"), cycle.index)


def _scope(round_: str) -> str:
    """Endorsement scope matching a race round."""
    return "primary" if "primary" in round_ else "general"


def head_to_head(cr: pd.DataFrame) -> pd.DataFrame:
    """One row per contested race-round whose top two are known: top two by share, oriented so candidate a has the
    alphabetically first id (independent of the outcome); logit of a's two-way share and differences."""
    rows = []
    for race_id, race in cr.groupby("race_id", sort=True):
        g = race[race.vote_share.notna()]
        if len(g) < 2:
            continue
        # Candidates with unknown shares could only be in the top two if their combined share could beat
        # the second known share; then the race's top two are not known and it is left out.
        if len(g) < len(race) and 1 - g.vote_share.sum() >= g.vote_share.nlargest(2).iloc[-1]:
            continue
        top = g.nsmallest(2, "rank").sort_values("candidate_id")
        a, b = top.iloc[0], top.iloc[1]
        share_a = a.vote_share / (a.vote_share + b.vote_share)
        rows.append(
            {
                "race_id": race_id,
                "cycle": a.cycle,
                "round": a["round"],
                "district": a.district,
                "candidate_a": a.candidate_id,
                "candidate_b": b.candidate_id,
                "share_a": share_a,
                "logit_share_a": float(np.log(share_a / (1 - share_a))),
                "share_basis": ";".join(sorted({a.share_basis, b.share_basis})),
                "turnout": a.turnout,
                "turnout_basis": a.turnout_basis,
                "turnout_status": a.turnout_status,
                "votes_cast": a.votes_cast,
                "votes_cast_basis": a.votes_cast_basis,
                "votes_cast_status": a.votes_cast_status,
                "on_cycle": a.on_cycle,
                "era": a.era,
                "count_status": a.count_status,
                "d_log_support": np.log1p(a.support_usd / 1e3) - np.log1p(b.support_usd / 1e3),
                "d_log_oppose": np.log1p(a.oppose_usd / 1e3) - np.log1p(b.oppose_usd / 1e3),
                "d_incumbent": int(a.incumbent) - int(b.incumbent),
                "d_utla": int(a.utla) - int(b.utla),
                "d_ccsa": int(a.ccsa) - int(b.ccsa),
                "a_won": a.outcome in ("won", "advanced") and a["rank"] == 1,
            }
        )
    return pd.DataFrame(rows)


def _count(value: float) -> str:
    """A whole number with thousands separators, or a dash when unknown."""
    return "—" if pd.isna(value) else f"{value:,.0f}"


def _pct(turnout: pd.Series) -> str:
    """A race's turnout as a whole percent, or a dash when unknown."""
    t = turnout.dropna()
    return "—" if t.empty else f"{100 * t.iloc[0]:.0f}%"


def _cast_basis(facts: pd.Series) -> str:
    """'ballots_cast', or 'sum_votes, <status of the count summed>'."""
    return ", ".join(x for x in (facts.votes_cast_basis, facts.votes_cast_status) if x)


def _tally(values: pd.Series) -> str:
    """'a 3, b 1': how many race-rounds have each value, in alphabetical order."""
    return ", ".join(f"{k} {n}" for k, n in sorted(values.value_counts().items()))


def coverage_markdown(races: pd.DataFrame, cr: pd.DataFrame) -> str:
    """COVERAGE.md: one row per race-round, one column per field group."""
    lines = [
        "# Coverage of the LAUSD race dataset",
        "",
        "Generated by `make data`; do not edit. One row per race-round. "
        "era: off-cycle (odd-year, stand-alone) or on-cycle (even-year from 2020); "
        "votes: candidates with vote counts / all candidates; share: basis of vote shares (complement = 100 minus "
        "the other candidate's printed percent); votes cast: ballots cast where printed, else from one count: the sum "
        "of every candidate's votes, or one candidate's votes over their percent (basis, and the count's status, in "
        "brackets); turnout: district "
        "turnout, its basis and the status of its count; citywide: citywide turnout that day, never used as district "
        "turnout; "
        "IE: candidates with a support / oppose dollar figure (plug-in rule, data/README.md); "
        "prior office: candidates who held elected office before the race / candidates whose record is known "
        "(candidate_quality.csv).",
        "",
        "| race | round | era | seat | count status | candidates | votes | share | registered | ballots | votes cast "
        "| turnout | turnout basis | turnout status | citywide | UTLA/CCSA endorsed | IE support | IE oppose "
        "| combined figs | prior office |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    facts = cr.drop_duplicates("race_id").set_index("race_id")
    for rec in races.sort_values(["date", "district"]).to_dict("records"):
        g = cr[cr.race_id == rec["race_id"]]
        n = len(g)
        f = facts.loc[rec["race_id"]] if rec["race_id"] in facts.index else None
        cast = "—" if f is None or pd.isna(f.votes_cast) else f"{_count(f.votes_cast)} ({_cast_basis(f)})"
        lines.append(
            f"| {rec['race_id']} | {rec['round']} | {era(pd.Series([rec['cycle']])).iloc[0]} | {rec['seat']} "
            f"| {rec['count_status'] or 'no count'} | {n} "
            f"| {int(g.votes.notna().sum())}/{n} | {','.join(sorted(set(g.share_basis))) or '—'} "
            f"| {_count(rec['registered_voters'])} | {_count(rec['ballots_cast'])} | {cast} | {_pct(g.turnout)} "
            f"| {'—' if f is None else f.turnout_basis} | {'—' if f is None else f.turnout_status or '—'} "
            f"| {_pct(g.citywide_turnout)} "
            f"| {int(g.utla.sum())}/{int(g.ccsa.sum())} | {int((g.support_usd > 0).sum())}/{n} "
            f"| {int((g.oppose_usd > 0).sum())}/{n} | {int(g.n_combined.sum())} "
            f"| {int(g.experienced.sum())}/{int(g.experienced_known.sum())} |"
        )
    n_r = len(races)
    cert = int((races.count_status == "certified").sum())
    with_money = cr.groupby("race_id").apply(lambda g: (g.support_usd + g.oppose_usd).gt(0).any()).sum()
    lines += [
        "",
        f"Race-rounds: {n_r}; certified counts: {cert} ({cert / n_r:.0%}); "
        f"with any IE figure for a candidate: {with_money} ({with_money / n_r:.0%}).",
        "",
        f"District turnout by basis: {_tally(facts.turnout_basis)}; by status: "
        f"{_tally(facts.turnout_status[facts.turnout_status != ''])}; votes cast by basis: "
        f"{_tally(facts.votes_cast_basis)}; eras: {_tally(facts.era)}; "
        f"candidate shares that are complements: {int((cr.share_basis == 'complement').sum())}; "
        f"candidate rows whose prior elected office is known: {int(cr.experienced_known.sum())} of {len(cr)} "
        f"({int(cr.experienced.sum())} held one).",
        "",
    ]
    return "\n".join(lines)


def _csv(frame: pd.DataFrame) -> str:
    """Deterministic CSV text (fixed float format, whole-number columns as integers, LF line ends)."""
    whole = {c: "Int64" for c in INTEGER_COLUMNS if c in frame}
    return frame.astype(whole).to_csv(index=False, lineterminator="\n", float_format="%.6f")


def build_all(raw_dir: Path, out_dir: Path, coverage_path: Path) -> str:
    """Validate raw, write clean tables and COVERAGE.md atomically; return a one-line summary."""
    out_dir = Path(out_dir)
    atomic.recover_all(out_dir.parent)  # a build killed mid-swap: its previous outputs come back first
    t = load_raw(raw_dir)
    cr = candidate_races(t)
    h2h = head_to_head(cr)
    cov = coverage_markdown(t["races"], cr)
    staged = atomic.staging_dir(out_dir)
    try:
        (staged / "candidate_races.csv").write_text(_csv(cr), encoding="utf-8")
        (staged / "head_to_head.csv").write_text(_csv(h2h), encoding="utf-8")
        atomic.replace_dir(staged, out_dir)
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    atomic.fault_point("before_coverage")
    atomic.write_text(Path(coverage_path), cov)
    return f"built {len(cr)} candidate-race rows, {len(h2h)} head-to-head races into {out_dir}"
