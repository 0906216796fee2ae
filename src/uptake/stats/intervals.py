"""Confidence intervals for proportions and counts, and comparison with a benchmark.

Conventions follow the Public Health England (now OHID) Fingertips technical guidance, "Technical Guide:
Confidence Intervals" (PHE, 2018) and the public-health-technical-guidance pages "Proportions" and "Rates".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import (
    FloatArray,
    StatsInputError,
    as_float_array,
    check_confidence,
    check_polarity,
    positions,
    z_value,
)

__all__ = ["wilson", "byar", "exact_poisson", "compare_to_benchmark", "z_value"]

#: Below this many events :func:`byar` uses exact Poisson limits (PHE technical guide, "Rates").
BYAR_EXACT_BELOW = 10


def wilson(x: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion x/n, vectorised over arrays.

    Formula (Wilson 1927; PHE technical guide "Proportions"; Newcombe 1998 method 3)::

        low, high = (2x + z^2 -/+ z * sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))

    with z = Phi^-1(1 - alpha/2) (1.959964 for 95%, 3.090232 for 99.8%).

    Parameters
    ----------
    x : numerators (people with the characteristic); 0 <= x <= n. Need not be integers (e.g. pooled
        or weighted counts), but the interval assumes binomial variation.
    n : denominators; broadcast against ``x``.
    confidence : two-sided level as a fraction, e.g. 0.95 or 0.998.

    Returns
    -------
    (low, high) as float arrays of the broadcast shape, as proportions in [0, 1].

    Edge cases
    ----------
    * n == 0 -> (NaN, NaN): no proportion exists.
    * NaN in x or n -> NaN.
    * x == 0 gives low exactly 0; x == n gives high exactly 1 (the formula gives these up to rounding).
    * x < 0, n < 0 or x > n raise :class:`StatsInputError` naming the positions.
    """
    z = z_value(confidence)
    xa = as_float_array(x, "x")
    na = as_float_array(n, "n")
    xa, na = np.broadcast_arrays(xa, na)
    bad = (xa < 0) | (na < 0) | (xa > na)
    if np.any(bad):
        raise StatsInputError(
            f"wilson needs 0 <= x <= n; it fails at {positions(bad)}; check numerators and denominators "
            "are not swapped and that numerators count a subset of the denominator"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        z2 = z * z
        centre = 2.0 * xa + z2
        spread = z * np.sqrt(z2 + 4.0 * xa * (1.0 - xa / na))
        denom = 2.0 * (na + z2)
        low = (centre - spread) / denom
        high = (centre + spread) / denom
    empty = na == 0
    low = np.where(empty, np.nan, np.clip(low, 0.0, 1.0))
    high = np.where(empty, np.nan, np.clip(high, 0.0, 1.0))
    low = np.where((xa == 0) & ~empty, 0.0, low)
    high = np.where((xa == na) & ~empty, 1.0, high)
    return low, high


def exact_poisson(x: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Exact (Garwood 1936) Poisson confidence limits for an observed count, via chi-squared quantiles.

    Formula (PHE technical guide "Rates", Armitage & Berry 2002)::

        low  = chi2.ppf(alpha/2, 2x) / 2          (0 when x == 0)
        high = chi2.ppf(1 - alpha/2, 2x + 2) / 2

    Edge cases: NaN -> NaN; negative counts raise :class:`StatsInputError`. Non-integer counts are
    accepted (the chi-squared form is continuous in x) but are not a Poisson count in the usual sense.
    """
    # deferred: scipy is heavy and only this path needs it
    from scipy.stats import chi2  # here: importing scipy.stats takes about half a second

    c = check_confidence(confidence)
    alpha = 1.0 - c
    xa = as_float_array(x, "x")
    if np.any(xa < 0):
        raise StatsInputError(f"counts must be >= 0; negative at {positions(xa < 0)}")
    with np.errstate(invalid="ignore"):
        low = np.where(xa == 0, 0.0, chi2.ppf(alpha / 2.0, 2.0 * xa) / 2.0)
        high = chi2.ppf(1.0 - alpha / 2.0, 2.0 * xa + 2.0) / 2.0
    low = np.where(np.isnan(xa), np.nan, low)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def byar(x: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Confidence limits for an observed count: Byar's approximation, exact Poisson below 10 events.

    Formula (Breslow & Day 1987; PHE technical guide "Rates", Appendix 1 of "Technical Guide:
    Confidence Intervals")::

        low  = x (1 - 1/(9x) - z/(3 sqrt(x)))^3
        high = (x + 1) (1 - 1/(9(x + 1)) + z/(3 sqrt(x + 1)))^3

    For x < 10 the exact chi-squared limits of :func:`exact_poisson` are used instead, as PHE
    recommends (Byar is within 0.2% of exact at 95% from 10 events). Divide by the denominator (and
    multiply by e.g. 100,000) to get limits for a crude rate.

    Parameters
    ----------
    x : observed event counts (array or scalar), >= 0.
    confidence : two-sided level as a fraction.

    Edge cases: x == 0 -> (0, 3.689) at 95%; NaN -> NaN; negative counts raise.
    """
    z = z_value(confidence)
    xa = as_float_array(x, "x")
    if np.any(xa < 0):
        raise StatsInputError(f"counts must be >= 0; negative at {positions(xa < 0)}")
    exact_low, exact_high = exact_poisson(xa, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        byar_low = xa * (1.0 - 1.0 / (9.0 * xa) - z / (3.0 * np.sqrt(xa))) ** 3
        x1 = xa + 1.0
        byar_high = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    small = xa < BYAR_EXACT_BELOW
    low = np.where(small, exact_low, byar_low)
    high = np.where(small, exact_high, byar_high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def compare_to_benchmark(
    value: ArrayLike,
    low95: ArrayLike,
    high95: ArrayLike,
    low998: ArrayLike | None,
    high998: ArrayLike | None,
    benchmark: ArrayLike,
    polarity: str,
) -> NDArray[np.str_]:
    """Compare each organisation's interval with a benchmark, Fingertips style.

    Rule (PHE Fingertips "compared with benchmark"; METHODS.md):

    * the benchmark lies inside the 95% interval (limits inclusive) -> ``"similar"``;
    * otherwise the value is significantly different at 95%. With ``polarity="high-is-good"`` an
      interval wholly above the benchmark is ``"better"`` and wholly below is ``"worse"``
      (reversed for ``"low-is-good"``);
    * two-level comparison (when 99.8% limits are given): a value whose 99.8% interval also excludes
      the benchmark is ``"best"`` (instead of better) or ``"worst"`` (instead of worse);
    * ``polarity="no-judgement"`` reports ``"higher"`` / ``"lower"`` / ``"similar"`` at either level
      (there is no "highest": without a judgement the second level adds nothing a reader can act on);
    * any NaN among value, the needed limits or the benchmark -> ``"not compared"``.

    Parameters
    ----------
    value, low95, high95 : the indicator value and its 95% interval, per organisation.
    low998, high998 : the 99.8% interval, or ``None`` for the one-level comparison.
    benchmark : a scalar (e.g. England) or one benchmark per organisation.
    polarity : ``"high-is-good"``, ``"low-is-good"`` or ``"no-judgement"``.

    Returns an array of strings of the broadcast shape.
    """
    check_polarity(polarity)
    if (low998 is None) != (high998 is None):
        raise StatsInputError("give both low998 and high998, or neither (for a one-level comparison)")
    v = as_float_array(value, "value")
    lo = as_float_array(low95, "low95")
    hi = as_float_array(high95, "high95")
    b = as_float_array(benchmark, "benchmark")
    if low998 is not None and high998 is not None:
        lo2 = as_float_array(low998, "low998")
        hi2 = as_float_array(high998, "high998")
        two_level = True
    else:
        lo2 = np.full_like(lo, np.nan)
        hi2 = np.full_like(hi, np.nan)
        two_level = False
    v, lo, hi, lo2, hi2, b = np.broadcast_arrays(v, lo, hi, lo2, hi2, b)

    missing = np.isnan(v) | np.isnan(lo) | np.isnan(hi) | np.isnan(b)
    above95 = lo > b  # whole 95% interval above the benchmark
    below95 = hi < b
    above998 = two_level & (lo2 > b)
    below998 = two_level & (hi2 < b)

    if polarity == "high-is-good":
        labels = {"up": "better", "down": "worse", "up2": "best", "down2": "worst"}
    elif polarity == "low-is-good":
        labels = {"up": "worse", "down": "better", "up2": "worst", "down2": "best"}
    else:
        labels = {"up": "higher", "down": "lower", "up2": "higher", "down2": "lower"}

    out = np.full(v.shape, "similar", dtype=object)
    out[above95] = labels["up"]
    out[below95] = labels["down"]
    out[above95 & above998] = labels["up2"]
    out[below95 & below998] = labels["down2"]
    out[missing] = "not compared"
    return out.astype(str)
