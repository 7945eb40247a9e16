"""What the bench measures with: seeds, sampler settings, budgets, sections, simulation values."""

from __future__ import annotations

from model import models
from model.inference.sampling import SamplerSettings

SEED = 20260305  # the Makefile's SEED, so the benchmark samples what `make fit` samples
# Every registered model, in reverse registration order (the quick mode times only the first: the last
# registered, which for the bundled registry is the cheap head-to-head model).
MODELS = tuple(reversed(models.REGISTRY))
SAMPLERS = ("nutpie", "pymc")
MULTIPLES = (10, 100, 1000)
# Same chains/draws as `make fit`, so ESS/s here is what a user of the pipeline gets.
FULL = SamplerSettings()
# Growth fits use fewer draws: 2 x 500 post-warmup draws is enough for a stable min bulk ESS.
GROWTH = SamplerSettings(chains=2, draws=500, tune=500)
QUICK = SamplerSettings(chains=1, draws=50, tune=50)
# Wall-clock budget per growth fit (compile + sampling); a fit still running then is aborted and
# recorded as skipped, with the time and draws it got through.
GROWTH_BUDGET_S = 600.0
GROWTH_SETUP_S = 180.0  # on top of the budget: a growth fit's process simulating its data and building the model
GROWTH_SAMPLERS = ("nutpie", "numpyro", "blackjax")  # JAX ones are skipped (and say so) without the [jax] extra
SECTIONS = (
    "samplers",
    "fit",
    "growth",
    "parallel",
)  # what --only can run; each replaces its keys in an existing results.json
SECTION_KEYS = {
    "samplers": ("samplers",),
    "fit": ("fit",),
    "growth": ("growth", "growth_settings"),
    "parallel": ("parallel",),
}
WARMUP_GROUPS = ("warmup_posterior", "posterior")  # how far an aborted fit got
POLL_S = 0.2  # how often a running growth fit is checked against its budget
ORPHAN_POLL_S = 1.0  # how often a growth fit's process checks that the bench that started it is still there
# Posterior-mean-like values of the bundled-data fits (rounded), used to simulate the growth datasets.
# Cycle/district deviations and turnout interactions are set to zero.
SIM_VOTE_SHARE = {
    "beta_support": 0.1,
    "beta_oppose": 0.0,
    "beta_incumbent": 0.2,
    "beta_<each endorsement term>": 0.2,
    "concentration": 20.0,
}
SIM_HEAD_TO_HEAD = {**SIM_VOTE_SHARE, "sigma_head_to_head": 0.3}
# The candidate-aware (main) model: cycle/district deviations drawn with sd tau (non-zero, so the hierarchy has
# something to find), candidate strengths with sd sigma_candidate, runoffs carrying their primary over fully.
SIM_MAIN = {**SIM_VOTE_SHARE, "tau": 0.05, "sigma_candidate": 0.3, "beta_primary_share": 1.0, "beta_consolidation": 0.1}


# Issue 21's targets: a cold `make fit` in a minute, a priors edit in 20 s, a warm re-run in 3 s.
TARGETS_S = {"cold": 60.0, "priors_edit_iterate": 20.0, "priors_edit_full": 20.0, "warm": 3.0}
ITERATE = ("--models", "main", "--skip", "loco", "forecast", "sweep", "unknown")  # what `make iterate` runs
