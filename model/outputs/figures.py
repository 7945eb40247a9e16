"""Diagnostic and result figures (PNG), one file per figure, named by content and model."""

from __future__ import annotations

import warnings
from pathlib import Path

import arviz as az
import matplotlib

matplotlib.use("Agg")  # files only; never open a window (CI has no display)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from model.inference.diagnostics import user_prior_names
from model.infra.progress import Progress
from model.models.classical import ESTIMATORS
from model.models.points import points_effects, references_of, regression_effects
from model.priors import PRESETS


def _registered() -> dict:
    """Registered Bayesian models by name (imported late: figures render, they never build models)."""
    from model import models

    return dict(models.REGISTRY)


# Parameters of the rank and trace figures per registered model (tests check the figures exist).
MAIN_VARS = {name: list(m.figure_vars) for name, m in _registered().items()}


def _save_pc(pc, path: Path, title: str, xlabel: str | None = None, legend: dict[str, dict] | None = None) -> None:
    """Save an ArviZ PlotCollection with a title (and optionally an x label and a legend), then close it."""
    fig = plt.gcf()  # the collection's figure is the current matplotlib figure
    # Left-aligned above the panel titles, so that ArviZ's own legend at the top right stays readable.
    fig.suptitle(title, fontsize=12, y=1.06, x=0.01, ha="left")
    if xlabel:
        fig.axes[0].set_xlabel(xlabel)
    if legend:
        handles = [Line2D([], [], **style) for style in legend.values()]
        fig.axes[0].legend(handles, list(legend), fontsize=8, loc="upper right")
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close("all")


def _grid(n_panels: int, cols: int = 4) -> dict:
    """figure_kwargs for an ArviZ grid of n panels: enough height per row that titles clear the axes above."""
    rows = -(-n_panels // cols)
    return {"figure_kwargs": {"figsize": (12, 2.8 * rows), "layout": "constrained"}}


# Diagnostic figures read at most this many evenly spaced draws per chain: a rank plot or a power-scaling curve of
# 500 draws shows what one of 4000 shows, and drawing them from every draw took 6-11 s per figure per model.
FIGURE_DRAWS = 500


def thinned(idata, max_draws: int = FIGURE_DRAWS):
    """The same groups with every k-th draw, so that at most max_draws remain per chain (groups stay aligned)."""
    out = idata.copy()
    for group in list(out.children):
        ds = out[group].to_dataset()
        if "draw" in ds.dims and ds.sizes["draw"] > max_draws:
            out[group] = ds.isel(draw=slice(None, None, -(-ds.sizes["draw"] // max_draws)))
    return out


def diagnostic_figures(out: Path, model, idata, inputs) -> None:
    """Rank, trace, energy, PPC, LOO-PIT, prior-vs-posterior and power-scaling figures for one fitted model, from
    at most FIGURE_DRAWS evenly spaced draws per chain."""
    name = model.name
    idata = thinned(idata)
    v = [x for x in model.figure_vars_for(inputs) if x in idata.posterior]
    betas = [x for x in v if x.startswith("beta_")] or v
    obs = model.observed_var
    tall = {"figure_kwargs": {"figsize": (11, 2.4 * len(betas)), "layout": "constrained"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotting libraries' deprecation chatter is not ours to fix
        _save_pc(
            az.plot_rank(idata, var_names=v, **_grid(len(v))),
            out / f"rank-{name}.png",
            f"{name}: rank plots (uniform = mixing)",
        )
        _save_pc(az.plot_trace_dist(idata, var_names=v, **tall), out / f"trace-{name}.png", f"{name}: traces by chain")
        _save_pc(az.plot_energy(idata), out / f"energy-{name}.png", f"{name}: energy (E-BFMI)")
        _save_pc(
            az.plot_ppc_dist(idata, var_names=[obs], num_samples=100),
            out / f"ppc-{name}.png",
            f"{name}: posterior predictive check of {obs}",
            xlabel=model.ppc_xlabel,
            legend={
                "observed": {"color": "black", "lw": 1.5},
                "100 posterior predictive draws": {"color": "C0", "alpha": 0.5},
            },
        )
        _save_pc(az.plot_loo_pit(idata, var_names=[obs]), out / f"loo_pit-{name}.png", f"{name}: LOO-PIT of {obs}")
        _save_pc(
            az.plot_prior_posterior(idata, var_names=betas, **_grid(len(betas))),
            out / f"prior_posterior-{name}.png",
            f"{name}: prior (from the prior file) vs posterior",
        )
        _save_pc(
            az.plot_psense_dist(
                idata,
                var_names=betas,
                prior_var_names=user_prior_names(idata),
                likelihood_var_names=[model.loo_var],
                **tall,
            ),
            out / f"psense-{name}.png",
            f"{name}: power-scaling sensitivity to the prior file and to the likelihood (scaled by 0.8-1.25)",
        )


def effects_figure(
    out: Path, effects: pd.DataFrame, regression: pd.DataFrame, term_labels: dict[str, str] | None = None
) -> None:
    """Forest plot of effects in points of vote share: Bayesian models (circles) and the classical
    estimators (squares, 90 % robust intervals) side by side."""
    references = references_of(effects)
    reference = references["support"]
    shown = {name: est.label for name, est in ESTIMATORS.items() if est.in_effects_figure}
    classical = (
        regression_effects(regression, references, term_labels)
        if "coef" in regression
        else pd.DataFrame(columns=["model"])
    )
    classical = classical[classical.model.isin(shown)].assign(model=lambda f: f.model.map(shown))
    frames = pd.concat([effects.assign(kind="bayes"), classical.assign(kind="classical")], ignore_index=True)
    labels = list(dict.fromkeys(effects.effect))
    models = list(dict.fromkeys(frames.model))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(9, 0.75 * len(labels) + 1.5))
    for j, m in enumerate(models):
        e = frames[frames.model == m].drop_duplicates("effect").set_index("effect").reindex(labels)
        y = np.arange(len(labels)) + (j - (len(models) - 1) / 2) * width
        marker = "o" if (e.kind == "bayes").any() else "s"
        ax.errorbar(e.mean_pp, y, xerr=[e.mean_pp - e.lo_pp, e.hi_pp - e.mean_pp], fmt=marker, ms=4, capsize=2, label=m)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(np.arange(len(labels)), labels)
    for y in np.arange(len(labels) - 1) + 0.5:
        ax.axhline(y, color="0.9", lw=0.6)
    ax.invert_yaxis()
    ax.set_xlabel("percentage points of vote share (candidate at 50 % of a two-way race); 90 % intervals")
    ax.set_title(
        f"What moves vote share (money effects from each channel's median: ${reference / 1e3:,.0f}k of support IE)"
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="circles: Bayesian; squares: classical")
    fig.savefig(out / "effects.png", dpi=90, bbox_inches="tight")
    plt.close(fig)


def race_ppc_figure(out: Path, name: str, idata, data) -> None:
    """Per race: the leading candidate's observed share against its 90 % posterior predictive interval, so a
    reader sees which races the model misses (a point outside its bar)."""
    pred = idata.posterior_predictive["component_share"].to_numpy().reshape(-1, len(data.component_share))
    leader = np.zeros(data.n_race, dtype=int)
    for r in range(data.n_race):
        comps = np.flatnonzero(data.component_race == r)
        leader[r] = comps[np.argmax(data.component_share[comps])]
    lo, hi = np.quantile(pred[:, leader], [0.05, 0.95], axis=0)
    observed = data.component_share[leader]
    outside = (observed < lo) | (observed > hi)
    y = np.arange(data.n_race)
    fig, ax = plt.subplots(figsize=(8, 0.28 * data.n_race + 1.5))
    ax.hlines(y, 100 * lo, 100 * hi, color="C0", lw=3, alpha=0.5, label="90 % posterior predictive interval")
    ax.scatter(100 * observed[~outside], y[~outside], color="black", s=14, zorder=3, label="observed")
    ax.scatter(100 * observed[outside], y[outside], color="C3", s=18, zorder=3, label="observed, outside interval")
    ax.set_yticks(
        y, [f"{rid}  {data.component_label[c].split(' ', 1)[-1]}" for rid, c in zip(data.race_ids, leader, strict=True)]
    )
    ax.tick_params(axis="y", labelsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("vote share of the race's leading candidate (%)")
    ax.set_title(f"{name}: observed leader's share vs posterior predictive ({outside.sum()} of {data.n_race} outside)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3)
    fig.savefig(out / f"ppc_race-{name}.png", dpi=90, bbox_inches="tight")
    plt.close(fig)


def win_probability_figure(out: Path, curve: pd.DataFrame, reference_usd: float) -> None:
    """P(win) against the ratio of support IE, with its 90 % band."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.fill_between(curve.ratio, curve.p_win_lo, curve.p_win_hi, alpha=0.3, label="90 % interval")
    ax.plot(curve.ratio, curve.p_win_mean, label="posterior mean")
    ax.set_xscale("log", base=2)
    ax.axhline(0.5, color="grey", lw=0.8)
    ax.set_xlabel(f"candidate's support IE / opponent's (opponent at ${reference_usd / 1e3:,.0f}k)")
    ax.set_ylabel("P(candidate out-polls opponent)")
    ax.set_title("Chance of winning an otherwise even two-way race, by spending ratio")
    ax.legend()
    fig.savefig(out / "win_probability.png", dpi=90, bbox_inches="tight")
    plt.close(fig)


def prior_predictive_figure(out: Path, result: dict, preset: str, seed: int) -> None:
    """Prior predictive check of one preset (main model): implied winner shares and implied spending effects."""
    main = result["models"][result["main_model"]]
    priors = result["presets"][preset]
    if isinstance(priors, str):
        return  # a preset for another electorate; the prior sweep records why
    check = main.prior_check(result["inputs"], priors, seed)
    if check is None or "beta_support" not in check[2]:
        return
    leader, observed, beta = check
    eff = points_effects(beta, 100_000.0, preset)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].hist(100 * leader.ravel(), bins=40, alpha=0.6, density=True, label="prior predictive")
    axes[0].hist(100 * observed, bins=15, alpha=0.6, density=True, label="observed")
    axes[0].set_xlabel("leading candidate's share (%)")
    axes[0].legend()
    sup = 100 * (1 / (1 + np.exp(-beta["beta_support"] * np.log(2.0))) - 0.5)
    axes[1].hist(sup, bins=40)
    axes[1].set_xlabel("prior effect of doubling support IE (points of share)")
    fig.suptitle(
        f"Prior predictive check of the main model: preset '{preset}' (90 % of doubling effect within "
        f"{eff.lo_pp.iloc[0]:.1f} to {eff.hi_pp.iloc[0]:.1f} points)"
    )
    fig.savefig(out / f"prior_predictive-{preset}.png", dpi=90, bbox_inches="tight")
    plt.close(fig)


# Extra figures a model may ask for by name (BayesModel.figure_kinds): name -> f(out, model name, idata, inputs).
FIGURE_KINDS = {"ppc_race": lambda out, name, idata, inputs: race_ppc_figure(out, name, idata, inputs.data)}


def write_figures(out: Path, result: dict) -> None:
    """Every figure of a run into out/."""
    out.mkdir(parents=True, exist_ok=True)
    bar = Progress("figures", len(result["idata"]) + 1)
    for name, idata in result["idata"].items():
        model = result["models"][name]
        diagnostic_figures(out, model, idata, result["inputs"])
        for kind in model.figure_kinds:
            FIGURE_KINDS[kind](out, name, idata, result["inputs"])
        bar.step(f"diagnostics of {name}")
    run = out.parent
    effects = pd.read_csv(run / "effects.csv")
    if not effects.empty:
        labels = {t.term: t.label for t in result["inputs"].data.terms}
        effects_figure(out, effects, pd.read_csv(run / "coefficients-regression.csv"), labels)
    if (run / "win_probability.csv").is_file():
        win_probability_figure(out, pd.read_csv(run / "win_probability.csv"), float(effects.reference_usd.iloc[0]))
    if result.get("main_model"):
        for i, preset in enumerate(PRESETS):
            prior_predictive_figure(out, result, preset, seed=1000 + i)
    if (run / "decomposition.csv").is_file():
        decomposition_figure(out, pd.read_csv(run / "decomposition.csv"))
    bar.step("effects, prior predictive and decomposition")


def decomposition_figure(out: Path, table: pd.DataFrame) -> None:
    """Waterfall per contested runoff: from the finalist's two-way primary share, through each modelled change,
    to the expected and the actual runoff share (bars: means; whiskers: 90 % intervals)."""
    races = list(dict.fromkeys(table.race_id))
    if not races:
        return
    ncols = min(3, len(races))
    nrows = -(-len(races) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 3.6 * nrows), squeeze=False)
    order = list(dict.fromkeys(table.step))
    for ax in axes.ravel()[len(races) :]:
        ax.set_visible(False)
    for ax, race in zip(axes.ravel(), races, strict=False):
        g = table[table.race_id == race].set_index("step").reindex(order)
        level, x = 0.0, np.arange(len(order))
        for i, step in enumerate(order):
            m, lo, hi = g.loc[step, ["mean_pp", "lo_pp", "hi_pp"]]
            if step in ("primary", "fitted", "actual"):
                ax.bar(i, m, color="#4d4d4d" if step != "fitted" else "#0072B2", width=0.6)
                level = m if step != "actual" else level
            else:
                base = level if step != "residual" else g.loc["fitted", "mean_pp"]
                ax.bar(i, m, bottom=base, color="#009E73" if m >= 0 else "#D55E00", width=0.6)
                level = base + m if step != "residual" else level
                ax.errorbar(i, base + m, yerr=[[m - lo], [hi - m]], color="black", capsize=3, lw=1)
        ax.axhline(50, color="grey", lw=0.8, ls="--")
        ax.set_xticks(x, [s.replace("_", " ") for s in order], fontsize=8, rotation=40, ha="right")
        ax.set_ylabel("two-way share (%)")
        cand, opp = g.candidate_id.dropna().iloc[0], g.opponent_id.dropna().iloc[0]
        ax.set_title(f"{race}: {cand} vs {opp}", fontsize=9)
        ax.set_ylim(0, 100)
    fig.suptitle(
        "Primary to runoff: the winner's two-way share step by step (green: towards the winner; orange: away;"
        " whiskers: 90 % intervals)",
        x=0.01,
        ha="left",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title above the panels
    fig.savefig(out / "decomposition.png", dpi=90, bbox_inches="tight")
    plt.close(fig)


def calibration_figure(
    out: Path,
    predictions: pd.DataFrame,
    models: list[str],
    name: str = "calibration-loco.png",
    title: str = "Leave one cycle out: predicted vs actual winners",
) -> None:
    """Reliability diagram: predicted P(finishing first) in bins against how often those candidates did, with
    the number of candidates per bin; a calibrated forecaster lies on the diagonal."""
    bins = np.linspace(0, 1, 6)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect calibration")
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"]
    for k, model in enumerate(models):
        g = predictions[predictions.model == model]
        if g.empty:
            continue
        which = np.clip(np.digitize(g.p_first, bins) - 1, 0, len(bins) - 2)
        stats = (
            g.assign(bin=which).groupby("bin").agg(p=("p_first", "mean"), hit=("first", "mean"), n=("first", "size"))
        )
        ax.plot(stats.p, stats.hit, "o-", color=palette[k % len(palette)], label=model)
        for r in stats.itertuples():
            ax.annotate(str(r.n), (r.p, r.hit), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("predicted P(finishing first), binned (numbers: candidates per bin)")
    ax.set_ylabel("share who finished first")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.savefig(out / name, dpi=90, bbox_inches="tight")


# Okabe-Ito colours (Okabe & Ito 2008): distinguishable with the common colour-vision deficiencies.
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "grey": "#999999", "green": "#009E73", "vermilion": "#D55E00"}
# Sides of outside money as the spending-by-side figure stacks them, bottom to top.
SIDE_COLOURS = {
    "union": OKABE_ITO["blue"],
    "charter or reform": OKABE_ITO["orange"],
    "other or not attributed": OKABE_ITO["grey"],
}


# How the spending table's sides map onto the figure's: 'all' is a total over committees of either side.
SIDE_GROUP = {
    "union": "union",
    "charter": "charter or reform",
    "other": "other or not attributed",
    "all": "other or not attributed",
}


def money_by_side(cr: pd.DataFrame, floors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Plug-in IE dollars (support + oppose) per cycle and side, split into exact-or-about and 'at least' parts.

    cr: data/clean/candidate_races rows. 'other or not attributed' is what a candidate-round's total holds beyond
    its union and charter figures (other committees and 'all committees' totals). floors: (race_id, candidate_id,
    side) rows whose figures include an 'at least' figure (side as in SIDE_COLOURS); without it a candidate-round
    counts as a floor on every side when any of its figures is one."""
    union = cr.support_union_usd + cr.oppose_union_usd
    charter = cr.support_charter_usd + cr.oppose_charter_usd
    parts = pd.DataFrame(
        {
            "race_id": cr.race_id,
            "candidate_id": cr.candidate_id,
            "cycle": cr.cycle.astype(int),
            "union": union,
            "charter or reform": charter,
            "other or not attributed": (cr.support_usd + cr.oppose_usd - union - charter).clip(lower=0),
        }
    )
    long = parts.melt(id_vars=["race_id", "candidate_id", "cycle"], var_name="side", value_name="usd")
    if floors is None:
        any_floor = cr.money_bounds.fillna("").astype(str).str.contains("at_least")
        floors = parts.loc[any_floor.to_numpy(), ["race_id", "candidate_id"]].merge(
            pd.DataFrame({"side": list(SIDE_COLOURS)}), how="cross"
        )
    keys = set(zip(floors.race_id, floors.candidate_id, floors.side, strict=True))
    long["floor"] = [k in keys for k in zip(long.race_id, long.candidate_id, long.side, strict=True)]
    table = long.pivot_table(index=["cycle", "side"], columns="floor", values="usd", aggfunc="sum", fill_value=0.0)
    table = table.reindex(columns=[False, True], fill_value=0.0).rename(columns={False: "known", True: "at_least"})
    return table.reset_index().rename_axis(columns=None)


def money_by_side_figure(path: Path, cr: pd.DataFrame, floors: pd.DataFrame | None = None) -> None:
    """Stacked bars of outside money per cycle by side; floors ('at least' figures) hatched and lighter."""
    table = money_by_side(cr, floors)
    cycles = sorted(table.cycle.unique())
    x = np.arange(len(cycles))
    fig, ax = plt.subplots(figsize=(9, 4.6))
    bottom = np.zeros(len(cycles))
    for side, colour in SIDE_COLOURS.items():
        rows = table[table.side == side].set_index("cycle").reindex(cycles, fill_value=0.0)
        known, floor = rows.known.to_numpy() / 1e6, rows.at_least.to_numpy() / 1e6
        ax.bar(x, known, bottom=bottom, color=colour, edgecolor="white", label=side)
        bottom += known
        ax.bar(x, floor, bottom=bottom, color=colour, alpha=0.45, hatch="///", edgecolor="black", lw=0.4)
        bottom += floor
    totals = table.groupby("cycle")[["known", "at_least"]].sum().reindex(cycles)
    for xi, (known, floor) in zip(x, totals.itertuples(index=False), strict=True):
        total = known + floor
        # "≥" on its own line: one-line labels of neighbouring tall bars ran into each other (2022 and 2024).
        # "none" alone: "none recorded" of neighbouring empty years ran together (2005-2007).
        amount = f"${total / 1e3:.0f}k" if total < 1e5 else f"${total / 1e6:.1f}M"
        label = "none" if total == 0 else f"{'≥' + chr(10) if floor > 0 else ''}{amount}"
        ax.annotate(
            label,
            (xi, (known + floor) / 1e6),
            ha="center",
            va="bottom",
            fontsize=9 if total else 7,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(x, [str(c) for c in cycles])
    ax.set_ylabel("outside money (IE), $ millions")
    ax.set_ylim(0, bottom.max() * 1.2 + 0.1)
    ax.set_title("Outside money for and against LAUSD board candidates, by side and election year")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="white", hatch="///", edgecolor="black"))
    labels.append("hatched: includes 'more than $X' figures (a floor)")
    ax.legend(handles, labels, fontsize=8, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def share_vs_money_figure(path: Path, h2h: pd.DataFrame, beta: tuple[float, float, float], model: str) -> None:
    """Two-way vote share of the candidate with more support IE against the IE gap, with the main model's curve for
    an otherwise even race and its 90 % interval. beta: (mean, lo90, hi90) of beta_support per log(1+$k)."""
    flip = h2h.d_log_support < 0
    gap = h2h.d_log_support.abs().to_numpy()
    share = 100 * np.where(flip, 1 - h2h.share_a, h2h.share_a)
    won = np.where(flip, ~h2h.a_won.astype(bool), h2h.a_won.astype(bool))
    grid = np.linspace(0, max(gap.max(), np.log(8)) * 1.05, 200)
    curve = {k: 100 / (1 + np.exp(-b * grid)) for k, b in zip(("mean", "lo", "hi"), beta, strict=True)}
    fig, ax = plt.subplots(figsize=(8, 4.8))
    ax.fill_between(grid, curve["lo"], curve["hi"], color=OKABE_ITO["blue"], alpha=0.25, label="90 % interval")
    ax.plot(grid, curve["mean"], color=OKABE_ITO["blue"], lw=2, label=f"{model}: otherwise even race")
    ax.scatter(
        gap[won], share[won], marker="o", color=OKABE_ITO["vermilion"], s=28, label="better-funded got more votes"
    )
    ax.scatter(gap[~won], share[~won], marker="x", color="black", s=32, label="better-funded got fewer votes")
    ax.axhline(50, color="grey", lw=0.8)
    ticks = [4**k for k in range(8) if k * np.log(4) <= grid.max()]
    ax.set_xticks(np.log(ticks), [f"{r}×" for r in ticks])
    ax.set_xlabel("support IE of the better-funded candidate ÷ their rival's (each + $1k)")
    ax.set_ylabel("better-funded candidate's share of the two-way vote (%)")
    ax.set_title("Vote share against the outside-money gap (top two of each race)")
    ax.legend(fontsize=8, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def win_probability_reader_figure(path: Path, curve: pd.DataFrame, reference_usd: float) -> None:
    """P(win) against the ratio of support IE for a general reader: ratios written as '1/4×'..'4×', the 90 % band,
    and the even-race point marked (colour-blind-safe blue)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    colour = OKABE_ITO["blue"]
    ax.fill_between(
        curve.ratio, 100 * curve.p_win_lo, 100 * curve.p_win_hi, color=colour, alpha=0.25, label="90 % interval"
    )
    ax.plot(curve.ratio, 100 * curve.p_win_mean, color=colour, lw=2, label="model's estimate")
    ax.set_xscale("log", base=2)
    ticks = [r for r in (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16) if curve.ratio.min() <= r <= curve.ratio.max()]
    ax.set_xticks(ticks, [f"1/{round(1 / r)}×" if r < 1 else f"{r:g}×" for r in ticks])
    ax.minorticks_off()
    ax.axhline(50, color="grey", lw=0.8)
    ax.axvline(1, color="grey", lw=0.8, ls=":")
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"money spent for the candidate ÷ money spent for the rival (rival at ${reference_usd / 1e3:,.0f}k)")
    ax.set_ylabel("chance of getting more votes (%)")
    ax.set_title("Chance of out-polling the rival in an otherwise even two-way race")
    ax.legend(fontsize=8, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
