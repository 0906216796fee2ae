"""The change in an organisation's value between two periods, with its confidence interval: the improvement
ranking (OpenPrescribing users' "who improved most", not only "who is highest").

* Proportions: Newcombe's hybrid score interval for the difference of two independent proportions (Newcombe
  1998, "Interval estimation for the difference between independent proportions", Statistics in Medicine
  17:873-890, method 10), built from the two Wilson score intervals. For d = p2 - p1 with Wilson limits
  (l1, u1) and (l2, u2)::

      low  = d - sqrt((p2 - l2)^2 + (u1 - p1)^2)
      high = d + sqrt((u2 - p2)^2 + (p1 - l1)^2)

* Rates (events per unit of denominator): the difference of two Poisson rates with the normal approximation,
  d +/- z * sqrt(x1 / n1^2 + x2 / n2^2) (e.g. Kirkwood and Sterne, Essential Medical Statistics, 2003, 22.3).

The two periods are treated as independent samples; where the same patients appear in both (prescribing a
month apart) the interval is conservative (too wide), never too narrow.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import as_float_array, z_value
from uptake.stats.intervals import wilson

FloatArray = NDArray[np.float64]


def newcombe_difference(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike,
                        confidence: float = 0.95) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(difference p2 - p1, low, high) for proportions x1/n1 (start) and x2/n2 (end), vectorised.

    Edge cases: n1 or n2 == 0 -> NaN (no proportion); inputs as :func:`uptake.stats.wilson` (x <= n, >= 0)."""
    a1, b1, a2, b2 = (as_float_array(v, name) for v, name in ((x1, "x1"), (n1, "n1"), (x2, "x2"), (n2, "n2")))
    a1, b1, a2, b2 = np.broadcast_arrays(a1, b1, a2, b2)
    l1, u1 = wilson(a1, b1, confidence)
    l2, u2 = wilson(a2, b2, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.where(b1 > 0, a1 / np.where(b1 > 0, b1, 1.0), np.nan)
        p2 = np.where(b2 > 0, a2 / np.where(b2 > 0, b2, 1.0), np.nan)
    d = p2 - p1
    low = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return d, low, high


def rate_difference(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike,
                    confidence: float = 0.95) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(difference r2 - r1, low, high) for rates x1/n1 and x2/n2 (per unit of denominator), normal
    approximation to the Poisson counts. n == 0 -> NaN."""
    z = z_value(confidence)
    a1, b1, a2, b2 = (as_float_array(v, name) for v, name in ((x1, "x1"), (n1, "n1"), (x2, "x2"), (n2, "n2")))
    a1, b1, a2, b2 = np.broadcast_arrays(a1, b1, a2, b2)
    ok = (b1 > 0) & (b2 > 0)
    s1, s2 = np.where(ok, b1, 1.0), np.where(ok, b2, 1.0)
    d = np.where(ok, a2 / s2 - a1 / s1, np.nan)
    half = z * np.sqrt(np.maximum(a1, 0) / s1 ** 2 + np.maximum(a2, 0) / s2 ** 2)
    return d, np.where(ok, d - half, np.nan), np.where(ok, d + half, np.nan)


def improvement_verdict(low: ArrayLike, high: ArrayLike, polarity: str) -> list[str]:
    """'clear improvement' / 'clear decline' when the interval excludes 0 (by polarity; 'clear rise' / 'clear
    fall' without one), 'no clear change' when it includes 0, 'no interval' when there is none."""
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    up, down = {"high-is-good": ("clear improvement", "clear decline"),
                "low-is-good": ("clear decline", "clear improvement")}.get(polarity, ("clear rise", "clear fall"))
    out = []
    for a, b in zip(lo.ravel(), hi.ravel(), strict=True):
        if np.isnan(a) or np.isnan(b):
            out.append("no interval")
        elif a > 0:
            out.append(up)
        elif b < 0:
            out.append(down)
        else:
            out.append("no clear change")
    return out
