"""The vectorised Bass fit (uptake.models.forecasts.fitting) against slow, obviously-correct references: its
Jacobian against finite differences, its fits against a loop of scipy.optimize.curve_fit over the same
series (the tolerance benchmarks/bass_fit.py holds on 10,000), and known parameters recovered from exact
curves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from uptake.models.forecasts.fitting import bass_jacobian, fit_batch, grid_start, to_natural, to_theta
from uptake.stats.bass import bass_cumulative

#: the largest difference between the two fitted curves (share scale) allowed for "equal fits"
CURVE_TOLERANCE = 0.005
#: and the largest relative excess of its sum of squares over curve_fit's
SSE_TOLERANCE = 1e-4


def _series(n: int, months: int = 72, noise: float = 0.02, seed: int = 3):
    rng = np.random.default_rng(seed)
    t = np.tile(np.arange(months, dtype=float), (n, 1))
    m = rng.uniform(0.5, 0.95, n)
    p = np.exp(rng.uniform(np.log(0.002), np.log(0.03), n))
    q = np.exp(rng.uniform(np.log(0.02), np.log(0.15), n))
    y = bass_cumulative(t, m[:, None], p[:, None], q[:, None]) + rng.normal(0.0, noise, t.shape)
    return t, y, m, p, q


def test_the_jacobian_is_the_curve_s_derivative() -> None:
    t, _, m, p, q = _series(6)
    theta = to_theta(m, p, q, np.ones(6))
    f, jac = bass_jacobian(t, theta, np.ones(6))
    for k in range(3):
        step = np.zeros(3)
        step[k] = 1e-6
        f2, _ = bass_jacobian(t, theta + step, np.ones(6))
        np.testing.assert_allclose((f2 - f) / 1e-6, jac[k], atol=2e-6)


def test_exact_curves_give_back_their_parameters() -> None:
    t, _, m, p, q = _series(40)
    y = bass_cumulative(t, m[:, None], p[:, None], q[:, None])
    fit = fit_batch(t, y)
    assert fit.converged.all()
    np.testing.assert_allclose(fit.m, m, rtol=1e-4)
    np.testing.assert_allclose(fit.p, p, rtol=1e-3)
    np.testing.assert_allclose(fit.q, q, rtol=1e-3)


def test_the_batch_fits_equal_a_loop_of_curve_fit() -> None:
    """Named check of benchmarks/bass_fit.py's tolerance on a small set: the same model, data and start."""
    t, y, *_ = _series(30)
    fit = fit_batch(t, y)
    start = grid_start(t, y, np.ones_like(y), np.ones(len(y)))
    m0, p0, q0 = to_natural(start, np.ones(len(y)))
    for i in range(len(y)):
        popt, _ = curve_fit(lambda tt, a, b, c: bass_cumulative(tt, a, b, c), t[i], y[i], p0=[m0[i], p0[i], q0[i]],
                            bounds=([1e-9, 1e-9, 1e-9], [1.0, 1.0, 4.5]), maxfev=5000)
        ours = bass_cumulative(t[i], fit.m[i], fit.p[i], fit.q[i])
        theirs = bass_cumulative(t[i], *popt)
        assert np.abs(ours - theirs).max() <= CURVE_TOLERANCE, i
        sse_ours, sse_theirs = ((y[i] - ours) ** 2).sum(), ((y[i] - theirs) ** 2).sum()
        assert sse_ours <= sse_theirs * (1 + SSE_TOLERANCE), i  # the same optimum, to the fits' precision


def test_missing_values_are_left_out() -> None:
    t, y, *_ = _series(5, months=48)
    gappy = y.copy()
    gappy[:, 40:] = np.nan
    full = fit_batch(t[:, :40], y[:, :40])
    holes = fit_batch(t, gappy)
    np.testing.assert_allclose(holes.theta, full.theta, atol=1e-6)
    assert (holes.points == 40).all()


def test_a_prior_pulls_a_series_towards_its_mean() -> None:
    t, y, *_ = _series(3, months=12, noise=0.05)
    free = fit_batch(t, y)
    centre = np.tile(np.array([[1.0, -5.0, -3.0]]), (3, 1))
    tight = fit_batch(t, y, prior_mean=centre, prior_weight=np.full((3, 3), 1e6), start=free.theta)
    np.testing.assert_allclose(tight.theta, centre, atol=1e-3)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_values_count_as_missing(bad: float) -> None:
    t, y, *_ = _series(2, months=30)
    y[:, 5] = bad
    fit = fit_batch(t, y)
    assert np.isfinite(fit.theta).all() and (fit.points == 29).all()
