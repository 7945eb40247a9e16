"""Convergence and fit diagnostics as a table with pass/fail against named thresholds."""

from __future__ import annotations

import logging
import warnings

import arviz as az
import numpy as np
import pandas as pd

# Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and localization":
# rank-normalised R-hat below 1.01 and bulk/tail ESS of at least 100 per chain (400 for 4 chains).
RHAT_MAX = 1.01
ESS_MIN = 400
# Any divergence signals a region the sampler could not explore (Betancourt 2017).
DIVERGENCES_MAX = 0
# Betancourt (2016), "Diagnosing suboptimal cotangent disintegrations": E-BFMI below 0.3 is a problem.
EBFMI_MIN = 0.3
# Vehtari et al. (2024), "Pareto smoothed importance sampling": k above 0.7 makes the LOO estimate unreliable.
PARETO_K_MAX = 0.7
# Kallioinen et al. (2024), "Detecting and diagnosing prior and likelihood sensitivity with power-scaling":
# a cumulative Jensen-Shannon distance above 0.05 flags sensitivity to the prior.
PSENSE_MAX = 0.05
COST_SHOWN = "(cost, shown)"
CHECK_COLUMNS = ["check", "value", "threshold", "passed", "where"]


def user_prior_names(idata) -> list[str]:
    """Log-prior terms of the priors a user sets in a TOML file (not structural z's or latent money)."""
    from model.priors import DEFAULT_PRIORS

    return [
        v
        for v in idata.log_prior.data_vars
        if v in DEFAULT_PRIORS or v.startswith(("tau_cycle", "tau_district", "beta_"))
    ]


def prior_sensitivity(idata, var_names: list[str], likelihood_var: str) -> pd.DataFrame:
    """Power-scaling sensitivity (ArviZ psense) of var_names to the user-set priors and to the likelihood."""
    # psense logs its own advice; the diagnostics table and the report carry the numbers and the link.
    log = logging.getLogger("arviz_stats.psense")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = az.psense_summary(
                idata,
                var_names=var_names,
                prior_var_names=user_prior_names(idata),
                likelihood_var_names=[likelihood_var],
            )
    finally:
        log.setLevel(level)
    return table.rename_axis("parameter").reset_index()


def sampler_checks(idata, var_names: list[str]) -> list[tuple]:
    """The gated sampler checks (R-hat, bulk and tail ESS, divergences, E-BFMI) as (check, value, threshold,
    passed, where) rows: the worst parameter over every element of var_names, the worst chain."""
    summary = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    divergences = int(idata.sample_stats["diverging"].sum())
    bfmi = np.asarray(az.bfmi(idata)["energy"].to_numpy()).ravel()
    rhat, bulk, tail = summary["r_hat"], summary["ess_bulk"], summary["ess_tail"]
    return [
        ("max R-hat (rank-normalised)", float(rhat.max()), f"<= {RHAT_MAX}", rhat.max() <= RHAT_MAX, rhat.idxmax()),
        ("min bulk ESS", float(bulk.min()), f">= {ESS_MIN}", bulk.min() >= ESS_MIN, bulk.idxmin()),
        ("min tail ESS", float(tail.min()), f">= {ESS_MIN}", tail.min() >= ESS_MIN, tail.idxmin()),
        ("divergences", divergences, f"<= {DIVERGENCES_MAX}", divergences <= DIVERGENCES_MAX, ""),
        ("min E-BFMI", float(bfmi.min()), f">= {EBFMI_MIN}", bfmi.min() >= EBFMI_MIN, f"chain {int(bfmi.argmin())}"),
    ]


def sampler_cost(idata) -> list[tuple]:
    """What a fit cost, shown and not gated: mean leapfrog steps (gradients) per draw, and the adapted step size
    (mean over chains); long trajectories at a small step size point to a hard geometry, not a slow gradient."""
    stats = idata.sample_stats
    rows = []
    if "n_steps" in stats:
        steps = float(stats["n_steps"].mean())
        rows.append(("leapfrog steps per draw (mean)", steps, COST_SHOWN, True, f"max {int(stats['n_steps'].max())}"))
    if "step_size" in stats:
        sizes = stats["step_size"].mean(dim="draw").to_numpy()
        spread = f"{sizes.min():.3g}-{sizes.max():.3g}"
        rows.append(("step size (mean over chains)", float(sizes.mean()), COST_SHOWN, True, spread))
    return rows


def check_table(idata, var_names: list[str], loo_var: str) -> pd.DataFrame:
    """One row per check: value, threshold, pass/fail and where the worst value is (R-hat and ESS: the worst
    parameter over every element of var_names; E-BFMI: the worst chain), so a failed gate can say what failed."""
    loo = compute_loo(idata, loo_var)
    max_k = float(np.max(loo.pareto_k))
    rows = [
        *sampler_checks(idata, var_names),
        # Pareto-k is reported, not gated: a high k flags an influential race, not a failed fit.
        ("max Pareto k (LOO)", max_k, f"<= {PARETO_K_MAX} (shown, not gated)", True, ""),
        *sampler_cost(idata),
    ]
    betas = [v for v in var_names if v.startswith("beta_") and not v.endswith("_cycle")]
    if "log_prior" in idata.children and betas:
        table = prior_sensitivity(idata, betas, loo_var)
        worst = table.loc[table["prior"].idxmax()]
        # Shown, not gated: sensitivity to the prior is information for the reader, not a failed fit.
        rows.append(
            ("max prior sensitivity (psense)", float(worst["prior"]), f"<= {PSENSE_MAX} (shown, not gated)", True,
             str(worst["parameter"]))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def failure_line(checks: pd.DataFrame, draws: int) -> str | None:
    """One line naming the first failed check of a run (model, check, value, threshold, where) and what to do
    about it, or None when every check passed."""
    failed = checks[~checks.passed.astype(bool)]
    if failed.empty:
        return None
    row = failed.iloc[0]
    where = f" at {row['where']}" if isinstance(row.get("where"), str) and row["where"] else ""
    check = str(row.get("check", "a check"))
    advice = (
        f"rerun with more draws, e.g. make fit DRAWS={2 * draws}"
        if check.startswith(("max R-hat", "min bulk", "min tail"))
        else "see the report's diagnostics appendix; a higher target_accept or a reparameterisation may help"
    )
    more = f" (and {len(failed) - 1} more failed check(s) in diagnostics.csv)" if len(failed) > 1 else ""
    value = row.get("value", "?")
    value = f"{value:.4g}" if isinstance(value, float) else str(value)
    model = row.get("model", "?")
    return f"check failed: {model}: {check} = {value} (needs {row.get('threshold', '?')}){where}; {advice}{more}"


def compute_loo(idata, var_name: str):
    """PSIS-LOO of one log-likelihood variable (ArviZ), warnings about high k kept for the table."""
    with warnings.catch_warnings():
        # High Pareto k is reported in the diagnostics table and the report; the warning repeats it.
        warnings.simplefilter("ignore", UserWarning)
        return az.loo(idata, var_name=var_name, pointwise=True)


def worst_parameters(idata, var_names: list[str], n: int = 5) -> pd.DataFrame:
    """The parameters with the highest R-hat and lowest ESS, to say where a failed check comes from."""
    s = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    return s.sort_values("ess_bulk").head(n)
