"""The one money-figure rule: spending rows to figures per candidate-round, primary netting, plug-in totals."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
# Money kinds that enter the IE plug-in and the latent IE evidence (README, "Money kinds"): a contribution to the
# candidate's own committee is the candidate's own money (model/dataset/finance.py), not outside spending.
IE_MONEY_KINDS = ("ie", "unknown")
ROUND_OF_SCOPE = {
    "primary": ("primary", "special_primary"),
    "general": ("general", "special_general"),
    "special_primary": ("special_primary",),
    "special_general": ("special_general",),
}


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
    approximate, C - P is approximate and not a running total (it bounds nothing either way). An 'at most' C stays
    an upper bound whenever no figure of P is approximate or itself 'at most': the true P is then at least the
    printed one (exact, 'at least' or a running total), so C - P is if anything too large, as an upper bound may be."""
    if cycle_figure.bound == "at_most":
        p_floor = primary.bound.isin(["exact", "at_least"]).all()
        return ("at_most", True) if p_floor else ("approx", True)
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


def money_by_candidate_round(fig: pd.DataFrame) -> pd.DataFrame:
    """Plug-in IE dollars per candidate-round and stance from the single-candidate figures among fig (the
    money_figure_parts of the data, computed once by the caller).

    Rule (documented in data/README.md): per committee take the final figure, else the latest, else the
    largest; a round's total is the larger of any 'all committees' figure and the sum over committees.
    Cycle-scope figures go to the last round the candidate ran in, net of the primary's money (net_of_primary),
    flagged 'derived' in money_bounds. Combined for/against figures and
    figures shared by several candidates are counted in n_combined but not split here (the Bayesian
    model treats them as constraints on latent spending)."""
    cols = ["race_id", "candidate_id", *MONEY_COLUMNS]
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
                    | ({"running"} if (~g.final.astype(bool) & (g.bound != "at_most")).any() else set())
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
