"""Funnel plots: control limits around a benchmark, with Spiegelhalter's over-dispersion adjustment.

Sources
-------
* Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med 2005;24:1185-1202
  (exact binomial / Poisson limits with interpolation between integer counts, appendix A.1).
* Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health Care
  2005;14:347-351 (variance-stabilising transforms, winsorised z-scores, additive random effects tau^2).
* PHE/OHID Fingertips funnel plot convention for proportions: the limit at denominator n is the
  observed proportion whose Wilson score interval just touches the benchmark (METHODS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import (
    FloatArray,
    StatsInputError,
    as_1d_float,
    as_float_array,
    check_polarity,
    positions,
    z_value,
)

__all__ = [
    "FunnelResult",
    "funnel_limits",
    "wilson_funnel_limit",
    "exact_funnel_limit",
    "random_effects_limits",
    "compare_random_effects",
]

Measure = Literal["proportion", "rate"]
LimitMethod = Literal["wilson", "exact"]

CONFIDENCE_INNER = 0.95
CONFIDENCE_OUTER = 0.998
WINSORISE_FRACTION = 0.10  # Spiegelhalter 2005 (QSHC): winsorise z-scores at the 10th and 90th percentiles
DEFAULT_GRID_POINTS = 200


@dataclass(frozen=True)
class FunnelResult:
    """Everything needed to draw a funnel plot and to say which units are outside it.

    Per-unit arrays follow the order of the input. ``band`` is one of ``"within 95%"``,
    ``"between 95% and 99.8%"``, ``"beyond 99.8%"`` or ``"not compared"`` (zero or missing
    denominator); ``side`` is ``"high"``, ``"low"`` or ``""`` (within, or not compared).
    """

    measure: str
    method: str  # how the limits were made: "wilson", "exact-binomial", "exact-poisson", "random-effects"
    benchmark: float  # theta: the pooled value sum(num)/sum(den) unless one was given
    value: FloatArray
    denominator: FloatArray
    lower95: FloatArray
    upper95: FloatArray
    lower998: FloatArray
    upper998: FloatArray
    band: NDArray[np.str_]
    side: NDArray[np.str_]
    z: FloatArray  # z-score on the variance-stabilised scale, before winsorising (NaN when not compared)
    phi: float  # over-dispersion ratio from winsorised z-scores (NaN when fewer than 3 units)
    tau2: float  # between-unit variance estimate on the transformed scale (used only when adjusted)
    overdispersion_adjusted: bool
    grid: FloatArray  # denominators for drawing smooth limits
    grid_lower95: FloatArray
    grid_upper95: FloatArray
    grid_lower998: FloatArray
    grid_upper998: FloatArray
    warnings: tuple[str, ...] = field(default=())


def wilson_funnel_limit(benchmark: float, n: ArrayLike, confidence: float) -> tuple[FloatArray, FloatArray]:
    """Proportion limits at denominator n: the observed proportions whose Wilson interval touches theta.

    The Wilson interval is the set of theta with |p - theta| <= z sqrt(theta(1 - theta)/n) (it inverts
    the score test), so an observed p has an interval with the benchmark exactly on its edge when::

        p = theta -/+ z * sqrt(theta (1 - theta) / n)

    clipped to [0, 1]. A unit is outside these limits exactly when its own Wilson interval excludes
    theta, so the funnel agrees with :func:`uptake.stats.compare_to_benchmark` on Wilson intervals.
    n == 0 gives NaN.
    """
    z = z_value(confidence)
    na = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(benchmark * (1.0 - benchmark) / na)
    low = np.clip(benchmark - half, 0.0, 1.0)
    high = np.clip(benchmark + half, 0.0, 1.0)
    empty = ~(na > 0)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _interpolated_quantile(
    dist_ppf: FloatArray, cdf_r: FloatArray, cdf_rm1: FloatArray, p: float
) -> FloatArray:
    """Spiegelhalter (2005, Stat Med, appendix): r_p - alpha, alpha = (F(r_p) - p)/(F(r_p) - F(r_p - 1))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (cdf_r - p) / (cdf_r - cdf_rm1)
    alpha = np.where(np.isfinite(alpha), alpha, 0.0)
    return dist_ppf - alpha


def exact_funnel_limit(
    benchmark: float, n: ArrayLike, confidence: float, measure: Measure = "proportion"
) -> tuple[FloatArray, FloatArray]:
    """Exact binomial (proportions) or Poisson (rates) funnel limits with Spiegelhalter's interpolation.

    For a lower tail probability p (0.025 and 0.975 for 95%; 0.001 and 0.999 for 99.8%), let r_p be the
    smallest count with F(r_p) >= p under Binomial(n, theta) or Poisson(theta n). The limit is::

        (r_p - alpha) / n,   alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1))

    which interpolates smoothly between the integer counts (Spiegelhalter 2005, Stat Med, appendix).
    Binomial denominators are rounded to whole numbers; n <= 0 gives NaN.
    """
    # deferred: scipy is heavy and only this path needs it
    from scipy.stats import binom, poisson  # here: importing scipy.stats takes about half a second

    tail = (1.0 - confidence) / 2.0
    na = np.asarray(n, dtype=np.float64)
    valid = na > 0
    out = []
    for p in (tail, 1.0 - tail):
        if measure == "proportion":
            nn = np.where(valid, np.maximum(np.rint(na), 1.0), 1.0)
            r = binom.ppf(p, nn, benchmark)
            cdf_r, cdf_rm1 = binom.cdf(r, nn, benchmark), binom.cdf(r - 1, nn, benchmark)
            limit = _interpolated_quantile(r, cdf_r, cdf_rm1, p) / nn
            limit = np.clip(limit, 0.0, 1.0)
        else:
            nn = np.where(valid, na, 1.0)
            mu = benchmark * nn
            r = poisson.ppf(p, mu)
            limit = _interpolated_quantile(r, poisson.cdf(r, mu), poisson.cdf(r - 1, mu), p) / nn
            limit = np.maximum(limit, 0.0)
        # A degenerate benchmark (no events, or all events) has no spread: the limits are theta itself.
        degenerate = benchmark in (0.0, 1.0) if measure == "proportion" else benchmark == 0.0
        if degenerate:
            limit = np.full(na.shape, float(benchmark))
        out.append(np.where(valid, limit, np.nan))
    return out[0], out[1]


def _transform(measure: Measure, value: FloatArray) -> FloatArray:
    # Variance-stabilising transforms (Spiegelhalter 2005, QSHC): arcsine square root for proportions,
    # square root for Poisson rates. Both give a standard error of 1/(2 sqrt(n)) whatever theta is.
    if measure == "proportion":
        return np.arcsin(np.sqrt(np.clip(value, 0.0, 1.0)))
    return np.sqrt(np.maximum(value, 0.0))


def _back_transform(measure: Measure, y: FloatArray) -> FloatArray:
    if measure == "proportion":
        return np.sin(np.clip(y, 0.0, np.pi / 2.0)) ** 2
    return np.maximum(y, 0.0) ** 2


def _random_effects_limits(
    measure: Measure, theta_t: float | FloatArray, n: FloatArray, tau2: float | FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = 1.0 / (4.0 * n)
    half = z * np.sqrt(s2 + tau2)
    low = _back_transform(measure, theta_t - half)
    high = _back_transform(measure, theta_t + half)
    empty = ~(n > 0)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def random_effects_limits(
    benchmark: ArrayLike,
    n: ArrayLike,
    tau2: ArrayLike,
    confidence: float,
    measure: Measure = "proportion",
) -> tuple[FloatArray, FloatArray]:
    """Spiegelhalter's additive random-effects limits at denominator n around a benchmark::

        f^-1( f(theta) -/+ z sqrt(1/(4n) + tau^2) )

    with f the variance-stabilising transform (arcsine square root for proportions, square root for rates)
    and tau^2 the between-unit variance on that scale (Spiegelhalter, Qual Saf Health Care 2005;14:347).
    These are the limits :func:`funnel_limits` draws when it finds over-dispersion. All arguments broadcast;
    n <= 0 gives NaN.
    """
    if measure not in ("proportion", "rate"):
        raise StatsInputError(f"measure must be 'proportion' or 'rate' (got {measure!r})")
    theta = as_float_array(benchmark, "benchmark")
    na = as_float_array(n, "n")
    t2 = as_float_array(tau2, "tau2")
    if np.any(t2 < 0):
        raise StatsInputError(f"tau2 is a variance and must be >= 0; negative at {positions(t2 < 0)}")
    theta, na, t2 = np.broadcast_arrays(theta, na, t2)
    low, high = _random_effects_limits(measure, _transform(measure, theta), na, t2, confidence)
    missing = np.isnan(theta) | np.isnan(t2)
    return np.where(missing, np.nan, low), np.where(missing, np.nan, high)


def compare_random_effects(
    values: ArrayLike,
    denominators: ArrayLike,
    benchmark: ArrayLike,
    tau2: ArrayLike,
    polarity: str,
    measure: Measure = "proportion",
) -> NDArray[np.str_]:
    """Compare each unit with a benchmark as an over-dispersed funnel plot does (Fingertips words).

    A unit's value is judged against the random-effects limits at its own denominator
    (:func:`random_effects_limits`), so the judgement is exactly the funnel's band:

    * inside the 95% limits (a value on a limit is inside) -> ``"similar"``;
    * outside them -> ``"better"`` / ``"worse"`` by polarity; outside the 99.8% limits too -> ``"best"`` /
      ``"worst"``; ``polarity="no-judgement"`` gives ``"higher"`` / ``"lower"``;
    * a missing value, a denominator <= 0, a missing benchmark or tau^2 -> ``"not compared"``.

    With tau^2 = 0 the limits are the plain normal limits on the transformed scale, not the Wilson or Byar
    intervals of :func:`uptake.stats.compare_to_benchmark`: use that function when there is no
    over-dispersion (the pipeline does, docs/methods.md "One answer to 'different from England?'").
    """
    check_polarity(polarity)
    v = as_float_array(values, "values")
    n = as_float_array(denominators, "denominators")
    b = as_float_array(benchmark, "benchmark")
    t2 = as_float_array(tau2, "tau2")
    v, n, b, t2 = np.broadcast_arrays(v, n, b, t2)
    with np.errstate(invalid="ignore"):
        safe_n = np.where(n > 0, n, np.nan)
    l95, u95 = random_effects_limits(b, safe_n, t2, CONFIDENCE_INNER, measure)
    l998, u998 = random_effects_limits(b, safe_n, t2, CONFIDENCE_OUTER, measure)
    if polarity == "high-is-good":
        up, down, up2, down2 = "better", "worse", "best", "worst"
    elif polarity == "low-is-good":
        up, down, up2, down2 = "worse", "better", "worst", "best"
    else:
        up, down, up2, down2 = "higher", "lower", "higher", "lower"
    out = np.full(v.shape, "similar", dtype=object)
    with np.errstate(invalid="ignore"):
        out[v > u95] = up
        out[v < l95] = down
        out[v > u998] = up2
        out[v < l998] = down2
    missing = np.isnan(v) | np.isnan(l95) | np.isnan(u95) | np.isnan(b)
    out[missing] = "not compared"
    return out.astype(str)


def _make_grid(den: FloatArray, points: int | ArrayLike | None, integer: bool) -> FloatArray:
    if points is None or isinstance(points, (int, np.integer)):
        count = DEFAULT_GRID_POINTS if points is None else int(points)
        if count < 2:
            raise StatsInputError(f"points must be at least 2 grid points (got {count})")
        positive = den[den > 0]
        if positive.size == 0:
            return np.array([], dtype=np.float64)
        lo, hi = float(positive.min()), float(positive.max())
        grid = np.geomspace(max(lo, 1.0) if integer else lo, hi, count) if hi > lo else np.array([lo])
    else:
        grid = as_1d_float(points, "points")
        if np.any(~(grid > 0)):
            raise StatsInputError(f"grid denominators in points must be > 0; not at {positions(~(grid > 0))}")
    if integer:
        grid = np.maximum(np.rint(grid), 1.0)
    return np.unique(grid)


def funnel_limits(
    numerators: ArrayLike,
    denominators: ArrayLike,
    *,
    measure: Measure = "proportion",
    overdispersion: bool = True,
    points: int | ArrayLike | None = None,
    benchmark: float | None = None,
    limits: LimitMethod | None = None,
) -> FunnelResult:
    """Funnel plot limits, bands and Spiegelhalter's over-dispersion estimate.

    Method
    ------
    1. Benchmark theta = sum(numerators) / sum(denominators) over units with a positive denominator,
       unless ``benchmark`` is given (e.g. the England value or a standard).
    2. Plain limits at 95% and 99.8%:

       * proportions, ``limits="wilson"`` (default): theta -/+ z sqrt(theta(1 - theta)/n), the
         observed value whose Wilson interval touches theta (METHODS.md; see
         :func:`wilson_funnel_limit`). Chosen as the default so that the funnel and the Wilson-based
         benchmark comparison in tables never disagree about a unit.
       * proportions, ``limits="exact"``: exact binomial with interpolation (Spiegelhalter 2005).
       * rates: exact Poisson with interpolation (Spiegelhalter 2005); ``limits="wilson"`` is an error.

    3. Over-dispersion (Spiegelhalter 2005, QSHC): y_i = asin(sqrt(O_i/n_i)) for proportions or
       sqrt(O_i/n_i) for rates, s_i = 1/(2 sqrt(n_i)), z_i = (y_i - f(theta))/s_i; winsorise z at its
       10th and 90th percentiles (numpy linear interpolation); phi = mean(z_w^2); with w_i = 1/s_i^2::

           tau^2 = max(0, (k phi - (k - 1)) / (sum w - sum w^2 / sum w))

       When ``overdispersion`` is true and phi > 1, all limits become f^-1(f(theta) -/+ z sqrt(s^2 +
       tau^2)); otherwise the plain limits of step 2 are kept (phi and tau^2 are still reported).
    4. Band per unit: above the upper 99.8% limit -> "beyond 99.8%" (side "high"); above the upper 95%
       limit -> "between 95% and 99.8%"; otherwise "within 95%" (likewise low). A value exactly on a
       limit counts as within.

    Parameters
    ----------
    numerators, denominators : one value per unit (organisation). Rates are per unit of denominator
        (multiply by 100,000 afterwards for display).
    measure : ``"proportion"`` or ``"rate"``.
    overdispersion : apply the random-effects adjustment when phi > 1.
    points : grid for smooth limits: ``None`` (200 log-spaced denominators across the data), a number
        of grid points, or explicit denominators.
    benchmark : theta to use instead of the pooled value.
    limits : ``"wilson"`` or ``"exact"`` for proportions (default ``"wilson"``); rates are always exact.

    Edge cases
    ----------
    * Units with a zero or missing denominator or a missing numerator are "not compared", with NaN
      limits; they do not contribute to theta or phi.
    * Fewer than 3 comparable units: phi is NaN, no adjustment, and a warning says so.
    * theta of exactly 0 or 1 gives degenerate (zero-width) limits; all units are then "within" unless
      they differ from theta.
    * Negative counts, or numerators above denominators for proportions, raise StatsInputError.
    """
    if measure not in ("proportion", "rate"):
        raise StatsInputError(f"measure must be 'proportion' or 'rate' (got {measure!r})")
    if limits is None:
        limits = "wilson" if measure == "proportion" else "exact"
    if limits not in ("wilson", "exact"):
        raise StatsInputError(f"limits must be 'wilson' or 'exact' (got {limits!r})")
    if measure == "rate" and limits == "wilson":
        raise StatsInputError(
            "Wilson limits are for proportions; rates use exact Poisson limits (limits='exact')"
        )

    num = as_1d_float(numerators, "numerators")
    den = as_1d_float(denominators, "denominators")
    if num.shape != den.shape:
        raise StatsInputError(
            f"numerators and denominators must have the same length (got {num.size} and {den.size})"
        )
    if np.any(num < 0) or np.any(den < 0):
        raise StatsInputError(f"counts must be >= 0; negative at {positions((num < 0) | (den < 0))}")
    if measure == "proportion" and np.any(num > den):
        raise StatsInputError(
            f"a proportion's numerator cannot exceed its denominator; it does at {positions(num > den)}"
        )

    warnings: list[str] = []
    valid = np.isfinite(num) & np.isfinite(den) & (den > 0)
    k = int(valid.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(valid, num / den, np.nan)

    if benchmark is None:
        theta = float(num[valid].sum() / den[valid].sum()) if k else float("nan")
    else:
        theta = float(benchmark)
    if measure == "proportion" and not (0.0 <= theta <= 1.0) and not np.isnan(theta):
        raise StatsInputError(f"a proportion benchmark must lie in [0, 1] (got {theta})")
    if measure == "rate" and theta < 0:
        raise StatsInputError(f"a rate benchmark must be >= 0 (got {theta})")

    # Over-dispersion estimate on the variance-stabilised scale.
    theta_t = float(_transform(measure, np.asarray(theta)))
    zscore = np.full(num.shape, np.nan)
    phi, tau2 = float("nan"), 0.0
    if k >= 3:
        s = 1.0 / (2.0 * np.sqrt(den[valid]))
        z = (_transform(measure, value[valid]) - theta_t) / s
        zscore[valid] = z
        lo_z, hi_z = np.percentile(z, [100 * WINSORISE_FRACTION, 100 * (1 - WINSORISE_FRACTION)])
        z_w = np.clip(z, lo_z, hi_z)
        phi = float(np.mean(z_w**2))
        w = 1.0 / s**2
        if k * phi > k - 1:
            tau2 = float((k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    elif k > 0:
        warnings.append(
            f"only {k} unit(s) with a positive denominator: over-dispersion cannot be estimated, "
            "plain limits are shown"
        )
    else:
        warnings.append("no unit has a positive denominator: nothing can be compared")

    adjusted = bool(overdispersion and k >= 3 and phi > 1.0 and tau2 > 0.0)
    grid = _make_grid(den, points, integer=(measure == "proportion" and limits == "exact" and not adjusted))

    def limits_at(n: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        if adjusted:
            l95, u95 = _random_effects_limits(measure, theta_t, n, tau2, CONFIDENCE_INNER)
            l998, u998 = _random_effects_limits(measure, theta_t, n, tau2, CONFIDENCE_OUTER)
        elif limits == "wilson":
            l95, u95 = wilson_funnel_limit(theta, n, CONFIDENCE_INNER)
            l998, u998 = wilson_funnel_limit(theta, n, CONFIDENCE_OUTER)
        else:
            l95, u95 = exact_funnel_limit(theta, n, CONFIDENCE_INNER, measure)
            l998, u998 = exact_funnel_limit(theta, n, CONFIDENCE_OUTER, measure)
        return l95, u95, l998, u998

    if np.isnan(theta):
        nan = np.full(num.shape, np.nan)
        lower95 = upper95 = lower998 = upper998 = nan
        grid_limits = tuple(np.full(grid.shape, np.nan) for _ in range(4))
    else:
        lower95, upper95, lower998, upper998 = limits_at(np.where(valid, den, 0.0))
        grid_limits = limits_at(grid)

    band = np.full(num.shape, "within 95%", dtype=object)
    side = np.full(num.shape, "", dtype=object)
    high95 = valid & (value > upper95)
    low95 = valid & (value < lower95)
    band[high95 | low95] = "between 95% and 99.8%"
    band[valid & ((value > upper998) | (value < lower998))] = "beyond 99.8%"
    side[high95] = "high"
    side[low95] = "low"
    compared = valid & ~np.isnan(theta)
    band[~compared] = "not compared"
    side[~compared] = ""

    if adjusted:
        method = "random-effects"
    elif limits == "wilson":
        method = "wilson"
    else:
        method = "exact-binomial" if measure == "proportion" else "exact-poisson"

    return FunnelResult(
        measure=measure,
        method=method,
        benchmark=theta,
        value=value,
        denominator=den,
        lower95=lower95,
        upper95=upper95,
        lower998=lower998,
        upper998=upper998,
        band=band.astype(str),
        side=side.astype(str),
        z=zscore,
        phi=phi,
        tau2=tau2,
        overdispersion_adjusted=adjusted,
        grid=grid,
        grid_lower95=grid_limits[0],
        grid_upper95=grid_limits[1],
        grid_lower998=grid_limits[2],
        grid_upper998=grid_limits[3],
        warnings=tuple(warnings),
    )
