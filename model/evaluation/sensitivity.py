"""How strong would a hidden confounder have to be: robustness values and benchmark bounds of the money coefficients
of the classical OLS designs (Cinelli & Hazlett 2020), and a tipping-point analysis of the main Bayesian model's
money slopes (a bias term b in the slope, over a grid of b).

Classical: each OLS is refitted with iid standard errors (same coefficients as the HC3 fit): the partial R2 and
the robustness values are functions of the iid t-statistic (it stands in for the residual variances), as in every
sensemakr implementation; the HC3 intervals elsewhere in the report are not used here.

Bayesian, why reweighting is exact: the bias model puts the confounder's bias b into every row's money slope,
eta = (beta + b) * log_money + ..., with beta keeping the model's prior pi. Write gamma = beta + b, the slope the
fit sampled as beta_<stance>. The fitted posterior is p0(gamma, rest) ∝ L(gamma, rest) pi(gamma) pi(rest), and the
bias model's is p_b(gamma, rest) ∝ L(gamma, rest) pi(gamma - b) pi(rest): the same draws of gamma with importance
weights pi(gamma - b) / pi(gamma), and beta = gamma - b. The cycle and district slopes are gamma plus deviations
whose priors are centred on the mean slope, so they shift with it and their priors do not change (a runoff's
change in money meets the same slope; the turnout interaction is left as fitted). The weights are
Pareto-smoothed and their k-hat is recorded (reliable below 0.7). Shifting the draws without weights is the limit of
a flat prior on beta."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.special import expit
from scipy.stats import t as student_t

from model.evaluation import ovb
from model.inference.importance import smoothed_log_weights
from model.models import classical
from model.models.base import Inputs, draws
from model.models.points import INTERVAL, money_steps, regression_key
from model.priors import Prior

MULTIPLES = (1, 2, 3)  # "a confounder k times as strong as the benchmark"
ALPHA = 1 - (INTERVAL[1] - INTERVAL[0])  # the report's 90 % intervals
MONEY_EFFECTS = {"support": "support IE", "oppose": "oppose IE"}
# The share of the apparent effect that the bias b removes, 0 to twice the effect (past zero for every tipping point
# that is reached at all) in 1 % steps.
SHARES = np.round(np.linspace(0.0, 2.0, 201), 4)
P_TIPPING = 0.9  # "P(effect has its apparent sign) falls below 0.9"
PARETO_K_OK = 0.7  # importance weights are reliable below this k-hat (Vehtari et al. 2024, PSIS)
CLASSICAL_FILE, TIPPING_GRID_FILE, TIPPING_FILE = (
    "sensitivity-classical.csv",
    "sensitivity.csv",
    "sensitivity-tipping.csv",
)


def iid_refit(res) -> sm.regression.linear_model.RegressionResultsWrapper:
    """The same OLS design refitted with iid standard errors (named columns, no added intercept)."""
    exog = pd.DataFrame(res.model.exog, columns=res.model.exog_names)
    return sm.OLS(np.asarray(res.model.endog), exog).fit()


def _r2(fit, term: str) -> float:
    """Partial R2 of one regressor from its iid t-statistic."""
    return ovb.partial_r2(float(fit.tvalues[term]), float(fit.df_resid))


def ovb_table(res, model: str, term_labels: dict[str, str], multiples: tuple[int, ...] = MULTIPLES) -> pd.DataFrame:
    """Robustness values of an OLS fit's money coefficients and bounds benchmarked on incumbency and each
    endorsement term in the design (one row per money term with benchmark '' and k 0, the unadjusted estimate, then
    one per benchmark and multiple k; intervals at 1 - ALPHA)."""
    fit = iid_refit(res)
    dof = float(fit.df_resid)
    keys = {term: regression_key(term, term_labels) for term in fit.params.index}
    benchmarks = [t for t, k in keys.items() if k == "incumbent" or k in term_labels]
    label = {"incumbent": "incumbency", **term_labels}
    rows = []
    for term, key in keys.items():
        if key not in MONEY_EFFECTS or dof <= 1:
            continue
        est, se, t = float(fit.params[term]), float(fit.bse[term]), float(fit.tvalues[term])
        crit = float(student_t.ppf(1 - ALPHA / 2, dof))  # the plain OLS interval (no confounder: dof, not dof - 1)
        base = {
            "model": model,
            "effect": MONEY_EFFECTS[key],
            "term": term,
            "estimate": est,
            "se_iid": se,
            "t_iid": t,
            "dof": dof,
            "partial_r2": ovb.partial_r2(t, dof),
            "rv_q1": ovb.robustness_value(t, dof),
            "rv_q1_alpha10": ovb.robustness_value(t, dof, alpha=ALPHA),
        }
        rows.append(
            {
                **base,
                "benchmark": "",
                "k": 0,
                "adjusted_estimate": est,
                "adjusted_lo90": est - crit * se,
                "adjusted_hi90": est + crit * se,
            }
        )
        others = fit.model.exog_names.copy()
        others.remove(term)
        if not others:
            continue
        exog = pd.DataFrame(fit.model.exog, columns=fit.model.exog_names)
        treatment_fit = sm.OLS(exog[term], exog[others]).fit()  # the money term on the other regressors
        for bench in [b for b in benchmarks if b != term]:
            r2dxj_x, r2yxj_dx = _r2(treatment_fit, bench), _r2(fit, bench)
            for k in multiples:
                row = {
                    **base,
                    "benchmark": label[keys[bench] or bench],
                    "k": k,
                    "r2dxj_x": r2dxj_x,
                    "r2yxj_dx": r2yxj_dx,
                }
                try:
                    r2dz_x, r2yz_dx = ovb.benchmark_bounds(r2dxj_x, r2yxj_dx, k)
                except ValueError as err:
                    rows.append({**row, "note": str(err)})
                    continue
                adj = ovb.adjust(est, se, dof, r2dz_x, r2yz_dx, alpha=ALPHA)
                rows.append(
                    {
                        **row,
                        "r2dz_x": r2dz_x,
                        "r2yz_dx": r2yz_dx,
                        "adjusted_estimate": adj.estimate,
                        "adjusted_lo90": adj.lower,
                        "adjusted_hi90": adj.upper,
                    }
                )
    return pd.DataFrame(rows)


def classical_sensitivity(inputs: Inputs) -> pd.DataFrame:
    """ovb_table of every registered estimator marked `confounding` that can run on these data (empty when none
    can)."""
    term_labels = {t.term: t.label for t in inputs.data.terms}
    frames = []
    for name, estimator in classical.ESTIMATORS.items():
        if not estimator.confounding:
            continue
        res, _reason = classical.fit_estimator(estimator, inputs)
        if res is not None:  # a skipped estimator is named with its reason in the manifest already
            frames.append(ovb_table(res, name, term_labels).assign(label=estimator.label))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# Verdicts of classical_verdicts, from weakest to strongest.
NOT_SHOWN = "interval includes zero already"
FRAGILE = "explained away by a confounder as strong as a benchmark"
MODERATE = "explained away by a confounder 2-3 times as strong as a benchmark"
ROBUST = "survives a confounder 3 times as strong as every benchmark"


def classical_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Per design and money effect: the robustness values, for each benchmark the smallest k whose adjusted 90 %
    interval reaches zero, i.e. no longer excludes it on the estimate's side (NaN when none of MULTIPLES does; a
    bound no confounder can reach counts as not reached), and a verdict: NOT_SHOWN when the unadjusted interval
    includes zero, FRAGILE when a confounder as strong as some benchmark (k = 1) brings it to zero, ROBUST when none
    up to the largest k does, else MODERATE."""
    rows = []
    for (model, effect), g in table.groupby(["model", "effect"], sort=False):
        base = g[g.k == 0].iloc[0]
        bounds = g[g.k > 0].dropna(subset=["adjusted_estimate"])
        # Explained away: the interval's limit on the estimate's side has reached zero (or passed it).
        inner = np.where(base.estimate >= 0, bounds.adjusted_lo90, -bounds.adjusted_hi90)
        covers = pd.Series(inner <= 0, index=bounds.index)
        reach = {b: float(x.k[covers[x.index]].min()) for b, x in bounds.groupby("benchmark", sort=False)}
        k_min = np.nanmin(list(reach.values())) if any(np.isfinite(list(reach.values()))) else np.nan
        if base.adjusted_lo90 <= 0 <= base.adjusted_hi90:
            verdict = NOT_SHOWN
        elif k_min <= 1:
            verdict = FRAGILE
        else:
            verdict = ROBUST if np.isnan(k_min) else MODERATE
        rows.append(
            {
                "model": model,
                "effect": effect,
                "estimate": base.estimate,
                "rv_q1": base.rv_q1,
                "rv_q1_alpha10": base.rv_q1_alpha10,
                **{f"k_zero {b}": k for b, k in reach.items()},
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def _log_prior(prior: Prior | None, x: np.ndarray) -> np.ndarray | None:
    """Log density of a normal slope prior at x; None for any other family (the flat-prior shift is used)."""
    if prior is None or prior.dist != "normal":
        return None
    return prior.logpdf(x)


def weighted_quantiles(x: np.ndarray, w: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """Quantiles of draws x with normalised weights w (linear between the weighted empirical CDF's midpoints)."""
    order = np.argsort(x)
    xs, ws = x[order], w[order]
    cdf = np.cumsum(ws) - ws / 2
    return np.interp(q, cdf, xs)


def tipping_grid(
    slope: np.ndarray, prior: Prior | None, dx: float, incumbency: float, shares: np.ndarray = SHARES
) -> pd.DataFrame:
    """The money slope's posterior under a confounder bias b = share x the apparent (posterior mean) slope, for each
    share: b (log-odds per log(1 + $k)), b in units of the incumbency effect (b dx / incumbency, both log-odds: dx is
    the money step the effect is quoted for), the adjusted effect of that step in points (mean, 90 % interval),
    P(adjusted slope has the apparent sign), the importance weights' Pareto k-hat and the method (module docstring).

    slope: posterior draws of the apparent slope; prior: its prior (the causal slope's under the bias model)."""
    apparent = float(np.mean(slope))
    sign = 1.0 if apparent >= 0 else -1.0
    base_lp = _log_prior(prior, slope)
    rows = []
    for share in shares:
        b = share * apparent
        beta = slope - b
        if base_lp is None or b == 0:
            w, khat, method = np.full(len(slope), 1 / len(slope)), np.nan, "shift" if base_lp is None else "reweight"
        else:
            # A smoothing that fails keeps the raw weights with an infinite k-hat, and the tipping note says so.
            lw, khat = smoothed_log_weights(_log_prior(prior, beta) - base_lp)
            w, method = np.exp(lw), "reweight"
        lo, hi = weighted_quantiles(beta, w, INTERVAL)
        rows.append(
            {
                "share": float(share),
                "b": b,
                "b_incumbency": b * dx / incumbency if incumbency > 0 else np.nan,
                "mean_pp": float(np.sum(w * 100 * (expit(beta * dx) - 0.5))),
                "lo_pp": float(100 * (expit(lo * dx) - 0.5)),
                "hi_pp": float(100 * (expit(hi * dx) - 0.5)),
                "p_apparent_sign": float(np.sum(w * (sign * beta > 0))),
                "pareto_k": float(khat),
                "method": method,
            }
        )
    return pd.DataFrame(rows)


def _crossing(shares: np.ndarray, value: np.ndarray, level: float) -> float:
    """The first share at which value falls below level, linear between grid points (0 when it starts below it,
    NaN when it never does)."""
    below = np.flatnonzero(value < level)
    if not len(below):
        return np.nan
    i = below[0]
    if i == 0:
        return 0.0
    return float(np.interp(level, [value[i], value[i - 1]], [shares[i], shares[i - 1]]))


def tipping_points(grid: pd.DataFrame, apparent: float, dx: float, incumbency: float) -> pd.DataFrame:
    """The two tipping points of a tipping_grid: the share (and b, b in incumbency units, and the bias in points of
    the effect of the money step dx) at which P(apparent sign) falls below P_TIPPING, and at which the 90 % interval
    reaches zero."""
    sign = 1.0 if apparent >= 0 else -1.0
    inner = np.where(sign > 0, grid.lo_pp, -grid.hi_pp)  # the interval's limit nearer zero, signed towards the effect
    criteria = {
        f"P(effect has its sign) < {P_TIPPING:g}": _crossing(
            grid.share.to_numpy(), grid.p_apparent_sign.to_numpy(), P_TIPPING
        ),
        "90 % interval reaches zero": _crossing(grid.share.to_numpy(), inner, 0.0),
    }
    rows = []
    for criterion, share in criteria.items():
        note = ""
        if share == 0:
            note = "already at b = 0: the data do not show the effect's sign at this level without any confounder"
        elif np.isnan(share):
            note = f"not reached with a bias of up to {SHARES[-1]:g} times the apparent effect"
        b = share * apparent + 0.0  # + 0.0: no "-0.000" for a negative effect at share 0
        max_k = float(grid.pareto_k[grid.share <= (share if np.isfinite(share) else np.inf)].max())
        if max_k > PARETO_K_OK:
            note = f"{note}; " * bool(note) + f"weights unreliable (Pareto k-hat {max_k:.2f}): refit with the bias"
        rows.append(
            {
                "criterion": criterion,
                "share": share,
                "b": b,
                "b_incumbency": b * dx / incumbency if incumbency > 0 else np.nan,
                "b_pp": float(100 * (expit(b * dx) - 0.5)),  # the bias in the effect of the money step, in points
                "max_pareto_k": max_k,
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def bayes_tipping(
    idata, priors: dict[str, Prior], reference_usd: float, stances: tuple[str, ...] = tuple(MONEY_EFFECTS)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(grid, tipping points) of the support and oppose slopes (of those stances) of a fitted vote-share model,
    quoted for doubling the money from reference_usd and in units of its incumbency effect (posterior mean of
    beta_incumbent); empty frames when the model has no such slopes."""
    post = idata.posterior
    if "beta_incumbent" not in post:
        return pd.DataFrame(), pd.DataFrame()
    dx = money_steps(reference_usd)["doubling"]
    incumbency = float(draws(idata, "beta_incumbent").mean())
    grids, points = [], []
    for stance, effect in MONEY_EFFECTS.items():
        name = f"beta_{stance}"
        if name not in post or stance not in stances:
            continue
        slope = draws(idata, name)
        apparent = float(slope.mean())
        grid = tipping_grid(slope, priors.get(name), dx, incumbency)
        grids.append(grid.assign(effect=effect, parameter=name, apparent=apparent, incumbency=incumbency))
        tips = tipping_points(grid, apparent, dx, incumbency)
        points.append(tips.assign(effect=effect, parameter=name, apparent=apparent, incumbency=incumbency))
    if not grids:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(grids, ignore_index=True), pd.concat(points, ignore_index=True)


def write_sensitivity(out: Path, result: dict, reference_usd: float) -> dict[str, pd.DataFrame]:
    """Write the classical and Bayesian sensitivity tables of a fit into its (staging) run directory and return
    them (`classical`, `grid`, `points`; empty frames where nothing applies) for the figures."""
    table = classical_sensitivity(result["inputs"])
    tables = {"classical": table, "grid": pd.DataFrame(), "points": pd.DataFrame()}
    if len(table):
        table.to_csv(Path(out) / CLASSICAL_FILE, index=False)
    main = result.get("main_model")
    if main is None:
        return tables
    cr = result["inputs"].cr
    # A slope the data cannot inform (no money of that stance anywhere) has nothing to tip.
    stances = tuple(s for s in MONEY_EFFECTS if cr[f"{s}_usd"].fillna(0).gt(0).any())
    grid, points = bayes_tipping(result["idata"][main], result["priors"], reference_usd, stances)
    if len(grid):
        grid.assign(model=main).to_csv(Path(out) / TIPPING_GRID_FILE, index=False)
        points.assign(model=main).to_csv(Path(out) / TIPPING_FILE, index=False)
    return tables | {"grid": grid, "points": points}
