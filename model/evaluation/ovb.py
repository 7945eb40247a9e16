"""Omitted-variable-bias sensitivity of one OLS coefficient (Cinelli & Hazlett 2020, JRSS-B 82(1) 39-67): partial
R2, robustness values, benchmark bounds and adjusted estimates from t-statistics and partial R2s (numpy/scipy only).

Written here rather than taken from PySensemakr 0.0.8 (its only current release): its benchmark bounds index a
pandas Series by position (`series[0]`), which the locked pandas 3.1 reads as a label (KeyError on every
benchmark), and it requires the `jupyter` metapackage, 91 more pinned packages (a notebook server among them)
for these few formulas. tests/test_ovb.py checks them against the published Darfur example.

Notation as in the paper: D the treatment (here a money difference), Y the outcome, X the observed covariates,
Z the unobserved confounder; r2dz_x is the partial R2 of Z with D given X, r2yz_dx that of Z with Y given D and X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t


def _check_dof(dof: float) -> None:
    """dof must leave one degree of freedom for the confounder."""
    if not dof > 1:
        raise ValueError(f"residual degrees of freedom must exceed 1, got {dof}")


def _check_r2(name: str, r2: float) -> None:
    """A partial R2 lies in [0, 1)."""
    if not 0 <= r2 < 1:
        raise ValueError(f"{name} must be in [0, 1), got {r2}")


def partial_r2(t_stat: float, dof: float) -> float:
    """Partial R2 of a regressor with the outcome, from its (iid) t-statistic: t^2 / (t^2 + dof)."""
    _check_dof(dof)
    return float(t_stat**2 / (t_stat**2 + dof))


def critical_t(alpha: float, dof: float) -> float:
    """Two-sided critical t at level alpha with dof - 1 degrees of freedom (the confounder uses one)."""
    return float(student_t.ppf(1 - alpha / 2, dof - 1))


def robustness_value(t_stat: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """RV_q (alpha None) or RV_{q,alpha}: the partial R2 that a confounder must have with both treatment and outcome
    to reduce the estimate by 100 q % (or to make the reduced estimate's 1 - alpha interval reach it); 0 when the
    estimate is already not significant at alpha (eq. 18 and 20 of the paper, with the unconstrained case)."""
    _check_dof(dof)
    if not q > 0:
        raise ValueError(f"q must be positive, got {q}")
    if alpha is not None and not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    fq = q * abs(t_stat) / np.sqrt(dof)  # Cohen's f of the part of the estimate to explain away
    f_crit = 0.0 if alpha is None else critical_t(alpha, dof) / np.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if f_crit > 0 and fq > 1 / f_crit:
        # The constraint r2dz_x = r2yz_dx does not bind: a confounder with r2yz_dx = 1 suffices.
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    return float(0.5 * (np.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))


def bias(se: float, dof: float, r2dz_x: float, r2yz_dx: float) -> float:
    """Absolute bias of the estimate from a confounder of this strength: se sqrt(dof r2yz_dx r2dz_x / (1 - r2dz_x))."""
    _check_dof(dof)
    _check_r2("r2dz_x", r2dz_x)
    if not 0 <= r2yz_dx <= 1:
        raise ValueError(f"r2yz_dx must be in [0, 1], got {r2yz_dx}")
    return float(se * np.sqrt(dof * r2yz_dx * r2dz_x / (1 - r2dz_x)))


@dataclass(frozen=True)
class Adjusted:
    """An estimate after removing a confounder's bias towards zero, with its standard error, t and interval."""

    estimate: float
    se: float
    t: float
    lower: float
    upper: float


def adjust(estimate: float, se: float, dof: float, r2dz_x: float, r2yz_dx: float, alpha: float = 0.05) -> Adjusted:
    """The estimate with a confounder's bias removed in the direction that shrinks it towards zero (and past it),
    its standard error (eq. 11) and 1 - alpha interval with dof - 1 degrees of freedom."""
    shrunk = np.sign(estimate) * (abs(estimate) - bias(se, dof, r2dz_x, r2yz_dx))
    new_se = se * np.sqrt((1 - r2yz_dx) / (1 - r2dz_x) * dof / (dof - 1))
    half = critical_t(alpha, dof) * new_se
    # r2yz_dx = 1: the confounder explains all the outcome's residual variance, so no sampling error is left.
    t_stat = shrunk / new_se if new_se > 0 else np.copysign(np.inf, shrunk)
    return Adjusted(float(shrunk), float(new_se), float(t_stat), float(shrunk - half), float(shrunk + half))


def benchmark_bounds(r2dxj_x: float, r2yxj_dx: float, kd: float, ky: float | None = None) -> tuple[float, float]:
    """(r2dz_x, r2yz_dx) of a confounder kd times as strong as benchmark covariate X_j in explaining the treatment
    and ky (default kd) times as strong in explaining the outcome (Cinelli & Hazlett 2020, section 6.1, in the form
    the sensemakr packages use, which allows for Z's association with X_j once D is conditioned on).

    r2dxj_x: partial R2 of X_j with D given the other covariates; r2yxj_dx: partial R2 of X_j with Y given D and
    the other covariates. r2yz_dx is capped at 1. ValueError when no confounder can be that strong."""
    ky = kd if ky is None else ky
    _check_r2("r2dxj_x", r2dxj_x)
    _check_r2("r2yxj_dx", r2yxj_dx)
    if not (kd > 0 and ky > 0):
        raise ValueError(f"kd and ky must be positive, got {kd}, {ky}")
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    r2zxj_xd = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x)) if kd * r2dxj_x < 1 else 1.0
    if r2dz_x >= 1 or r2zxj_xd >= 1:
        raise ValueError(f"a confounder {kd:g} times as strong as the benchmark with the treatment is impossible")
    r2yz_dx = ((np.sqrt(ky) + np.sqrt(r2zxj_xd)) / np.sqrt(1 - r2zxj_xd)) ** 2 * r2yxj_dx / (1 - r2yxj_dx)
    return float(r2dz_x), float(min(r2yz_dx, 1.0))


__all__ = ["Adjusted", "adjust", "benchmark_bounds", "bias", "critical_t", "partial_r2", "robustness_value"]
