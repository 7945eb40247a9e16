"""The race pages' what-ifs: per modelled round, the price of an even chance (a sentence) and the interactive what-if
(its thinned draws embedded as JSON, computed in the browser by model/outputs/report/whatif_js.py)."""

from __future__ import annotations

import base64
import html
import json
import zlib

import numpy as np
import pandas as pd

from model.dataset.features import MONEY_UNIT_USD
from model.evaluation import whatif
from model.models.points import INTERVAL
from model.models.scenarios import WHATIF_DECIMALS
from model.outputs.report.document import Block, Para, Run, Widget
from model.outputs.report.whatif_js import WHATIF_JS

STEP_USD = 10_000  # one slider step above 0 adds $10k
INT16 = np.iinfo(np.int16)


def run_whatif_table(run: Run) -> pd.DataFrame:
    """The run's whatif-draws table, or an empty frame for a run written before what-ifs."""
    path = run.path / "whatif-draws.csv"
    return whatif.load_whatif_table(run.path) if path.is_file() else pd.DataFrame()


def encode(matrix: np.ndarray) -> dict:
    """A (candidate, draw) matrix as base64 little-endian integers (value x 10^decimals): int16 where they fit,
    else int32; one row when every row is the same (a race-level slope)."""
    ints = np.round(np.asarray(matrix) * 10**WHATIF_DECIMALS).astype(np.int64)
    if (ints == ints[0]).all():
        ints = ints[:1]
    small = ints.min() >= INT16.min and ints.max() <= INT16.max
    kind = "i2" if small else "i4"
    raw = ints.astype("<i2" if small else "<i4").tobytes()
    return {"t": kind, "r": len(ints), "b": base64.b64encode(raw).decode("ascii")}


def script_json(data: dict, element_id: str) -> str:
    """A JSON data block (never executed; '</' escaped so that no string can close the element)."""
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def race_payload(rd: whatif.RaceDraws, names: dict[str, str], default: str) -> dict:
    """What the browser needs for one race-round: candidates, names, a default candidate and the draws."""
    data = {
        "candidates": rd.candidates,
        "names": [names.get(c, c) for c in rd.candidates],
        "default": default,
        "seed": zlib.crc32(rd.race_id.encode()) & 0x7FFFFFFF,  # the same numbers every time the page opens
        "eta": encode(rd.eta.T),
    }
    for channel, (log_money, slope) in rd.money.items():
        data[f"log_{channel}"], data[f"slope_{channel}"] = encode(log_money.T), encode(slope.T)
    return data


def whatif_round_blocks(run: Run, table: pd.DataFrame, rid: str, names: dict[str, str]) -> list[Block]:
    """One modelled round: the price of an even chance for its runner-up, then the interactive what-if."""
    if table.empty or not (table.race_id == rid).any():  # a vectorised test: the table has ~50,000 rows
        return []
    rd = whatif.race_draws(table, rid)
    rows = run.tables["model_rows"]
    pair = whatif.leader_and_trailer(rows, rid) if "vote_share" in rows else None
    price = whatif.round_price(rd, rows)
    blocks: list[Block] = []
    if price is not None:
        blocks.append(Para(whatif.price_sentence(price, names, whatif.realistic_usd(rows))))
    default = pair[1] if pair else rd.candidates[0]
    command = f"python -m model whatif --race {rid} --candidate {default} --support +250000"
    page = (
        f'<details class="whatif" data-race="{html.escape(rid)}"><summary>What if the money had been different? '
        "Move it for one candidate (interactive)</summary>"
        f'<p class="wi-caution">{html.escape(whatif.CAUTION)} The same numbers from Python: '
        f"<code>{html.escape(command)}</code> (shares to the digit; chances within Monte Carlo error).</p>"
        f'<div class="wi-body"></div>{script_json(race_payload(rd, names, default), f"wi-{rid}")}</details>'
    )
    text = (
        "**What if?** report.html has an interactive what-if for this round (a candidate's IE for or against moved "
        f"from −100 % to +$2M). From the command line: `{command}`. {whatif.CAUTION}"
    )
    return [*blocks, Widget(page, text)]


def whatif_script_blocks(table: pd.DataFrame) -> list[Block]:
    """Once, after the race sections: the draws every what-if shares (concentration, settings) and the script."""
    if table.empty:
        return []
    first = table[table.race_id == table.race_id.iloc[0]]
    concentration = first[first.candidate_id == first.candidate_id.iloc[0]].sort_values("draw").concentration
    common = {
        "decimals": WHATIF_DECIMALS,
        "draws": len(concentration),
        "concentration": [float(c) for c in concentration],
        "channels": whatif.channels(table),
        "words": whatif.CHANNEL_WORDS,
        "sims": whatif.WHATIF_SIMS,
        "interval": list(INTERVAL),
        "step_usd": STEP_USD,
        "max_steps": int(whatif.MAX_ADDED_USD // STEP_USD),
        "money_unit_usd": MONEY_UNIT_USD,
    }
    return [Widget(script_json(common, "whatif-common") + f"<script>{WHATIF_JS}</script>", "")]
