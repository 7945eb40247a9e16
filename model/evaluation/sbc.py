"""Simulation-based calibration (Talts et al. 2018) of the Bayesian models, with ECDF-difference plots and
simultaneous bands (Säilynoja, Bürkner & Vehtari 2022)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window (CI has no display)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc as pm
from scipy import stats

from model import models
from model.inference.sampling import SamplerSettings, sample_each
from model.infra import atomic, parallel
from model.infra.errors import UserError
from model.infra.paths import REPO_ROOT
from model.infra.provenance import model_code_hash, raw_data_hash
from model.models.base import Inputs, draws, load_inputs
from model.models.vote_share_latent import simulate_money_evidence
from model.priors import DEFAULT_PRIORS, Prior


class _Parameters(Mapping):
    """Registered model name -> the scalars SBC ranks on the bundled data (computed on first use)."""

    def __init__(self) -> None:
        self._design: Inputs | None = None

    def __getitem__(self, name: str) -> tuple[str, ...]:
        if self._design is None:
            self._design = bundled_design(RAW_DIR)
        return models.get(name).sbc_parameters_for(self._design)

    def __iter__(self):
        return iter(list(models.REGISTRY))

    def __len__(self) -> int:
        return len(models.REGISTRY)


PARAMETERS = _Parameters()
__all__ = ["PARAMETERS", "Design", "bundled_design", "run_sbc", "simulate_money_evidence", "uniformity"]
# Ranks are taken among this many thinned posterior draws, so a rank is an integer in 0..THIN_TO (200 values,
# which split evenly into the 10 or 20 bins of the chi-square test). Talts et al. thin so that the kept draws
# are close to independent; 1000 NUTS draws of these models have bulk ESS well above 200.
THIN_TO = 199
RAW_DIR = REPO_ROOT / "data" / "raw"
BAND_PROB = 0.95  # simultaneous coverage of the ECDF bands
BAND_SIMS = 2000  # uniform replicates used to calibrate the simultaneous band (Säilynoja et al. 2022, sec. 2.2)


Design = Inputs  # the data's design (covariates, race structure) on which data are simulated


def bundled_design(raw_dir: Path) -> Inputs:
    """Every model's inputs built from a raw data directory."""
    return load_inputs(raw_dir)


def prior_draws(model: pm.Model, n: int, seed: int) -> list[dict[str, np.ndarray]]:
    """n joint draws of every prior variable and prior-predictive observation, one dict of arrays each."""
    with model, warnings.catch_warnings():
        # PyMC warns that Potentials are ignored by the prior predictive; that is the point here (the
        # vote-share likelihood and the money evidence are simulated in numpy, below).
        warnings.simplefilter("ignore", UserWarning)
        idata = pm.sample_prior_predictive(draws=n, random_seed=seed)
    groups = [idata.prior, *([idata.prior_predictive] if "prior_predictive" in idata.children else [])]
    return [{name: g[name].to_numpy()[0, i] for g in groups for name in g.data_vars} for i in range(n)]


def thin(x: np.ndarray, n: int) -> np.ndarray:
    """n evenly strided draws (all of them when there are fewer)."""
    stride = max(len(x) // n, 1)
    return x[::stride][:n]


def posterior_ranks(idata, truth: dict[str, np.ndarray], parameters: tuple[str, ...], n: int) -> list[dict]:
    """Rank of each true value among n thinned posterior draws (0..n), with the posterior mean and sd."""
    rows = []
    for name in parameters:
        post = thin(draws(idata, name), n)
        rows.append(
            {
                "parameter": name,
                "rank": int((post < truth[name]).sum()),
                "n_draws": len(post),
                "true_value": float(truth[name]),
                "post_mean": float(post.mean()),
                "post_sd": float(post.std()),
            }
        )
    return rows


def simulated_datasets(spec, model: pm.Model, design: Inputs, n_sims: int, seed: int):
    """(truths, pm.Data updates, fit seeds) of n_sims datasets simulated from a registered model at prior draws.

    The truths come from one prior-predictive call seeded by `seed`; the data of prior draw s are drawn with
    np.random.default_rng(seed + s). Spare prior draws replace the simulations the model rejects (a share that
    underflowed: simulate returns None); RuntimeError when even 2 n_sims draws do not give n_sims datasets."""
    truths, updates, fit_seeds = [], [], []
    for s, truth in enumerate(prior_draws(model, 2 * n_sims, seed)):
        rng = np.random.default_rng(seed + s)
        update = spec.simulate(design, truth, rng)
        if update is not None:
            truths.append(truth)
            updates.append(update)
            fit_seeds.append(int(rng.integers(2**31)))
        if len(truths) == n_sims:
            return truths, updates, fit_seeds
    raise RuntimeError(f"{spec.name}: only {len(truths)} of {2 * n_sims} simulated datasets had no zero share")


def run_sbc(
    model_name: str,
    n_sims: int,
    seed: int,
    draws: int = 500,
    tune: int = 500,
    *,
    design: Design | None = None,
    priors: dict[str, Prior] | None = None,
    sampler: str = "nutpie",
    log: Callable[[str], None] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """SBC ranks: one row per (simulation, parameter) with model, sim, parameter, rank (0..n_draws),
    n_draws, true_value, post_mean, post_sd, divergences (of that simulation's fit) and seconds.

    The true parameters are draws from one prior-predictive call seeded by `seed`; the data of prior draw s
    are then drawn with np.random.default_rng(seed + s), and datasets with a share of exactly 0 are skipped.
    The model is compiled once and each simulation's data swapped in (fit.sample_each), or once per worker with
    workers > 1 or a Dask scheduler (the same ranks; then every fit has come back before the first row is made,
    so a row's seconds is the wait for it, not its fit). Divergent fits are kept: dropping them would condition
    on the sampler and bias the ranks."""
    if model_name not in models.REGISTRY:
        raise ValueError(f"unknown model {model_name!r}; known: {', '.join(models.REGISTRY)}")
    spec = models.get(model_name)
    design = design or bundled_design(RAW_DIR)
    priors = priors or DEFAULT_PRIORS
    settings = SamplerSettings(sampler=sampler, chains=2, draws=draws, tune=tune)
    model = spec.build(design, priors)
    # The data's endorsement terms, where this model has them (a variant may leave terms out of its eta).
    parameters = tuple(p for p in spec.sbc_parameters_for(design) if p in model.named_vars)
    truths, updates, fit_seeds = simulated_datasets(spec, model, design, n_sims, seed)
    rows = []
    t0 = time.perf_counter()
    for s, idata in enumerate(sample_each(model, updates, fit_seeds, settings, workers, scheduler)):
        n_div = int(idata.sample_stats.diverging.sum())
        seconds = round(time.perf_counter() - t0, 2)
        for row in posterior_ranks(idata, truths[s], parameters, THIN_TO):
            rows.append({"model": model_name, "sim": s, **row, "divergences": n_div, "seconds": seconds})
        if log:
            log(f"{model_name} sim {s + 1}/{n_sims}: {seconds} s, {n_div} divergences")
        t0 = time.perf_counter()
    return pd.DataFrame(rows)


def chisq_uniformity(ranks: np.ndarray, n_draws: int, bins: int) -> float:
    """p-value of Pearson's chi-square test that ranks are uniform on 0..n_draws, in `bins` bins of
    (nearly) equal width; expected counts follow the number of rank values in each bin, so it is exact in
    expectation even when the bins cannot be equal."""
    edges = np.linspace(0, n_draws + 1, bins + 1).round().astype(int)
    observed = np.histogram(ranks, bins=edges)[0]
    expected = len(ranks) * np.diff(edges) / (n_draws + 1)
    return float(stats.chisquare(observed, expected).pvalue)


def chisq_bins(n_sims: int) -> int:
    """Bins for the chi-square test: at least ~5 expected per bin (Cochran's rule), at most 20."""
    return int(np.clip(n_sims // 5, 2, 20))


def _ecdf_points(n_draws: int, n_sims: int) -> np.ndarray:
    """Integer rank thresholds k (ECDF evaluated as P(rank < k)); at most one per simulation."""
    k = min(n_draws + 1, max(n_sims, 2))
    return np.unique(np.linspace(0, n_draws + 1, k + 1).round().astype(int)[1:-1])


def _tail_prob(counts: np.ndarray, n: int, z: np.ndarray) -> np.ndarray:
    """Two-sided binomial tail probability of each ECDF count (counts: (..., point))."""
    lower = stats.binom.cdf(counts, n, z)
    upper = stats.binom.sf(counts - 1, n, z)
    return np.minimum(2 * np.minimum(lower, upper), 1.0)


def simultaneous_band(n_sims: int, n_draws: int, prob: float = BAND_PROB, seed: int = 0):
    """Thresholds k, expected CDF z = k / (n_draws + 1), the pointwise level gamma that gives a band of
    simultaneous coverage `prob` for the ECDF of n_sims uniform ranks, and the null distribution of the
    smallest pointwise tail probability (for p-values). Säilynoja et al. (2022), simulation method."""
    k = _ecdf_points(n_draws, n_sims)
    z = k / (n_draws + 1)
    rng = np.random.default_rng(seed)
    sims = rng.integers(0, n_draws + 1, size=(BAND_SIMS, n_sims))
    counts = (sims[:, :, None] < k).sum(axis=1)
    null_min = _tail_prob(counts, n_sims, z).min(axis=1)
    gamma = float(np.quantile(null_min, 1 - prob))
    return k, z, gamma, null_min


def uniformity(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per model and parameter: simulations, chi-square p-value, simultaneous-ECDF p-value (share of uniform
    replicates whose ECDF strays at least as far), whether the ECDF stays in the 95 % band, divergent fits."""
    rows = []
    for (model_name, name), g in ranks.groupby(["model", "parameter"], sort=False):
        n, n_draws = len(g), int(g.n_draws.max())
        k, z, gamma, null_min = simultaneous_band(n, n_draws)
        counts = (g["rank"].to_numpy()[:, None] < k).sum(axis=0)
        observed_min = _tail_prob(counts, n, z).min()
        rows.append(
            {
                "model": model_name,
                "parameter": name,
                "n_sims": n,
                "n_draws": n_draws,
                "chisq_bins": chisq_bins(n),
                "p_chisq": chisq_uniformity(g["rank"].to_numpy(), n_draws, chisq_bins(n)),
                "p_ecdf": float((null_min <= observed_min).mean()),
                "inside_band": bool(observed_min > gamma),
                "divergent_fits": int(g.drop_duplicates("sim").divergences.gt(0).sum()),
            }
        )
    return pd.DataFrame(rows)


def ecdf_figure(ranks: pd.DataFrame, path: Path) -> Path:
    """ECDF-difference plot of the ranks, one panel per (model, parameter), with simultaneous 95 % bands."""
    summary = uniformity(ranks).set_index(["model", "parameter"])
    keys = list(summary.index)
    ncol = min(3, len(keys))
    nrow = -(-len(keys) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.3 * nrow), squeeze=False, sharey=True)
    for ax, (model_name, name) in zip(axes.flat, keys, strict=False):
        g = ranks[(ranks.model == model_name) & (ranks.parameter == name)]
        n, n_draws = len(g), int(g.n_draws.max())
        k, z, gamma, _ = simultaneous_band(n, n_draws)
        ecdf = (g["rank"].to_numpy()[:, None] < k).mean(axis=0)
        lo = stats.binom.ppf(gamma / 2, n, z) / n - z
        hi = stats.binom.ppf(1 - gamma / 2, n, z) / n - z
        x = np.concatenate([[0.0], z, [1.0]])
        # Both curves are pinned to 0 at the ends (every rank is >= 0 and <= n_draws).
        ax.fill_between(x, np.r_[0, lo, 0], np.r_[0, hi, 0], color="0.85", label="95 % simultaneous band")
        ax.plot(x, np.r_[0, ecdf - z, 0], color="C0", lw=1.5, label="ECDF − uniform CDF")
        ax.axhline(0, color="0.4", lw=0.6)
        s = summary.loc[(model_name, name)]
        flag = "" if s.inside_band else "  OUTSIDE BAND"
        ax.set_title(f"{name}\nχ² p={s.p_chisq:.3f}, ECDF p={s.p_ecdf:.3f}{flag}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel("fractional rank of true value (rank / (draws + 1))", fontsize=8)
        ax.set_ylabel("ECDF difference", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(keys) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="lower left")
    models = ", ".join(
        f"{m}: {g.sim.nunique()} sims, {int(g.drop_duplicates('sim').divergences.gt(0).sum())} with divergences"
        for m, g in ranks.groupby("model", sort=False)
    )
    fig.suptitle(f"Simulation-based calibration ({models})", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m model.evaluation.sbc`: SBC of the chosen models; writes the rank table, its uniformity summary
    (<table stem>-uniformity.csv) and figures/sbc-<model>.png."""
    p = argparse.ArgumentParser(prog="python -m model.evaluation.sbc", description=__doc__)
    default = [m.name for _position, m in models.bayesian()]  # the models a default fit fits
    p.add_argument("--models", nargs="+", choices=list(models.REGISTRY), default=default)
    p.add_argument("--sims", type=int, default=100)
    p.add_argument("--seed", type=int, default=20260305)
    p.add_argument("--draws", type=int, default=500, help="posterior draws per chain (2 chains)")
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--raw", type=Path, default=RAW_DIR)
    p.add_argument("--sampler", choices=["nutpie", "pymc"], default="nutpie")
    p.add_argument("--out", type=Path, default=Path("figures"), help="folder for sbc-<model>.png")
    p.add_argument("--table", type=Path, default=Path("runs/sbc.csv"))
    parallel.add_arguments(p)
    args = p.parse_args(argv)
    try:
        parallel.check_engine(args.workers, args.scheduler)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    design = bundled_design(args.raw)
    frames = []
    for name in args.models:
        frames.append(
            run_sbc(
                name,
                args.sims,
                args.seed,
                args.draws,
                args.tune,
                design=design,
                sampler=args.sampler,
                log=lambda msg: print(msg, file=sys.stderr, flush=True),
                workers=args.workers,
                scheduler=args.scheduler,
            )
        )
        ecdf_figure(frames[-1], args.out / f"sbc-{name}.png")
    ranks = pd.concat(frames, ignore_index=True)
    summary = uniformity(ranks)
    atomic.write_text(args.table, ranks.to_csv(index=False))
    atomic.write_text(args.table.with_name(f"{args.table.stem}-uniformity.csv"), summary.to_csv(index=False))
    # What produced these ranks, so that the report can tell a current calibration from a stale one.
    record = {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_code_hash": model_code_hash(),
        "data_hash": raw_data_hash(args.raw),
        "models": args.models,
        "sims": args.sims,
        "seed": args.seed,
        "draws_per_chain": args.draws,
        "chains": 2,
    }
    atomic.write_text(args.table.with_name(f"{args.table.stem}-manifest.json"), json.dumps(record, indent=2) + "\n")
    print(summary.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
