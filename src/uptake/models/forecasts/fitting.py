"""Vectorised least-squares fits of the Bass curve to many series at once (pure NumPy).

The model for one series: ``y(t) = m F(t; p, q)`` (uptake.stats.bass), ``t`` in months since the series'
time origin. Parameters are fitted on an unconstrained scale, ``theta = (a, b, c)`` with

    m = cap * logistic(a)   (0 < m < cap: a share cannot exceed cap = 1)
    p = exp(b),  q = exp(c)

so every step is legal. The fit minimises, for each series separately,

    sum_t w_t (y_t - m F(t))^2  +  sum_k prior_weight_k (theta_k - prior_mean_k)^2

(the second term is zero unless a prior is given: the empirical-Bayes pooling in
uptake.models.forecasts.pooling passes one). The method is Levenberg-Marquardt (Marquardt 1963) run on
every series at once: each iteration evaluates the curve and its analytic Jacobian for all series as one
(S, T) array, solves S 3x3 damped normal equations with one batched ``numpy.linalg.solve``, and accepts or
rejects each series' step on its own (its damping shrinks by 3 after a success and doubles after a
failure); series that have converged drop out of the working set. The start is the best point of a grid
over (p + q, q / p), with m solved in closed form for each grid point (m = sum w F y / sum w F^2, clipped to the
range), so no series starts far from its basin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["BatchFit", "GRID_S", "GRID_K", "B_BOUNDS", "C_BOUNDS", "bass_curve", "bass_jacobian", "grid_start",
           "fit_batch", "to_natural", "to_theta"]

#: start grid of s = p + q (per month) and of k = q / p
GRID_S = np.geomspace(0.004, 0.8, 10)
GRID_K = np.geomspace(0.05, 500.0, 8)
#: bounds of b = ln p and c = ln q (p between 6e-6 and 1 a month, q between 6e-6 and 4.5 a month)
B_BOUNDS = (-12.0, 0.0)
C_BOUNDS = (-12.0, 1.5)
#: bounds of a = logit(m / cap): m between 0.00005 and 0.99995 of the cap
A_BOUNDS = (-10.0, 10.0)

F64 = NDArray[np.float64]


def _logistic(a: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-a))


def to_natural(theta: F64, cap: F64) -> tuple[F64, F64, F64]:
    """(m, p, q) from theta = (a, b, c) (last axis) and the cap (broadcast against theta[..., 0])."""
    return cap * _logistic(theta[..., 0]), np.exp(theta[..., 1]), np.exp(theta[..., 2])


def to_theta(m: F64, p: F64, q: F64, cap: F64) -> F64:
    frac = np.clip(np.asarray(m, float) / cap, 1e-12, 1 - 1e-12)
    return np.stack([np.log(frac / (1 - frac)), np.log(p), np.log(q)], axis=-1)


def bass_curve(t: F64, m: F64, p: F64, q: F64) -> F64:
    """m F(t) for times t (S, T) and parameters (S,) (0 before the origin)."""
    tt = np.maximum(t, 0.0)
    e = np.exp(-(p + q)[:, None] * tt)
    return m[:, None] * (1.0 - e) / (1.0 + (q / p)[:, None] * e)


def bass_jacobian(t: F64, theta: F64, cap: F64) -> tuple[F64, F64]:
    """The curve (S, T) and its derivatives with respect to (a, b, c) (3, S, T), analytically:
    with e = exp(-(p+q) t), k = q/p, D = 1 + k e and F = (1 - e)/D,
    dF/de = -(1 + k)/D^2, dF/dk = -(1 - e) e / D^2, de/dp = de/dq = -t e, dk/dp = -q/p^2, dk/dq = 1/p;
    df/da = F m (1 - logistic(a)), df/db = m p dF/dp, df/dc = m q dF/dq."""
    m, p, q = to_natural(theta, cap)
    tt = np.maximum(t, 0.0)
    e = np.exp(-(p + q)[:, None] * tt)
    k = (q / p)[:, None]
    d = 1.0 + k * e
    f = (1.0 - e) / d
    df_de = -(1.0 + k) / (d * d)
    df_dk = -(1.0 - e) * e / (d * d)
    common = df_de * (-tt * e)
    df_dp = common + df_dk * (-(q / (p * p)))[:, None]
    df_dq = common + df_dk * (1.0 / p)[:, None]
    mm = m[:, None]
    jac = np.empty((3,) + t.shape)
    np.multiply(f, mm * (1.0 - _logistic(theta[:, 0]))[:, None], out=jac[0])
    np.multiply(df_dp, (m * p)[:, None], out=jac[1])
    np.multiply(df_dq, (m * q)[:, None], out=jac[2])
    return mm * f, jac


def grid_start(t: F64, y: F64, w: F64, cap: F64) -> F64:
    """The best (a, b, c) of a grid over s = p + q (GRID_S) and k = q / p (GRID_K), with m in closed form
    for each point (the weighted least-squares m, clipped to the range), per series. (The grid is over s and
    k because exp(-s t) is then computed once per s.)"""
    n = y.shape[0]
    best_sse = np.full(n, np.inf)
    best = np.zeros((n, 3))
    tt = np.maximum(t, 0.0)
    for s_ in GRID_S:
        e = np.exp(-s_ * tt)
        one_minus = 1.0 - e
        for k in GRID_K:
            f = one_minus / (1.0 + k * e)
            wf = w * f
            den = np.einsum("ij,ij->i", wf, f)
            num = np.einsum("ij,ij->i", wf, y)
            with np.errstate(invalid="ignore", divide="ignore"):
                m = num / den
            m = np.clip(np.nan_to_num(m, nan=0.5 * cap), 1e-4 * cap, (1 - 1e-4) * cap)
            # sum w (y - m f)^2 = sum w y^2 - 2 m sum w f y + m^2 sum w f^2 (the first term is the same for
            # every grid point, so it is left out of the comparison)
            sse = m * m * den - 2.0 * m * num
            better = sse < best_sse
            if better.any():
                best_sse[better] = sse[better]
                frac = m[better] / cap[better]
                p = s_ / (1.0 + k)
                best[better] = np.column_stack([np.log(frac / (1 - frac)), np.full(better.sum(), np.log(p)),
                                                np.full(better.sum(), np.log(k * p))])
    return best


@dataclass(frozen=True)
class BatchFit:
    """Fits of S series: theta (S, 3), the data's sum of squares at the optimum, points used, the normal
    matrix J'WJ (S, 3, 3) at the optimum (for the covariance), whether each converged, iterations used."""

    theta: F64
    sse: F64
    points: NDArray[np.int64]
    normal: F64
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]
    cap: F64

    @property
    def m(self) -> F64:
        return to_natural(self.theta, self.cap)[0]

    @property
    def p(self) -> F64:
        return np.exp(self.theta[:, 1])

    @property
    def q(self) -> F64:
        return np.exp(self.theta[:, 2])


_LOW = np.array([A_BOUNDS[0], B_BOUNDS[0], C_BOUNDS[0]])
_HIGH = np.array([A_BOUNDS[1], B_BOUNDS[1], C_BOUNDS[1]])


def _clip(theta: F64) -> F64:
    out = theta.copy()
    out[:, 0] = np.clip(out[:, 0], *A_BOUNDS)
    out[:, 1] = np.clip(out[:, 1], *B_BOUNDS)
    out[:, 2] = np.clip(out[:, 2], *C_BOUNDS)
    return out


def _cost(t, y, w, theta, cap, prior_mean, prior_weight):
    m, p, q = to_natural(theta, cap)
    r = y - bass_curve(t, m, p, q)
    data = np.einsum("ij,ij->i", w * r, r)
    penalty = np.einsum("ij,ij->i", prior_weight, (theta - prior_mean) ** 2)
    return data + penalty, data


def _normal_equations(jac: F64, w: F64, r: F64) -> tuple[F64, F64]:
    """J'WJ (S, 3, 3) and J'Wr (S, 3), from the Jacobian's three (S, T) columns (row-wise dot products,
    much faster than one einsum over (S, T, 3))."""
    cols = [jac[k] for k in range(3)]
    wcols = [w * c for c in cols]
    a_mat = np.empty((jac.shape[1], 3, 3))
    for k in range(3):
        for l in range(k, 3):
            a_mat[:, k, l] = a_mat[:, l, k] = np.einsum("ij,ij->i", wcols[k], cols[l])
    g = np.column_stack([np.einsum("ij,ij->i", wcols[k], r) for k in range(3)])
    return a_mat, g


def fit_batch(
    t: F64,
    y: F64,
    w: F64 | None = None,
    *,
    cap: F64 | float = 1.0,
    start: F64 | None = None,
    prior_mean: F64 | None = None,
    prior_weight: F64 | None = None,
    max_iterations: int = 100,
    tolerance: float = 1e-9,
    step_tolerance: float = 1e-7,
) -> BatchFit:
    """Levenberg-Marquardt fits of m F(t; p, q) to every row of ``y`` at once.

    t, y, w: (S, T) times (months since each series' origin), values and weights (1 observed, 0 missing or
    padding; NaN in y counts as missing). cap: m's upper bound per series (or one for all). start: theta
    (S, 3) (default: ``grid_start``). prior_mean, prior_weight: (S, 3) Gaussian penalty on theta (see
    the module docstring). Converged: at an accepted step the relative fall in the cost was below ``tolerance`` or
    no parameter moved more than ``step_tolerance`` (on the theta scale; a parameter pinned at its bound
    moves no more), or the damping grew past 1e10 (no step reduces the cost: a minimum at this precision).
    """
    y = np.asarray(y, float)
    t = np.broadcast_to(np.asarray(t, float), y.shape)
    w = np.ones_like(y) if w is None else np.asarray(w, float).copy()
    missing = ~np.isfinite(y)
    w = np.where(missing, 0.0, w)
    y = np.where(missing, 0.0, y)
    n = y.shape[0]
    cap_ = np.broadcast_to(np.asarray(cap, float), (n,)).copy()
    pm = np.zeros((n, 3)) if prior_mean is None else np.asarray(prior_mean, float)
    pw = np.zeros((n, 3)) if prior_weight is None else np.asarray(prior_weight, float)
    theta = _clip(grid_start(t, y, w, cap_) if start is None else np.asarray(start, float))
    cost, _ = _cost(t, y, w, theta, cap_, pm, pw)
    lam = np.full(n, 1e-3)
    converged = np.zeros(n, bool)
    iterations = np.zeros(n, np.int64)
    active = np.arange(n)
    # the working set's slices, taken again only when series leave it
    ta, ya, wa, ca, pma, pwa = t, y, w, cap_, pm, pw
    th, cst, lm = theta.copy(), cost.copy(), lam.copy()
    its = np.zeros(n, np.int64)
    for _ in range(max_iterations):
        if active.size == 0:
            break
        f, jac = bass_jacobian(ta, th, ca)
        a_mat, g = _normal_equations(jac, wa, ya - f)
        a_mat[:, [0, 1, 2], [0, 1, 2]] += pwa
        g -= pwa * (th - pma)
        # a parameter at its bound that the gradient pushes further out is held there (projected steps)
        held = ((th <= _LOW + 1e-9) & (g < 0)) | ((th >= _HIGH - 1e-9) & (g > 0))
        if held.any():
            a_mat = np.where(held[:, :, None] | held[:, None, :], 0.0, a_mat)
            a_mat[:, [0, 1, 2], [0, 1, 2]] += held * 1.0
            g = np.where(held, 0.0, g)
        diag = np.einsum("skk->sk", a_mat)
        damped = a_mat
        damped[:, [0, 1, 2], [0, 1, 2]] += lm[:, None] * np.maximum(diag, 1e-12)
        try:
            step = np.linalg.solve(damped, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = (np.linalg.pinv(damped) @ g[..., None])[..., 0]  # a singular system: least squares
        trial = _clip(th + step)
        new_cost, _ = _cost(ta, ya, wa, trial, ca, pma, pwa)
        ok = np.isfinite(new_cost) & (new_cost <= cst)
        its += 1
        moved = np.abs(trial - th).max(axis=1)
        small = ok & (((cst - new_cost) <= tolerance * np.maximum(cst, 1e-300)) | (moved <= step_tolerance))
        th = np.where(ok[:, None], trial, th)
        cst = np.where(ok, new_cost, cst)
        lm = np.where(ok, np.maximum(lm / 3.0, 1e-12), lm * 2.0)
        done = small | (lm > 1e10)
        if done.any():
            finished = active[done]
            theta[finished], cost[finished], lam[finished] = th[done], cst[done], lm[done]
            iterations[finished] = its[done]
            converged[finished] = True
            keep = ~done
            active = active[keep]
            th, cst, lm, its = th[keep], cst[keep], lm[keep], its[keep]
            ta, ya, wa, ca, pma, pwa = t[active], y[active], w[active], cap_[active], pm[active], pw[active]
    if active.size:  # not converged within max_iterations: the last accepted point
        theta[active], cost[active], iterations[active] = th, cst, its
    f, jac = bass_jacobian(t, theta, cap_)
    r = y - f
    normal, _ = _normal_equations(jac, w, r)
    sse = np.einsum("ij,ij->i", w * r, r)
    points = (w > 0).sum(axis=1)
    return BatchFit(theta=theta, sse=sse, points=points, normal=normal, converged=converged,
                    iterations=iterations, cap=cap_)
