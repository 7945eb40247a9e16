"""Quantities people ask for, from posterior draws: effects in points of vote share, counterfactuals, P(win)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from model.bayes import component_predictive, race_softmax
from model.features import MONEY_UNIT_USD, VoteShareData, log_money, turnout_z

INTERVAL = (0.05, 0.95)  # 90 % intervals throughout the report


def draws(idata, name: str) -> np.ndarray:
    """Posterior draws of a variable with chains and draws stacked on the first axis."""
    x = idata.posterior[name].to_numpy()
    return x.reshape(-1, *x.shape[2:])


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 90 % interval of draws."""
    lo, hi = np.quantile(x, INTERVAL)
    return float(np.mean(x)), float(lo), float(hi)


def points_effects(beta: dict[str, np.ndarray], reference_usd: float, model: str) -> pd.DataFrame:
    """Effects in percentage points of vote share for a candidate at 50 % of a two-way race.

    Money effects are for doubling from reference_usd and for adding $100k to it; binary effects for
    switching the attribute on; turnout effects per 10 points of turnout."""
    x0 = log_money(reference_usd)
    steps = {
        "doubling": log_money(2 * reference_usd) - x0,
        "per $100k": log_money(reference_usd + 100 * MONEY_UNIT_USD) - x0,
    }
    rows = []
    for stance in ("support", "oppose"):
        if f"beta_{stance}" not in beta:
            continue
        for label, dx in steps.items():
            pp = 100 * (expit(beta[f"beta_{stance}"] * dx) - 0.5)
            rows.append((model, f"{stance} IE, {label}", *_interval(pp), float(np.mean(pp > 0))))
    for name, label in (
        ("beta_incumbent", "incumbent"),
        ("beta_utla", "UTLA endorsement"),
        ("beta_ccsa", "CCSA endorsement"),
        ("beta_turnout_utla", "UTLA endorsement x +10 pts turnout"),
        ("beta_oncycle_utla", "UTLA endorsement x on-cycle election"),
    ):
        if name in beta:
            pp = 100 * (expit(beta[name]) - 0.5)
            rows.append((model, label, *_interval(pp), float(np.mean(pp > 0))))
    return pd.DataFrame(rows, columns=["model", "effect", "mean_pp", "lo_pp", "hi_pp", "p_positive"])


def linear_predictor(idata, data: VoteShareData, log_support=None, log_oppose=None) -> np.ndarray:
    """eta (draws, candidate) of the vote-share model, with optional replacement money (log(1+$k))."""
    post = {k: draws(idata, k) for k in idata.posterior.data_vars}
    if log_support is None or log_oppose is None:
        actual_s, actual_o = actual_log_money(idata, data)
        log_support = actual_s if log_support is None else log_support
        log_oppose = actual_o if log_oppose is None else log_oppose
    tz = turnout_z(data.turnout_filled, data.turnout_centre)[data.race_idx]
    slope = {}
    for stance in ("support", "oppose"):
        slope[stance] = (
            post[f"beta_{stance}"][:, None]
            + post[f"tau_cycle_{stance}"][:, None] * post[f"z_cycle_{stance}"][:, data.cycle_idx]
            + post[f"tau_district_{stance}"][:, None] * post[f"z_district_{stance}"][:, data.district_idx]
        )
    return (
        slope["support"] * log_support
        + slope["oppose"] * log_oppose
        + post["beta_incumbent"][:, None] * data.incumbent
        + post["beta_utla"][:, None] * data.utla
        + post["beta_ccsa"][:, None] * data.ccsa
        + post["beta_turnout_utla"][:, None] * data.utla * tz
        + post["beta_turnout_support"][:, None] * log_support * tz
        + post["beta_oncycle_utla"][:, None] * data.utla * data.on_cycle[data.race_idx]
    )


def actual_log_money(idata, data: VoteShareData) -> tuple[np.ndarray, np.ndarray]:
    """log(1+$k) support and oppose per candidate: latent draws when the fit has them, else plug-in."""
    if "money_k" not in idata.posterior:
        return np.broadcast_to(data.log_support, (1, len(data.log_support))), np.broadcast_to(
            data.log_oppose, (1, len(data.log_oppose))
        )
    padded = np.concatenate([np.log1p(draws(idata, "money_k")), np.zeros((len(draws(idata, "money_k")), 1))], axis=1)
    return padded[:, data.support_cell], padded[:, data.oppose_cell]


def counterfactuals(idata, data: VoteShareData, rng: np.random.Generator, eta_fn=None) -> pd.DataFrame:
    """Per candidate: expected share and P(finishing first) as fitted, with equal spending (every
    candidate of the race gets the race's mean support and oppose money) and with no opposition IE.

    eta_fn(log_support, log_oppose) -> eta (draws, candidate) is the model's linear predictor (default: the
    vote_share_latent/plugin predictor)."""
    if eta_fn is None:

        def eta_fn(ls, lo):
            return linear_predictor(idata, data, ls, lo)

    s, o = actual_log_money(idata, data)
    n = len(draws(idata, "concentration"))
    s, o = np.broadcast_to(s, (n, s.shape[1])), np.broadcast_to(o, (n, o.shape[1]))
    scenarios = {
        "fitted": (s, o),
        "equal_spending": (_race_mean(s, data), _race_mean(o, data)),
        "no_negative_ads": (s, np.zeros_like(o)),
    }
    conc = draws(idata, "concentration")
    out = data.frame[["race_id", "candidate_id", "name", "vote_share", "outcome"]].copy()
    for label, (ls, lo) in scenarios.items():
        eta = eta_fn(ls, lo)
        share = 100 * race_softmax(eta, data)
        out[f"share_{label}"] = share.mean(axis=0)
        out[f"share_{label}_lo"], out[f"share_{label}_hi"] = np.quantile(share, INTERVAL, axis=0)
        out[f"p_first_{label}"] = p_first(eta, conc, data, rng)
        if label != "fitted":
            delta = share - 100 * race_softmax(eta_fn(s, o), data)
            out[f"delta_{label}"] = delta.mean(axis=0)
            out[f"delta_{label}_lo"], out[f"delta_{label}_hi"] = np.quantile(delta, INTERVAL, axis=0)
            out[f"p_delta_{label}_negative"] = (delta < 0).mean(axis=0)
    return out


def _race_mean(x: np.ndarray, data: VoteShareData) -> np.ndarray:
    """Replace each candidate's value by the mean over its race (draws, candidate)."""
    total = np.zeros((x.shape[0], data.n_race))
    np.add.at(total, (..., data.race_idx), x)
    count = np.bincount(data.race_idx, minlength=data.n_race)
    return (total / count)[:, data.race_idx]


def p_first(eta: np.ndarray, concentration: np.ndarray, data: VoteShareData, rng: np.random.Generator) -> np.ndarray:
    """P(each candidate gets the most votes in its race) under the Dirichlet predictive (candidates
    whose shares were lumped get their lump's draw split by their expected shares)."""
    p = race_softmax(eta, data)
    comp = component_predictive(eta, concentration, data, rng)
    lump_total = np.zeros((p.shape[0], len(data.component_share)))
    np.add.at(lump_total, (..., data.component_idx), p)
    share = comp[:, data.component_idx] * p / lump_total[:, data.component_idx]
    best = np.zeros((p.shape[0], data.n_race))
    np.maximum.at(best, (..., data.race_idx), share)
    return (share >= best[:, data.race_idx]).mean(axis=0)


def win_probability_curve(beta_support: np.ndarray, concentration: np.ndarray, reference_usd: float) -> pd.DataFrame:
    """P(candidate A out-polls B) in an otherwise even two-way race against A's support-IE ratio to B,
    with B at reference_usd: A's share is Beta(c p, c (1 - p)) under the Dirichlet likelihood."""
    from scipy.stats import beta as beta_dist

    ratios = np.geomspace(1 / 16, 16, 41)
    rows = []
    for r in ratios:
        dx = log_money(r * reference_usd) - log_money(reference_usd)
        p = expit(beta_support * dx)
        win = beta_dist.sf(0.5, concentration * p, concentration * (1 - p))
        rows.append((r, *_interval(win)))
    return pd.DataFrame(rows, columns=["ratio", "p_win_mean", "p_win_lo", "p_win_hi"])
