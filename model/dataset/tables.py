"""The clean tables (candidate_races, head_to_head) from validated raw data, and their atomic build."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.dataset.counts import choose_counts, vote_shares, votes_cast
from model.dataset.money import MONEY_COLUMNS, money_by_candidate_round, money_figure_parts

# Which of two same-day finance reports to trust: exact over approximate over a lower bound over unstated.
BOUND_PRECISION = {"exact": 3, "approx": 2, "at_least": 1, "at_most": 1}
# Plug-in money columns of candidate_races, per candidate-round.
ON_CYCLE_FROM = 2020


@dataclass(frozen=True)
class CleanData:
    """One pass over validated raw tables: every derived number computed once, for every product to share."""

    raw: dict[str, pd.DataFrame]  # the validated raw tables (dataset/raw.py load_raw)
    counts: pd.DataFrame  # the count that stands for each candidate (counts.choose_counts), with its source ids
    figures: pd.DataFrame  # every IE figure and candidate-round it bears on, netted (money.money_figure_parts)
    cr: pd.DataFrame  # candidate_races
    h2h: pd.DataFrame  # head_to_head


def clean_data(raw: dict[str, pd.DataFrame]) -> CleanData:
    """The chosen counts, the money figures, candidate_races and head_to_head of validated raw tables, each once."""
    counts = choose_counts(raw["results"])
    figures = money_figure_parts(raw["spending"], raw["races"], raw["results"])
    cr = candidate_races(raw, counts, figures)
    return CleanData(raw, counts, figures, cr, head_to_head(cr))


def candidate_races(
    t: dict[str, pd.DataFrame], counts: pd.DataFrame | None = None, figures: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per candidate per race-round with share, turnout, endorsements and plug-in money. counts and figures:
    choose_counts and money_figure_parts of t when the caller has them (clean_data), else computed here."""
    races, results = t["races"], t["results"]
    counts = vote_shares(choose_counts(results) if counts is None else counts)
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
            bool(((e.candidate_id == c) & (e.cycle == y) & e.scope.isin(["cycle", endorsement_scope(rnd)])).any())
            for c, y, rnd in zip(df.candidate_id, df.cycle, df["round"], strict=True)
        ]
    if figures is None:
        figures = money_figure_parts(t["spending"], races, results)
    money = money_by_candidate_round(figures)
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


def endorsement_scope(round_: str) -> str:
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
