"""A small synthetic electorate written as a raw data directory: 8 districts with names for ids, cycles in the
2030s, a "Teachers Association" and a "Reform PAC" as the endorsers that become model terms. Options strip
it down to the degenerate datasets some estimators cannot use (one cycle, no repeat candidate, no
endorsements, no independent expenditure)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

DISTRICTS = ("North", "South", "East", "West", "Harbor", "Valley", "Hills", "Central")
CYCLES = {2031: "2031-03-04", 2035: "2035-03-06"}
SOURCE = "syn-1"
TERMS = (
    ("Teachers Association", "teachers_association", "Teachers Association endorsement", "true"),
    ("Reform PAC", "reform_pac", "Reform PAC endorsement", "false"),
)
# Effects on the log-odds of a candidate's share that the votes are drawn from.
TRUE = {
    "teachers_association": 0.5,
    "reform_pac": 0.3,
    "incumbent": 0.4,
    "support": 0.08,
    "oppose": -0.05,
    "own": 0.1,
}


def write(path: Path, header: list[str], rows: list[list]) -> None:
    """One CSV file."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def synthetic_electorate(
    out: Path,
    *,
    cycles: tuple[int, ...] = (2031, 2035),
    repeat_candidates: bool = True,
    endorsements: bool = True,
    spending: bool = True,
    finance: bool = False,
    after_election: bool = False,
    seed: int = 1,
) -> Path:
    """Write the raw tables of the synthetic electorate into out/ and return it (finance: candidates' own
    committee money, reported the week before election day, with an effect on the votes; after_election: every money
    figure is instead a cycle total dated 31 December, 0-50 % above the money by election day that moved the votes,
    own money as an exact report, IE entered as at_most)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    races, results, endorse, spend, fin = [], [], [], [], []
    holder: dict[str, str] = {}  # district -> incumbent candidate id
    for cycle in cycles:
        date = CYCLES[cycle]
        for d_i, district in enumerate(DISTRICTS):
            race_id = f"{date}-D{district}"
            n = 3 if (d_i + cycle) % 2 else 2
            cands = [f"c{cycle}-{district.lower()}-{k}" for k in range(n)]
            incumbent = holder.get(district) if repeat_candidates else None
            if incumbent:
                cands[0] = incumbent
            eta = np.zeros(n)
            for k, cid in enumerate(cands):
                ta, rp = (k == 0) ^ (d_i % 3 == 0), k == 1
                if endorsements and ta:
                    endorse.append([cycle, cid, "Teachers Association", "cycle", SOURCE])
                if endorsements and rp:
                    endorse.append([cycle, cid, "Reform PAC", "cycle", SOURCE])
                support = float(rng.choice([0, 50_000, 200_000, 600_000])) if spending else 0.0
                if support:
                    committee, side = ("Educators IE", "union") if ta else ("Reform IE", "charter")
                    figure = [support, "exact", date]
                    if after_election:
                        figure = [round(support * rng.uniform(1.0, 1.5)), "at_most", f"{cycle}-12-31"]
                    spend.append(
                        [cycle, district, "cycle" if after_election else "primary", committee,
                         committee.lower().replace(" ", "-"), side, cid, "", "support", "ie", figure[0], figure[1],
                         figure[2], "true", SOURCE, ""]
                    )  # fmt: skip
                eta[k] = (
                    TRUE["teachers_association"] * (endorsements and ta)
                    + TRUE["reform_pac"] * (endorsements and rp)
                    + TRUE["incumbent"] * (cid == incumbent)
                    + TRUE["support"] * np.log1p(support / 1000)
                )
                if finance:  # drawn only here, so the datasets without own money stay as they were
                    raised = float(rng.choice([5_000, 20_000, 80_000, 250_000]))
                    as_of = f"{cycle}-02-25"
                    if after_election:
                        total = round(raised * rng.uniform(1.0, 1.5))
                        fin.append([cycle, cid, total, "", "exact", f"{cycle}-12-31", SOURCE])
                    else:
                        fin.append([cycle, cid, raised, "", "exact" if k else "approx", as_of, SOURCE])
                    eta[k] += TRUE["own"] * np.log1p(raised / 1000)
            oppose = float(rng.choice([0, 0, 100_000, 300_000])) if spending else 0.0
            if oppose:
                figure = [oppose, "exact", date]
                if after_election:
                    figure = [round(oppose * rng.uniform(1.0, 1.5)), "at_most", f"{cycle}-12-31"]
                spend.append(
                    [cycle, district, "cycle" if after_election else "primary", "Reform IE", "reform-ie", "charter",
                     "", cands[0], "oppose", "ie", figure[0], figure[1], figure[2], "true", SOURCE, ""]
                )  # fmt: skip
                eta[0] += TRUE["oppose"] * np.log1p(oppose / 1000)
            share = rng.dirichlet(40 * np.exp(eta) / np.exp(eta).sum())
            registered = int(rng.integers(200_000, 400_000))
            votes = np.maximum((share * registered * rng.uniform(0.1, 0.3)).round(), 1).astype(int)
            races.append(
                [race_id, cycle, date, "primary", district, "incumbent" if incumbent else "open", registered,
                 int(votes.sum()), "", "", "certified", "certified", SOURCE, ""]
            )  # fmt: skip
            winner = int(np.argmax(votes))
            for k, cid in enumerate(cands):
                results.append(
                    [race_id, cid, cid.replace("-", " ").title(), "true" if cid == incumbent else "false",
                     int(votes[k]), "", "won" if k == winner else "lost", "certified", date, SOURCE]
                )  # fmt: skip
            holder[district] = cands[winner]
    source = [SOURCE, "https://example.org/synthetic-electorate", "Synthetic", "made-up data for tests", "", ""]
    write(out / "sources.csv", ["source_id", "url", "publisher", "title", "published", "notes"], [source])
    race_columns = ["race_id", "cycle", "date", "round", "district", "seat", "registered_voters", "ballots_cast",
                    "turnout_pct", "citywide_turnout_pct", "count_status", "turnout_status", "source_ids",
                    "notes"]  # fmt: skip
    write(out / "races.csv", race_columns, races)
    write(out / "results.csv", ["race_id", "candidate_id", "name", "incumbent", "votes", "pct_reported", "outcome",
          "count_status", "as_of", "source_ids"], results)  # fmt: skip
    write(out / "endorsements.csv", ["cycle", "candidate_id", "endorser", "scope", "source_ids"], endorse)
    write(out / "spending.csv", ["cycle", "district", "scope", "committee", "committee_id", "side", "beneficiary_id",
          "target_id", "stance", "money_kind", "amount_usd", "bound", "as_of", "final", "source_ids", "notes"],
          spend)  # fmt: skip
    write(out / "candidate_finance.csv", ["cycle", "candidate_id", "raised_usd", "spent_usd", "bound", "as_of",
          "source_ids"], fin)  # fmt: skip
    write(out / "endorser_terms.csv", ["endorser", "term", "label", "turnout_interactions", "notes"],
          [[*t, ""] for t in TERMS])  # fmt: skip
    return out
