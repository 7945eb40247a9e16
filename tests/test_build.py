"""Derived numbers in the clean tables, each rule on a tiny hand-built raw dataset: complement shares, votes cast,
turnout basis, citywide turnout kept apart, era, and whole numbers written as integers."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.dataset.build import build_all
from model.dataset.features import vote_share_data
from model.dataset.money import money_figure_parts
from model.dataset.raw import load_raw
from model.dataset.schema import TABLES
from model.dataset.snapshot import INTEGER_COLUMNS
from model.dataset.tables import candidate_races, head_to_head

# Four race-rounds, one rule each (see data/README.md, "Rules for messy figures"):
# D1: a certified count prints only ann's percent; an election-night count has bob's votes alone. Turnout is a
#     printed district percent; a citywide figure sits in its own column.
# D2: three candidates, eve's share unknown: no complement. No turnout or votes-cast figures.
# D3: on-cycle (2020); ballots cast and registered voters printed.
# D4: an odd-year special after 2020 (off-cycle); hal's and ida's votes come from two different counts.
# D5: a certified count prints only jo's percent; an election-night count has votes and percents for both.
RACES = [
    {"race_id": "2019-03-05-D1", "cycle": "2019", "date": "2019-03-05", "round": "primary", "district": "1",
     "seat": "open", "turnout_pct": "15", "citywide_turnout_pct": "9", "count_status": "certified",
     "turnout_status": "preliminary"},
    {"race_id": "2019-03-05-D2", "cycle": "2019", "date": "2019-03-05", "round": "primary", "district": "2",
     "seat": "open", "count_status": "preliminary"},
    {"race_id": "2020-03-03-D3", "cycle": "2020", "date": "2020-03-03", "round": "primary", "district": "3",
     "seat": "open", "registered_voters": "2000", "ballots_cast": "520", "count_status": "certified",
     "turnout_status": "certified"},
    {"race_id": "2021-06-01-D4", "cycle": "2021", "date": "2021-06-01", "round": "special_primary", "district": "4",
     "seat": "open", "count_status": "preliminary"},
    {"race_id": "2019-05-21-D5", "cycle": "2019", "date": "2019-05-21", "round": "general", "district": "5",
     "seat": "open", "count_status": "certified"},
]  # fmt: skip
RESULTS = [
    ("2019-03-05-D1", "ann", "", "60", "certified", "2019-03-20"),
    ("2019-03-05-D1", "bob", "72", "", "preliminary", "2019-03-05"),
    ("2019-03-05-D2", "cat", "", "50", "preliminary", "2019-03-06"),
    ("2019-03-05-D2", "dan", "", "30", "preliminary", "2019-03-06"),
    ("2019-03-05-D2", "eve", "", "", "preliminary", "2019-03-06"),
    ("2020-03-03-D3", "fay", "300", "", "certified", "2020-03-27"),
    ("2020-03-03-D3", "gus", "200", "", "certified", "2020-03-27"),
    ("2021-06-01-D4", "hal", "10", "", "preliminary", "2021-06-01"),
    ("2021-06-01-D4", "ida", "20", "", "preliminary", "2021-06-02"),
    ("2019-05-21-D5", "jo", "", "60", "certified", "2019-05-30"),
    ("2019-05-21-D5", "jo", "100", "58.14", "preliminary", "2019-05-21"),
    ("2019-05-21-D5", "kim", "72", "41.86", "preliminary", "2019-05-21"),
]


def write_table(raw: Path, table: str, rows: list[dict[str, str]]) -> None:
    """One raw CSV with the schema's columns; cells a row does not give are empty."""
    names = [c.name for c in TABLES[table]]
    with (raw / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, names, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """The tiny raw dataset above, every number cited to one source."""
    d = tmp_path / "raw"
    d.mkdir()
    write_table(d, "sources", [{"source_id": "s1", "url": "https://example.org/r", "publisher": "Clerk"}])
    write_table(d, "races", [{**r, "source_ids": "s1"} for r in RACES])
    results = []
    for race_id, cid, votes, pct, status, as_of in RESULTS:
        outcome = "won" if cid in ("ann", "cat", "fay", "ida", "jo") else "lost"
        results.append(
            {"race_id": race_id, "candidate_id": cid, "name": cid.title(), "incumbent": "false", "votes": votes,
             "pct_reported": pct, "outcome": outcome, "count_status": status, "as_of": as_of, "source_ids": "s1"}
        )  # fmt: skip
    write_table(d, "results", results)
    for table in ("endorsements", "spending", "candidate_finance"):
        write_table(d, table, [])
    return d


@pytest.fixture
def cr(raw: Path) -> pd.DataFrame:
    """candidate_races of the tiny dataset, indexed by candidate."""
    return candidate_races(load_raw(raw)).set_index("candidate_id")


def test_two_candidate_count_printing_one_share_gives_the_other_its_complement(cr):
    assert cr.loc["ann", "vote_share"] == pytest.approx(0.60)
    assert cr.loc["bob", "vote_share"] == pytest.approx(0.40)
    assert (cr.loc["ann", "share_basis"], cr.loc["bob", "share_basis"]) == ("pct", "complement")


def test_complement_takes_no_figure_from_another_count(cr):
    """bob's share is the complement of ann's in the certified count: his row carries that count's status and date,
    and not the votes of the election-night count."""
    bob = cr.loc["bob"]
    assert (bob.count_status, bob.as_of) == ("certified", "2019-03-20")
    assert np.isnan(bob.votes) and np.isnan(bob.pct_reported)


def test_printed_figures_for_both_beat_a_complement_of_a_better_count(cr):
    """A derived complement is used only when no count has a figure for both candidates."""
    assert cr.loc[["jo", "kim"], "share_basis"].tolist() == ["votes", "votes"]
    assert cr.loc["jo", "vote_share"] == pytest.approx(100 / 172)
    assert set(cr.loc[["jo", "kim"], "count_status"]) == {"preliminary"}


def test_no_complement_among_three_candidates(cr):
    assert cr.loc[["cat", "dan", "eve"], "share_basis"].tolist() == ["pct_partial", "pct_partial", "missing"]
    assert np.isnan(cr.loc["eve", "vote_share"])


def test_votes_cast_sums_one_complete_count_and_records_its_status(cr):
    assert cr.loc["jo", "votes_cast"] == 172
    assert (cr.loc["jo", "votes_cast_basis"], cr.loc["jo", "votes_cast_status"]) == ("sum_votes", "preliminary")


def test_printed_ballots_cast_are_the_votes_cast(cr):
    assert cr.loc["fay", "votes_cast"] == 520
    assert (cr.loc["fay", "votes_cast_basis"], cr.loc["fay", "votes_cast_status"]) == ("ballots_cast", "")


def test_votes_cast_never_sums_votes_from_different_counts(cr):
    """hal's and ida's votes are known, but from two counts: their shares mix counts (the existing rule), their
    sum is not a count of the round's votes."""
    assert cr.loc[["hal", "ida"], "votes"].notna().all()
    assert cr.loc[["hal", "ida"], "votes_cast"].isna().all()
    assert set(cr.loc[["hal", "ida", "cat", "ann"], "votes_cast_basis"]) == {"none"}


def test_turnout_basis_prefers_counts_and_keeps_citywide_turnout_apart(cr):
    assert cr.loc["fay", "turnout"] == pytest.approx(520 / 2000)
    assert cr.loc["fay", "turnout_basis"] == "ballots/registered"
    assert cr.loc["ann", "turnout"] == pytest.approx(0.15)
    assert cr.loc["ann", "turnout_basis"] == "district_pct"
    assert cr.loc["ann", "citywide_turnout"] == pytest.approx(0.09)
    assert np.isnan(cr.loc["cat", "turnout"]) and cr.loc["cat", "turnout_basis"] == "none"


def test_citywide_turnout_alone_is_never_district_turnout(raw):
    races = raw / "races.csv"
    text = races.read_text(encoding="utf-8").replace(",15,9,", ",,9,")  # drop D1's district percent
    races.write_text(text, encoding="utf-8")
    ann = candidate_races(load_raw(raw)).set_index("candidate_id").loc["ann"]
    assert np.isnan(ann.turnout) and ann.turnout_basis == "none"
    assert ann.citywide_turnout == pytest.approx(0.09)


def test_era_is_on_cycle_only_for_even_years_from_2020(cr):
    era = cr.groupby("race_id").era.first()
    assert era.to_dict() == {
        "2019-03-05-D1": "off-cycle",
        "2019-03-05-D2": "off-cycle",
        "2020-03-03-D3": "on-cycle",
        "2021-06-01-D4": "off-cycle",
        "2019-05-21-D5": "off-cycle",
    }
    assert (cr.on_cycle == (cr.era == "on-cycle")).all()


def test_head_to_head_carries_share_and_turnout_basis_and_era(raw):
    h2h = head_to_head(candidate_races(load_raw(raw))).set_index("race_id")
    assert h2h.loc["2019-03-05-D1", "share_basis"] == "complement;pct"
    assert h2h.loc["2019-03-05-D1", "share_a"] == pytest.approx(0.60)
    assert h2h.loc["2020-03-03-D3", ["turnout_basis", "votes_cast", "era"]].tolist() == [
        "ballots/registered",
        520,
        "on-cycle",
    ]


def test_vote_share_data_has_log_votes_cast_per_race_and_the_era_flag(raw):
    t = load_raw(raw)
    data = vote_share_data(candidate_races(t), t)
    got = dict(zip(data.race_ids, data.log_votes_cast, strict=True))
    assert got["2019-05-21-D5"] == pytest.approx(np.log(172))
    assert got["2020-03-03-D3"] == pytest.approx(np.log(520))
    assert np.isnan(got["2019-03-05-D1"]) and np.isnan(got["2019-03-05-D2"]) and np.isnan(got["2021-06-01-D4"])
    assert dict(zip(data.race_ids, data.on_cycle, strict=True))["2020-03-03-D3"] == 1.0
    assert data.on_cycle.sum() == 1.0


def test_whole_numbers_are_written_as_integers_and_unknowns_as_empty(raw, tmp_path):
    build_all(raw, tmp_path / "clean", tmp_path / "COVERAGE.md")
    for name in ("candidate_races.csv", "head_to_head.csv"):
        with (tmp_path / "clean" / name).open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for col in [c for c in INTEGER_COLUMNS if c in rows[0]]:
            assert all(r[col] == "" or r[col].lstrip("-").isdigit() for r in rows), f"{name} {col}"
    with (tmp_path / "clean" / "candidate_races.csv").open(newline="", encoding="utf-8") as fh:
        cr = {r["candidate_id"]: r for r in csv.DictReader(fh)}
    assert (cr["ann"]["cycle"], cr["ann"]["district"], cr["ann"]["rank"]) == ("2019", "1", "1")
    assert (cr["bob"]["votes"], cr["eve"]["rank"], cr["cat"]["votes_cast"]) == ("", "", "")
    assert cr["fay"]["votes"] == "300" and cr["fay"]["ballots_cast"] == "520"
    back = pd.read_csv(tmp_path / "clean" / "candidate_races.csv")
    assert back.cycle.dtype == np.int64 and back.district.dtype == np.int64


def test_coverage_shows_share_basis_turnout_basis_votes_cast_and_era(raw, tmp_path):
    build_all(raw, tmp_path / "clean", tmp_path / "COVERAGE.md")
    text = (tmp_path / "COVERAGE.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| race |"))
    assert all(h in header for h in ("| era |", "| share |", "| votes cast |", "| turnout basis |", "| citywide |"))
    d1 = next(line for line in text.splitlines() if line.startswith("| 2019-03-05-D1 "))
    cells = [c.strip() for c in d1.strip("|").split("|")]
    assert cells[2] == "off-cycle" and cells[7] == "complement,pct"
    assert cells[10] == "—" and cells[12] == "district_pct" and cells[13] == "preliminary" and cells[14] == "9%"
    d5 = next(line for line in text.splitlines() if line.startswith("| 2019-05-21-D5 "))
    assert "| 172 (sum_votes, preliminary) |" in d5


# Cycle-scope money (data/README.md, "Money"): a primary and its runoff, ann and bob in both. Committee U prints a
# primary figure for ann and a cycle total; committee V prints a cycle total whose primary part is only a lower bound;
# 'all' prints a cycle total against bob with no primary figure; W prints a combined cycle figure for ann and against
# bob and the same combined figure for the primary.
MONEY_RACES = [("2013-03-05-D6", "2013-03-05", "primary"), ("2013-05-21-D6", "2013-05-21", "general")]
SPENDING = [
    ("primary", "U", "ann", "", "support", "300", "exact", "2013-03-05", "true"),
    ("cycle", "U", "ann", "", "support", "1000", "exact", "2013-05-21", "true"),
    ("primary", "V", "bob", "", "support", "200", "at_least", "2013-03-05", "false"),
    ("cycle", "V", "bob", "", "support", "500", "at_least", "2013-05-21", "true"),
    ("cycle", "all", "", "bob", "oppose", "90", "exact", "2013-05-21", "true"),
    ("primary", "W", "ann", "bob", "combined", "400", "approx", "2013-03-05", "false"),
    ("cycle", "W", "ann", "bob", "combined", "1500", "at_least", "2013-05-21", "true"),
]


@pytest.fixture
def money_raw(tmp_path: Path) -> Path:
    """A primary and its runoff with the spending figures above."""
    d = tmp_path / "money"
    d.mkdir()
    write_table(d, "sources", [{"source_id": "s1", "url": "https://example.org/m", "publisher": "Clerk"}])
    write_table(
        d,
        "races",
        [
            {"race_id": r, "cycle": "2013", "date": day, "round": rnd, "district": "6", "seat": "open",
             "count_status": "certified", "source_ids": "s1"}
            for r, day, rnd in MONEY_RACES
        ],
    )  # fmt: skip
    write_table(
        d,
        "results",
        [
            {"race_id": r, "candidate_id": cid, "name": cid.title(), "incumbent": "false", "votes": votes,
             "outcome": outcome, "count_status": "certified", "as_of": day, "source_ids": "s1"}
            for r, day, rnd in MONEY_RACES
            for cid, votes, outcome in (("ann", "60", "advanced" if rnd == "primary" else "won"),
                                        ("bob", "40", "advanced" if rnd == "primary" else "lost"))
        ],
    )  # fmt: skip
    write_table(
        d,
        "spending",
        [
            {"cycle": "2013", "district": "6", "scope": scope, "committee": com, "committee_id": com.lower(),
             "side": "all", "beneficiary_id": ben, "target_id": tgt, "stance": stance, "money_kind": "ie",
             "amount_usd": amt, "bound": bound, "as_of": as_of, "final": final, "source_ids": "s1"}
            for scope, com, ben, tgt, stance, amt, bound, as_of, final in SPENDING
        ],
    )  # fmt: skip
    for table in ("endorsements", "candidate_finance"):
        write_table(d, table, [])
    return d


def test_a_cycle_figure_on_the_runoff_is_net_of_the_same_committees_primary_figure(money_raw):
    """U: 1000 over the cycle less 300 in the primary leaves 700 for the runoff, exact because both are; the primary
    keeps its 300. Without the rule the runoff would carry the whole 1000."""
    cr = candidate_races(load_raw(money_raw)).set_index(["race_id", "candidate_id"])
    assert cr.loc[("2013-03-05-D6", "ann"), "support_usd"] == 300
    assert cr.loc[("2013-05-21-D6", "ann"), "support_usd"] == 700
    assert "derived" in cr.loc[("2013-05-21-D6", "ann"), "money_bounds"].split(";")
    assert "derived" not in cr.loc[("2013-03-05-D6", "ann"), "money_bounds"].split(";")


def test_net_figure_claims_no_bound_the_primary_figure_does_not_support(money_raw):
    """V: 'at least 500' over the cycle less 'at least 200' in the primary bounds nothing, so the 300 is approximate;
    W: 'at least 1500' less 'about 400' is about 1100 (the true primary money may be above 400, so 1100 is no
    floor); a cycle figure with no primary figure (the 'all' oppose figure) stays as printed."""
    t = load_raw(money_raw)
    parts = money_figure_parts(t["spending"], t["races"], t["results"]).set_index("_row")
    assert (parts.loc[5, "amount_usd"], parts.loc[5, "bound"], bool(parts.loc[5, "derived"])) == (300, "approx", True)
    w = parts.loc[[8]]
    assert set(w.race_id) == {"2013-05-21-D6"} and (w.amount_usd == 1100).all() and (w.bound == "approx").all()
    assert (parts.loc[6, "amount_usd"], parts.loc[6, "bound"], bool(parts.loc[6, "derived"])) == (90, "exact", False)
    assert (parts.loc[3, "amount_usd"], parts.loc[3, "bound"], parts.loc[3, "race_id"]) == (
        700,
        "exact",
        "2013-05-21-D6",
    )


def test_latent_money_evidence_uses_the_net_runoff_figures(money_raw):
    """The Bayesian money constraints read the same parts: the runoff's evidence on ann's support is 700, exact, and
    the combined W figure constrains ann's support plus bob's opposition to at least 1100."""
    t = load_raw(money_raw)
    data = vote_share_data(candidate_races(t), t)
    ev = data.money
    cells = {tuple(r): i for i, r in enumerate(ev.cells[["race_id", "candidate_id", "stance"]].to_numpy())}
    ann = cells[("2013-05-21-D6", "ann", "support")]
    single = [e for e in range(len(ev.amount_usd)) if ev.incidence[e].sum() == 1 and ev.incidence[e, ann] == 1]
    assert [(ev.amount_usd[e], ev.kind[e]) for e in single] == [(700, "exact")]
    w = [e for e in range(len(ev.amount_usd)) if ev.incidence[e].sum() == 2 and ev.incidence[e, ann] == 1]
    assert [(ev.amount_usd[e], ev.kind[e]) for e in w] == [(1100, "lower")]


def test_votes_cast_from_one_candidates_votes_over_their_percent_when_no_count_is_complete(raw):
    """D2 prints cat's percent (50) and, now, her votes (500) in one count, and nothing for eve: the count's total is
    500 / 0.50 = 1000 (basis votes_over_pct, that count's status); a complete count would be summed instead."""
    path = raw / "results.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("2019-03-05-D2,cat,Cat,false,,50,", "2019-03-05-D2,cat,Cat,false,500,50,"), "utf-8")
    cat = candidate_races(load_raw(raw)).set_index("candidate_id").loc["cat"]
    assert (cat.votes_cast, cat.votes_cast_basis, cat.votes_cast_status) == (1000, "votes_over_pct", "preliminary")


def test_turnout_carries_the_status_of_its_count_and_none_without_a_figure(raw):
    """D1's printed percent is election night while its shares are certified: the turnout says preliminary, so an
    election-night figure is never read as a final one; D3's counts are certified; D2 has no turnout and no status."""
    cr = candidate_races(load_raw(raw)).set_index("candidate_id")
    assert (cr.loc["ann", "turnout_status"], cr.loc["ann", "count_status"]) == ("preliminary", "certified")
    assert cr.loc["fay", "turnout_status"] == "certified"
    assert cr.loc["cat", "turnout_status"] == "" and np.isnan(cr.loc["cat", "turnout"])
    h2h = head_to_head(candidate_races(load_raw(raw))).set_index("race_id")
    assert h2h.loc["2020-03-03-D3", "turnout_status"] == "certified"
