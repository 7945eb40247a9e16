"""What-ifs of one race-round from the run's thinned draws (whatif-draws.csv): a candidate's money for or against
moved by a share or a sum, each candidate's expected share and chance of the most votes with 90 % intervals, and
the price of an even chance for the trailing candidate. The report's in-browser twin is
model/outputs/report/whatif_js.py.

Spending is not randomly assigned: a what-if is the model's association carried forward, not a causal promise."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.dataset.features import MONEY_UNIT_USD
from model.infra.errors import UserError
from model.infra.fmt import fmt_interval, fmt_prob, fmt_usd
from model.models.points import INTERVAL

# Dirichlet predictive draws per posterior draw behind a chance of the most votes: each draw's chance then has a
# Monte Carlo sd of at most 0.5 / sqrt(200) = 0.035, small beside the spread of the chance across posterior draws.
WHATIF_SIMS = 200
WHATIF_SEED = 20260305  # the fit's default seed: `python -m model whatif` gives the same digits every time
# The slider's range in the report (and the largest sum the command line takes): cut to nothing, or add up to $2M.
MAX_ADDED_USD = 2_000_000.0
BILLION = 1e9  # prices above it are shown as 'over $1 billion': the digits would say nothing more
CHANNEL_WORDS = {"support": "IE for", "oppose": "IE against", "own": "own committee money"}


@dataclass(frozen=True)
class Change:
    """A change of one money channel: 'pct' multiplies the fitted money by (1 + amount / 100), 'usd' adds dollars
    (either way never below $0)."""

    kind: str  # "pct" | "usd"
    amount: float

    def apply(self, log_money: np.ndarray) -> np.ndarray:
        """log(1 + $k) after the change, draw by draw (the fitted money is each draw's latent money)."""
        money_k = np.expm1(log_money)
        new = money_k * (1.0 + self.amount / 100.0) if self.kind == "pct" else money_k + self.amount / MONEY_UNIT_USD
        return np.log1p(np.maximum(new, 0.0))


CHANGE = re.compile(r"^([+-]?)\$?(\d+(?:\.\d+)?)\s*([kKmM%]?)$")


def parse_change(text: str) -> Change:
    """'+500000', '-250k', '+$2M' (dollars) or '-40%' (a share of the fitted money); one-line error otherwise."""
    found = CHANGE.match(text.strip().replace(",", ""))
    if not found:
        raise UserError(f"cannot read the money change {text!r}: write e.g. +500000, -250k, +$2M or -40%")
    sign, number, unit = found.groups()
    value = float(number) * (-1.0 if sign == "-" else 1.0)
    if unit == "%":
        if value < -100:
            raise UserError(f"money change {text!r}: a cut cannot exceed -100%")
        return Change("pct", value)
    value *= {"k": 1e3, "m": 1e6}.get(unit.lower(), 1.0)
    if abs(value) > MAX_ADDED_USD:
        raise UserError(f"money change {text!r}: at most ${MAX_ADDED_USD:,.0f} either way")
    return Change("usd", value)


@dataclass(frozen=True)
class RaceDraws:
    """One race-round's thinned draws: eta (draw, candidate), concentration (draw,), per channel log(1 + $k) and
    its slope (draw, candidate)."""

    race_id: str
    candidates: list[str]
    eta: np.ndarray
    concentration: np.ndarray
    money: dict[str, tuple[np.ndarray, np.ndarray]]


def channels(table: pd.DataFrame) -> list[str]:
    """The money channels a whatif-draws table has ('support', 'oppose', and 'own' where the model has it)."""
    return [c.removeprefix("log_") for c in table.columns if c.startswith("log_")]


def race_draws(table: pd.DataFrame, race_id: str) -> RaceDraws:
    """A race-round's draws from a whatif-draws table (rows sorted by candidate, then draw)."""
    mine = table[table.race_id == race_id].sort_values(["candidate_id", "draw"], kind="stable")
    if mine.empty:
        known = ", ".join(sorted(table.race_id.unique()))
        raise UserError(f"no modelled race-round {race_id!r} in the run; known: {known}")
    candidates = list(dict.fromkeys(mine.candidate_id))
    n_draws = mine.draw.nunique()

    def matrix(column: str) -> np.ndarray:
        return mine[column].to_numpy(dtype=float).reshape(len(candidates), n_draws).T

    money = {ch: (matrix(f"log_{ch}"), matrix(f"slope_{ch}")) for ch in channels(table)}
    return RaceDraws(race_id, candidates, matrix("eta"), matrix("concentration")[:, 0], money)


def moved_eta(rd: RaceDraws, candidate: str, changes: dict[str, Change]) -> np.ndarray:
    """eta (draw, candidate) with one candidate's money changed: eta + slope x (new - fitted log money)."""
    if candidate not in rd.candidates:
        raise UserError(f"no candidate {candidate!r} in {rd.race_id}; known: {', '.join(rd.candidates)}")
    unknown = sorted(set(changes) - set(rd.money))
    if unknown:
        raise UserError(f"the model has no {', '.join(unknown)} money; it has {', '.join(rd.money)}")
    k = rd.candidates.index(candidate)
    eta = rd.eta.copy()
    for channel, change in changes.items():
        log_money, slope = rd.money[channel]
        eta[:, k] += slope[:, k] * (change.apply(log_money[:, k]) - log_money[:, k])
    return eta


def softmax(eta: np.ndarray) -> np.ndarray:
    """Expected shares (draw, candidate) of one race-round."""
    w = np.exp(eta - eta.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def chance_draws(eta: np.ndarray, concentration: np.ndarray, rng: np.random.Generator, sims: int) -> np.ndarray:
    """Per posterior draw, each candidate's chance of the most votes (draw, candidate): the share of `sims`
    Dirichlet(concentration x expected share) draws in which the candidate comes first."""
    alpha = concentration[:, None] * softmax(eta)
    gam = rng.gamma(np.maximum(alpha[:, None, :], 1e-300), size=(len(eta), sims, eta.shape[1]))
    first = gam.argmax(axis=2)
    return np.stack([(first == k).mean(axis=1) for k in range(eta.shape[1])], axis=1)


def summarise(eta: np.ndarray, concentration: np.ndarray, rng: np.random.Generator, sims: int) -> pd.DataFrame:
    """Per candidate: expected share (points) and chance of the most votes, each mean with its 90 % interval."""
    share = 100 * softmax(eta)
    chance = chance_draws(eta, concentration, rng, sims)
    (s_lo, s_hi), (c_lo, c_hi) = np.quantile(share, INTERVAL, axis=0), np.quantile(chance, INTERVAL, axis=0)
    return pd.DataFrame(
        {
            "share": share.mean(axis=0),
            "share_lo": s_lo,
            "share_hi": s_hi,
            "chance": chance.mean(axis=0),
            "chance_lo": c_lo,
            "chance_hi": c_hi,
        }
    )


def scenario(
    rd: RaceDraws,
    candidate: str,
    changes: dict[str, Change],
    seed: int = WHATIF_SEED,
    sims: int = WHATIF_SIMS,
) -> pd.DataFrame:
    """Every candidate of the race-round as fitted and under the what-if (columns fitted_<x> and whatif_<x>)."""
    rng = np.random.default_rng(seed)
    fitted = summarise(rd.eta, rd.concentration, rng, sims).add_prefix("fitted_")
    moved = summarise(moved_eta(rd, candidate, changes), rd.concentration, rng, sims).add_prefix("whatif_")
    return pd.concat([pd.DataFrame({"candidate_id": rd.candidates}), fitted, moved], axis=1)


@dataclass(frozen=True)
class Price:
    """The support IE the trailing candidate would need for the same expected share as the leader (an even chance
    between the two), in dollars added to the fitted money: median and 90 % interval over draws (inf: no sum
    does it, where the draw's support slope is not positive)."""

    race_id: str
    trailing: str
    leading: str
    median_usd: float
    lo_usd: float
    hi_usd: float
    p_never: float  # share of draws in which no sum does it


def price_of_even_chance(rd: RaceDraws, leading: str, trailing: str) -> Price:
    """Per draw, the support IE to add for trailing so that its eta reaches leading's: eta is linear in log(1 + $k)
    with the draw's slope, so the log money needed is the fitted one plus the gap over the slope (0 where the
    model already has trailing level or ahead)."""
    a, b = rd.candidates.index(leading), rd.candidates.index(trailing)
    log_money, slope = rd.money["support"]
    gap = np.maximum(rd.eta[:, a] - rd.eta[:, b], 0.0)
    s = slope[:, b]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        needed_log = np.where(s > 0, log_money[:, b] + gap / np.where(s > 0, s, 1.0), np.inf)
        usd = MONEY_UNIT_USD * (np.expm1(needed_log) - np.expm1(log_money[:, b]))
    usd = np.where(gap == 0, 0.0, usd)
    # inverted_cdf: an actual draw's sum, so that draws with no possible sum (inf) give an infinite end.
    lo, med, hi = np.quantile(usd, (INTERVAL[0], 0.5, INTERVAL[1]), method="inverted_cdf")
    return Price(rd.race_id, trailing, leading, float(med), float(lo), float(hi), float(np.isinf(usd).mean()))


def leader_and_trailer(rows: pd.DataFrame, race_id: str) -> tuple[str, str] | None:
    """The race-round's first and second candidates by actual vote share (None without two known shares)."""
    mine = rows[(rows.race_id == race_id) & rows.vote_share.notna()].sort_values("vote_share", ascending=False)
    if len(mine) < 2:
        return None
    return str(mine.candidate_id.iloc[0]), str(mine.candidate_id.iloc[1])


def round_price(rd: RaceDraws, rows: pd.DataFrame) -> Price | None:
    """The price of an even chance for a round's runner-up; None without two known shares, or where no candidate
    in the data drew support IE (the support slope is then its prior alone and says nothing about money)."""
    pair = leader_and_trailer(rows, rd.race_id) if "vote_share" in rows else None
    if pair is None or "support" not in rd.money or realistic_usd(rows) <= 0:
        return None
    return price_of_even_chance(rd, *pair)


def realistic_usd(rows: pd.DataFrame) -> float:
    """The most support IE any candidate-round in the data drew: a sum beyond it is beyond any realistic one."""
    return float(rows.get("support_usd", pd.Series([0.0])).fillna(0.0).max())


def load_whatif_table(run_dir: Path) -> pd.DataFrame:
    """A run's whatif-draws.csv; a one-line error for a run written before it existed."""
    path = Path(run_dir) / "whatif-draws.csv"
    if not path.is_file():
        raise UserError(f"{path} is missing: this run predates what-ifs; refit with `make fit` (or --refit)")
    return pd.read_csv(path, float_precision="round_trip")  # the same doubles as the browser's integers / 10^3


def fmt_price_usd(usd: float) -> str:
    """A price in words: '$1.2M', '$0', 'over $1 billion', 'no sum' where none does it."""
    if np.isinf(usd):
        return "no sum"
    if usd >= BILLION:
        return "over $1 billion"
    return "$0" if usd <= 0 else fmt_usd(usd)


def price_sentence(price: Price, names: dict[str, str], realistic: float) -> str:
    """One sentence: the price of an even chance, its interval, and whether it is beyond any realistic sum."""
    who, rival = names.get(price.trailing, price.trailing), names.get(price.leading, price.leading)
    if price.median_usd <= 0:
        return f"The model already gives {who} an even chance or better against {rival}: the price is nothing."
    head = (
        f"What an even chance would cost: {fmt_price_usd(price.median_usd)} more support IE for {who} would give "
        f"{who} the same expected share as {rival} (90 % interval {fmt_price_usd(price.lo_usd)} to "
        f"{fmt_price_usd(price.hi_usd)})"
    )
    if price.p_never > 0:
        share = f"{100 * price.p_never:.0f} %" if price.p_never >= 0.005 else "fewer than 1 %"
        head += f"; in {share} of the draws support IE does not help {who}, so no sum does it"
    if price.median_usd > realistic:
        head += (
            f". **That is beyond any realistic sum**: more than the most support IE any candidate in the data drew "
            f"({fmt_usd(realistic)})"
        )
    return head + "."


def describe(
    result: pd.DataFrame, names: dict[str, str], candidate: str, changes: dict[str, Change], n_draws: int
) -> str:
    """The what-if as lines of text for the command line (shares in points, chances 0-1, 90 % intervals)."""
    moved = ", ".join(f"{CHANNEL_WORDS.get(ch, ch)} {fmt_change(c)}" for ch, c in changes.items()) or "no change"
    header = ("candidate", "share % fitted", "share % what-if", "chance fitted", "chance what-if")
    lines = [header]
    for r in result.itertuples():
        mark = " *" if r.candidate_id == candidate else ""
        lines.append(
            (
                names.get(r.candidate_id, r.candidate_id) + mark,
                fmt_interval(r.fitted_share, r.fitted_share_lo, r.fitted_share_hi),
                fmt_interval(r.whatif_share, r.whatif_share_lo, r.whatif_share_hi),
                fmt_chance(r.fitted_chance, r.fitted_chance_lo, r.fitted_chance_hi),
                fmt_chance(r.whatif_chance, r.whatif_chance_lo, r.whatif_chance_hi),
            )
        )
    widths = [max(len(line[k]) for line in lines) for k in range(len(header))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    intro = f"What if {names.get(candidate, candidate)} (*) had {moved}: {n_draws} posterior draws, 90 % intervals."
    return "\n".join([intro, *table])


def fmt_change(change: Change) -> str:
    """'+$500k', '-40 %'."""
    if change.kind == "pct":
        return f"{change.amount:+.0f} %"
    return ("+" if change.amount >= 0 else "-") + fmt_usd(abs(change.amount))


def fmt_chance(mean: float, lo: float, hi: float) -> str:
    """'0.62 [0.41, 0.80]'."""
    return f"{fmt_prob(mean)} [{fmt_prob(lo)}, {fmt_prob(hi)}]"


CAUTION = (
    "Spending is not randomly assigned, so this is the model's association carried forward, not a promise of what "
    "the money would do."
)
