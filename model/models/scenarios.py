"""What a fitted vote-share model says under other money: counterfactuals per candidate, the thinned draws
behind the what-ifs, and the P(win) curve against the spending ratio."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from model.dataset.features import VoteShareData, log_money
from model.models.base import posterior_draws
from model.models.dirichlet import p_first, race_mean, race_softmax
from model.models.points import INTERVAL, _interval


class MoneyModel(Protocol):
    """What these products need of a vote-share model (VoteShareModel has it), named here so that the model's
    module can import this one and not the other way round."""

    def log_money_draws(self, post: dict[str, np.ndarray], data: VoteShareData) -> tuple[np.ndarray, np.ndarray]: ...

    def eta_draws(
        self, post: dict[str, np.ndarray], data: VoteShareData, log_support=None, log_oppose=None
    ) -> np.ndarray: ...

    def money_channels(self, post: dict[str, np.ndarray], data: VoteShareData) -> dict[str, tuple]: ...


# Thinned posterior draws behind the what-ifs (whatif-draws.csv, embedded in the report): a few hundred keep the
# Monte Carlo error of a 90 % interval end near a point of share while the report stays small.
WHATIF_DRAWS = 300
# Decimals of eta, log money and slopes in whatif-draws.csv: 0.001 on the logit scale is under 0.03 points of share.
WHATIF_DECIMALS = 3


def counterfactuals(model: MoneyModel, idata, data: VoteShareData, rng: np.random.Generator) -> pd.DataFrame:
    """Per candidate: expected share and P(finishing first) as fitted, with equal spending (every
    candidate of the race gets the race's mean support and oppose money) and with no opposition IE."""
    post = posterior_draws(idata)
    s, o = model.log_money_draws(post, data)
    n = len(post["concentration"])
    s, o = np.broadcast_to(s, (n, s.shape[1])), np.broadcast_to(o, (n, o.shape[1]))
    scenarios = {
        "fitted": (s, o),
        "equal_spending": (race_mean(s, data), race_mean(o, data)),
        "no_negative_ads": (s, np.zeros_like(o)),
    }
    conc = post["concentration"]
    out = data.frame[["race_id", "candidate_id", "name", "vote_share", "outcome"]].copy()
    for label, (ls, lo) in scenarios.items():
        eta = model.eta_draws(post, data, ls, lo)
        share = 100 * race_softmax(eta, data)
        out[f"share_{label}"] = share.mean(axis=0)
        out[f"share_{label}_lo"], out[f"share_{label}_hi"] = np.quantile(share, INTERVAL, axis=0)
        out[f"p_first_{label}"] = p_first(eta, conc, data, rng)
        if label != "fitted":
            delta = share - 100 * race_softmax(model.eta_draws(post, data, s, o), data)
            out[f"delta_{label}"] = delta.mean(axis=0)
            out[f"delta_{label}_lo"], out[f"delta_{label}_hi"] = np.quantile(delta, INTERVAL, axis=0)
            out[f"p_delta_{label}_negative"] = (delta < 0).mean(axis=0)
    return out


def whatif_draws(model: MoneyModel, idata, data: VoteShareData, n_draws: int = WHATIF_DRAWS) -> pd.DataFrame:
    """The pieces of a what-if, per candidate row and thinned posterior draw (evenly spaced over the chains):
    eta as fitted, the concentration, and per money channel the fitted log(1 + $k) and its slope, rounded to
    WHATIF_DECIMALS. The report's in-browser what-if and `python -m model whatif` both compute from this table."""
    post = posterior_draws(idata)
    n = len(post["concentration"])
    keep = np.unique(np.linspace(0, n - 1, min(n_draws, n)).round().astype(int))
    shape = (n, len(data.frame))
    columns = {
        "eta": np.broadcast_to(model.eta_draws(post, data), shape)[keep],
        "concentration": np.broadcast_to(post["concentration"][:, None], shape)[keep],
    }
    for channel, (log_k, slope) in model.money_channels(post, data).items():
        columns[f"log_{channel}"] = np.broadcast_to(log_k, shape)[keep]
        columns[f"slope_{channel}"] = np.broadcast_to(slope, shape)[keep]
    frame = data.frame.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "race_id": np.tile(frame.race_id.to_numpy(), len(keep)),
            "candidate_id": np.tile(frame.candidate_id.to_numpy(), len(keep)),
            "draw": np.repeat(np.arange(len(keep)), shape[1]),
        }
    )
    for name, values in columns.items():
        out[name] = np.round(values.reshape(-1), WHATIF_DECIMALS)
    return out.sort_values(["race_id", "candidate_id", "draw"], kind="stable").reset_index(drop=True)


def win_probability_curve(beta_support: np.ndarray, concentration: np.ndarray, reference_usd: float) -> pd.DataFrame:
    """P(candidate A out-polls B) in an otherwise even two-way race against A's support-IE ratio to B,
    with B at reference_usd: A's share is Beta(c p, c (1 - p)) under the Dirichlet likelihood."""
    from scipy.special import expit
    from scipy.stats import beta as beta_dist

    ratios = np.geomspace(1 / 16, 16, 41)
    rows = []
    for r in ratios:
        dx = log_money(r * reference_usd) - log_money(reference_usd)
        p = expit(beta_support * dx)
        win = beta_dist.sf(0.5, concentration * p, concentration * (1 - p))
        rows.append((r, *_interval(win)))
    return pd.DataFrame(rows, columns=["ratio", "p_win_mean", "p_win_lo", "p_win_hi"])
