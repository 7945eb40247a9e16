"""Declarative schema of the raw tables: columns, types, allowed values (the data dictionary's source)."""

from __future__ import annotations

from dataclasses import dataclass

ROUNDS = ("primary", "general", "special_primary", "special_general")
SEATS = ("incumbent", "open")
COUNT_STATUSES = ("certified", "semi_official", "preliminary")
OUTCOMES = ("won", "advanced", "lost")
SIDES = ("union", "charter", "other", "all")
STANCES = ("support", "oppose", "combined")
BOUNDS = ("exact", "at_least", "approx")
# A money figure may also be an upper bound ('at most'): a total dated after election day includes the money spent by
# then (data/README.md, "Money dated after election day").
MONEY_BOUNDS = (*BOUNDS, "at_most")
ELECTED_OFFICE = ("yes", "no", "unknown")
# What a money figure is: an independent expenditure, a contribution to the candidate's own committee, or not said.
MONEY_KINDS = ("ie", "contribution", "unknown")
SCOPES = (*ROUNDS, "cycle")
# Units a money cell may be entered in; amounts are converted to dollars on load.
UNITS = {"usd": 1.0, "kusd": 1_000.0, "musd": 1_000_000.0}


@dataclass(frozen=True)
class Column:
    """One raw column: its type, whether it may be empty, allowed values, and what it means."""

    name: str
    # str | int | money | pct | date | bool | enum | ids | candidate | candidates | race | district | committee
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    doc: str = ""


TABLES: dict[str, tuple[Column, ...]] = {
    "sources": (
        Column("source_id", "str", doc="stable id, e.g. s17-03"),
        Column("url", "str", doc="address of the page the facts were read from"),
        Column("publisher", "str", doc="outlet or office"),
        Column("title", "str", required=False, doc="page title"),
        Column("published", "date", required=False, doc="publication date (ISO)"),
        Column("notes", "str", required=False, doc="short notes in our own words"),
    ),
    "races": (
        Column("race_id", "str", doc="<election date>-D<district>"),
        Column("cycle", "int", doc="election year"),
        Column("date", "date", doc="election day"),
        Column("round", "enum", choices=ROUNDS, doc="primary, general (runoff) or special rounds"),
        Column("district", "district", doc="district id: a short name without spaces (LAUSD: 1-7)"),
        Column("seat", "enum", choices=SEATS, doc="incumbent on the ballot, or open seat"),
        Column("registered_voters", "int", required=False, doc="registered voters in the district"),
        Column("ballots_cast", "int", required=False, doc="ballots cast in the district"),
        Column(
            "turnout_pct",
            "pct",
            required=False,
            doc="district turnout in percent as a source prints it, where registered voters or ballots are not given",
        ),
        Column(
            "citywide_turnout_pct",
            "pct",
            required=False,
            doc="citywide or countywide turnout that day, not the district's; never used as district turnout",
        ),
        Column(
            "count_status",
            "enum",
            required=False,
            choices=COUNT_STATUSES,
            doc="status of the best count found (empty: no count yet)",
        ),
        Column(
            "turnout_status",
            "enum",
            required=False,
            choices=COUNT_STATUSES,
            doc="status of the count behind registered_voters, ballots_cast and turnout_pct (required with any)",
        ),
        Column("source_ids", "ids", doc="sources of the numbers in this row"),
        Column("notes", "str", required=False, doc="short notes"),
    ),
    "results": (
        Column("race_id", "race", doc="race-round"),
        Column("candidate_id", "str", doc="stable slug first-last, same across cycles"),
        Column("name", "str", doc="name as on the ballot"),
        Column("incumbent", "bool", doc="holds this seat going in"),
        Column("votes", "int", required=False, doc="votes in this count (empty if only a percent is known)"),
        Column("pct_reported", "pct", required=False, doc="percent of the vote as the source prints it"),
        Column(
            "pct_bound",
            "enum",
            required=False,
            choices=BOUNDS,
            doc="exact (empty: as printed), at_least ('more than'), approx ('about'); a bound gives no point share",
        ),
        Column("outcome", "enum", choices=OUTCOMES, doc="won, advanced to the runoff, or lost"),
        Column("count_status", "enum", choices=COUNT_STATUSES, doc="status of this count"),
        Column("as_of", "date", required=False, doc="date of this count (empty: not stated)"),
        Column("source_ids", "ids", doc="sources"),
    ),
    "endorsements": (
        Column("cycle", "int", doc="election year"),
        Column("candidate_id", "candidate", doc="endorsed candidate"),
        Column("endorser", "str", doc="UTLA, CCSA, SEIU99, LAFED, CSR, LATIMES, ..."),
        Column("scope", "enum", choices=("primary", "general", "cycle"), doc="round(s) the endorsement covers"),
        Column("source_ids", "ids", doc="sources"),
    ),
    "spending": (
        Column("cycle", "int", doc="election year"),
        Column("district", "district", required=False, doc="district id; empty for a citywide total"),
        Column("scope", "enum", choices=SCOPES, doc="round the figure covers; cycle = primary+general"),
        Column("committee", "str", doc="IE committee as named, or 'all' for a total over committees"),
        Column(
            "committee_id",
            "committee",
            doc="stable key of the committee, the same on every row of that committee whatever its printed name; "
            "';' joins the keys of a figure over several named committees; 'all' for a total over committees",
        ),
        Column("side", "enum", choices=SIDES, doc="union, charter, other, or all"),
        Column("beneficiary_id", "candidates", required=False, doc="candidate(s) helped; ';' separates"),
        Column("target_id", "candidates", required=False, doc="candidate(s) attacked; ';' separates"),
        Column("stance", "enum", choices=STANCES, doc="support, oppose, or combined for/against"),
        Column(
            "money_kind",
            "enum",
            choices=MONEY_KINDS,
            doc="ie (independent expenditure), contribution (to the candidate's own committee) or unknown (the "
            "source does not say)",
        ),
        Column("amount_usd", "money", doc="dollars (or in the unit column's unit)"),
        Column("unit", "enum", required=False, choices=tuple(UNITS), doc="usd (default), kusd or musd"),
        Column(
            "bound",
            "enum",
            choices=MONEY_BOUNDS,
            doc="exact, at_least ('more than'), approx ('about'), at_most (an upper bound on the money by election "
            "day, entered by hand: e.g. a cycle total that includes money spent after it)",
        ),
        Column("as_of", "date", doc="date the figure refers to"),
        Column("final", "bool", doc="stated as the final total for its scope"),
        Column("source_ids", "ids", doc="sources"),
        Column("notes", "str", required=False, doc="short notes"),
    ),
    "candidate_finance": (
        Column("cycle", "int", doc="election year"),
        Column("candidate_id", "candidate", doc="candidate"),
        Column("raised_usd", "money", required=False, doc="raised by the candidate's own committee"),
        Column("spent_usd", "money", required=False, doc="spent by the candidate's own committee"),
        Column(
            "bound",
            "enum",
            required=False,
            choices=MONEY_BOUNDS,
            doc="exact, at_least, approx, at_most; a report dated after a round's election day is an upper bound "
            "on that round's money whatever its bound (at_least excepted: it bounds nothing)",
        ),
        Column("as_of", "date", doc="date of the report"),
        Column("source_ids", "ids", doc="sources"),
    ),
    "candidate_quality": (
        Column("cycle", "int", doc="election year"),
        Column("candidate_id", "candidate", doc="candidate"),
        Column(
            "elected_office",
            "enum",
            choices=ELECTED_OFFICE,
            doc="held an elected office before the cycle other than the LAUSD seat they defend: yes, no or unknown",
        ),
        Column("offices", "str", required=False, doc="the elected office(s) held, when yes"),
        Column("ballot_designation", "str", required=False, doc="ballot designation as a source prints it"),
        Column("source_ids", "ids", required=False, doc="sources (required unless elected_office is unknown)"),
        Column("notes", "str", required=False, doc="short notes"),
    ),
}

# Tables a data directory may leave out: a missing file reads as a table with no rows.
OPTIONAL_TABLES = ("candidate_quality",)

NUMERIC_KINDS = ("int", "money", "pct")
