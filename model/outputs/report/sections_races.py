"""Report section 'Race by race': an index of every race and one section per race (all its rounds)."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from model.evaluation.claims import ClaimResult
from model.infra.fmt import fmt_interval, fmt_pp, fmt_prob, fmt_usd
from model.outputs.report.document import Block, Bullets, Figure, Heading, Para, Run, Table, main_model, model_label
from model.outputs.report.race_data import (
    RunData,
    figure_about,
    figure_amount,
    floor_sides,
    money_figures,
    race_anchor,
    race_keys,
    race_title,
    round_name,
    side_money,
    source_links,
)
from model.outputs.report.sections_whatif import run_whatif_table, whatif_round_blocks, whatif_script_blocks

ClaimResults = list[tuple[dict, ClaimResult]]


def race_rows(run: Run, repo: RunData) -> pd.DataFrame:
    """Every candidate-round to show: the clean table (all races), else the run's modelled rows."""
    return repo.cr if not repo.cr.empty else run.tables["model_rows"]


def section_races(run: Run, repo: RunData, claims: ClaimResults) -> list[Block]:
    """3 Race by race: the index table, then a section per race."""
    rows = race_rows(run, repo)
    keys = race_keys(rows)
    draws = run_whatif_table(run)
    blocks: list[Block] = [
        Heading(2, "3 Race by race", "races"),
        Para(
            "Every race in the dataset: its rounds, who won, and the outside money recorded for and against its "
            "candidates ('≥' when some of it is a 'more than $X' figure). Click a race for its own section: votes and "
            "shares per round, money by side with the kind of each figure, what the model makes of it, "
            + (
                "what an even chance would have cost the runner-up, an interactive what-if (move one candidate's "
                "money for or against), "
                if not draws.empty
                else ""
            )
            + "the press claims about it, and the sources of every number."
        ),
        index_table(keys, rows, claims, floor_sides(repo.figures)),
        *decomposition_figure_blocks(run),
    ]
    figures = money_figures(repo.figures)
    counts = repo.counts
    for key, race_ids in keys.items():
        blocks += race_section(run, repo, key, race_ids, rows, figures, counts, claims, draws)
    return [*blocks, *whatif_script_blocks(draws)]


def decomposition_figure_blocks(run: Run) -> list[Block]:
    """The fit's waterfall of the contested runoffs (figures/decomposition.png), when the run drew one."""
    png = run.path / "figures" / "decomposition.png"
    dec = run.tables.get("decomposition", pd.DataFrame())
    if not png.is_file() or dec.empty:
        return []
    steps = []
    for race_id, g in dec.groupby("race_id", sort=True):
        at = g.set_index("step").mean_pp
        parts = [f"{s} {at[s]:.0f} %" for s in ("primary", "fitted", "actual") if s in at]
        steps.append(f"{race_id} ({g.candidate_id.iloc[0]}): " + ", ".join(parts))
    alt = (
        "Waterfall charts, one per contested runoff, from the finalist's two-way primary share through each modelled "
        "change to the expected and actual runoff share. " + "; ".join(steps) + "."
    )
    return [
        Para(
            "What moved the contested runoffs, from the primary to the runoff (main model; each race's section has "
            "the numbers):"
        ),
        Figure(png, "Primary-to-runoff decomposition of the contested runoffs (90 % intervals).", alt),
    ]


def race_claims(race_ids: list[str], claims: ClaimResults) -> ClaimResults:
    """The claims about any round of a race."""
    return [(c, r) for c, r in claims if c.get("race_id") in race_ids]


def is_floor(rows: pd.DataFrame, floors: pd.DataFrame | None) -> bool:
    """Whether candidate rows' plug-in money includes an 'at least' figure (by the raw figures when there are
    some, as the spending figure decides, else by the rows' money_bounds)."""
    if floors is not None:
        keys = set(zip(floors.race_id, floors.candidate_id, strict=True))
        return any(k in keys for k in zip(rows.race_id, rows.candidate_id, strict=True))
    return bool(rows.get("money_bounds", pd.Series(dtype=str)).fillna("").astype(str).str.contains("at_least").any())


def verdict_counts(found: ClaimResults) -> str:
    """'3: 1 supported, 2 the data cannot tell'."""
    counts = Counter(r.verdict for _, r in found)
    return f"{len(found)}: " + ", ".join(f"{n} {v}" for v, n in counts.items())


def index_table(
    keys: dict[str, list[str]], rows: pd.DataFrame, claims: ClaimResults, floors: pd.DataFrame | None
) -> Table:
    """One line per race: link, rounds, winner, outside money, claims."""
    lines = []
    for key, race_ids in keys.items():
        mine = rows[rows.race_id.isin(race_ids)]
        last = mine[mine.race_id == race_ids[-1]]
        winner = last[last.outcome == "won"]
        if not winner.empty:
            won = ", ".join(winner.name)
        else:
            won = "not decided: " + (", ".join(last[last.outcome == "advanced"].name) or "no result yet") + " advance"
        money = float(mine.get("support_usd", pd.Series(0.0)).sum() + mine.get("oppose_usd", pd.Series(0.0)).sum())
        spent = "none recorded" if money == 0 else ("≥ " if is_floor(mine, floors) else "") + fmt_usd(money)
        found = race_claims(race_ids, claims)
        lines.append(
            (
                f"[{race_title(key)}](#{race_anchor(key)})",
                " · ".join(round_name(rid, rows, mark_preliminary=True) for rid in race_ids),
                won,
                spent,
                verdict_counts(found) if found else "—",
            )
        )
    return Table(("race", "rounds", "winner", "outside money", "press claims: verdicts"), tuple(lines))


def race_section(
    run: Run,
    repo: RunData,
    key: str,
    race_ids: list[str],
    rows: pd.DataFrame,
    figures: pd.DataFrame,
    counts: pd.DataFrame,
    claims: ClaimResults,
    draws: pd.DataFrame | None = None,
) -> list[Block]:
    """One race: each round's results, money, model and what-if, then the race's press claims and its sources
    (draws: the run's whatif-draws table, when it has one)."""
    sources = repo.sources
    used: list[str] = []
    blocks: list[Block] = [Heading(3, race_title(key), race_anchor(key))]
    names = dict(zip(rows.candidate_id, rows.name, strict=True))
    for rid in race_ids:
        blocks += round_blocks(run, rid, rows, (figures, counts, sources), used)
        if draws is not None:
            blocks += whatif_round_blocks(run, draws, rid, names)
    if draws is not None and not draws.empty and not draws.race_id.isin(race_ids).any():
        blocks.append(
            Para(
                "No what-if for this race: none of its rounds is modelled (an uncontested round, or one without every "
                "candidate's share), so the model has no share to move."
            )
        )
    found = race_claims(race_ids, claims)
    if found:
        blocks.append(Para("**Press claims about this race** (tested in [section 5](#claims)):"))
        blocks.append(
            Bullets(
                tuple(
                    f"{c.get('text', c['id'])} — **{r.verdict}**. "
                    f"[{c.get('source_publisher', 'source')}, {c.get('source_date', '')}]({c.get('source_url', '')}); "
                    f"[how it was tested](#claim-{c['id']})"
                    for c, r in found
                )
            )
        )
    ids = [s for s in dict.fromkeys(";".join(used).split(";")) if s]
    if ids:
        blocks.append(Para("**Sources of the numbers above:**"))
        blocks.append(Bullets(tuple(source_line(sid, sources) for sid in ids)))
    return blocks


def source_line(sid: str, sources: dict[str, pd.Series]) -> str:
    """'s17-04: LA Times, 2017-05-17, title' with a link."""
    if sid not in sources:
        return sid
    s = sources[sid]
    date = f", {s.published}" if isinstance(s.published, str) and s.published else ""
    title = f": {s.title}" if isinstance(s.title, str) and s.title else ""
    return f"{sid} — [{s.publisher}{date}]({s.url}){title}"


def round_blocks(run: Run, rid: str, rows: pd.DataFrame, raw: tuple, used: list[str]) -> list[Block]:
    """One round: results with fitted shares and money by side, the money figures, counterfactuals, decomposition.
    raw: (money figures, chosen counts, sources) from the run folder; used collects the source ids shown."""
    figures, counts, sources = raw
    mine = rows[rows.race_id == rid].sort_values("vote_share", ascending=False, na_position="last")
    status = str(mine.count_status.iloc[0]) if "count_status" in mine and len(mine) else ""
    prelim = " (preliminary count: may still change)" if status == "preliminary" else ""
    blocks: list[Block] = [Heading(4, f"{round_name(rid, rows)}{prelim}")]
    cf = run.tables["counterfactuals"]
    cf = cf[cf.race_id == rid].set_index("candidate_id") if "race_id" in cf else pd.DataFrame()
    modelled = rid in set(run.tables["model_rows"].get("race_id", pd.Series(dtype=str)))
    lines = []
    for r in mine.itertuples():
        fitted = "—"
        if r.candidate_id in cf.index:
            c = cf.loc[r.candidate_id]
            fitted = fmt_interval(c.share_fitted, c.share_fitted_lo, c.share_fitted_hi)
        tags = [
            t for t, flag in (("incumbent", "incumbent"), ("UTLA", "utla"), ("CCSA", "ccsa")) if getattr(r, flag, 0)
        ]
        votes = getattr(r, "votes", float("nan"))
        lines.append(
            (
                r.name + (f" ({', '.join(tags)})" if tags else ""),
                f"{int(votes):,}" if pd.notna(votes) else "—",
                fmt_pp(100 * r.vote_share),
                str(r.outcome),
                fitted,
                side_money(pd.Series(r._asdict()), "support"),
                side_money(pd.Series(r._asdict()), "oppose"),
            )
        )
    header = ("candidate", "votes", "share %", "result", "model's share % [90 %]", "IE for", "IE against")
    blocks.append(Table(header, tuple(lines)))
    blocks.append(Para(count_line(rid, counts, sources, run, modelled, used)))
    blocks += forecast_blocks(run, rid, dict(zip(mine.candidate_id, mine.name, strict=True)))
    blocks += figure_blocks(rid, figures, dict(zip(mine.candidate_id, mine.name, strict=True)), sources, used)
    if modelled and not cf.empty:
        blocks += counterfactual_blocks(run, cf.loc[[c for c in mine.candidate_id if c in cf.index]])
    blocks += decomposition_blocks(run, rid, dict(zip(mine.candidate_id, mine.name, strict=True)))
    return blocks


def count_line(
    rid: str, counts: pd.DataFrame, sources: dict[str, pd.Series], run: Run, modelled: bool, used: list[str]
) -> str:
    """Where the votes come from, and whether the round is in the models."""
    text = ""
    if not counts.empty:
        mine = counts[counts.race_id == rid]
        if not mine.empty:
            ids = ";".join(dict.fromkeys(";".join(mine.source_ids.astype(str)).split(";")))
            used.append(ids)
            kinds = ", ".join(
                f"{str(s).replace('_', '-')} count as of {a if isinstance(a, str) and a else 'an unstated date'}"
                for s, a in dict.fromkeys(zip(mine.count_status, mine.as_of, strict=True))
            )
            text = f"Votes: {kinds} ({source_links(ids, sources)}). "
    main = model_label(run, main_model(run))
    text += (
        f"Model's share: {main}, fitted to every modelled round, with its 90 % interval. "
        if modelled
        else "This round is not among the modelled rounds of the run (no model share). "
    )
    return text + "IE for / against: the dollar totals the plug-in models use, by side."


def figure_blocks(
    rid: str, figures: pd.DataFrame, names: dict[str, str], sources: dict[str, pd.Series], used: list[str]
) -> list[Block]:
    """The spending figures recorded for a round, each with its kind, date and sources."""
    mine = figures[figures.race_id == rid] if not figures.empty else figures
    if mine.empty:
        return []
    lines = []
    for _, f in mine.iterrows():
        used.append(str(f.source_ids))
        lines.append(
            (
                figure_about(f, names),
                str(f.side),
                str(f.committee) if f.committee != "all" else "all committees",
                figure_amount(f),
                f"{f.as_of}{' (final)' if bool(f.final) else ''}",
                source_links(f.source_ids, sources),
            )
        )
    return [
        Para(
            "Money figures recorded for this round ('about' = approximate, 'at least' = a floor, '(final)' = stated "
            "as the final total; others are totals as of the date shown):"
        ),
        Table(("for / against", "side", "committee", "amount", "as of", "source"), tuple(lines)),
    ]


def forecast_blocks(run: Run, rid: str, names: dict[str, str]) -> list[Block]:
    """The main model's forecast of a runoff from a fit to earlier races only, when the run has one."""
    fc = run.tables.get("runoff-forecast-predictions", pd.DataFrame())
    if fc.empty or not {"race_id", "model", "candidate_id", "p_first"} <= set(fc.columns):
        return []
    mine = fc[(fc.race_id == rid) & (fc.model == main_model(run))].sort_values("p_first", ascending=False)
    if mine.empty:
        return []
    odds = ", ".join(f"{names.get(r.candidate_id, r.candidate_id)} {fmt_prob(r.p_first)}" for r in mine.itertuples())
    return [
        Para(
            f"**Forecast from earlier races only** (main model fitted to every race before this one, its own primary "
            f"included; [how well such forecasts do](#skill)): chance of getting the most votes: {odds}."
        )
    ]


def counterfactual_blocks(run: Run, cf: pd.DataFrame) -> list[Block]:
    """What-if shares of a modelled round's candidates."""
    lines = tuple(
        (
            str(c["name"]),
            fmt_interval(c.share_equal_spending, c.share_equal_spending_lo, c.share_equal_spending_hi),
            fmt_interval(c.share_no_negative_ads, c.share_no_negative_ads_lo, c.share_no_negative_ads_hi),
            " / ".join(fmt_prob(p) for p in (c.p_first_fitted, c.p_first_equal_spending, c.p_first_no_negative_ads)),
        )
        for _, c in cf.iterrows()
    )
    return [
        Para(
            "What if (main model): the share with equal spending (every candidate gets the round's average money for "
            "and against) and with no negative ads, and the chance of getting the most votes as fitted / with equal "
            "spending / with no negative ads."
        ),
        Table(("candidate", "equal spending %", "no negative ads %", "P(most votes): fitted / equal / no neg."), lines),
    ]


def decomposition_blocks(run: Run, rid: str, names: dict[str, str]) -> list[Block]:
    """The primary-to-runoff decomposition of the focus finalist's share, when the run has one for this round."""
    dec = run.tables.get("decomposition", pd.DataFrame())
    if dec.empty or "race_id" not in dec:
        return []
    mine = dec[dec.race_id == rid]
    if mine.empty:
        return []
    first = mine.iloc[0]
    who = names.get(first.candidate_id, first.candidate_id)
    rival = names.get(first.opponent_id, first.opponent_id)
    lines = tuple((str(r.step), str(r.label), fmt_interval(r.mean_pp, r.lo_pp, r.hi_pp)) for r in mine.itertuples())
    return [
        Para(
            f"From primary to runoff (main model): how {who}'s share of the two-way vote against {rival} builds up "
            "step by step, in points with 90 % intervals; 'residual' is what the model does not explain."
        ),
        Table(("step", "what it is", "points [90 %]"), lines),
    ]
