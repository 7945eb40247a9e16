"""PSIS-LOO of the fitted vote-share models, with an exact refit of every race-round whose Pareto k-hat is too high
(arviz-stats `reloo`), and the main model chosen by it: the registered main candidate LOO prefers on the fitted data.
Held-out skill never enters the choice."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import SamplingWrapper, compare, loo, reloo

from model.inference.importance import khat_threshold
from model.inference.sampling import SamplerSettings, sample_each
from model.models.base import BayesModel, Inputs, posterior_draws
from model.priors import Prior

# Keeps the refits' seeds apart from the fits, folds and forecast dates of the same run.
RELOO_SEED_OFFSET = 7000
# More races than this over the k-hat threshold means the posterior itself is too thin for PSIS (a quick run with
# few draws), not a handful of influential races: the model is then not refitted race by race, its LOO is marked
# unreliable, and the choice of main model falls back to the registry's default. The bundled data's full fit has
# 3 (own money) and 8 (carryover).
MAX_REFITS = 15


class RaceRefit(SamplingWrapper):
    """One race-round left out by a weight of 0 in the model compiled once with per-race weights (the same compiled
    model the leave-one-cycle-out refits use), and its log-likelihood under that refit. A candidate seen only in
    the left-out race keeps its prior in the refit, so their strength is integrated out as LOO asks."""

    def __init__(
        self,
        model: BayesModel,
        inputs: Inputs,
        priors: dict[str, Prior],
        idata,
        seed: int,
        settings: SamplerSettings,
    ) -> None:
        super().__init__(model.build(inputs, priors, weighted=True), idata_orig=idata)
        self.spec, self.inputs, self.seed, self.settings = model, inputs, seed, settings
        self.refitted: list[int] = []

    def sel_observations(self, idx):
        """Race weights with race idx at 0 (the refit's data) and idx itself (the excluded race)."""
        i = int(np.ravel(idx)[0])
        keep = np.ones(self.inputs.data.n_race, dtype=bool)
        keep[i] = False
        return self.spec.train_update(self.inputs, keep), i

    def sample(self, modified_observed_data):
        """Sample the weighted model with the race left out (a seed per race, so the refits reproduce)."""
        i = int(np.flatnonzero(modified_observed_data["race_weight"] == 0)[0])
        self.refitted.append(i)
        seed = self.seed + RELOO_SEED_OFFSET + self.spec.loco_seed_offset + i
        return next(sample_each(self.model, [modified_observed_data], [seed], self.settings))

    def get_inference_data(self, fitted_model):
        """The refit's InferenceData, as sample_each returns it."""
        return fitted_model

    def log_likelihood__i(self, excluded_obs, idata__i) -> xr.DataArray:
        """log p(shares of the left-out race | each refit draw), by chain and draw."""
        per_race = self.spec.race_log_lik_draws(posterior_draws(idata__i), self.inputs)
        if per_race is None:  # loo_with_refits only wraps models that have the numpy twin
            raise TypeError(f"{self.spec.name} has no race log-likelihood twin")
        ll = per_race[:, int(excluded_obs)]
        shape = (idata__i.posterior.sizes["chain"], idata__i.posterior.sizes["draw"])
        return xr.DataArray(ll.reshape(shape), dims=("chain", "draw"))


def psis_loo(idata, var_name: str):
    """Pointwise PSIS-LOO of one fit (its Pareto k warnings are answered by the refits and the table's k-hats)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return loo(idata, var_name=var_name, pointwise=True)


def loo_with_refits(
    model: BayesModel, idata, inputs: Inputs, priors, seed: int, settings, first=None
) -> tuple[object, list[int]]:
    """PSIS-LOO of one fitted model over race-rounds (first: its PSIS-LOO when already computed), refitting exactly
    each race whose k-hat exceeds the sample-size threshold min(1 - 1/log10 S, 0.7); returns the ELPD data and the
    refitted race indices."""
    first = psis_loo(idata, model.loo_var) if first is None else first
    bad = int((np.asarray(first.pareto_k) > khat_threshold(_n_draws(idata))).sum())
    if bad == 0 or bad > MAX_REFITS or not _has_race_twin(model, idata, inputs):
        return first, []  # nothing to refit, a posterior too thin for PSIS, or no numpy twin to refit with
    wrapper = RaceRefit(model, inputs, priors, idata, seed, settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reloo(wrapper, loo_orig=first, var_name=model.loo_var, pointwise=True), wrapper.refitted


def _has_race_twin(model: BayesModel, idata, inputs: Inputs) -> bool:
    """Whether the model has the numpy twin of its race likelihood, asked of one draw (not the whole posterior)."""
    one_draw = {k: v[:1] for k, v in posterior_draws(idata).items()}
    return model.race_log_lik_draws(one_draw, inputs) is not None


def loo_comparison(result: dict, candidates: list[str]) -> tuple[pd.DataFrame, dict]:
    """PSIS-LOO of the fitted models that share the likelihood of the main candidates (same races, same pointwise
    variable), best first, and the choice of main model among `candidates`: the one with the highest ELPD. The
    candidates' races with a high k-hat are refitted exactly; other models keep PSIS and show their largest k-hat.
    Empty table and no choice when fewer than two such models were fitted."""
    fitted = result["models"]
    var = next((fitted[n].loo_var for n in candidates if n in fitted), None)
    names = [n for n, m in fitted.items() if m.loo_var == var]
    if var is None or len(names) < 2:
        return pd.DataFrame(), {}
    elpd, refitted, first_k = {}, {}, {}
    for name in names:
        idata = result["idata"][name]
        first = psis_loo(idata, var)
        first_k[name] = float(np.asarray(first.pareto_k).max())
        if name in candidates:  # the choice rests on these; the others are shown with their PSIS k-hat
            elpd[name], refitted[name] = loo_with_refits(
                fitted[name], idata, result["inputs"], result["priors"], result["seed"], result["secondary"], first
            )
        else:
            elpd[name], refitted[name] = first, []
    table = compare(elpd, round_to=None)
    keep = [c for c in ("rank", "elpd", "p", "elpd_diff", "weight", "se", "dse", "warning") if c in table]
    out = table[keep].rename_axis("model").reset_index()
    race_ids = result["inputs"].data.race_ids
    out["max_pareto_k_psis"] = out.model.map(first_k)
    out["max_pareto_k"] = out.model.map(lambda m: _max_remaining_k(elpd[m], refitted[m]))
    out["refitted_races"] = out.model.map(lambda m: ";".join(str(race_ids[i]) for i in sorted(refitted[m])))
    unreliable = [
        n
        for n in names
        if n in candidates and _max_remaining_k(elpd[n], refitted[n]) > khat_threshold(_n_draws(result["idata"][n]))
    ]
    choice = main_choice(elpd, [n for n in candidates if n in names])
    if unreliable and choice:  # an ELPD that still rests on bad k-hats does not choose anything
        choice |= {"chosen": None, "unreliable": unreliable}
    return out, choice


def _n_draws(idata) -> int:
    """Posterior draws over all chains."""
    return int(idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"])


def _max_remaining_k(elpd_data, refitted: list[int]) -> float:
    """The largest k-hat among race-rounds that kept their PSIS estimate (a refitted race has no k-hat)."""
    k = np.asarray(elpd_data.pareto_k).ravel().copy()
    k[refitted] = -np.inf
    return float(k.max())


def main_choice(elpd: dict, candidates: list[str]) -> dict:
    """The candidate with the highest ELPD, and every other candidate whose ELPD is within one standard error of
    the paired difference (sqrt(n) x sd of the pointwise differences, as az.compare's dse): the data cannot tell
    those apart."""
    if not candidates:
        return {}
    total = {n: float(np.sum(np.asarray(elpd[n].elpd_i))) for n in candidates}
    ranked = sorted(candidates, key=lambda n: -total[n])
    best = ranked[0]
    close = []
    for other in ranked[1:]:
        diff = np.asarray(elpd[best].elpd_i).ravel() - np.asarray(elpd[other].elpd_i).ravel()
        dse = float(np.sqrt(diff.size) * diff.std(ddof=1))
        gap = total[best] - total[other]
        if gap <= dse:
            close.append({"model": other, "elpd_diff": round(gap, 2), "dse": round(dse, 2)})
    return {
        "rule": "highest PSIS-LOO ELPD on the fitted data among the registered main candidates (exact refits where "
        "k-hat exceeds min(1 - 1/log10 S, 0.7)); held-out skill never enters",
        "candidates": ranked,
        "chosen": best,
        "elpd": round(total[best], 2),
        "within_one_dse": close,
    }
