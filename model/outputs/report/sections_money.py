"""Report section 'Who spent what' and the vote-share-against-money picture: figures drawn when the report is
rendered, from the clean data and the run's posterior summary (never a refit)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from model.infra import atomic
from model.infra.fmt import fmt_interval
from model.outputs.figures import (
    money_by_side,
    money_by_side_figure,
    share_vs_money_figure,
    win_probability_reader_figure,
)
from model.outputs.report.document import Block, Figure, Heading, Para, Run, Table, main_model, model_label
from model.outputs.report.race_data import RunData, floor_sides


def draw(path: Path, paint: Callable[[Path], None]) -> Path:
    """Run paint(tmp.png) in a temporary directory, then move the PNG to path atomically; return path."""
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / path.name
        paint(png)
        atomic.write_bytes(path, png.read_bytes())
    return path


def rows_shown(run: Run, repo: RunData) -> pd.DataFrame:
    """All candidate-rounds of the dataset (the clean table), else the run's modelled rows."""
    return repo.cr if not repo.cr.empty else run.tables["model_rows"]


MONEY_COLUMNS = ("support_union_usd", "support_charter_usd", "oppose_union_usd", "oppose_charter_usd", "cycle")


def section_money(run: Run, repo: RunData, figures: Path) -> list[Block]:
    """1 Who spent what: outside money by side and election year."""
    rows = rows_shown(run, repo)
    blocks: list[Block] = [Heading(2, "1 Who spent what", "money")]
    if rows.empty or not set(MONEY_COLUMNS) <= set(rows.columns):
        return [*blocks, Para("The data has no money figures by side, so there is no spending picture.")]
    floors = floor_sides(repo.figures)
    table = money_by_side(rows, floors)
    per_cycle = table.groupby("cycle")[["known", "at_least"]].sum()
    per_cycle["total"] = per_cycle.known + per_cycle.at_least
    top = per_cycle.total.idxmax()
    by_side = table[table.cycle == top].set_index("side")
    shares = ", ".join(
        f"{side} ${(r.known + r.at_least) / 1e6:.1f}M" for side, r in by_side.iterrows() if r.known + r.at_least > 0
    )
    alt = (
        "Stacked bar chart of outside money per election year, split into union, charter or reform, and other. "
        + "; ".join(
            f"{int(c)}: {'at least ' if r.at_least > 0 else ''}${r.total / 1e6:.1f} million"
            for c, r in per_cycle.iterrows()
        )
        + ". Hatched parts include 'more than' figures and are floors."
    )
    png = draw(figures / "money-by-side.png", lambda p: money_by_side_figure(p, rows, floors))
    blocks += [
        Para(
            f"Outside groups (independent expenditures, IE) spent the most in {int(top)}: {shares}. Totals are the "
            "dollar figures the plug-in models use: per committee the final figure, else the latest one reported, so "
            "most bars are totals as of a date before election day and the final sums were higher. A combined "
            "for-and-against figure, or one shared by several candidates, is left out of the bars (the race sections "
            "list them)."
        ),
        Figure(png, "Outside money for and against candidates by side and year; hatched: includes floors.", alt),
    ]
    return blocks


def win_probability_blocks(run: Run, figures: Path) -> list[Block]:
    """The chance of winning by spending ratio: a small table at round ratios and the curve (drawn for readers)."""
    blocks: list[Block] = [Heading(3, "Chance of winning by spending ratio")]
    wp = run.tables["win_probability"]
    if wp.empty:
        return []
    near = [wp.iloc[int(np.argmin(np.abs(np.log(wp.ratio / t))))] for t in (0.25, 0.5, 1.0, 2.0, 4.0)]
    rows = tuple((f"{r.ratio:.2g}", fmt_interval(100 * r.p_win_mean, 100 * r.p_win_lo, 100 * r.p_win_hi)) for r in near)
    blocks.append(Table(("money for the candidate ÷ for the rival", "chance of more votes, % [90 % interval]"), rows))
    eff = run.tables["effects"]
    ref = float(eff.reference_usd.iloc[0]) if "reference_usd" in eff and len(eff) else 100_000.0
    png = draw(figures / "win-probability.png", lambda p: win_probability_reader_figure(p, wp, ref))
    alt = (
        "Line chart of the chance of out-polling the rival in an otherwise even two-way race against the ratio of "
        "money spent for each. "
        + "; ".join(f"At {r.ratio:.2g} times the rival's money: {100 * r.p_win_mean:.0f} %" for r in near[::2])
        + "."
    )
    blocks.append(
        Figure(png, "Chance of getting more votes than the rival, by the ratio of money spent for each.", alt)
    )
    return blocks


def top_two_money(rows: pd.DataFrame) -> pd.DataFrame:
    """Per race-round with two known shares: the leader (a) against the runner-up, as share_a of their two-way
    vote, d_log_support (a's log(1 + $k) support IE minus b's) and a_won (a out-polled b: always true)."""
    out = []
    for race_id, race in rows.dropna(subset=["vote_share"]).groupby("race_id", sort=True):
        if len(race) < 2:
            continue
        a, b = race.nlargest(2, "vote_share").itertuples(index=False)
        out.append(
            {
                "race_id": race_id,
                "share_a": a.vote_share / (a.vote_share + b.vote_share),
                "d_log_support": np.log1p(a.support_usd / 1e3) - np.log1p(b.support_usd / 1e3),
                "a_won": True,
            }
        )
    return pd.DataFrame(out, columns=["race_id", "share_a", "d_log_support", "a_won"])


def share_money_blocks(run: Run, repo: RunData, figures: Path) -> list[Block]:
    """Vote share against the money gap with the main model's curve (needs beta_support of the main model)."""
    main = main_model(run)
    coefs = run.tables.get("coefficients-bayes", pd.DataFrame())
    hit = coefs[(coefs.model == main) & (coefs.term == "beta_support")] if "term" in coefs else coefs
    rows = rows_shown(run, repo)
    modelled = set(run.tables["model_rows"].get("race_id", pd.Series(dtype=str)))
    if hit.empty or rows.empty:
        return []
    pairs = top_two_money(rows[rows.race_id.isin(modelled)] if modelled else rows)
    # With no support money on either side (or the same on both) neither finalist is the better-funded one.
    h2h = pairs[pairs.d_log_support != 0]
    if h2h.empty:
        return []
    b = hit.iloc[0]
    beta = (float(b["mean"]), float(b.lo90), float(b.hi90))
    label = model_label(run, main).removesuffix(" (main)")
    png = draw(figures / "share-vs-money.png", lambda p: share_vs_money_figure(p, h2h, beta, label))
    gap = np.log(64)
    won = int((np.where(h2h.d_log_support < 0, ~h2h.a_won.astype(bool), h2h.a_won.astype(bool))).sum())
    at = 100 / (1 + np.exp(-np.array(beta) * gap))
    alt = (
        f"Scatter plot of {len(h2h)} top-two contests: the better-funded candidate's share of the two-way vote "
        f"against the ratio of support money; the better-funded candidate got more votes in {won}. The model's curve "
        f"rises from 50 % at equal money to {at[0]:.0f} % (90 % interval {at[1]:.0f} to {at[2]:.0f} %) at 64 times "
        "the rival's money."
    )
    return [
        Heading(3, "Vote share against the money gap"),
        Para(
            "Each point is the top two of a modelled race: the share of the two-way vote of the candidate with more "
            "money spent for them, against how many times their rival's that was. The curve is the main model's "
            "expectation for an otherwise even race (same incumbency and endorsements, no attack ads), with its "
            "90 % interval; points spread around it because real races are not otherwise even. "
            f"{len(pairs) - len(h2h)} of the {len(pairs)} races had no support money for either finalist (or the same "
            "for both) and are left out."
        ),
        Figure(png, "Two-way vote share against the support-money ratio, with the main model's curve.", alt),
    ]
