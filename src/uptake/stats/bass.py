"""The Bass diffusion curve (Bass FM. A new product growth model for consumer durables. Management Science
1969;15:215-227).

With market potential ``m``, coefficient of innovation ``p`` and of imitation ``q``, the cumulative share
of the potential that has adopted by time ``t`` (from take-off, ``t >= 0``) is

    F(t) = (1 - exp(-(p + q) t)) / (1 + (q / p) exp(-(p + q) t))

and the cumulative adoption ``N(t) = m F(t)``. The hazard of adopting at ``t`` among those who have not is
``p + q F(t)``. Pure NumPy: every function broadcasts, so one call evaluates many series at once (parameters
as column vectors, times as a row). Fitting lives with the forecasts (``uptake.models``); this is the curve.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["bass_fraction", "bass_cumulative", "bass_increments", "bass_hazard", "bass_time_to_fraction"]


def _check(p: NDArray[np.float64], q: NDArray[np.float64]) -> None:
    if np.any(~np.isfinite(p)) or np.any(p <= 0):
        raise ValueError("the coefficient of innovation p must be finite and > 0")
    if np.any(~np.isfinite(q)) or np.any(q < 0):
        raise ValueError("the coefficient of imitation q must be finite and >= 0")


def bass_fraction(t: ArrayLike, p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """F(t): the cumulative fraction of the potential adopted by time t (0 before take-off)."""
    t_ = np.asarray(t, dtype=float)
    p_ = np.asarray(p, dtype=float)
    q_ = np.asarray(q, dtype=float)
    _check(p_, q_)
    tt = np.maximum(t_, 0.0)
    e = np.exp(-(p_ + q_) * tt)
    return (1.0 - e) / (1.0 + (q_ / p_) * e)


def bass_cumulative(t: ArrayLike, m: ArrayLike, p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """N(t) = m F(t)."""
    return np.asarray(m, dtype=float) * bass_fraction(t, p, q)


def bass_increments(t: ArrayLike, m: ArrayLike, p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """Adoptions in each interval (t - 1, t]: N(t) - N(t - 1) (times in whole periods)."""
    t_ = np.asarray(t, dtype=float)
    return bass_cumulative(t_, m, p, q) - bass_cumulative(t_ - 1.0, m, p, q)


def bass_hazard(t: ArrayLike, p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """The hazard p + q F(t): the chance that a non-adopter adopts at t, per unit time."""
    return np.asarray(p, dtype=float) + np.asarray(q, dtype=float) * bass_fraction(t, p, q)


def bass_time_to_fraction(fraction: ArrayLike, p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """The time at which F(t) reaches ``fraction`` (0 <= fraction < 1): the inverse of ``bass_fraction``,

        t = ln((1 + (q / p) f) / (1 - f)) / (p + q)

    (``inf`` for a fraction of 1 or more, which the curve only reaches in the limit)."""
    f = np.asarray(fraction, dtype=float)
    p_ = np.asarray(p, dtype=float)
    q_ = np.asarray(q, dtype=float)
    _check(p_, q_)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log((1.0 + (q_ / p_) * f) / (1.0 - f)) / (p_ + q_)
    return np.where(f >= 1.0, np.inf, np.where(f <= 0.0, 0.0, t))
