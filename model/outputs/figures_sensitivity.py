"""Figures of the confounding analysis (model.sensitivity): Cinelli & Hazlett contour plots of the classical money
coefficients, and the main model's tipping-point curve. Drawn from the run's tables only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window (CI has no display)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from model.evaluation.ovb import critical_t
from model.models.points import INTERVAL

CONTOUR_PNG, TIPPING_PNG = "sensitivity-classical.png", "sensitivity-tipping.png"
ALPHA = 1 - (INTERVAL[1] - INTERVAL[0])  # the report's 90 % intervals
MARKERS = ("D", "s", "^", "o", "v")  # one per benchmark
LIMIT_MIN = 0.4  # axes reach at least this partial R2, as sensemakr's plots do


def adjusted_surface(estimate: float, se: float, dof: float, r2dz: np.ndarray, r2yz: np.ndarray) -> np.ndarray:
    """The estimate with a confounder's bias removed towards zero, over a grid of partial R2s (r2dz < 1)."""
    return np.sign(estimate) * (abs(estimate) - se * np.sqrt(dof * r2yz * r2dz / (1 - r2dz)))


def interval_limit_surface(estimate: float, se: float, dof: float, r2dz: np.ndarray, r2yz: np.ndarray) -> np.ndarray:
    """The adjusted 90 % interval's limit nearer zero, signed so that it is positive while the interval excludes
    zero (ovb.adjust over a grid: dof - 1 degrees of freedom, r2yz < 1)."""
    shrunk = np.sign(estimate) * adjusted_surface(estimate, se, dof, r2dz, r2yz)
    new_se = se * np.sqrt(np.clip(1 - r2yz, 0, None) / (1 - r2dz) * dof / (dof - 1))
    return shrunk - critical_t(ALPHA, dof) * new_se


def _contour_panel(ax, rows: pd.DataFrame) -> None:
    """One design and effect: contours of the adjusted estimate, the zero line and the benchmark bounds."""
    base = rows[rows.k == 0].iloc[0]
    bounds = rows[rows.k > 0].dropna(subset=["r2dz_x"])
    top = max(LIMIT_MIN, 1.15 * float(max(bounds.r2dz_x.max(), bounds.r2yz_dx.max()))) if len(bounds) else LIMIT_MIN
    top = min(top, 0.99)
    r2dz, r2yz = np.meshgrid(np.linspace(0, top, 200), np.linspace(0, top, 200))
    z = adjusted_surface(base.estimate, base.se_iid, base.dof, r2dz, r2yz)
    levels = np.linspace(z.min(), z.max(), 9)
    lines = ax.contour(r2dz, r2yz, z, levels=levels[levels != 0], colors="0.55", linewidths=0.8)
    ax.clabel(lines, fmt="%.3f", fontsize=7)
    ax.contour(r2dz, r2yz, z, levels=[0], colors="tab:red", linewidths=1.8, linestyles="--")
    inner = interval_limit_surface(base.estimate, base.se_iid, base.dof, r2dz, r2yz)
    ax.contour(r2dz, r2yz, inner, levels=[0], colors="tab:red", linewidths=1.2, linestyles=":")
    ax.plot([], [], "--", color="tab:red", label="estimate is zero")
    ax.plot([], [], ":", color="tab:red", label="90 % interval reaches zero")
    for marker, (bench, g) in zip(MARKERS, bounds.groupby("benchmark", sort=False), strict=False):
        ax.plot(g.r2dz_x, g.r2yz_dx, marker, color="tab:blue", ms=6, ls="none", label=f"k x {bench}")
        for r in g.itertuples():
            ax.annotate(f"{r.k}x", (r.r2dz_x, r.r2yz_dx), (5, -3), textcoords="offset points", fontsize=7)
    rv = float(base.rv_q1)
    if rv < top:
        ax.plot([rv], [rv], "o", mfc="none", mec="tab:red", ms=7, label=f"RV = {rv:.2f}")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_title(f"{base.label}: {base.effect} (estimate {base.estimate:.3f})", fontsize=10)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.9)


def contour_figure(table: pd.DataFrame, out_dir: Path) -> Path:
    """Contour plots (one panel per design and money effect) of sensitivity-classical.csv."""
    groups = list(table.groupby(["model", "effect"], sort=False))
    ncol = 2
    nrow = int(np.ceil(len(groups) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 4.8 * nrow), squeeze=False)
    for ax, (_key, rows) in zip(axes.flat, groups, strict=False):
        _contour_panel(ax, rows)
    for ax in axes.flat[len(groups) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("partial R² of the hidden confounder with the money difference")
    for ax in axes[:, 0]:
        ax.set_ylabel("partial R² of the confounder with the vote share")
    fig.suptitle(
        "How strong would a hidden confounder have to be? Grey: the money coefficient after removing its bias "
        "(log-odds per log(1 + $k));\nred: where it is zero (dashed) and where its 90 % interval reaches zero "
        "(dotted); blue: confounders k times as strong as incumbency or an endorsement",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    path = Path(out_dir) / CONTOUR_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tipping_figure(grid: pd.DataFrame, points: pd.DataFrame, out_dir: Path, effect: str = "support IE") -> Path:
    """The main model's support effect (doubling, points) and P(effect > 0) against the bias b of a hidden
    confounder, in units of the incumbency effect, with the two tipping points marked."""
    g = grid[grid.effect == effect]
    tips = points[points.effect == effect]
    use_incumbency = bool(np.isfinite(g.b_incumbency).all())
    x = g.b_incumbency if use_incumbency else g.share
    xlabel = (
        "confounding bias in the effect of doubling,\nas a multiple of the incumbency effect"
        if use_incumbency
        else "bias b as a share of the apparent effect"
    )
    sign = "> 0" if g.apparent.iloc[0] >= 0 else "< 0"
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.3))
    left.fill_between(x, g.lo_pp, g.hi_pp, color="tab:blue", alpha=0.25, label="90 % interval")
    left.plot(x, g.mean_pp, color="tab:blue", label="mean")
    left.axhline(0, color="k", lw=0.8)
    left.set_ylabel(f"{effect} effect of doubling, points of share")
    right.plot(x, g.p_apparent_sign, color="tab:blue")
    right.axhline(0.9, color="0.4", ls=":", lw=1)
    right.set_ylabel(f"P(effect {sign})")
    right.set_ylim(0, 1)
    colours = ("tab:orange", "tab:red")
    for i, (colour, tip) in enumerate(zip(colours, tips.itertuples(), strict=False)):
        at = tip.b_incumbency if use_incumbency else tip.share
        if np.isfinite(at):
            for ax in (left, right):
                ax.axvline(at, color=colour, ls="--", lw=1.2)
            left.annotate(
                f"{tip.criterion.replace('has its sign', sign)}: {at:.2f}", (at, 0.06 + 0.09 * i), (5, 0),
                xycoords=("data", "axes fraction"),
                textcoords="offset points", fontsize=8, color=colour, bbox={"fc": "white", "ec": "none", "pad": 1},
            )  # fmt: skip
    share_per_x = 1 / float(g.b_incumbency.iloc[1] / g.share.iloc[1]) if use_incumbency else 1.0
    for ax in (left, right):
        ax.set_xlabel(xlabel)
        ax.set_xlim(float(x.min()), float(x.max()))
        if use_incumbency:
            top = ax.secondary_xaxis("top", functions=(lambda v: v * share_per_x, lambda s: s / share_per_x))
            top.set_xlabel("share of the apparent effect", fontsize=8)
    left.legend(fontsize=8, loc="upper right")
    fig.suptitle(
        f"Main model: how large a confounding bias would erase the {effect} effect? (posterior reweighted per b)",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(out_dir) / TIPPING_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sensitivity_figures(tables: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """The contour plot of the classical robustness values and the main model's tipping figure, for the tables
    sensitivity.write_sensitivity returned (a figure whose table is empty is not drawn)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(tables["classical"]):
        contour_figure(tables["classical"], out_dir)
    if len(tables["grid"]):
        tipping_figure(tables["grid"], tables["points"], out_dir)
