"""The protocol every Bayesian model implements, the inputs it receives, and helpers shared by the models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import scipy.sparse as sp

from model.dataset.features import VoteShareData
from model.dataset.tables import CleanData
from model.models.points import Effect, points_effects
from model.priors import Prior

__all__ = [
    "BayesModel",
    "Effect",
    "Inputs",
    "draws",
    "inputs_of",
    "load_inputs",
    "posterior_draws",
    "prior_rv",
    "sparse_matvec",
]


@dataclass(frozen=True)
class Inputs:
    """Everything a model may need, built once from one raw data directory; each model takes what it uses."""

    raw: dict[str, pd.DataFrame] | None  # the validated raw tables
    cr: pd.DataFrame | None  # candidate_races: one row per candidate per race-round
    h2h: pd.DataFrame  # head_to_head: one row per race-round with a known top two
    data: VoteShareData  # arrays of the multinomial vote-share models
    clean: CleanData | None = None  # the one pass over the data these came from (what a run folder keeps)

    def __getitem__(self, key: str) -> Any:
        """inputs['data'] as inputs.data (older callers used a dict)."""
        return getattr(self, key)


def load_inputs(raw_dir: Path) -> Inputs:
    """Validated raw tables of raw_dir turned into every model's inputs, in one pass over the data (load_raw and
    tables.clean_data, once each). The endorsement terms are those of the directory's endorser_terms.csv that
    endorse a modelled candidate: candidate_races gets a 0/1 column per term and the head-to-head rows a d_<term>
    difference per term."""
    from model.dataset.raw import load_raw
    from model.dataset.tables import clean_data

    return inputs_of(clean_data(load_raw(raw_dir)))


def inputs_of(clean: CleanData) -> Inputs:
    """Every model's inputs from one pass over the data (see load_inputs); nothing is recomputed."""
    from model.dataset.features import vote_share_data, with_term_columns, with_term_differences

    raw = clean.raw
    data = vote_share_data(clean.cr, raw, figures=clean.figures)
    cr = with_term_columns(clean.cr, raw, data.terms)
    return Inputs(raw, cr, with_term_differences(clean.h2h, cr, data.terms), data, clean)


def draws(idata, name: str) -> np.ndarray:
    """Posterior draws of a variable with chains and draws stacked on the first axis."""
    x = idata.posterior[name].to_numpy()
    return x.reshape(-1, *x.shape[2:])


def posterior_draws(idata) -> dict[str, np.ndarray]:
    """Every posterior variable's draws (chains and draws stacked on the first axis)."""
    return {k: draws(idata, k) for k in idata.posterior.data_vars}


PRIOR_PARAMETERS = "prior_parameters"


def prior_rv(name: str, priors: dict[str, Prior], **kwargs) -> pt.TensorVariable:
    """Create the PyMC random variable for a named prior inside the current model.

    Its parameters are entries of one pm.Data vector (PRIOR_PARAMETERS, in the order the priors are created), not
    constants: models built under different priors of the same families then have one graph, so one compiled model
    serves the fit, the prior sweep and a priors edit. One vector, not one pm.Data per parameter: nutpie's compiled
    wrapper unrolls a loop over every pm.Data, and 40 scalars cost 17 s of a 28 s compile (11 s with one vector)."""
    p = priors[name]
    values = np.array([float(v) for v in p.params.values()])
    model = pm.modelcontext(None)
    if PRIOR_PARAMETERS in model.named_vars:
        vector = model.named_vars[PRIOR_PARAMETERS]
        start = len(vector.get_value())
        vector.set_value(np.concatenate([vector.get_value(), values]))
    else:
        vector, start = pm.Data(PRIOR_PARAMETERS, values), 0
    par = {k: vector[start + i] for i, k in enumerate(p.params)}
    if p.dist == "normal":
        return pm.Normal(name, mu=par["mu"], sigma=par["sigma"], **kwargs)
    if p.dist == "halfnormal":
        return pm.HalfNormal(name, sigma=par["sigma"], **kwargs)
    if p.dist == "lognormal":
        return pm.LogNormal(name, mu=par["mu"], sigma=par["sigma"], **kwargs)
    raise ValueError(f"unknown prior family {p.dist}")


class BayesModel:
    """The protocol of a registered Bayesian model: every product (fit, diagnostics, figures, effects,
    leave-one-cycle-out, SBC, bench, report) asks the model through these members and never by its name.

    A new model is one module in model/models/ with a subclass and one `register(...)` line in
    model/models/__init__.py (or a `register` call from anywhere, e.g. a test); `register(m, main=True)` makes
    it the main model, whose name the manifest records as main_model for the report and the claims. A variant
    of the Dirichlet vote-share likelihood should subclass VoteShareModel (model/models/vote_share.py), which
    implements every member below and asks the subclass only for its linear predictor. Members:

    Identity
      name, label, description: registry key (also the posterior-<name>.nc file and the 'model' column of
        every table), a short label for tables and a one-line description for the report.
    Data it needs
      cannot_run(inputs) -> None, or a one-line reason this dataset cannot support the model (then the
        fit skips it and says why in the manifest and the report). n_rows(inputs): observations (bench).
    PyMC model
      build(inputs, priors, weighted=False) -> pm.Model. Only builds. Every observed quantity that SBC or
        leave-one-cycle-out replaces must be pm.Data, so one compiled model serves every dataset.
        weighted=True: the likelihood carries per-race weights (pm.Data) that loco_update can set to 0.
    Numpy twins (for LOO, PPC, counterfactuals and simulation)
      add_groups(idata, pm_model, inputs, prior, rng, seed): add log_likelihood (with variable loo_var),
        posterior_predictive and observed_data (variable observed_var), prior_predictive and log_prior.
      simulate(inputs, truth, rng) -> dict of pm.Data values drawn from the model at one prior draw
        (`truth`: every prior and prior-predictive variable), or None to reject that draw (SBC).
      p_first(idata, inputs, held_out, rng) -> P(each held-out candidate row of inputs.data.frame gets the
        most votes in its race), for leave-one-cycle-out; held_out is a boolean mask over those rows.
      loco_update(inputs, cycle) -> pm.Data values of the weighted model that drop the cycle's races from
        the likelihood, or None when the other cycles cannot support a fit.
      train_update(inputs, race_mask) -> pm.Data values that fit only the race-rounds of inputs.data where
        race_mask is True (the runoff forecast), or None when the model cannot (default).
      runoff_forecast: True to be fitted in the runoff forecast beside the main model (default False).
      in_default_fit: False to fit the model only when named (`make fit MODELS="..."`); default True.
      interval_hits(idata, inputs, held_out_race, rng) -> per held-out share, whether its 50 % and 90 %
        predictive intervals cover it (columns in50, in90), or None (default: the model predicts no shares).
    Gates and figures
      gated: prefixes of posterior variables whose R-hat/ESS gate the fit; figure_vars: the variables of
        rank and trace plots; observed_var, loo_var, ppc_xlabel; sbc_parameters: scalars ranked in SBC
        (figure_vars_for / sbc_parameters_for(inputs) add parameters named by the data, e.g. beta_<term>).
      figure_kinds: extra figures of model/outputs/figures.py FIGURE_KINDS that apply (e.g. 'ppc_race').
    Effects
      effects(inputs) -> tuple[Effect, ...]: the named effects reported in points of share (see Effect);
        a parameter the fit lacks is left out, and each row is converted by model/models/points.py;
      uninformed(inputs) -> {parameter: reason}: terms the data cannot inform (no variation), left out of the
        effects and listed in the manifest (uninformed_terms) and the report (default: none).
    Priors
      Create random variables with prior_rv(name, priors): priors come from the priors file by name, and a
      new parameter needs a default in model/priors.py DEFAULT_PRIORS (the file loader rejects unknown names).
    Seeds
      A fit samples model number i of the registry with seed + i (append new models: earlier ones keep their
      seeds); leave-one-cycle-out uses seed + loco_seed_offset + fold index.
    Main-model products (asked only of the model marked main)
      tables(idata, inputs, rng, reference_usd) -> {file stem: frame}, e.g. counterfactuals (default none).
      prior_check(inputs, priors, seed) -> (predicted leader shares, observed leader shares, prior draws of
        the coefficients) for the prior predictive figure, or None (default).
    """

    name: str = ""
    label: str = ""
    description: str = ""
    gated: tuple[str, ...] = ("beta_",)
    figure_vars: tuple[str, ...] = ()
    observed_var: str = ""
    loo_var: str = ""
    ppc_xlabel: str = ""
    sbc_parameters: tuple[str, ...] = ()
    # The main model of a run is the one of these PSIS-LOO prefers on the fitted data (evaluation/loo.py); the
    # registry's main (register(..., main=True)) is the default when fewer than two are fitted.
    main_candidate: bool = False
    figure_kinds: tuple[str, ...] = ()
    # Leave-one-cycle-out seeds are seed + loco_seed_offset + fold index: kept per model so that folds of
    # different models do not share seeds and earlier runs' numbers stay reproducible.
    loco_seed_offset: int = 0
    runoff_forecast: bool = False
    # Posterior draws per chain of the main fit unless the user sets them (make fit DRAWS=...): enough for bulk and
    # tail ESS >= 400 with a margin on every gated parameter.
    draws: int = 2000
    # False: fitted only when named (make fit MODELS="..."), e.g. a variant kept for comparison whose sampler needs
    # more than the default settings; the registry still lists it.
    in_default_fit: bool = True

    def gated_vars(self, idata) -> list[str]:
        """The posterior variables of a fit whose R-hat and ESS gate it (those named by a gated prefix)."""
        return [v for v in idata.posterior.data_vars if any(v.startswith(g) for g in self.gated)]

    def figure_vars_for(self, inputs: Inputs) -> tuple[str, ...]:
        """Variables of the rank and trace figures on these inputs (default: figure_vars)."""
        return self.figure_vars

    def sbc_parameters_for(self, inputs: Inputs) -> tuple[str, ...]:
        """Scalars ranked in SBC on these inputs (default: sbc_parameters)."""
        return self.sbc_parameters

    def n_rows(self, inputs: Inputs) -> int:
        """Number of observations the model fits on these inputs (default: candidate rows of the vote-share data)."""
        return len(inputs.data.frame)

    def cannot_run(self, inputs: Inputs) -> str | None:
        """None when the model can be fitted to these inputs, else a one-line reason."""
        return None

    def build(self, inputs: Inputs, priors: dict[str, Prior], weighted: bool = False) -> pm.Model:
        """The PyMC model on these inputs and priors."""
        raise NotImplementedError

    def add_groups(self, idata, pm_model: pm.Model, inputs: Inputs, prior, rng: np.random.Generator, seed: int):
        """Add log-likelihood, predictive, observed-data and log-prior groups to a posterior."""
        raise NotImplementedError

    def effects(self, inputs: Inputs) -> tuple[Effect, ...]:
        """The named effects this model reports."""
        return ()

    def uninformed(self, inputs: Inputs) -> dict[str, str]:
        """Parameters the data cannot inform (their covariate does not vary), each with a one-line reason: their
        effects are left out of effects.csv and the report, and the manifest lists them (default: none)."""
        return {}

    def simulate(self, inputs: Inputs, truth: dict[str, np.ndarray], rng: np.random.Generator) -> dict | None:
        """pm.Data values of a dataset drawn at one prior draw (SBC), or None to reject the draw."""
        raise NotImplementedError

    def loco_update(self, inputs: Inputs, cycle: int) -> dict[str, np.ndarray] | None:
        """pm.Data values that hold out one cycle, or None when the fold cannot be fitted."""
        return None

    def train_update(self, inputs: Inputs, race_mask: np.ndarray) -> dict[str, np.ndarray] | None:
        """pm.Data values that fit only the masked race-rounds, or None when the model cannot."""
        return None

    def interval_hits(
        self, idata, inputs: Inputs, held_out_race: np.ndarray, rng: np.random.Generator
    ) -> pd.DataFrame | None:
        """Whether held-out shares fall in their 50 % and 90 % predictive intervals, or None."""
        return None

    def p_first(self, idata, inputs: Inputs, held_out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """P(most votes in its race) for each held-out candidate row."""
        raise NotImplementedError

    def race_log_lik_draws(self, post: dict[str, np.ndarray], inputs: Inputs) -> np.ndarray | None:
        """Log-likelihood of each race-round per posterior draw (draw, race), or None: then the held-out fits
        (leave-one-cycle-out, the runoff forecast) are exact refits, never importance sampling."""
        return None

    def redraw_cycle_own(
        self, post: dict[str, np.ndarray], inputs: Inputs, cycle: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray] | None:
        """post with the parameters only one cycle's races inform (its group deviations, candidates seen only
        then) drawn afresh from their population given each draw's scales, or None when the model cannot."""
        return None

    def predictive_draws(self, post: dict[str, np.ndarray], inputs: Inputs) -> dict[str, np.ndarray]:
        """The draws p_first and interval_hits read, recomputed from post (default: post itself)."""
        return post

    def tables(self, idata, inputs: Inputs, rng: np.random.Generator, reference_usd: float) -> dict[str, pd.DataFrame]:
        """Main-model tables, by file stem (none by default)."""
        return {}

    def prior_check(self, inputs: Inputs, priors: dict[str, Prior], seed: int):
        """Inputs of the prior predictive figure, or None when the model has none."""
        return None


def sparse_matvec(matrix: sp.sparray | sp.spmatrix, vec: pt.TensorVariable) -> pt.TensorVariable:
    """matrix @ vec in PyTensor for a scipy sparse constant: each non-zero's product scattered into its row (a
    tiled 1000x dataset's (evidence, cell) or (row, row) matrices would not fit in memory dense)."""
    coo = sp.coo_array(matrix)
    products = pt.as_tensor(coo.data.astype(float)) * vec[coo.col]
    return pt.inc_subtensor(pt.zeros(coo.shape[0])[coo.row], products)


def model_effects(
    model: BayesModel, idata, inputs: Inputs, reference_usd: float | dict[str, float], label: str | None = None
):
    """A fitted model's named effects in points of share (label: the 'model' column, default its name), each money
    effect from its channel's reference (money_references); terms the data cannot inform are left out."""
    uninformed = model.uninformed(inputs)
    specs = tuple(e for e in model.effects(inputs) if e.parameter not in uninformed)
    beta = {e.parameter: draws(idata, e.parameter) for e in specs if e.parameter in idata.posterior}
    return points_effects(beta, reference_usd, label or model.name, specs)
