"""Money rules on tiny hand-built raw datasets: netting a cycle figure against the primary (same side, same
committees by key, the bound both figures support), a round's own figure over a derived one, money kinds
(contributions are own money, not IE), and a share resting on a 'more than' percent kept out of the models."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from model.dataset.features import modelled_races, vote_share_data
from model.dataset.money import money_figure_parts
from model.dataset.raw import load_raw
from model.dataset.schema import TABLES
from model.dataset.tables import candidate_races

PRIMARY, RUNOFF = "2017-03-07", "2017-05-16"


def _write(raw: Path, table: str, rows: list[dict[str, str]]) -> None:
    """One raw CSV with the schema's columns; cells a row does not give are empty."""
    with (raw / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, [c.name for c in TABLES[table]], restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def fig(scope, key, side, ben, tgt, stance, amount, bound, as_of, final="false", kind="ie", name=None):
    """One spending.csv row in district 4 of 2017 (committee name defaults to the key)."""
    return {"cycle": "2017", "district": "4", "scope": scope, "committee": name or key, "committee_id": key,
            "side": side, "beneficiary_id": ben, "target_id": tgt, "stance": stance, "money_kind": kind,
            "amount_usd": amount, "bound": bound, "as_of": as_of, "final": final, "source_ids": "s1"}  # fmt: skip


def make_raw(tmp_path: Path, spending: list[dict[str, str]], garcia_bound: str = "") -> tuple[Path, dict]:
    """A primary and runoff (mel, zim) in district 4, the given spending rows, and a 2006-like two-candidate
    race in district 2 whose one printed percent is garcia_bound ('at_least' for 'more than 75')."""
    d = tmp_path / "raw"
    d.mkdir(parents=True)
    _write(d, "sources", [{"source_id": "s1", "url": "https://example.org/m", "publisher": "Clerk"}])
    races = [(f"{PRIMARY}-D4", PRIMARY, "primary", "4"), (f"{RUNOFF}-D4", RUNOFF, "general", "4"),
             (f"{RUNOFF}-D2", RUNOFF, "special_general", "2")]  # fmt: skip
    _write(d, "races", [
        {"race_id": r, "cycle": "2017", "date": day, "round": rnd, "district": dist, "seat": "open",
         "count_status": "certified", "source_ids": "s1"} for r, day, rnd, dist in races])  # fmt: skip
    results = [
        {"race_id": r, "candidate_id": cid, "name": cid, "incumbent": "false", "votes": v,
         "outcome": "advanced" if day == PRIMARY else "won" if cid == "mel" else "lost",
         "count_status": "certified", "as_of": day, "source_ids": "s1"}
        for r, day, _rnd, _d in races[:2] for cid, v in (("mel", "60"), ("zim", "40"))
    ]  # fmt: skip
    results += [
        {"race_id": races[2][0], "candidate_id": "gar", "name": "gar", "incumbent": "false", "pct_reported": "75",
         "pct_bound": garcia_bound, "outcome": "won", "count_status": "preliminary", "source_ids": "s1"},
        {"race_id": races[2][0], "candidate_id": "are", "name": "are", "incumbent": "false", "outcome": "lost",
         "count_status": "preliminary", "source_ids": "s1"},
    ]  # fmt: skip
    _write(d, "results", results)
    _write(d, "spending", spending)
    for table in ("endorsements", "candidate_finance"):
        _write(d, table, [])
    t = load_raw(d)
    return d, t


def parts_of(t: dict) -> dict[int, dict]:
    """Netted figure parts by spending.csv line: amount, bound, derived, race, for the runoff only."""
    p = money_figure_parts(t["spending"], t["races"], t["results"])
    p = p[p.race_id == f"{RUNOFF}-D4"]
    return {int(r): g.iloc[0].to_dict() for r, g in p.groupby("_row")}


def runoff(t: dict) -> dict[str, dict]:
    """Plug-in money of the runoff's candidates."""
    cr = candidate_races(t)
    return {r.candidate_id: r._asdict() for r in cr[cr.race_id == f"{RUNOFF}-D4"].itertuples()}


def test_both_sides_cycle_total_is_netted_against_the_primarys_support_and_attacks(tmp_path):
    """2017 D4: a cycle total for and against both finalists less the primary's support for each and its attacks on
    zim (not the support alone). The primary figures are running totals, so the remainder is approximate."""
    spending = [
        fig("primary", "all", "charter", "", "zim", "oppose", "1256", "exact", "2017-02-17"),
        fig("primary", "all", "union", "zim", "", "support", "705", "exact", "2017-02-17"),
        fig("primary", "all", "charter", "mel", "", "support", "242", "exact", "2017-02-17"),
        fig("cycle", "all", "all", "mel;zim", "mel;zim", "combined", "8200", "at_least", "2017-05-10"),
    ]
    _d, t = make_raw(tmp_path, spending)
    p = parts_of(t)[5]
    assert p["amount_usd"] == 8200 - 1256 - 705 - 242
    assert (p["bound"], p["derived"]) == ("approx", True)


@pytest.mark.parametrize(
    ("cycle_bound", "cycle_final", "primary_bound", "primary_as_of", "expected"),
    [
        ("approx", "true", "exact", PRIMARY, "approx"),  # approximate minus anything is approximate
        ("at_least", "true", "approx", PRIMARY, "approx"),  # an approximate primary supports no floor
        ("at_least", "true", "exact", "2017-02-17", "approx"),  # a running primary total is itself a floor
        ("at_least", "true", "exact", PRIMARY, "at_least"),  # a floor less a complete exact figure is a floor
        ("exact", "true", "exact", PRIMARY, "exact"),
        ("exact", "false", "exact", PRIMARY, "at_least"),  # a running cycle total less the primary: a floor
    ],
)
def test_net_figure_keeps_only_the_bound_both_figures_support(
    tmp_path, cycle_bound, cycle_final, primary_bound, primary_as_of, expected
):
    spending = [
        fig("primary", "utla", "union", "zim", "", "support", "300", primary_bound, primary_as_of),
        fig("cycle", "utla", "union", "zim", "", "support", "1000", cycle_bound, RUNOFF, final=cycle_final),
    ]
    _d, t = make_raw(tmp_path, spending)
    p = parts_of(t)[3]
    assert (p["amount_usd"], p["bound"], p["derived"]) == (700, expected, True)


def test_committees_are_matched_by_their_key_not_their_printed_name(tmp_path):
    """Two names of one committee (same key) are netted; one name over two keys is not."""
    spending = [
        fig("primary", "csr", "charter", "mel", "", "support", "100", "exact", PRIMARY, name="Coalition"),
        fig("cycle", "csr;lacfl", "all", "mel", "", "support", "900", "exact", RUNOFF, "true", name="CSR and Fed"),
        fig("primary", "seiu-99", "union", "zim", "", "support", "50", "exact", PRIMARY, name="SEIU"),
        fig("cycle", "seiu-99-other", "union", "zim", "", "support", "400", "exact", RUNOFF, "true", name="SEIU"),
    ]
    _d, t = make_raw(tmp_path, spending)
    p = parts_of(t)
    assert (p[3]["amount_usd"], p[3]["derived"]) == (800, True)
    assert (p[5]["amount_usd"], p[5]["derived"]) == (400, False)


def test_a_sides_cycle_total_is_netted_only_against_that_sides_primary_money(tmp_path):
    """A charter-side total against zim is not reduced by a union figure on the same cell (the union did not spend
    against zim, but a wrongly pooled 'all' union row would be subtracted); the charter primary figure is."""
    spending = [
        fig("primary", "all", "union", "", "zim", "oppose", "500", "exact", PRIMARY, "true"),
        fig("primary", "all", "charter", "", "zim", "oppose", "200", "exact", PRIMARY, "true"),
        fig("cycle", "all", "charter", "", "zim", "oppose", "1000", "exact", RUNOFF, "true"),
    ]
    _d, t = make_raw(tmp_path, spending)
    assert parts_of(t)[4]["amount_usd"] == 800


def test_a_figure_printed_for_the_runoff_beats_one_derived_from_the_cycle(tmp_path):
    """2024 D3: a round figure of all pro-mel committees (2480 through early October) wins over the cycle figure less
    the primary (4245 - 870); a round figure of one narrower committee does not displace a derived total."""
    spending = [
        fig("primary", "all", "charter", "mel", "", "support", "870", "exact", PRIMARY, "true"),
        fig("general", "all", "charter", "mel", "", "support", "2480", "at_least", "2017-05-02"),
        fig("cycle", "all", "charter", "mel", "", "support", "4245", "at_least", "2017-05-01"),
        fig("primary", "all", "union", "zim", "", "support", "100", "exact", PRIMARY, "true"),
        fig("general", "cta", "union", "zim", "", "support", "40", "exact", "2017-05-02"),
        fig("cycle", "all", "union", "zim", "", "support", "700", "exact", RUNOFF, "true"),
    ]
    _d, t = make_raw(tmp_path, spending)
    p = parts_of(t)
    assert 4 not in p and p[3]["amount_usd"] == 2480
    assert (p[7]["amount_usd"], p[7]["derived"]) == (600, True)
    money = runoff(t)
    assert money["mel"]["support_usd"] == 2480 and money["zim"]["support_usd"] == 600


def test_a_contribution_to_the_candidates_committee_is_own_money_not_outside_spending(tmp_path):
    """A contribution is left out of the IE plug-in and evidence and becomes a floor on the candidate's own money;
    an unknown-kind figure enters as IE (the stated rule)."""
    spending = [
        fig("primary", "utla", "union", "zim", "", "support", "300", "exact", PRIMARY, "true", kind="contribution"),
        fig("primary", "csr", "charter", "mel", "", "support", "200", "exact", PRIMARY, "true", kind="unknown"),
    ]
    _d, t = make_raw(tmp_path, spending)
    cr = candidate_races(t).set_index(["race_id", "candidate_id"])
    assert cr.loc[(f"{PRIMARY}-D4", "zim"), "support_usd"] == 0
    assert cr.loc[(f"{PRIMARY}-D4", "mel"), "support_usd"] == 200
    data = vote_share_data(candidate_races(t), t)
    own = data.frame.set_index(["race_id", "candidate_id"])
    assert (own.loc[(f"{PRIMARY}-D4", "zim"), "own_usd"], own.loc[(f"{PRIMARY}-D4", "zim"), "own_kind"]) == (
        300,
        "lower",
    )
    assert np.isnan(own.loc[(f"{PRIMARY}-D4", "mel"), "own_usd"])
    assert set(data.money.cells.candidate_id) == {"mel"}


def test_a_share_from_a_more_than_percent_is_a_bound_and_leaves_the_models(tmp_path):
    """'More than 75 %' gives neither 75 % nor its 25 % complement as a share; the race is not modelled."""
    _d, t = make_raw(tmp_path, [], garcia_bound="at_least")
    cr = candidate_races(t).set_index("candidate_id")
    assert cr.loc[["gar", "are"], "share_basis"].tolist() == ["bound", "bound"]
    assert cr.loc[["gar", "are"], "vote_share"].isna().all()
    assert f"{RUNOFF}-D2" not in set(modelled_races(candidate_races(t)).race_id)
    _d2, exact = make_raw(tmp_path / "exact", [])
    assert candidate_races(exact).set_index("candidate_id").loc["are", "vote_share"] == pytest.approx(0.25)
