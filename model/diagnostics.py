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


def check_table(idata, var_names: list[str], loo_var: str) -> pd.DataFrame:
    """One row per check: value, threshold and pass/fail (R-hat and ESS over var_names, worst case)."""
    summary = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    divergences = int(idata.sample_stats["diverging"].sum())
    ebfmi = float(np.min(az.bfmi(idata)["energy"].to_numpy()))
    loo = compute_loo(idata, loo_var)
    max_k = float(np.max(loo.pareto_k))
    rows = [
        (
            "max R-hat (rank-normalised)",
            float(summary["r_hat"].max()),
            f"<= {RHAT_MAX}",
            summary["r_hat"].max() <= RHAT_MAX,
        ),
        ("min bulk ESS", float(summary["ess_bulk"].min()), f">= {ESS_MIN}", summary["ess_bulk"].min() >= ESS_MIN),
        ("min tail ESS", float(summary["ess_tail"].min()), f">= {ESS_MIN}", summary["ess_tail"].min() >= ESS_MIN),
        ("divergences", divergences, f"<= {DIVERGENCES_MAX}", divergences <= DIVERGENCES_MAX),
        ("min E-BFMI", ebfmi, f">= {EBFMI_MIN}", ebfmi >= EBFMI_MIN),
        # Pareto-k is reported, not gated: a high k flags an influential race, not a failed fit.
        ("max Pareto k (LOO)", max_k, f"<= {PARETO_K_MAX} (shown, not gated)", True),
    ]
    betas = [v for v in var_names if v.startswith("beta_") and not v.endswith("_cycle")]
    if "log_prior" in idata.children and betas:
        psense = float(prior_sensitivity(idata, betas, loo_var)["prior"].max())
        # Shown, not gated: sensitivity to the prior is information for the reader, not a failed fit.
        rows.append(("max prior sensitivity (psense)", psense, f"<= {PSENSE_MAX} (shown, not gated)", True))
    return pd.DataFrame(rows, columns=["check", "value", "threshold", "passed"])


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
