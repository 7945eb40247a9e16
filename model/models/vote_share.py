"""VoteShareModel: the multinomial-logit vote-share family. The Dirichlet likelihood over race-round components,
its numpy twins, predictive checks, P(first), counterfactuals and SBC simulation live here once; a variant
only says how its linear predictor eta is built (in PyMC and in numpy) and where its money comes from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from model.dataset.features import VoteShareData, turnout_z
from model.dataset.terms import Term
from model.models.base import BayesModel, Inputs, draws, prior_rv
from model.models.dirichlet import (
    _PT,
    component_marginal_loglik,
    component_predictive,
    dirichlet_loglik,
    p_first,
    segment_max,
)
from model.models.informed import vote_share_uninformed
from model.models.points import Effect
from model.models.scenarios import counterfactuals, whatif_draws, win_probability_curve
from model.priors import Prior, with_term_defaults

# A leave-one-cycle-out fold needs this many race-rounds in the other cycles (fewer cannot pin down the slopes).
MIN_TRAINING_RACES = 5
# A cycle's or district's deviation of a money slope (support or oppose) is centred (deviation ~ N(0, tau)) when the
# group's own races pin it, else non-centred (z ~ N(0, 1), deviation = tau z). With little data a deviation is
# pinned by the prior as much as by its data, and the centred form has a funnel between tau and the deviations
# (divergences, low ESS of tau); with much, each deviation is pinned by its own races to a posterior sd well under
# tau, and the non-centred form is the one whose tau and z trade off (Betancourt & Girolami 2015; Papaspiliopoulos
# et al. 2007). How much a group's races say about its slope is measured by slope_information: the sum over its
# candidate rows of the squared within-race deviation of log(1 + $k) money of that stance (a race where everyone
# has the same money says nothing). A slope's data sd is then about s / sqrt(information), s ~ 0.5 the residual sd
# of a log share (Dirichlet noise at concentration ~20, candidate strengths of sd ~0.3); 400 puts it at 0.025, half
# the simulated group sd of 0.05 and below the tau priors' scale. The bundled data have at most 240 in a group,
# so they stay non-centred (their fit is unchanged). Measured on the main model's simulated growth data: counting
# race-rounds with money instead centred groups whose races carry no contrast in the plug-in money (2011's and
# 2015's oppose IE is known only from figures that give no candidate a plug-in total), and at 100x
# beta_oppose_cycle fell to bulk ESS 48 with R-hat 1.06 in 2 x 1000 draws (though with every oppose deviation
# non-centred it still had ESS 45 in 2 x 500: the oppose slope mixes slowly at 100x whatever its form). Per
# group, not per factor: a factor-wide rule never centred a cycle, because 2026 has no support IE at all.
CENTRED_MIN_INFORMATION = 400.0
COVERAGE_LEVELS = (0.5, 0.9)  # central predictive intervals whose coverage of held-out shares is reported


def slope_information(data: VoteShareData, stance: str) -> dict[str, np.ndarray]:
    """Per factor (cycle, district), each group's sum of squared within-race deviations of log(1 + $k) money of
    one stance (the plug-in figures): what its races can say about its slope, up to the residual variance."""
    x = data.log_support if stance == "support" else data.log_oppose
    rows = np.bincount(data.race_idx, minlength=data.n_race)
    race_mean = np.bincount(data.race_idx, x, minlength=data.n_race) / np.maximum(rows, 1)
    squared = (x - race_mean[data.race_idx]) ** 2
    return {
        "cycle": np.bincount(data.cycle_idx, squared, minlength=len(data.cycles)),
        "district": np.bincount(data.district_idx, squared, minlength=len(data.districts)),
    }


def centred_groups(data: VoteShareData, stance: str) -> dict[str, np.ndarray]:
    """Per factor (cycle, district) of one money slope: which groups' deviations are centred (slope_information
    of CENTRED_MIN_INFORMATION or more); the others stay non-centred."""
    return {factor: info >= CENTRED_MIN_INFORMATION for factor, info in slope_information(data, stance).items()}


def parameterisation(data: VoteShareData) -> str:
    """Which slope deviations are centred, as the growth rows record it."""

    def describe(factor: str, rich: np.ndarray) -> str:
        if rich.all():
            return f"{factor} centred"
        return f"{factor} non-centred" if not rich.any() else f"{factor} {rich.sum()}/{rich.size} centred"

    return "; ".join(
        f"{stance}: " + ", ".join(describe(f, rich) for f, rich in centred_groups(data, stance).items())
        for stance in ("support", "oppose")
    )


def _mixed_groups(value_name: str, z_name: str, loc, tau, rich: np.ndarray) -> pt.TensorVariable:
    """A factor's group values N(loc, tau), centred (free values `<value_name>_centred`) where rich and
    non-centred (loc + tau z, free z `<z_name>_non_centred`) elsewhere, stitched into one vector in group order."""
    centred = pm.Normal(f"{value_name}_centred", loc, tau, shape=int(rich.sum()))
    z = pm.Normal(f"{z_name}_non_centred", 0, 1, shape=int((~rich).sum()))
    out = pt.set_subtensor(pt.zeros(len(rich))[np.flatnonzero(rich)], centred)
    return pt.set_subtensor(out[np.flatnonzero(~rich)], loc + tau * z)


class VoteShareModel(BayesModel):
    """Multinomial-logit vote shares with a Dirichlet likelihood (overdispersion) over each race-round's
    components (a candidate with a known share, or the lump of candidates whose shares are unknown).

    The standard linear predictor (eta, built by `eta` and mirrored in numpy by `eta_draws`): log money
    (diminishing returns), support/oppose slopes partially pooled across cycles and districts, incumbency,
    prior elected office (candidate quality), endorsements, turnout interactions (turnout imputed by its era mean
    where unknown) and an on-cycle x UTLA
    term. Race-level terms have no main effect: they cancel in the within-race softmax.

    To add a variant (e.g. candidate effects shared across rounds, a runoff reallocation term), subclass this
    class, or VoteShareLatent to keep the latent-money measurement model, and override:
      - coords(data): add any new dims (call super().coords(data) and extend the dict), e.g. a 'person' dim
        from data.frame.candidate_id for effects shared by every round a candidate runs;
      - eta(data, priors, plug_in): return super().eta(data, priors, plug_in) plus your terms (create their
        random variables with prior_rv, so their priors come from the priors file by name; forward plug_in);
      - eta_draws(post, data, log_support=None, log_oppose=None): super().eta_draws(...) plus the same terms in
        numpy over posterior draws (post: name -> draws on axis 0). It must equal the PyMC eta draw by draw:
        log-likelihoods, predictive checks, P(first) and the counterfactuals (which replace the money) use it;
      - effects(inputs): extend super().effects(inputs) if your terms belong in the effects table;
      - name, label, description; gated / figure_vars / sbc_parameters if you add scalar parameters;
      - cannot_run(inputs) if the variant needs something a dataset may lack (e.g. a candidate who ran twice).
    Everything else (likelihood, pm.Data for SBC and leave-one-cycle-out, groups, figures, counterfactuals,
    P(win)) is inherited. Keep the order in which random variables are created stable: it fixes the draws."""

    gated: tuple[str, ...] = ("beta_", "tau_", "concentration", "money_log")
    # Endorsement terms (beta_<term>) are inserted after beta_incumbent by figure_vars_for / sbc_parameters_for.
    figure_vars: tuple[str, ...] = ("beta_support", "beta_oppose", "beta_incumbent", "concentration")
    observed_var = "component_share"
    # The joint (per-race) likelihood; the per-component Beta marginals in log_likelihood are for LOO-PIT only.
    loo_var = "vote_share_race"
    ppc_xlabel = "vote share of each candidate (or lump of candidates with unknown shares), 0-1"
    sbc_parameters: tuple[str, ...] = ("beta_support", "beta_oppose", "beta_incumbent", "concentration")
    figure_kinds = ("ppc_race",)

    # ------------------------------------------------------------ data and PyMC model

    def cannot_run(self, inputs: Inputs) -> str | None:
        """A vote-share model needs at least one contested race-round with a known share."""
        if inputs.data.n_race == 0:
            return "no contested race-round with a known vote share"
        return None

    def coords(self, data: VoteShareData) -> dict[str, list]:
        """Named dims of the PyMC model."""
        return {
            "candidate": [f"{r} {c}" for r, c in zip(data.frame.race_id, data.frame.candidate_id, strict=True)],
            "race": data.race_ids,
            "cycle": data.cycles,
            "district": data.districts,
            "component": data.component_label,
        }

    def build(
        self, inputs: Inputs, priors: dict[str, Prior], weighted: bool = False, plug_in: bool = False
    ) -> pm.Model:
        """The PyMC model; plug_in=True uses the reported money even in a latent-money variant (prior checks).

        The likelihood is always weighted: observed shares and race weights are pm.Data, so SBC swaps in
        simulated shares and leave-one-cycle-out sets a held-out cycle's weights to 0 without recompiling."""
        data = inputs.data
        with pm.Model(coords=self.coords(data)) as model:
            log_share = pm.Data("log_component_share", np.log(data.component_share), dims="component")
            race_weight = pm.Data("race_weight", np.ones(data.n_race), dims="race")
            eta = pm.Deterministic("eta", self.eta(data, priors, plug_in), dims="candidate")
            concentration = prior_rv("concentration", priors)
            loglik = dirichlet_loglik(eta, concentration, data, xp=_PT, log_share=log_share)
            pm.Potential("vote_share_loglik", (race_weight * loglik).sum())
        return model

    def group_slope(self, stance: str, mean, tau_c, tau_d, data: VoteShareData) -> pt.TensorVariable:
        """A money slope per candidate row: mean + cycle deviation + district deviation, each group non-centred
        (z ~ N(0, 1) times tau) or centred (the deviation ~ N(0, tau)) as centred_groups says; z_cycle_<stance>
        and z_district_<stance> exist either way (as deterministics where centred), so the numpy twin is the same.

        A factor whose groups are all alike keeps one free vector (the graphs built before groups could differ);
        a mixed factor has a centred vector for its data-rich groups and a non-centred one for the rest."""
        rich = centred_groups(data, stance)
        cycles, districts = rich["cycle"], rich["district"]
        # Created first and in this order: the graphs (and so the draws) of data with no centred group are those
        # built before groups could be centred.
        z_c = None if cycles.any() else pm.Normal(f"z_cycle_{stance}", 0, 1, dims="cycle")
        z_d = None if districts.any() else pm.Normal(f"z_district_{stance}", 0, 1, dims="district")
        if cycles.all():
            beta_cycle = pm.Normal(f"beta_{stance}_cycle", mean, tau_c, dims="cycle")
            pm.Deterministic(f"z_cycle_{stance}", (beta_cycle - mean) / tau_c, dims="cycle")
            cycle_term = beta_cycle[data.cycle_idx]
        elif z_c is not None:
            pm.Deterministic(f"beta_{stance}_cycle", mean + tau_c * z_c, dims="cycle")
            cycle_term = mean + tau_c * z_c[data.cycle_idx]
        else:
            beta_cycle = _mixed_groups(f"beta_{stance}_cycle", f"z_cycle_{stance}", mean, tau_c, cycles)
            pm.Deterministic(f"beta_{stance}_cycle", beta_cycle, dims="cycle")
            pm.Deterministic(f"z_cycle_{stance}", (beta_cycle - mean) / tau_c, dims="cycle")
            cycle_term = beta_cycle[data.cycle_idx]
        if z_d is not None:
            return cycle_term + tau_d * z_d[data.district_idx]
        if districts.all():
            dev_d = pm.Normal(f"dev_district_{stance}", 0, tau_d, dims="district")
        else:
            dev_d = _mixed_groups(f"dev_district_{stance}", f"z_district_{stance}", 0.0, tau_d, districts)
        pm.Deterministic(f"z_district_{stance}", dev_d / tau_d, dims="district")
        return cycle_term + dev_d[data.district_idx]

    def log_money(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False):
        """log(1 + $k) support and oppose IE per candidate inside the model: here the plug-in totals."""
        return data.log_support, data.log_oppose

    def eta(self, data: VoteShareData, priors: dict[str, Prior], plug_in: bool = False) -> pt.TensorVariable:
        """The standard linear predictor (candidate,), creating its random variables in the current model.

        Endorsement terms come from the data (data.terms); those with turnout interactions also get
        beta_turnout_<term> and beta_oncycle_<term>. Their priors are found by name (documented defaults when
        the priors file lacks them)."""
        priors = with_term_defaults(priors, data.terms)
        b_incumbent = prior_rv("beta_incumbent", priors)
        b_experienced = prior_rv("beta_experienced", priors)
        b_term = [prior_rv(f"beta_{t.term}", priors) for t in data.terms]
        interacting = [k for k, t in enumerate(data.terms) if t.turnout_interactions]
        b_turnout = {k: prior_rv(f"beta_turnout_{data.terms[k].term}", priors) for k in interacting}
        b_turnout_support = prior_rv("beta_turnout_support", priors)
        b_oncycle = {k: prior_rv(f"beta_oncycle_{data.terms[k].term}", priors) for k in interacting}
        slopes = {}
        for stance in ("support", "oppose"):
            mean = prior_rv(f"beta_{stance}", priors)
            tau_c = prior_rv(f"tau_cycle_{stance}", _alias(priors, "tau_cycle"))
            tau_d = prior_rv(f"tau_district_{stance}", _alias(priors, "tau_district"))
            slopes[stance] = self.group_slope(stance, mean, tau_c, tau_d, data)
        log_support, log_oppose = self.log_money(data, priors, plug_in)
        tz = turnout_z(data.turnout_filled, data.turnout_centre)[data.race_idx]
        on_cycle = data.on_cycle[data.race_idx]
        # The terms are summed in this order: the sampler's draws depend on it through floating point.
        eta = slopes["support"] * log_support + slopes["oppose"] * log_oppose + b_incumbent * data.incumbent
        eta = eta + b_experienced * data.experienced
        for k, b in enumerate(b_term):
            eta = eta + b * data.endorsement[:, k]
        for k, b in b_turnout.items():
            eta = eta + b * data.endorsement[:, k] * tz
        eta = eta + b_turnout_support * log_support * tz
        for k, b in b_oncycle.items():
            eta = eta + b * data.endorsement[:, k] * on_cycle
        return eta

    # ------------------------------------------------------------ numpy twins

    def log_money_draws(self, post: dict[str, np.ndarray], data: VoteShareData) -> tuple[np.ndarray, np.ndarray]:
        """log(1+$k) support and oppose per candidate (draws or 1, candidate): latent draws when the fit has
        them (money_k), else the plug-in totals."""
        if "money_k" not in post:
            n = len(data.log_support)
            return np.broadcast_to(data.log_support, (1, n)), np.broadcast_to(data.log_oppose, (1, n))
        money_k = post["money_k"]
        padded = np.concatenate([np.log1p(money_k), np.zeros((len(money_k), 1))], axis=1)
        return padded[:, data.support_cell], padded[:, data.oppose_cell]

    def eta_draws(
        self, post: dict[str, np.ndarray], data: VoteShareData, log_support=None, log_oppose=None
    ) -> np.ndarray:
        """eta (draws, candidate) from posterior draws, with optional replacement money (log(1+$k))."""
        if log_support is None or log_oppose is None:
            actual_s, actual_o = self.log_money_draws(post, data)
            log_support = actual_s if log_support is None else log_support
            log_oppose = actual_o if log_oppose is None else log_oppose
        tz = turnout_z(data.turnout_filled, data.turnout_centre)[data.race_idx]
        on_cycle = data.on_cycle[data.race_idx]
        slope = {stance: group_slope_draws(post, data, stance) for stance in ("support", "oppose")}
        eta = (
            slope["support"] * log_support
            + slope["oppose"] * log_oppose
            + post["beta_incumbent"][:, None] * data.incumbent
        )
        eta = eta + post["beta_experienced"][:, None] * data.experienced
        for k, t in enumerate(data.terms):
            eta = eta + post[f"beta_{t.term}"][:, None] * data.endorsement[:, k]
        interacting = [(k, t) for k, t in enumerate(data.terms) if t.turnout_interactions]
        for k, t in interacting:
            eta = eta + post[f"beta_turnout_{t.term}"][:, None] * data.endorsement[:, k] * tz
        eta = eta + post["beta_turnout_support"][:, None] * log_support * tz
        for k, t in interacting:
            eta = eta + post[f"beta_oncycle_{t.term}"][:, None] * data.endorsement[:, k] * on_cycle
        return eta

    def money_channels(self, post: dict[str, np.ndarray], data: VoteShareData) -> dict[str, tuple]:
        """Per money channel a what-if can move: (log(1 + $k) per row, d eta / d log(1 + $k) per row), each
        (draws or 1, row). eta_draws is linear in a row's own log money of each channel, and a row's money moves
        only its own eta (a runoff's carried-over primary row is another race-round's), so a what-if in one
        race-round is eta + slope x (new - fitted log money) on its rows (tested against eta_draws)."""
        log_support, log_oppose = self.log_money_draws(post, data)
        tz = turnout_z(data.turnout_filled, data.turnout_centre)[data.race_idx]
        support = group_slope_draws(post, data, "support") + post["beta_turnout_support"][:, None] * tz
        return {"support": (log_support, support), "oppose": (log_oppose, group_slope_draws(post, data, "oppose"))}

    def add_groups(self, idata, pm_model: pm.Model, inputs: Inputs, prior, rng: np.random.Generator, seed: int):
        """Add observed data, log-likelihoods, posterior and prior predictive draws (numpy twins)."""
        data = inputs.data
        eta, conc = draws(idata, "eta"), draws(idata, "concentration")
        shape = idata.posterior["concentration"].shape
        comp = {"component": data.component_label}
        race = {"race": data.race_ids}
        loglik_race = dirichlet_loglik(eta, conc, data).reshape(*shape, -1)
        loglik_comp = component_marginal_loglik(eta, conc, data).reshape(*shape, -1)
        pred = component_predictive(eta, conc, data, rng).reshape(*shape, -1)
        p_eta = prior.prior["eta"].to_numpy().reshape(-1, len(data.frame))
        p_conc = prior.prior["concentration"].to_numpy().reshape(-1)
        prior_pred = component_predictive(p_eta, p_conc, data, rng)[None]
        idata["log_likelihood"] = xr.Dataset(
            {
                "vote_share_race": (("chain", "draw", "race"), loglik_race),
                "component_share": (("chain", "draw", "component"), loglik_comp),
            },
            coords={**race, **comp},
        )
        idata["posterior_predictive"] = xr.Dataset(
            {"component_share": (("chain", "draw", "component"), pred)}, coords=comp
        )
        idata["prior_predictive"] = xr.Dataset(
            {"component_share": (("chain", "draw", "component"), prior_pred)}, coords=comp
        )
        idata["observed_data"] = xr.Dataset({"component_share": (("component",), data.component_share)}, coords=comp)
        idata["log_prior"] = pm.stats.compute_log_prior(
            idata, model=pm_model, extend_inferencedata=False, progressbar=False
        )

    def effects(self, inputs: Inputs) -> tuple[Effect, ...]:
        """Money slopes, incumbency, each endorsement term and its turnout / on-cycle interactions."""
        return vote_share_effects(inputs.data.terms)

    def uninformed(self, inputs: Inputs) -> dict[str, str]:
        """Terms whose covariate has no variation within a race-round (or no second level of an interaction's
        moderator), with the reason (model/models/informed.py)."""
        return vote_share_uninformed(inputs.data)

    def figure_vars_for(self, inputs: Inputs) -> tuple[str, ...]:
        """figure_vars with the data's endorsement terms after beta_incumbent."""
        return _with_terms(self.figure_vars, inputs.data.terms)

    def sbc_parameters_for(self, inputs: Inputs) -> tuple[str, ...]:
        """sbc_parameters with the data's endorsement terms after beta_incumbent."""
        return _with_terms(self.sbc_parameters, inputs.data.terms)

    # ------------------------------------------------------------ simulation and skill

    def simulate(self, inputs: Inputs, truth: dict[str, np.ndarray], rng: np.random.Generator) -> dict | None:
        """Component shares drawn at one prior draw; None when a share underflows to exactly 0 (its log is -inf)."""
        shares = component_predictive(truth["eta"][None], np.atleast_1d(truth["concentration"]), inputs.data, rng)[0]
        # No floor: flooring simulated shares at SHARE_FLOOR, as the observed ones are, changed the data of most
        # simulations (small concentrations give tiny shares) so that they no longer came from the model, and
        # miscalibrated the money slopes. Rejecting on the data alone keeps the ranks uniform (Modrak et al. 2023).
        if not (shares > 0).all():
            return None
        return {"log_component_share": np.log(shares)}

    def loco_update(self, inputs: Inputs, cycle: int) -> dict[str, np.ndarray] | None:
        """Race weights that drop one cycle's race-rounds (its latent money evidence stays: it says nothing
        about votes); None when fewer than MIN_TRAINING_RACES race-rounds remain."""
        race_cycle = race_cycles(inputs)
        if not (race_cycle == cycle).any() or (race_cycle != cycle).sum() < MIN_TRAINING_RACES:
            return None
        return {"race_weight": (race_cycle != cycle).astype(float)}

    def train_update(self, inputs: Inputs, race_mask: np.ndarray) -> dict[str, np.ndarray] | None:
        """Race weights 1 on the masked race-rounds, 0 elsewhere; None with fewer than MIN_TRAINING_RACES."""
        if race_mask.sum() < MIN_TRAINING_RACES:
            return None
        return {"race_weight": race_mask.astype(float)}

    def interval_hits(
        self, idata, inputs: Inputs, held_out_race: np.ndarray, rng: np.random.Generator
    ) -> pd.DataFrame | None:
        """Per held-out component with an observed share of its own: whether its central 50 % and 90 %
        predictive intervals contain the observed share."""
        data = inputs.data
        pred = component_predictive(draws(idata, "eta"), draws(idata, "concentration"), data, rng)
        members = np.bincount(data.component_idx, minlength=len(data.component_share))
        keep = held_out_race[data.component_race] & (members == 1)
        out = pd.DataFrame({"component": np.array(data.component_label)[keep]})
        for level in COVERAGE_LEVELS:
            lo, hi = np.quantile(pred[:, keep], [(1 - level) / 2, (1 + level) / 2], axis=0)
            y = data.component_share[keep]
            out[f"in{int(level * 100)}"] = ((y >= lo) & (y <= hi)).astype(float)
        return out

    def p_first(self, idata, inputs: Inputs, held_out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """P(most votes) of the held-out candidate rows under the Dirichlet predictive."""
        return p_first(draws(idata, "eta"), draws(idata, "concentration"), inputs.data, rng)[held_out]

    def race_log_lik_draws(self, post: dict[str, np.ndarray], inputs: Inputs) -> np.ndarray:
        """Dirichlet log-likelihood of each race-round (draw, race) at eta recomputed from post."""
        return dirichlet_loglik(self.eta_draws(post, inputs.data), post["concentration"], inputs.data)

    def redraw_cycle_own(
        self, post: dict[str, np.ndarray], inputs: Inputs, cycle: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """The cycle's deviations of both money slopes redrawn: z ~ N(0, 1) (the numpy twin reads the
        standardised z_cycle_<stance> whether the fit centred that group or not)."""
        k = list(inputs.data.cycles).index(cycle)
        out = dict(post)
        for stance in ("support", "oppose"):
            if f"z_cycle_{stance}" not in post:  # a variant without that money slope (e.g. a test's toy model)
                continue
            z = np.array(post[f"z_cycle_{stance}"], copy=True)
            z[:, k] = rng.standard_normal(len(z))
            out[f"z_cycle_{stance}"] = z
        return out

    def predictive_draws(self, post: dict[str, np.ndarray], inputs: Inputs) -> dict[str, np.ndarray]:
        """eta recomputed from post, and the concentration: all that p_first and interval_hits read."""
        return {"eta": self.eta_draws(post, inputs.data), "concentration": post["concentration"]}

    # ------------------------------------------------------------ main-model products

    def tables(self, idata, inputs: Inputs, rng: np.random.Generator, reference_usd: float) -> dict[str, pd.DataFrame]:
        """Per-candidate counterfactuals and, for a variant with the money slopes, the thinned draws of the
        what-ifs and the P(win) curve against the spending ratio."""
        out = {"counterfactuals": counterfactuals(self, idata, inputs.data, rng)}
        if "beta_support" in idata.posterior:  # a variant without the money slopes has nothing to move
            out["whatif-draws"] = whatif_draws(self, idata, inputs.data)
            beta, conc = draws(idata, "beta_support"), draws(idata, "concentration")
            out["win_probability"] = win_probability_curve(beta, conc, reference_usd)
        return out

    def prior_check(self, inputs: Inputs, priors: dict[str, Prior], seed: int):
        """Prior predictive leader shares (with the reported money plugged in), observed leader shares, and
        prior draws of the money slopes."""
        data = inputs.data
        import warnings

        with self.build(inputs, priors, plug_in=True), warnings.catch_warnings():
            # The Potential is the likelihood, simulated here in numpy; PyMC's warning about it does not apply.
            warnings.simplefilter("ignore", UserWarning)
            prior = pm.sample_prior_predictive(draws=400, random_seed=seed).prior
        eta = prior["eta"].to_numpy().reshape(-1, len(data.frame))
        conc = prior["concentration"].to_numpy().reshape(-1)
        comp = component_predictive(eta, conc, data, np.random.default_rng(seed))
        leader = segment_max(comp, data.component_race, data.n_race)
        observed = segment_max(data.component_share, data.component_race, data.n_race)
        beta = {k: prior[k].to_numpy().reshape(-1) for k in ("beta_support", "beta_oppose") if k in prior}
        return leader, observed, beta


def group_slope_draws(post: dict[str, np.ndarray], data: VoteShareData, stance: str) -> np.ndarray:
    """A money slope per row (draws, row): mean + cycle deviation + district deviation."""
    return (
        post[f"beta_{stance}"][:, None]
        + post[f"tau_cycle_{stance}"][:, None] * post[f"z_cycle_{stance}"][:, data.cycle_idx]
        + post[f"tau_district_{stance}"][:, None] * post[f"z_district_{stance}"][:, data.district_idx]
    )


def vote_share_effects(terms: tuple[Term, ...]) -> tuple[Effect, ...]:
    """Money slopes, incumbency, prior elected office, each endorsement term, then the terms' turnout and on-cycle
    interactions."""
    interacting = [t for t in terms if t.turnout_interactions]
    return (
        Effect("beta_support", "support IE", "money"),
        Effect("beta_oppose", "oppose IE", "money", "oppose"),
        Effect("beta_incumbent", "incumbent"),
        Effect("beta_experienced", "prior elected office"),
        *(Effect(f"beta_{t.term}", t.label) for t in terms),
        *(Effect(f"beta_turnout_{t.term}", f"{t.label} x +10 pts turnout") for t in interacting),
        *(Effect(f"beta_oncycle_{t.term}", f"{t.label} x on-cycle election") for t in interacting),
    )


def _with_terms(names: tuple[str, ...], terms: tuple[Term, ...]) -> tuple[str, ...]:
    """names with beta_<term> of each term inserted after beta_incumbent (or appended)."""
    extra = tuple(f"beta_{t.term}" for t in terms)
    if "beta_incumbent" not in names:
        return (*names, *extra)
    i = names.index("beta_incumbent") + 1
    return (*names[:i], *extra, *names[i:])


def _alias(priors: dict[str, Prior], name: str) -> dict[str, Prior]:
    """The same prior under the support- and oppose-specific names the model uses."""
    return {f"{name}_support": priors[name], f"{name}_oppose": priors[name]}


def race_cycles(inputs: Inputs) -> np.ndarray:
    """The cycle of each race-round of the vote-share data (race,)."""
    data = inputs.data
    cycle_of_race = data.frame.groupby("race_id").cycle.first()
    return cycle_of_race.reindex(data.race_ids).to_numpy()
