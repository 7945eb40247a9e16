"""Model inputs from the clean and raw tables: vote-share components, money features and money evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.dataset.finance import contribution_reports, own_money_by_round
from model.dataset.money import money_figure_parts, total_usd
from model.dataset.tables import endorsement_scope
from model.dataset.terms import Term, load_terms

MONEY_UNIT_USD = 1000.0  # money enters models as log(1 + dollars / 1000)
TURNOUT_CENTRE = 0.25  # fallback centre when no race has a turnout figure
TURNOUT_STEP = 0.10  # turnout is measured per 10 points, so coefficients read "per 10 points of turnout"
SHARE_FLOOR = 1e-4  # a reported 0.0 % share would make the Dirichlet density infinite
EVIDENCE_KINDS = ("exact", "approx", "lower", "upper")


@dataclass(frozen=True)
class MoneyEvidence:
    """Reported IE figures as constraints on latent true spending per (candidate-round, stance) cell.

    incidence[e, c] = 1 when evidence e is a figure (or a sum over committees) covering cell c; the
    figure says the cells' total is about (approx), exactly (exact), at least (lower) or at most (upper) amount_usd."""

    cells: pd.DataFrame  # race_id, candidate_id, stance (support | oppose)
    incidence: np.ndarray  # (evidence, cell) 0/1; scipy sparse in the benchmark's tiled datasets
    amount_usd: np.ndarray  # (evidence,)
    kind: np.ndarray  # (evidence,) strings from EVIDENCE_KINDS
    source_rows: list[str]  # spending.csv lines behind each evidence row, for tracing


@dataclass(frozen=True)
class VoteShareData:
    """Arrays for the multinomial vote-share model; one row per candidate of a modelled race-round."""

    frame: pd.DataFrame  # the candidate_races rows used, in model order
    race_ids: list[str]
    cycles: list[int]
    districts: list[int | str]
    race_idx: np.ndarray  # (candidate,) race of each row
    cycle_idx: np.ndarray  # (candidate,)
    district_idx: np.ndarray  # (candidate,)
    incumbent: np.ndarray
    experienced: np.ndarray  # (candidate,) 0/1 prior elected office other than the seat defended (unknown = 0)
    endorsement: np.ndarray  # (candidate, term) 0/1: endorsed by each term's endorser for this round
    terms: tuple[Term, ...]  # endorsement terms with at least one endorsed candidate among these rows
    log_support: np.ndarray  # plug-in log(1 + support $k)
    log_oppose: np.ndarray
    support_cell: np.ndarray  # (candidate,) index into money.cells, -1 when no figure (true money 0)
    oppose_cell: np.ndarray
    turnout: np.ndarray  # (race,) observed turnout 0-1, NaN when unknown
    turnout_filled: np.ndarray  # (race,) turnout with unknowns imputed by the era's observed mean
    turnout_centre: float  # mean of turnout_filled: centring there keeps main effects and interactions apart
    on_cycle: np.ndarray  # (race,) 0/1 era flag: 1 = on-cycle (LAUSD's even-year elections from 2020), 0 = off-cycle
    log_votes_cast: np.ndarray  # (race,) log votes cast (electorate size; basis in frame.votes_cast_basis), NaN unknown
    component_idx: np.ndarray  # (candidate,) Dirichlet component: own share, or the race's lump of unknowns
    component_race: np.ndarray  # (component,)
    component_share: np.ndarray  # (component,) observed share of each component
    component_label: list[str]
    money: MoneyEvidence = field(repr=False)

    @property
    def n_race(self) -> int:
        """Number of race-rounds."""
        return len(self.race_ids)

    def __getattr__(self, name: str) -> np.ndarray:
        """data.<term> is the 0/1 endorsement column of that term (e.g. data.utla)."""
        for k, t in enumerate(self.__dict__.get("terms", ())):
            if t.term == name:
                return self.endorsement[:, k]
        raise AttributeError(name)


def district_label(d) -> int | str:
    """A district id as a label: whole numbers as int (LAUSD's 1-7), anything else as its string."""
    if isinstance(d, int | float | np.integer | np.floating) and float(d).is_integer():
        return int(d)
    return str(d)


def raw_dir_of(raw: dict[str, pd.DataFrame]) -> Path:
    """The directory the raw tables were read from."""
    return Path(raw["races"].attrs["path"]).parent


def endorsement_indicators(rows: pd.DataFrame, endorsements: pd.DataFrame, terms: tuple[Term, ...]) -> np.ndarray:
    """(row, term) 0/1: the row's candidate was endorsed by the term's endorser that cycle, for that round or
    the whole cycle (the rule tables.candidate_races applies to its endorser columns)."""
    out = np.zeros((len(rows), len(terms)))
    for k, t in enumerate(terms):
        e = endorsements[endorsements.endorser == t.endorser]
        keys = {(c, int(y), s) for c, y, s in zip(e.candidate_id, e.cycle, e.scope, strict=True)}
        out[:, k] = [
            (c, int(y), "cycle") in keys or (c, int(y), endorsement_scope(rnd)) in keys
            for c, y, rnd in zip(rows.candidate_id, rows.cycle, rows["round"], strict=True)
        ]
    return out


def used_terms(rows: pd.DataFrame, raw: dict[str, pd.DataFrame], terms: tuple[Term, ...] | None = None):
    """The data directory's endorsement terms that endorse at least one of these rows, and their indicators."""
    terms = load_terms(raw_dir_of(raw)) if terms is None else terms
    ind = endorsement_indicators(rows, raw["endorsements"], terms)
    keep = [k for k in range(len(terms)) if ind[:, k].any()]
    return tuple(terms[k] for k in keep), ind[:, keep]


def with_term_columns(cr: pd.DataFrame, raw: dict[str, pd.DataFrame], terms: tuple[Term, ...]) -> pd.DataFrame:
    """candidate_races with one 0/1 column per endorsement term (named by the term)."""
    ind = endorsement_indicators(cr, raw["endorsements"], terms)
    return cr.assign(**{t.term: ind[:, k].astype(bool) for k, t in enumerate(terms)})


def with_term_differences(h2h: pd.DataFrame, cr: pd.DataFrame, terms: tuple[Term, ...]) -> pd.DataFrame:
    """head_to_head rows with d_<term> = a's minus b's endorsement for each term (cr must have term columns);
    endorsement differences of endorsers that are not terms are dropped."""
    base = ("d_log_support", "d_log_oppose", "d_incumbent")
    out = h2h.drop(columns=[c for c in h2h.columns if c.startswith("d_") and c not in base])
    flag = cr.set_index(["race_id", "candidate_id"])
    for t in terms:
        a = flag[t.term].reindex(list(zip(h2h.race_id, h2h.candidate_a, strict=True))).to_numpy(dtype=int)
        b = flag[t.term].reindex(list(zip(h2h.race_id, h2h.candidate_b, strict=True))).to_numpy(dtype=int)
        out[f"d_{t.term}"] = a - b
    return out


def experienced_indicator(rows: pd.DataFrame) -> np.ndarray:
    """(row,) 0/1 prior elected office (data/README.md, candidate_quality.csv); 0 where candidate_races has no such
    column (tables built before it) or the answer is unknown."""
    if "experienced" not in rows:
        return np.zeros(len(rows))
    return rows.experienced.fillna(False).astype(bool).to_numpy(dtype=float)


def log_money(usd: np.ndarray | pd.Series) -> np.ndarray:
    """log(1 + dollars / 1000): diminishing returns, 0 for no money."""
    return np.log1p(np.asarray(usd, dtype=float) / MONEY_UNIT_USD)


def turnout_z(turnout, centre: float):
    """Turnout (0-1) in steps of 10 points from a centre (numpy or pytensor)."""
    return (turnout - centre) / TURNOUT_STEP


def impute_turnout(turnout: np.ndarray, on_cycle: np.ndarray) -> np.ndarray:
    """Fill unknown turnout with the mean observed turnout of the same era (off-/on-cycle), else of all
    races, else the centre (then the turnout terms are identified by the prior alone)."""
    # No on-cycle (2020-) race has a turnout figure yet, so on-cycle races get the off-cycle mean: the turnout
    # terms then learn from off-cycle variation only, and the on-cycle x UTLA term carries the era's jump.
    filled = turnout.copy()
    overall = np.nanmean(turnout) if np.isfinite(turnout).any() else TURNOUT_CENTRE
    for era in (False, True):
        same = on_cycle == era
        seen = turnout[same & np.isfinite(turnout)]
        filled[same & ~np.isfinite(turnout)] = seen.mean() if len(seen) else overall
    return filled


def modelled_races(cr: pd.DataFrame) -> pd.DataFrame:
    """Candidate rows of contested race-rounds with at least one known vote share."""
    known = cr.groupby("race_id").vote_share.transform(lambda s: s.notna().sum())
    size = cr.groupby("race_id").candidate_id.transform("size")
    return cr[(size >= 2) & (known >= 1)].sort_values(["date", "district", "race_id", "candidate_id"])


def money_evidence(
    raw: dict[str, pd.DataFrame], rows: pd.DataFrame, figures: pd.DataFrame | None = None
) -> MoneyEvidence:
    """Group reported IE figures into evidence on latent cells for the candidate rows given.

    A single-candidate stance gets one evidence row: the plug-in total of its figures (data/README.md);
    it is exact only if every figure is exact and final, a lower bound if any is 'at least' or a running
    total, an upper bound if any is 'at most' (the rest exact or approximate), else approximate (_kind). A combined
    or shared figure constrains the sum of its cells: a lower bound when it comes from one committee (others may
    have spent too), else its own bound; one committee's 'at most' bounds nothing (others may have spent more) and
    is left out. figures: the data's money_figure_parts when the caller has them (tables.clean_data), else computed
    here."""
    parts = money_figure_parts(raw["spending"], raw["races"], raw["results"]) if figures is None else figures
    keep = set(zip(rows.race_id, rows.candidate_id, strict=True))
    if parts.empty:
        cells = pd.DataFrame(columns=["race_id", "candidate_id", "stance"])
        return MoneyEvidence(cells, np.zeros((0, 0)), np.zeros(0), np.array([], dtype=str), [])
    parts = parts[[(r, c) in keep for r, c in zip(parts.race_id, parts.candidate_id, strict=True)]]
    # A "$0 so far" figure says nothing a missing figure does not: both leave the cell at no money.
    parts = parts[parts.amount_usd > 0]
    cells = (
        parts[["race_id", "candidate_id", "kind"]]
        .drop_duplicates()
        .rename(columns={"kind": "stance"})
        .sort_values(["race_id", "candidate_id", "stance"])
        .reset_index(drop=True)
    )
    cell_of = {tuple(r): i for i, r in enumerate(cells[["race_id", "candidate_id", "stance"]].to_numpy())}
    evidence: list[tuple[list[int], float, str, str]] = []
    for (race_id, cid, stance), g in parts[parts.single].groupby(["race_id", "candidate_id", "kind"], sort=True):
        evidence.append(([cell_of[(race_id, cid, stance)]], total_usd(g), _kind(g), _lines(g)))
    for _row, g in parts[~parts.single].groupby("_row", sort=True):
        idx = sorted(cell_of[(r, c, k)] for r, c, k in zip(g.race_id, g.candidate_id, g.kind, strict=True))
        kind = _kind(g) if (g.committee_id == "all").all() else "lower"
        if kind == "upper" and not (g.committee_id == "all").all():
            continue
        evidence.append((idx, float(g.amount_usd.iloc[0]), kind, _lines(g)))
    incidence = np.zeros((len(evidence), len(cells)))
    for e, (idx, *_rest) in enumerate(evidence):
        incidence[e, idx] = 1.0
    amount = np.array([a for _i, a, _k, _l in evidence])
    kinds = np.array([k for _i, _a, k, _l in evidence])
    return MoneyEvidence(cells, incidence, amount, kinds, [lines for *_x, lines in evidence])


def _kind(figures: pd.DataFrame) -> str:
    """Evidence kind of a set of figures (see money_evidence). An 'at most' figure is an upper bound whether or not
    it is final (data/README.md); one beside a lower bound leaves a total bounded in neither direction: approx."""
    upper = figures.bound == "at_most"
    lower = ((figures.bound == "at_least") | ~figures.final.astype(bool)) & ~upper
    if upper.any():
        return "approx" if lower.any() else "upper"
    if lower.any():
        return "lower"
    return "exact" if (figures.bound == "exact").all() else "approx"


def _lines(figures: pd.DataFrame) -> str:
    """spending.csv line numbers behind a piece of evidence."""
    return ";".join(str(r) for r in sorted(set(figures._row)))


def vote_share_data(
    cr: pd.DataFrame,
    raw: dict[str, pd.DataFrame],
    terms: tuple[Term, ...] | None = None,
    figures: pd.DataFrame | None = None,
) -> VoteShareData:
    """Assemble the vote-share model's arrays from candidate_races and the raw tables (terms: the endorsement
    terms to consider, default those of the raw data's directory; figures: the data's money_figure_parts, computed
    here when not given)."""
    rows = modelled_races(cr).reset_index(drop=True)
    # Own committee money per candidate-round (model/dataset/finance.py); only the own-money model reads it.
    # Contributions to a candidate's committee recorded in spending.csv count as own money, never as outside spending.
    reports = [f for f in (raw.get("candidate_finance"), contribution_reports(raw.get("spending"))) if f is not None]
    finance = pd.concat([f for f in reports if not f.empty]) if any(not f.empty for f in reports) else None
    rows = rows.join(own_money_by_round(finance, rows))
    used, endorsement = used_terms(rows, raw, terms)
    race_ids = list(dict.fromkeys(rows.race_id))
    race_idx = rows.race_id.map({r: i for i, r in enumerate(race_ids)}).to_numpy()
    cycles = sorted(int(c) for c in rows.cycle.unique())
    districts = sorted({district_label(d) for d in rows.district}, key=lambda d: (isinstance(d, str), d))
    money = money_evidence(raw, rows, figures)
    cell_of = {tuple(r): i for i, r in enumerate(money.cells[["race_id", "candidate_id", "stance"]].to_numpy())}
    comp_idx, comp_race, comp_share, comp_label = _components(rows, race_idx)
    per_race = rows.drop_duplicates("race_id").set_index("race_id").loc[race_ids]
    filled = impute_turnout(per_race.turnout.to_numpy(dtype=float), per_race.on_cycle.to_numpy(dtype=bool))
    return VoteShareData(
        frame=rows,
        race_ids=race_ids,
        cycles=cycles,
        districts=districts,
        race_idx=race_idx,
        cycle_idx=rows.cycle.astype(int).map({c: i for i, c in enumerate(cycles)}).to_numpy(),
        district_idx=rows.district.map(district_label).map({d: i for i, d in enumerate(districts)}).to_numpy(),
        incumbent=rows.incumbent.astype(float).to_numpy(),
        experienced=experienced_indicator(rows),
        endorsement=endorsement,
        terms=used,
        log_support=log_money(rows.support_usd),
        log_oppose=log_money(rows.oppose_usd),
        support_cell=np.array(
            [cell_of.get((r, c, "support"), -1) for r, c in zip(rows.race_id, rows.candidate_id, strict=True)]
        ),
        oppose_cell=np.array(
            [cell_of.get((r, c, "oppose"), -1) for r, c in zip(rows.race_id, rows.candidate_id, strict=True)]
        ),
        turnout=per_race.turnout.to_numpy(dtype=float),
        turnout_filled=filled,
        turnout_centre=float(filled.mean()),
        on_cycle=per_race.on_cycle.astype(float).to_numpy(),
        log_votes_cast=np.log(per_race.votes_cast.to_numpy(dtype=float)),
        component_idx=comp_idx,
        component_race=comp_race,
        component_share=comp_share,
        component_label=comp_label,
        money=money,
    )


def _components(rows: pd.DataFrame, race_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Dirichlet components: each candidate with a known share, plus one lump per race of the
    candidates whose share is unknown (a Dirichlet aggregates exactly: the lump's parameter is the sum)."""
    comp_idx = np.empty(len(rows), dtype=int)
    comp_race: list[int] = []
    comp_share: list[float] = []
    comp_label: list[str] = []
    for r in np.unique(race_idx):
        members = np.flatnonzero(race_idx == r)
        share = rows.vote_share.to_numpy()[members]
        known = ~np.isnan(share)
        known_total = share[known].sum()
        lump = max(1.0 - known_total, SHARE_FLOOR) if (~known).any() else 0.0
        scale = known_total + lump  # renormalise so the components sum to one
        for i in members[known]:
            comp_idx[i] = len(comp_race)
            comp_race.append(r)
            comp_share.append(max(rows.vote_share.iloc[i] / scale, SHARE_FLOOR))
            comp_label.append(f"{rows.race_id.iloc[i]} {rows.candidate_id.iloc[i]}")
        if (~known).any():
            comp_idx[members[~known]] = len(comp_race)
            comp_race.append(r)
            comp_share.append(lump / scale)
            comp_label.append(f"{rows.race_id.iloc[members[0]]} (others, share unknown)")
    return comp_idx, np.array(comp_race), np.array(comp_share), comp_label
