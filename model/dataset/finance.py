"""Candidates' own committee money per candidate-round, from candidate_finance.csv (a pure function of tables).

candidate_finance holds a cycle's committee reports: cumulative raised and/or spent as of a date, each exact,
approximate or 'at least'. A candidate-round's own money is the largest figure among that cycle's reports dated
on or before the round's election day:
  - money reported after election day cannot have moved that round's votes, so it is left out (the clean
    table's own_raised_usd / own_spent_usd take the cycle's last report, which can post-date the vote);
  - spent is the quantity of interest; where a report gives only raised (most of them: the press quotes
    fundraising), raised stands in for it, as committees in these races spend close to what they raise by
    election day (an assumption: the four end-of-cycle reports with both put spent at 73-101 % of raised, so
    raised can overstate spending by up to about a third, 0.3 on the log scale);
  - cumulative totals only grow, so the largest pre-election figure is the latest total; taking the largest
    rather than the last also ignores the occasional figure for a single filing period (2014 D1, July);
  - a runoff's figure is the cycle's cumulative money by the runoff, primary money included (the candidate-aware
    model enters the change from the primary for a runoff built from its primary);
  - the figure's bound becomes its kind: exact, approx, lower (at_least; a missing bound is approx) or upper
    (at_most); as evidence on the money by election day (own_evidence) a figure filed more than
    RUNNING_TOTAL_DAYS before it is a running total, hence a lower bound, whatever its bound.
Money dated after election day is not dropped: a cumulative total filed after the vote includes the money spent by
then, so it is an upper bound on it (own_upper_usd; own_evidence upper when the round has no figure by election
day, as with cycle totals filed at year end). Derived from the date: an exact or approximate report dated after the
election day, or an at_most report (entered by hand) dated on or after it, bounds the round's money from above; an
at_least report after the vote bounds nothing (a floor on a total that includes later money), nor does an at_most
report filed before the vote. Cumulative totals only grow, so a later figure below the round's own figure by
election day is not a cumulative total (a single filing period, like 2014 D1's July figures) and is left out; of the
rest the smallest, the tightest, is the bound.
Contributions to a candidate's committee that spending.csv records (money_kind contribution) are reports of
money raised as well (contribution_reports): each is a floor on what the committee raised by its date.
A candidate-round without a figure has no own money in the data (NaN), which the models treat as none, as they
treat a candidate without an IE figure; a reported $0 is none as well."""

from __future__ import annotations

import numpy as np
import pandas as pd

OWN_KIND = {"exact": "exact", "approx": "approx", "at_least": "lower", "at_most": "upper"}
PRECISION = {"exact": 3, "approx": 2, "lower": 1, "upper": 0}  # equal amounts: the more precise figure wins
OWN_COLUMNS = ("own_usd", "own_kind", "own_basis", "own_as_of", "own_evidence", "own_upper_usd", "own_upper_as_of")
# A report filed within two weeks of the vote is taken to stand for the money by election day (an assumption:
# little is raised in the last days); an earlier one is a running total, a lower bound on it.
RUNNING_TOTAL_DAYS = 14


def contribution_reports(spending: pd.DataFrame | None) -> pd.DataFrame:
    """spending.csv's contributions to one candidate's own committee as candidate_finance rows: raised_usd = the
    amount, bound at_least (a part of what the committee raised). A contribution shared by several candidates
    (split not given) is left out: no candidate's share of it is known."""
    columns = ["cycle", "candidate_id", "raised_usd", "spent_usd", "bound", "as_of", "source_ids"]
    if spending is None or "money_kind" not in spending:
        return pd.DataFrame(columns=columns)
    c = spending[(spending.money_kind == "contribution") & (spending.stance == "support")]
    c = c[c.beneficiary_id.str.len().gt(0) & ~c.beneficiary_id.str.contains(";", regex=False)]
    return pd.DataFrame(
        {
            "cycle": c.cycle,
            "candidate_id": c.beneficiary_id,
            "raised_usd": c.amount_usd.astype(float),
            "spent_usd": np.nan,
            "bound": "at_least",
            "as_of": c.as_of,
            "source_ids": c.source_ids,
        },
        columns=columns,
    )


def own_money_by_round(finance: pd.DataFrame | None, rows: pd.DataFrame) -> pd.DataFrame:
    """Own committee money of each candidate row (columns cycle, candidate_id, date): own_usd (NaN without a
    figure), own_kind (exact | approx | lower | upper | ''), own_basis (spent | raised | ''), own_as_of and
    own_evidence (own_kind, lower for a running total, upper for a round known only from a figure dated after its
    election day), and own_upper_usd / own_upper_as_of (the upper bound from after election day, NaN / '' without
    one), on rows' index."""
    none = (np.nan, "", "", "", "", np.nan, "")
    if finance is None or finance.empty:
        return pd.DataFrame([none] * len(rows), index=rows.index, columns=list(OWN_COLUMNS))
    fin = finance.copy()
    spent = pd.to_numeric(fin.spent_usd, errors="coerce")
    raised = pd.to_numeric(fin.raised_usd, errors="coerce")
    fin["amount"] = spent.where(spent.notna(), raised)
    fin["basis"] = np.where(spent.notna(), "spent", "raised")
    bound = fin.bound if "bound" in fin else pd.Series("", index=fin.index)
    fin["kind"] = bound.fillna("").map(OWN_KIND).fillna("approx")
    fin["precision"] = fin.kind.map(PRECISION)
    fin["as_of"] = pd.to_datetime(fin.as_of)
    fin = fin[fin.amount.notna()].sort_values(["amount", "precision", "as_of"], kind="stable")
    by_candidate = {key: g for key, g in fin.groupby([fin.cycle.astype(int), fin.candidate_id])}
    values = []
    for cycle, cid, date in zip(rows.cycle, rows.candidate_id, rows.date, strict=True):
        g = by_candidate.get((int(cycle), cid))
        if g is None:
            values.append(none)
            continue
        day = pd.Timestamp(date)
        before = g[(g.as_of <= day) & (g.kind != "upper")]  # sorted: the last is the largest
        upper = upper_bound(g, day, float(before.amount.iloc[-1]) if len(before) else 0.0)
        upper_values = (np.nan, "") if upper is None else (float(upper.amount), upper.as_of.date().isoformat())
        if len(before):
            best = before.iloc[-1]
        elif upper is not None:
            best = upper
        else:
            values.append(none)
            continue
        running = len(before) > 0 and (day - best.as_of).days > RUNNING_TOTAL_DAYS
        evidence = "upper" if before.empty else "lower" if running else best.kind
        values.append(
            (float(best.amount), best.kind, best.basis, best.as_of.date().isoformat(), evidence, *upper_values)
        )
    out = pd.DataFrame(values, index=rows.index, columns=list(OWN_COLUMNS))
    out["own_usd"] = out.own_usd.astype(float)
    out["own_upper_usd"] = out.own_upper_usd.astype(float)
    return out


def upper_bound(reports: pd.DataFrame, day: pd.Timestamp, floor: float) -> pd.Series | None:
    """The report that bounds a round's money by election day from above (module docstring), or None: of the exact
    or approximate reports dated after day and the at_most reports dated on or after it, the smallest that is at
    least floor (the round's figure by election day, 0 without one)."""
    after = reports[
        ((reports.as_of > day) & reports.kind.isin(["exact", "approx"]))
        | ((reports.as_of >= day) & (reports.kind == "upper"))
    ]
    after = after[after.amount >= floor]
    return None if after.empty else after.iloc[0]  # sorted by amount
