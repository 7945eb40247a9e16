"""model.ovb reproduces Cinelli & Hazlett's (2020) published Darfur example and behaves at its edges."""

from __future__ import annotations

import numpy as np
import pytest

from model.evaluation.ovb import adjust, benchmark_bounds, bias, critical_t, partial_r2, robustness_value

# Cinelli & Hazlett (2020), section 5 (and the sensemakr R package's tests/testthat/test-02-darfur.R): the effect of
# being directly harmed on attitudes towards peace, OLS with 783 residual degrees of freedom.
DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF = 0.09731582, 0.02325654, 783
# Partial R2 of `female` (the benchmark) in the treatment regression (directlyharmed on the covariates) and in the
# outcome regression, t^2 / (t^2 + dof) of its coefficient in each fitted to the package's darfur data (inputs of
# the published bounds, which sensemakr computes from the data and does not print).
FEMALE_R2DXJ_X = 0.009081065190327876
FEMALE_R2YXJ_DX = 0.10903391542783754
# Published bounds for 1x, 2x, 3x female (sensemakr's test-02-darfur.R, "testing darfur sensemakr manually"):
# r2dz.x, r2yz.dx, adjusted estimate, se, t, 95 % lower and upper limits.
PUBLISHED_BOUNDS = {
    1: (0.00916428667504862, 0.12464092303637, 0.0752202698486415, 0.0218733298036818, 3.43890347394571,
        0.0322829603180086, 0.118157579379274),
    2: (0.0183285733500972, 0.249324064199975, 0.0529151689180575, 0.0203500639944344, 2.60024582392121,
        0.0129680276030601, 0.092862310233055),
    3: (0.0274928600251459, 0.374050471038094, 0.0303960178770157, 0.0186700665753491, 1.62806156873318,
        -0.00625329133645187, 0.0670453270904833),
}  # fmt: skip


def test_darfur_partial_r2_and_robustness_values_match_the_paper():
    """Published: partial R2 0.02187309, RV_q=1 0.1387764, RV_q=1,alpha=0.05 0.07625797 (printed to 7 digits; the
    inputs are rounded to 7 significant digits, hence 1e-6)."""
    t = DARFUR_ESTIMATE / DARFUR_SE
    assert partial_r2(t, DARFUR_DOF) == pytest.approx(0.02187309, abs=1e-6)
    assert robustness_value(t, DARFUR_DOF) == pytest.approx(0.1387764, abs=1e-6)
    assert robustness_value(t, DARFUR_DOF, alpha=0.05) == pytest.approx(0.07625797, abs=1e-6)


@pytest.mark.parametrize("kd", [1, 2, 3])
def test_darfur_bounds_benchmarked_on_female_match_the_published_table(kd):
    """Every column of the published 1x/2x/3x female bounds, to 1e-7 (the published inputs' precision)."""
    r2dz_x, r2yz_dx = benchmark_bounds(FEMALE_R2DXJ_X, FEMALE_R2YXJ_DX, kd)
    adj = adjust(DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF, r2dz_x, r2yz_dx, alpha=0.05)
    got = (r2dz_x, r2yz_dx, adj.estimate, adj.se, adj.t, adj.lower, adj.upper)
    assert got == pytest.approx(PUBLISHED_BOUNDS[kd], abs=1e-7)


def test_a_confounder_at_the_robustness_value_explains_the_estimate_away():
    """By definition RV_q=1 makes the adjusted estimate zero, and RV_q=1,alpha puts the interval's limit at zero."""
    t = DARFUR_ESTIMATE / DARFUR_SE
    rv = robustness_value(t, DARFUR_DOF)
    assert adjust(DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF, rv, rv).estimate == pytest.approx(0, abs=1e-12)
    rva = robustness_value(t, DARFUR_DOF, alpha=0.10)
    assert adjust(DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF, rva, rva, alpha=0.10).lower == pytest.approx(0, abs=1e-12)


def test_robustness_value_is_zero_for_an_insignificant_estimate_and_symmetric_in_sign():
    """An estimate whose interval already covers zero needs no confounder; the sign of t does not matter."""
    assert robustness_value(1.0, 50, alpha=0.10) == 0.0
    assert robustness_value(-4.0, 50) == robustness_value(4.0, 50) > 0


def smallest_adjusted_t(t_stat: float, dof: float, r: float) -> float:
    """The smallest t of the shrunk estimate over confounders with both partial R2s at most r (a 400 x 400 grid,
    r2yz_dx kept below 1 where the adjusted se vanishes)."""
    a, b = np.meshgrid(np.linspace(0, r, 400), np.linspace(0, min(r, 1 - 1e-12), 400))
    shrunk = abs(t_stat) - np.sqrt(dof * a * b / (1 - a))
    return float((shrunk / np.sqrt((1 - b) / (1 - a) * dof / (dof - 1))).min())


@pytest.mark.parametrize("t_stat, dof", [(3.0, 40), (40.0, 30)])
def test_robustness_value_at_alpha_is_the_smallest_strength_that_reaches_the_critical_t(t_stat, dof):
    """Brute force over confounders, both branches of the formula (t = 3: the bound binds; t = 40: fq > 1 / f_crit
    and a confounder explaining all the outcome's residual variance is the cheapest): at 0.99 RV every confounder
    leaves |t| above the critical value, at 1.01 RV some confounder brings it below."""
    rva = robustness_value(t_stat, dof, alpha=0.10)
    crit = critical_t(0.10, dof)
    assert smallest_adjusted_t(t_stat, dof, 0.99 * rva) > crit > smallest_adjusted_t(t_stat, dof, min(1.01 * rva, 1))


def test_bad_inputs_are_one_line_errors():
    """dof <= 1, r2 outside [0, 1) and impossible benchmark multiples are ValueErrors naming the problem."""
    with pytest.raises(ValueError, match="degrees of freedom"):
        partial_r2(2.0, 1)
    with pytest.raises(ValueError, match="r2dz_x"):
        bias(1.0, 10, 1.0, 0.5)
    with pytest.raises(ValueError, match="impossible"):
        benchmark_bounds(0.6, 0.1, kd=2)
    with pytest.raises(ValueError, match="alpha"):
        robustness_value(3.0, 10, alpha=1.5)
    assert benchmark_bounds(0.1, 0.5, kd=3)[1] == 1.0  # r2yz_dx capped at 1, not an error
