"""`make fit`: raw data -> every model -> diagnostics -> tables and figures -> runs/<run-id>/, atomically."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from model import atomic
from model.bayes import (
    component_marginal_loglik,
    component_predictive,
    dirichlet_loglik,
    head_to_head_model,
    vote_share_model,
)
from model.build import candidate_races, head_to_head
from model.carryover import CarryoverData, carryover_data, carryover_model, eta_from_posterior
from model.diagnostics import check_table
from model.effects import counterfactuals, draws, points_effects, win_probability_curve
from model.features import VoteShareData, vote_share_data
from model.priors import Prior, load_priors, priors_as_dict, priors_hash, resolve_preset
from model.raw import load_raw
from model.regression import head_to_head_ols, head_to_head_turnout_ols, repeat_candidate_fd, votes_glm

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "pymc", "pytensor", "arviz", "nutpie", "xarray")
# Parameters whose convergence gates a fit (latent money cells and z's are checked through these).
GATED = {
    "vote_share": ["beta_", "tau_", "sigma_candidate", "concentration", "money_log"],
    "head_to_head": ["beta_", "sigma_head_to_head"],
}


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings recorded in every manifest."""

    sampler: str = "nutpie"  # "pymc" for PyMC's own NUTS
    chains: int = 4
    # 2000, not 1000: with 1000 the hierarchical sds (tau_district_support) had bulk ESS ~750 and R-hat 1.008-1.0098
    # over seeds, so the 1.01 gate failed or passed by chance; 2000 gives ESS ~1700 and R-hat ~1.005 (seed 1).
    draws: int = 2000
    tune: int = 1000
    # 0.95 rather than 0.8: the soft lower-bound steps of the latent money model gave a few divergences.
    target_accept: float = 0.95


# The model whose counterfactuals, money evidence, prior sweep and claim verdicts the report leads with; chosen
# by LOO and the posterior predictive checks on the fitted data (README, "The models"), recorded in the manifest.
MAIN_MODEL = "vote_share_carryover"


def vote_share_builders(data: VoteShareData, cd: CarryoverData, priors: dict[str, Prior]) -> dict:
    """Builders of every Dirichlet vote-share model on the same rows, by name."""
    return {
        "vote_share_carryover": lambda: carryover_model(cd, priors, noise="normal"),
        "vote_share_carryover_t": lambda: carryover_model(cd, priors, noise="student_t"),
        "vote_share_latent": lambda: vote_share_model(data, priors, money="latent"),
        "vote_share_plugin": lambda: vote_share_model(data, priors, money="plugin"),
    }


def eta_function(name: str, idata, data: VoteShareData, cd: CarryoverData):
    """The model's linear predictor as a function of log money (draws, candidate), for counterfactuals."""
    if name.startswith("vote_share_carryover"):
        post = {k: draws(idata, k) for k in idata.posterior.data_vars}
        return lambda ls, lo: eta_from_posterior(post, cd, ls, lo)
    return None


# The prior sweep and leave-one-cycle-out only need means and intervals of a few effects: fewer draws suffice.
SECONDARY = SamplerSettings(chains=2, draws=500, tune=500)


def secondary_settings(settings: SamplerSettings) -> SamplerSettings:
    """Settings for secondary fits: SECONDARY, but never more than the main fit asked for."""
    return replace(
        settings,
        chains=min(settings.chains, SECONDARY.chains),
        draws=min(settings.draws, SECONDARY.draws),
        tune=min(settings.tune, SECONDARY.tune),
    )


def sample(model: pm.Model, seed: int, settings: SamplerSettings, progress: bool):
    """Posterior draws (InferenceData) from nutpie or PyMC's NUTS, seeded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nutpie/PyMC chatter about unused options
        return pm.sample(
            model=model,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            random_seed=seed,
            nuts_sampler=settings.sampler,
            # PyMC guesses half the CPUs are hyperthreads and would run chains one after another on 2 cores.
            cores=min(settings.chains, os.cpu_count() or 1),
            target_accept=settings.target_accept,
            progressbar=progress,
            compute_convergence_checks=False,
        )


def sample_each(model: pm.Model, updates: list[dict[str, np.ndarray]], seeds: list[int], settings: SamplerSettings):
    """Posterior draws (InferenceData, one per update) of one model with its pm.Data values replaced.

    nutpie compiles the model once and swaps the data (compiling takes ~2 s, sampling these models ~0.3 s,
    so refitting for each fold or simulation was almost all compilation); PyMC's NUTS sets the data and
    samples each time."""
    if settings.sampler != "nutpie":
        for update, seed in zip(updates, seeds, strict=True):
            with model:
                pm.set_data(update)
            yield sample(model, seed, settings, progress=False)
        return
    import nutpie

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        compiled = nutpie.compile_pymc_model(model, backend="numba")
        for update, seed in zip(updates, seeds, strict=True):
            yield nutpie.sample(
                compiled.with_data(**update),
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                seed=seed,
                target_accept=settings.target_accept,
                progress_bar=False,
            )


def vote_share_groups(idata, model: pm.Model, data: VoteShareData, rng: np.random.Generator, prior) -> None:
    """Add observed data, log-likelihoods, posterior and prior predictive draws to a vote-share fit."""
    eta, conc = draws(idata, "eta"), draws(idata, "concentration")
    shape = idata.posterior["concentration"].shape
    comp = {"component": data.component_label}
    race = {"race": data.race_ids}
    loglik_race = dirichlet_loglik(eta, conc, data).reshape(*shape, -1)
    loglik_comp = component_marginal_loglik(eta, conc, data).reshape(*shape, -1)
    pred = component_predictive(eta, conc, data, rng).reshape(*shape, -1)
    p_eta = prior["eta"].to_numpy().reshape(-1, len(data.frame))
    p_conc = prior["concentration"].to_numpy().reshape(-1)
    prior_pred = component_predictive(p_eta, p_conc, data, rng)[None]
    idata["log_likelihood"] = xr.Dataset(
        {
            "vote_share_race": (("chain", "draw", "race"), loglik_race),
            "component_share": (("chain", "draw", "component"), loglik_comp),
        },
        coords={**race, **comp},
    )
    idata["posterior_predictive"] = xr.Dataset({"component_share": (("chain", "draw", "component"), pred)}, coords=comp)
    idata["prior_predictive"] = xr.Dataset(
        {"component_share": (("chain", "draw", "component"), prior_pred)}, coords=comp
    )
    idata["observed_data"] = xr.Dataset({"component_share": (("component",), data.component_share)}, coords=comp)
    idata["log_prior"] = pm.stats.compute_log_prior(idata, model=model, extend_inferencedata=False, progressbar=False)


def fit_models(raw_dir: Path, priors: dict[str, Prior], seed: int, settings: SamplerSettings, progress: bool):
    """Fit every model; return a dict of results (idata, tables) and wall times."""
    raw = load_raw(raw_dir)
    cr = candidate_races(raw)
    h2h = head_to_head(cr)
    data = vote_share_data(cr, raw)
    cd = carryover_data(data)
    rng = np.random.default_rng(seed)
    out: dict = {"cr": cr, "h2h": h2h, "data": data, "carryover": cd, "idata": {}, "checks": {}, "wall_s": {}}
    out.update(raw_dir=raw_dir, priors=priors, secondary=secondary_settings(settings))
    models = {**vote_share_builders(data, cd, priors), "head_to_head": lambda: head_to_head_model(h2h, priors)}
    for i, (name, build) in enumerate(models.items()):
        t0 = time.perf_counter()
        model = build()
        with model, warnings.catch_warnings():
            # The vote-share likelihood is a Potential simulated in numpy (vote_share_groups), and the
            # prior predictive should ignore the money figures too; PyMC's warning about that does not apply.
            warnings.simplefilter("ignore", UserWarning)
            prior = pm.sample_prior_predictive(draws=500, random_seed=seed + i)
        idata = sample(model, seed + i, settings, progress)
        if name.startswith("vote_share"):
            vote_share_groups(idata, model, data, rng, prior.prior)
            loo_var, gated = "vote_share_race", GATED["vote_share"]
        else:
            with model:
                pm.sample_posterior_predictive(
                    idata, random_seed=seed + i, extend_inferencedata=True, progressbar=False
                )
                pm.stats.compute_log_likelihood(idata, extend_inferencedata=True, progressbar=False)
                pm.stats.compute_log_prior(idata, extend_inferencedata=True, progressbar=False)
            idata["prior_predictive"] = prior.prior_predictive
            loo_var, gated = "logit_share_a", GATED["head_to_head"]
        idata["prior"] = prior.prior
        out["wall_s"][name] = round(time.perf_counter() - t0, 2)
        names = [v for v in idata.posterior.data_vars if any(v.startswith(g) for g in gated)]
        out["checks"][name] = check_table(idata, names, loo_var).assign(model=name)
        out["idata"][name] = idata
        print(f"  {name}: {out['wall_s'][name]} s", file=sys.stderr)
    return out


def regression_table(cr: pd.DataFrame, h2h: pd.DataFrame) -> pd.DataFrame:
    """Coefficients of every statsmodels estimator with robust SEs and 90 % intervals."""
    fits = {"head_to_head_ols_hc3": lambda: head_to_head_ols(h2h), "votes_quasi_poisson_race_fe": lambda: votes_glm(cr)}
    fits["head_to_head_turnout_ols_hc3"] = lambda: head_to_head_turnout_ols(h2h)
    fits["repeat_candidate_first_difference"] = lambda: repeat_candidate_fd(cr).results
    rows = []
    for name, fit in fits.items():
        try:
            res = fit()
        except ValueError as err:  # not estimable on these data: say so in the table
            rows.append({"model": name, "term": "(not estimable)", "note": str(err)})
            continue
        ci = res.conf_int(alpha=0.10)
        for term in res.params.index:
            if term.startswith("C("):
                continue  # race fixed effects
            rows.append(
                {
                    "model": name,
                    "term": term,
                    "coef": res.params[term],
                    "se": res.bse[term],
                    "lo90": ci.loc[term, 0],
                    "hi90": ci.loc[term, 1],
                    "nobs": int(res.nobs),
                    "note": "",
                }
            )
    return pd.DataFrame(rows)


def bayes_table(idata_by_model: dict) -> pd.DataFrame:
    """Posterior mean, sd and 90 % interval of the main coefficients of each Bayesian model."""
    frames = []
    for name, idata in idata_by_model.items():
        names = [v for v in idata.posterior.data_vars if v.startswith("beta_") and not v.endswith("_cycle")]
        s = az.summary(idata, var_names=names, kind="stats", ci_prob=0.9, round_to="none")
        s = s.rename(columns={s.columns[2]: "lo90", s.columns[3]: "hi90"})
        frames.append(s.assign(model=name).rename_axis("term").reset_index())
    return pd.concat(frames, ignore_index=True)


def prior_sweep(result: dict, reference_usd: float, seed: int) -> pd.DataFrame:
    """Effects of the main model under the run's priors and under every preset, to show how much the
    conclusions depend on the priors."""
    from model.figures import PRESETS

    frames = [points_effects(_betas(result["idata"][MAIN_MODEL]), reference_usd, "this run")]
    for i, preset in enumerate(PRESETS):
        if preset == result["priors_name"]:
            continue  # "this run" already is that preset, fitted with the full settings
        priors = load_priors(resolve_preset(preset))
        build = vote_share_builders(result["data"], result["carryover"], priors)[MAIN_MODEL]
        idata = sample(build(), seed + 50 + i, result["secondary"], progress=False)
        frames.append(points_effects(_betas(idata), reference_usd, preset))
    return pd.concat(frames).rename(columns={"model": "priors"}).assign(model=MAIN_MODEL)


def _betas(idata) -> dict[str, np.ndarray]:
    """Draws of the main coefficients (not the per-cycle ones)."""
    return {v: draws(idata, v) for v in idata.posterior.data_vars if v.startswith("beta_") and "_cycle" not in v}


def model_comparison(idata_by_model: dict) -> pd.DataFrame:
    """PSIS-LOO of the vote-share models on the same races (the joint per-race likelihood), best first."""
    fits = {k: v for k, v in idata_by_model.items() if k.startswith("vote_share")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pareto k warnings: the table carries the k values
        table = az.compare(fits, var_name="vote_share_race")
        max_k = {m: float(az.loo(fits[m], var_name="vote_share_race", pointwise=True).pareto_k.max()) for m in fits}
    keep = [c for c in ("rank", "elpd", "p", "elpd_diff", "weight", "se", "dse", "warning") if c in table]
    out = table[keep].rename_axis("model").reset_index()
    out["max_pareto_k"] = out.model.map(max_k)
    return out


def money_evidence_table(idata, data: VoteShareData) -> pd.DataFrame:
    """Each reported IE figure (or plug-in sum) next to the posterior total of the cells it covers."""
    ev = data.money
    total_k = draws(idata, "money_k") @ ev.incidence.T
    lo, med, hi = np.quantile(total_k * 1000, [0.05, 0.5, 0.95], axis=0)
    cells = [
        "; ".join(f"{c} {s}" for _r, c, s in ev.cells.iloc[np.flatnonzero(row)].to_numpy()) for row in ev.incidence
    ]
    races = [ev.cells.race_id.iloc[np.flatnonzero(row)[0]] for row in ev.incidence]
    return pd.DataFrame(
        {
            "race_id": races,
            "covers": cells,
            "kind": ev.kind,
            "reported_usd": ev.amount_usd,
            "posterior_median_usd": med.round(0),
            "posterior_lo90_usd": lo.round(0),
            "posterior_hi90_usd": hi.round(0),
            "spending_csv_lines": ev.source_rows,
        }
    )


def file_hash(paths: list[Path]) -> str:
    """sha256 over the bytes of files, in name order."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def raw_data_hash(raw_dir: Path) -> str:
    """sha256 of a raw data directory's CSV files: the data identity recorded by fits and SBC."""
    return file_hash(list(Path(raw_dir).glob("*.csv")))


def code_hash() -> str:
    """sha256 of the model package source: a change in code means a new run id."""
    return file_hash(list(Path(__file__).parent.glob("*.py")))


# The files that define the models and their inputs (not rendering): SBC results stay valid while these are unchanged.
MODEL_FILES = ("schema.py", "raw.py", "build.py", "features.py", "priors.py", "bayes.py", "fit.py", "sbc.py")


def model_code_hash() -> str:
    """sha256 of the model-defining source files (MODEL_FILES)."""
    return file_hash([Path(__file__).parent / name for name in MODEL_FILES])


LOCK_FILE = Path(__file__).resolve().parents[1] / "requirements.lock"


def lock_state(lock: Path = LOCK_FILE) -> dict[str, str | bool | None]:
    """sha256 (first 16 hex) of requirements.lock and whether every pin in it is installed at its version
    (both None when there is no lock, e.g. an installed wheel)."""
    if not lock.exists():
        return {"lock_sha256": None, "lock_matches": None}
    from packaging.markers import Marker

    matches = True
    for line in lock.read_text().splitlines():
        name, sep, rest = line.partition("==")
        if not sep or line.startswith((" ", "#")):
            continue
        version, _, marker = (part.strip() for part in rest.partition(";"))
        if marker and not Marker(marker).evaluate():
            continue
        try:
            matches &= metadata.version(name.strip()) == version
        except metadata.PackageNotFoundError:
            matches = False
    return {"lock_sha256": file_hash([lock]), "lock_matches": matches}


def git_commit() -> str:
    """The current git commit, or 'unknown' outside a repository."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_fit(
    raw_dir: Path,
    priors_name: str,
    seed: int,
    runs_dir: Path,
    settings: SamplerSettings = SamplerSettings(),
    strict: bool = False,
    progress: bool = False,
    reuse: bool = True,
) -> tuple[Path, bool]:
    """Fit everything into runs/<run-id>/ (reusing a finished run with the same inputs); return the run
    directory and whether every gated diagnostic passed."""
    atomic.recover_all(runs_dir)  # a fit killed mid-swap: its previous run comes back first
    priors_path = resolve_preset(priors_name)
    priors = load_priors(priors_path)
    data_hash = raw_data_hash(raw_dir)
    key = {
        "data": data_hash,
        "priors": priors_hash(priors),
        "seed": seed,
        "settings": asdict(settings),
        "code": code_hash(),
        "lock": lock_state()["lock_sha256"],  # other locked versions may give other numbers: a new run
    }
    run_id = f"{Path(priors_name).stem}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]}"
    run_dir = Path(runs_dir) / run_id
    if reuse and (run_dir / "manifest.json").exists():
        manifest = json.loads((run_dir / "manifest.json").read_text())
        atomic.write_text(Path(runs_dir) / "LATEST", run_id + "\n")
        print(f"reusing {run_dir} (same data, priors, seed, settings and code)", file=sys.stderr)
        return run_dir, manifest["diagnostics_passed"]
    t0 = time.perf_counter()
    result = fit_models(raw_dir, priors, seed, settings, progress)
    result["priors_name"] = priors_name
    Path(runs_dir).mkdir(parents=True, exist_ok=True)
    staged = atomic.staging_dir(run_dir)
    try:
        passed = write_run(staged, result, seed)
        manifest = {
            "run_id": run_id,
            "git_commit": git_commit(),
            "data_dir": str(raw_dir),
            "data_hash": data_hash,
            "priors_preset": priors_name,
            "priors_file": str(priors_path) if priors_path else None,
            "priors_hash": key["priors"],
            "priors": priors_as_dict(priors),
            "seed": seed,
            "sampler": asdict(settings),
            "code_hash": key["code"],
            "model_code_hash": model_code_hash(),
            "python": platform.python_version(),
            "packages": {p: metadata.version(p) for p in PACKAGES},
            **lock_state(),
            "wall_seconds": {**result["wall_s"], "total": round(time.perf_counter() - t0, 2)},
            "diagnostics_passed": passed,
            "main_model": MAIN_MODEL,
        }
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        atomic.fault_point("manifest")
        atomic.replace_dir(staged, run_dir)  # a --refit of the same run id swaps, never deletes first
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    atomic.fault_point("before_latest")
    atomic.write_text(Path(runs_dir) / "LATEST", run_id + "\n")
    if strict and not passed:
        print(f"diagnostics failed; see {run_dir / 'diagnostics.csv'}", file=sys.stderr)
    return run_dir, passed


def write_run(out: Path, result: dict, seed: int) -> bool:
    """Write posteriors, tables and figures of a fit into a (staging) run directory; return pass/fail."""
    from model.figures import write_figures

    rng = np.random.default_rng(seed + 100)
    for name, idata in result["idata"].items():
        idata.to_netcdf(out / f"posterior-{name}.nc", engine="h5netcdf")
    checks = pd.concat(result["checks"].values(), ignore_index=True)
    checks.to_csv(out / "diagnostics.csv", index=False)
    data, cr = result["data"], result["cr"]
    positive = cr.support_usd[cr.support_usd > 0]
    reference = float(positive.median()) if len(positive) else 100_000.0
    effects = []
    for name, idata in result["idata"].items():
        effects.append(points_effects(_betas(idata), reference, name))
    pd.concat(effects).assign(reference_usd=reference).to_csv(out / "effects.csv", index=False)
    bayes_table(result["idata"]).to_csv(out / "coefficients-bayes.csv", index=False)
    regression_table(cr, result["h2h"]).to_csv(out / "coefficients-regression.csv", index=False)
    main = result["idata"][MAIN_MODEL]
    eta_fn = eta_function(MAIN_MODEL, main, data, result["carryover"])
    counterfactuals(main, data, rng, eta_fn).to_csv(out / "counterfactuals.csv", index=False)
    model_comparison(result["idata"]).to_csv(out / "model-comparison.csv", index=False)
    if MAIN_MODEL.startswith("vote_share_carryover"):
        from model.decompose import decomposition

        decomposition(main, result["carryover"]).to_csv(out / "decomposition.csv", index=False)
    win_probability_curve(draws(main, "beta_support"), draws(main, "concentration"), reference).to_csv(
        out / "win_probability.csv", index=False
    )
    data.frame.to_csv(out / "model_rows.csv", index=False)
    money_evidence_table(main, data).to_csv(out / "money-evidence.csv", index=False)
    t0 = time.perf_counter()
    prior_sweep(result, reference, seed).to_csv(out / "effects-by-prior.csv", index=False)
    result["wall_s"]["prior_sweep"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    write_figures(out / "figures", result)
    result["wall_s"]["figures"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    if result.get("loco", True):
        from model.evaluate import leave_one_cycle_out

        per_candidate, summary = leave_one_cycle_out(result["raw_dir"], result["priors"], seed, result["secondary"])
        per_candidate.to_csv(out / "loco-predictions.csv", index=False)
        summary.to_csv(out / "loco-summary.csv", index=False)
        from model.figures import calibration_figure

        compare = [
            MAIN_MODEL,
            "vote_share_latent",
            "primary leader wins the runoff (calibrated)",
            "incumbent wins (calibrated)",
        ]
        title = "Leave one cycle out: predicted vs actual winners"
        calibration_figure(out / "figures", per_candidate, compare, "calibration-loco.png", title)
        if result.get("runoff_forecast", True):
            from model.evaluate import runoff_forecast

            per_candidate, summary = runoff_forecast(result["raw_dir"], result["priors"], seed, result["secondary"])
            per_candidate.to_csv(out / "runoff-forecast-predictions.csv", index=False)
            summary.to_csv(out / "runoff-forecast-summary.csv", index=False)
    result["wall_s"]["leave_one_cycle_out"] = round(time.perf_counter() - t0, 2)
    return bool(checks.passed.all())
