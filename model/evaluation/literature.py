"""Published anchors for the main model's effects (from ../shared/research/literature.md) and the rule that sets
each LAUSD estimate beside its anchor: pure functions of a run's effects and model rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import beta

AGREES, HIGHER, LOWER, UNCLEAR = "agrees", "departs: LAUSD higher", "departs: LAUSD lower", "the data cannot tell"
OTHER_QUANTITY = "not comparable (another quantity)"

INCUMBENT_WIN_RATE = "incumbents' win rate in contested races (%)"


@dataclass(frozen=True)
class Anchor:
    """One published number and the LAUSD quantity it is compared with.

    lo/hi is the anchor in the LAUSD quantity's unit: lo == hi for a point estimate, a range for a published range,
    one infinite end for a published sign only. comparable says whether the units match; units says how they
    differ; departure says what could explain a departure."""

    citation: str
    finding: str
    effect: str
    lo: float
    hi: float
    comparable: bool
    units: str
    departure: str
    same_quantity: bool = True


ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        "Levitt (1994), JPE 102(4), repeat challengers, US House",
        "doubling a candidate's spending: about +1 point of vote share",
        "support IE, doubling",
        1.0,
        1.0,
        True,
        "both are points of share per doubling; Levitt's is a candidate's own spending in House races, ours is "
        "outside money for a candidate, doubled from the median support IE (section 2)",
        "money is not randomly assigned here (it follows viable candidates), while Levitt's repeat pairs difference "
        "out candidate quality; low-information, off-cycle school-board electorates may also be easier to move",
    ),
    Anchor(
        "Gerber (1998), APSR 92(2), instrumental variables, US Senate",
        "the average incumbent's spending edge: about +6 points",
        "incumbent",
        6.0,
        6.0,
        False,
        "not the same quantity: Gerber's +6 is the value of the typical incumbent's spending edge, ours is being "
        "the incumbent with money held equal (LAUSD incumbents were often outspent, e.g. Schmerelson 2020, 2024)",
        "Senate incumbents raise far more than challengers; LAUSD incumbency works through name and union backing "
        "rather than a money edge",
        same_quantity=False,
    ),
    Anchor(
        "Gerber, Kessler & Meredith (2011), JOP 73(1), regression discontinuity on attack mail",
        "+10 points of households mailed: -1.5 to -3.5 points for the attacked candidate",
        "oppose IE, doubling",
        -3.5,
        -1.5,
        False,
        "per +10 points of households reached by attack mail in one down-ballot race, ours per doubling of the money "
        "against a candidate; in a race already saturated with mail a doubling may reach few new households",
        "the LAUSD estimate shows less harm to the target than attack mail did in Kansas; LAUSD attack money "
        "mostly lands in races already saturated with mail, and it is not randomly assigned: "
        "it targets candidates who were ahead",
    ),
    Anchor(
        "Lau, Sigelman & Rovner (2007), JOP 69(4), meta-analysis of negative campaigning",
        "net effect of negative ads on vote choice: about 0",
        "oppose IE, doubling",
        0.0,
        0.0,
        True,
        "a sign-and-size finding (net effect nil, attacker backlash about equal to the damage); ours is points of "
        "the target's share per doubling",
        "a departure would mean attack money works differently in low-salience local races than in the high-salience "
        "races and experiments the meta-analysis pools",
    ),
    Anchor(
        "Hartney (2023), Manhattan Institute survey experiment; Hartney & Kogan (2024), AJPS",
        "a teachers'-union endorsement: about +6 points of support",
        "UTLA endorsement",
        6.0,
        6.0,
        True,
        "points of support in a survey experiment against points of share in real elections",
        "a stated-preference experiment against observed votes; UTLA endorses likely winners, and its money is "
        "counted separately here",
    ),
    Anchor(
        "Anzia (2011), JOP 73(2); Hajnal (2010); Hajnal, Kogan & Markarian (2022), APSR",
        "on-cycle elections (about twice the turnout) weaken organised groups: the union edge should shrink",
        "UTLA endorsement x on-cycle election",
        -math.inf,
        0.0,
        False,
        "a sign only (Anzia's outcome is teacher pay, not vote share)",
        "four on-cycle cycles (2020-2026) and few UTLA-endorsed on-cycle candidates leave this term weakly "
        "identified; LAUSD's on-cycle electorate is also far larger than the districts Anzia studied",
    ),
    Anchor(
        "Anzia (2011), JOP 73(2), Minnesota turnout and teacher pay",
        "higher turnout dilutes organised groups: the union edge should fall as turnout rises",
        "UTLA endorsement x +10 pts turnout",
        -math.inf,
        0.0,
        False,
        "a sign only (Anzia's outcome is teacher pay, not vote share)",
        "district turnout is known for few LAUSD races, all off-cycle",
    ),
    Anchor(
        "Jacobson (1989), APSR 83(3); Jacobson & Kernell (1983); Ban, Llaudet & Snyder (2014), state legislatures",
        "a challenger who has held elective office wins a few points more of the vote than one who has not",
        "prior elected office",
        2.0,
        5.0,
        True,
        "both are points of vote share for a candidate with prior elected office against one without; Jacobson's are "
        "US House challengers in two-party races, ours any LAUSD candidate in a multi-candidate nonpartisan race, at "
        "an even race; the 2-5 point range is the usual reading of Jacobson's estimates, not a figure verified in the "
        "stored sources (../shared/research/literature.md lists Jacobson's magnitudes as unverified)",
        "ten candidate-rounds with prior office among 166 leave the estimate wide; a former office in a small city "
        "(Bell, Gardena) may carry less name recognition across an LAUSD district than a House challenger's state seat",
    ),
    Anchor(
        "Ballotpedia school-board incumbency analysis 2014 (largest ~1,000 districts)",
        "contested incumbents won 70.9 % (all incumbents who ran: 78-83 % in 2013-2023)",
        INCUMBENT_WIN_RATE,
        70.89,
        70.89,
        True,
        "both are shares of contested re-election bids won; LAUSD's from the run's modelled races (a bid counts "
        "as won when the incumbent won the seat in the primary or the runoff)",
        "LAUSD races draw millions in outside money against some incumbents, which national school-board "
        "races rarely see",
    ),
)


def compare(lo: float, hi: float, anchor_lo: float, anchor_hi: float) -> str:
    """Agrees when the LAUSD 90 % interval [lo, hi] meets the anchor range; departs (higher or lower) when it
    lies wholly on one side. A sign-only anchor (one infinite end) agrees only when the interval lies wholly on
    the predicted side of 0 and cannot tell when the interval straddles 0."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return UNCLEAR
    if math.isinf(anchor_lo) or math.isinf(anchor_hi):
        if lo <= 0 <= hi:
            return UNCLEAR
        if (anchor_hi <= 0 and hi < 0) or (anchor_lo >= 0 and lo > 0):
            return AGREES
        return HIGHER if lo > 0 else LOWER
    if hi < anchor_lo:
        return LOWER
    if lo > anchor_hi:
        return HIGHER
    return AGREES


def incumbent_record(rows: pd.DataFrame) -> tuple[int, int]:
    """(bids won, bids) of incumbents in a run's model rows: one bid per incumbent, year and district, won when
    any of its rounds is 'won'."""
    need = {"race_id", "candidate_id", "incumbent", "outcome"}
    if rows.empty or not need <= set(rows.columns):
        return 0, 0
    inc = rows[rows.incumbent.astype(bool)]
    seat = inc.race_id.str[:4] + "-D" + inc.race_id.str.split("-D").str[-1] + "-" + inc.candidate_id
    won = (inc.outcome == "won").groupby(seat).any()
    return int(won.sum()), len(won)


def win_rate(wins: int, bids: int) -> tuple[float, float, float]:
    """Win rate in percent with its 90 % Jeffreys interval (nan when there are no bids)."""
    if bids == 0:
        return (math.nan,) * 3
    lo, hi = beta.ppf([0.05, 0.95], wins + 0.5, bids - wins + 0.5)
    return 100 * wins / bids, 100 * float(lo), 100 * float(hi)


def doublings_for(points: float, per_doubling: float) -> float:
    """The spending ratio (for / against) that a per-doubling effect needs to add `points` (nan unless positive)."""
    return 2 ** (points / per_doubling) if per_doubling > 0 else math.nan


def literature_rows(effects: pd.DataFrame, main_model: str, rows: pd.DataFrame) -> pd.DataFrame:
    """One row per anchor: the LAUSD estimate (mean, lo, hi; nan when the run lacks it) and the verdict. An anchor
    for another quantity gets no agree/depart verdict; where the quantity is a money edge, the note gives the
    spending ratio the LAUSD per-doubling effect would need to match it."""
    wins, bids = incumbent_record(rows)
    main = effects[effects.model == main_model].set_index("effect")
    per_doubling = float(main.mean_pp.get("support IE, doubling", math.nan))
    out = []
    for a in ANCHORS:
        if a.effect == INCUMBENT_WIN_RATE:
            mean, lo, hi = win_rate(wins, bids)
            basis = f"{wins} of {bids} bids"
        else:
            hit = effects[(effects.model == main_model) & (effects.effect == a.effect)]
            mean, lo, hi = (math.nan,) * 3 if hit.empty else (hit.iloc[0][c] for c in ("mean_pp", "lo_pp", "hi_pp"))
            basis = ""
        verdict = compare(float(lo), float(hi), a.lo, a.hi) if a.same_quantity else OTHER_QUANTITY
        units = a.units
        if not a.same_quantity and np.isfinite(ratio := doublings_for(a.hi, per_doubling)):
            units += (
                f"; at the LAUSD {per_doubling:.1f} points per doubling of support IE, a money edge worth "
                f"{a.hi:g} points would need about {ratio:.0f} to 1"
            )
        out.append(
            {
                "citation": a.citation,
                "finding": a.finding,
                "effect": a.effect,
                "mean": float(mean),
                "lo": float(lo),
                "hi": float(hi),
                "basis": basis,
                "verdict": verdict,
                "comparable": a.comparable,
                "units": units,
                "departure": a.departure,
            }
        )
    return pd.DataFrame(out)
