"""Bigger datasets from the bundled one: tiled model arrays and outcomes simulated from known parameters."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from model.dataset.features import SHARE_FLOOR, MoneyEvidence, VoteShareData
from model.models import carryover
from model.models.base import Inputs
from model.models.carryover import CarryoverData, VoteShareCarryover, carryover_data
from model.models.dirichlet import component_predictive
from model.models.head_to_head import head_to_head_columns
from model.tools.bench.settings import SIM_HEAD_TO_HEAD, SIM_MAIN, SIM_VOTE_SHARE


def tile_vote_share(data: VoteShareData, k: int) -> VoteShareData:
    """k copies of the vote-share design as new races and new candidates (race and candidate ids suffixed '~j'),
    with the money evidence tiled the same way (tile_money_evidence).

    Race-level arrays are tiled; candidate- and component-level indices into races, components and money cells
    are offset by j times their count, so each copy is its own set of races, candidates and IE figures."""
    n_race, n_comp, n_cand = data.n_race, len(data.component_share), len(data.frame)
    n_cell = len(data.money.cells)
    copies = np.repeat(np.arange(k), n_cand)
    frame = pd.concat(
        [data.frame.assign(race_id=data.frame.race_id + f"~{j}", candidate_id=data.frame.candidate_id + f"~{j}")
         for j in range(k)],
        ignore_index=True,
    )  # fmt: skip
    return dataclasses.replace(
        data,
        frame=frame,
        race_ids=[f"{r}~{j}" for j in range(k) for r in data.race_ids],
        race_idx=np.tile(data.race_idx, k) + copies * n_race,
        cycle_idx=np.tile(data.cycle_idx, k),
        district_idx=np.tile(data.district_idx, k),
        incumbent=np.tile(data.incumbent, k),
        experienced=np.tile(data.experienced, k),
        endorsement=np.tile(data.endorsement, (k, 1)),
        log_support=np.tile(data.log_support, k),
        log_oppose=np.tile(data.log_oppose, k),
        support_cell=_offset_cells(data.support_cell, k, n_cell),
        oppose_cell=_offset_cells(data.oppose_cell, k, n_cell),
        turnout=np.tile(data.turnout, k),
        turnout_filled=np.tile(data.turnout_filled, k),
        on_cycle=np.tile(data.on_cycle, k),
        log_votes_cast=np.tile(data.log_votes_cast, k),
        component_idx=np.tile(data.component_idx, k) + copies * n_comp,
        component_race=np.tile(data.component_race, k) + np.repeat(np.arange(k), n_comp) * n_race,
        component_share=np.tile(data.component_share, k),
        component_label=[f"{c}~{j}" for j in range(k) for c in data.component_label],
        money=tile_money_evidence(data.money, k),
    )


def _offset_cells(cell: np.ndarray, k: int, n_cell: int) -> np.ndarray:
    """Per-candidate money-cell indices of k copies: copy j's cells offset by j * n_cell, -1 (no figure) kept."""
    tiled = np.tile(cell, k) + np.repeat(np.arange(k), len(cell)) * n_cell
    return np.where(np.tile(cell, k) < 0, -1, tiled)


def tile_money_evidence(ev: MoneyEvidence, k: int) -> MoneyEvidence:
    """k copies of the IE figures, each covering its own copy's cells: the incidence is block diagonal, stored
    sparse (at 1000x a dense (figure, cell) matrix would take ~80 GB)."""
    cells = pd.concat(
        [ev.cells.assign(race_id=ev.cells.race_id + f"~{j}", candidate_id=ev.cells.candidate_id + f"~{j}")
         for j in range(k)],
        ignore_index=True,
    )  # fmt: skip
    return MoneyEvidence(
        cells=cells,
        incidence=sp.block_diag([sp.csr_array(ev.incidence)] * k, format="csr"),
        amount_usd=np.tile(ev.amount_usd, k),
        kind=np.tile(ev.kind, k),
        source_rows=list(ev.source_rows) * k,
    )


def tile_carryover(cd: CarryoverData, k: int, n_race: int) -> CarryoverData:
    """The carry-over links of k tiled copies (tile_vote_share): each copy's runoffs built from its own primary,
    its eliminated candidates aligned with its own finalists, and its own candidates (ids suffixed '~j')."""
    n_row = len(cd.candidate_idx)
    names = [f"{cd.candidates[c]}~{j}" for j in range(k) for c in cd.candidate_idx]
    candidates = sorted(set(names))
    position = {c: i for i, c in enumerate(candidates)}
    return CarryoverData(
        candidates=candidates,
        candidate_idx=np.array([position[c] for c in names]),
        runoff=np.tile(cd.runoff, k),
        primary_row=np.tile(cd.primary_row, k) + np.repeat(np.arange(k), n_row) * n_row,
        alignment=sp.block_diag([sp.csr_array(cd.alignment)] * k, format="csr"),
        row_share=np.tile(cd.row_share, k),
        electorate_change=np.tile(cd.electorate_change, k),
        electorate_known=np.tile(cd.electorate_known, k),
    )


def simulate_vote_share(data: VoteShareData, params: dict[str, float], rng: np.random.Generator) -> VoteShareData:
    """Replace the observed component shares by a draw from the plug-in model at the given parameters."""
    eta = (
        params["beta_support"] * data.log_support
        + params["beta_oppose"] * data.log_oppose
        + params["beta_incumbent"] * data.incumbent
        + data.endorsement @ np.array([_term_value(params, t.term) for t in data.terms])
    )
    shares = component_predictive(eta[None], np.array([params["concentration"]]), data, rng)[0]
    # The same floor the data builder applies: a share of exactly 0 has zero Dirichlet density.
    return dataclasses.replace(data, component_share=np.maximum(shares, SHARE_FLOOR))


def tile_head_to_head(h2h: pd.DataFrame, k: int) -> pd.DataFrame:
    """k copies of the head-to-head rows as new races (ids suffixed '~j')."""
    rows = h2h.dropna(subset=["logit_share_a"])
    return pd.concat([rows.assign(race_id=rows.race_id + f"~{j}") for j in range(k)], ignore_index=True)


def _term_value(params: dict[str, float], term: str) -> float:
    """The simulated coefficient of an endorsement term: its own entry, else the shared one."""
    return params.get(f"beta_{term}", params["beta_<each endorsement term>"])


def simulate_head_to_head(h2h: pd.DataFrame, params: dict[str, float], rng: np.random.Generator) -> pd.DataFrame:
    """Replace logit_share_a by Normal draws from the head-to-head model at the given parameters."""
    columns, names = head_to_head_columns(h2h)
    x = h2h[columns].to_numpy(dtype=float)
    beta = np.array([params[n] if n in params else _term_value(params, n.removeprefix("beta_")) for n in names])
    return h2h.assign(logit_share_a=x @ beta + rng.normal(0.0, params["sigma_head_to_head"], len(h2h)))


def simulate_carryover(spec, data: VoteShareData, cd: CarryoverData, rng: np.random.Generator):
    """(data, links) with component shares, IE figures and primary shares drawn from the candidate-aware model at
    SIM_MAIN (its own simulate, as SBC uses it): true money per cell is the bundled plug-in figure (at least $1k),
    cycle/district deviations and candidate strengths are drawn with the SIM_MAIN sds."""
    carryover.remember(data, cd)
    names = ("beta_support", "beta_oppose", "beta_incumbent", "concentration")
    truth: dict[str, float | np.ndarray] = {name: SIM_MAIN[name] for name in names}
    truth |= {n: SIM_MAIN[n] for n in ("sigma_candidate", "beta_primary_share", "beta_consolidation")}
    truth["beta_turnout_support"] = 0.0
    for t in data.terms:
        truth[f"beta_{t.term}"] = _term_value(SIM_MAIN, t.term)
        for prefix in ("beta_turnout_", "beta_oncycle_", "beta_electorate_"):
            truth[prefix + t.term] = 0.0
    for stance in ("support", "oppose"):
        for factor, n in (("cycle", len(data.cycles)), ("district", len(data.districts))):
            truth[f"tau_{factor}_{stance}"] = SIM_MAIN["tau"]
            truth[f"z_{factor}_{stance}"] = rng.normal(size=n)
    money_k = np.ones(len(data.money.cells))
    for cell, log_k in ((data.support_cell, data.log_support), (data.oppose_cell, data.log_oppose)):
        money_k[cell[cell >= 0]] = np.maximum(np.expm1(log_k[cell >= 0]), 1.0)
    truth["money_k"] = money_k
    truth["z_candidate"] = rng.normal(size=len(cd.candidates))
    post = {name: np.asarray(v)[None] for name, v in truth.items()}
    truth["eta"] = spec.eta_draws(post, data)[0]
    update = spec.simulate(Inputs(None, None, None, data), truth, rng)
    if update is None:
        raise RuntimeError("a simulated share underflowed to 0; try another seed")
    ev = dataclasses.replace(data.money, amount_usd=np.exp(update["log_reported_money_k"]) * 1000.0)
    sim = dataclasses.replace(data, component_share=np.exp(update["log_component_share"]), money=ev)
    return sim, dataclasses.replace(cd, row_share=update.get("row_share", cd.row_share))


def growth_inputs(inputs: Inputs, spec, k: int, seed: int) -> Inputs:
    """Simulated data k times the bundled size for one model: the candidate-aware models draw from their own
    simulate (with tiled money evidence and carry-over links), the others from the plug-in model at
    SIM_VOTE_SHARE and the head-to-head model at SIM_HEAD_TO_HEAD."""
    rng = np.random.default_rng([seed, k])
    tiled = tile_vote_share(inputs.data, k)
    h2h = simulate_head_to_head(tile_head_to_head(inputs.h2h, k), SIM_HEAD_TO_HEAD, rng)
    if isinstance(spec, VoteShareCarryover):
        links = tile_carryover(carryover_data(inputs.data), k, inputs.data.n_race)
        data, links = simulate_carryover(spec, tiled, links, rng)
        carryover.remember(data, links)
        return Inputs(None, None, h2h, data)
    return Inputs(None, None, h2h, simulate_vote_share(tiled, SIM_VOTE_SHARE, rng))
