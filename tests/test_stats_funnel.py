"""Funnel plot limits and over-dispersion (uptake.stats.funnel).

No published worked example with Spiegelhalter's (2005) numbers was found in the sources available to
us, so these tests check against independent computations instead (each says which):
* the Wilson touching point by brute-force bisection on the Wilson interval itself;
* exact binomial and Poisson limits from cumulative probabilities summed in plain Python (math.comb,
  math.exp), not scipy;
* phi and tau^2 from a loop-based transcription of Spiegelhalter's formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.stats import (
    StatsInputError,
    compare_to_benchmark,
    exact_funnel_limit,
    funnel_limits,
    wilson,
    wilson_funnel_limit,
)
from uptake.stats.intervals import z_value


def _touch_by_bisection(theta: float, n: int, confidence: float, upper: bool) -> float:
    """Find x/n whose Wilson interval has theta exactly on its edge, by bisection on continuous x."""
    lo_x, hi_x = (n * theta, float(n)) if upper else (0.0, n * theta)
    for _ in range(200):
        mid = (lo_x + hi_x) / 2
        w_lo, w_hi = wilson(mid, n, confidence)
        edge = float(w_lo) if upper else float(w_hi)
        if edge < theta:  # both edges rise with x
            lo_x = mid
        else:
            hi_x = mid
    return (lo_x + hi_x) / 2 / n


@pytest.mark.parametrize("theta", [0.05, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("n", [20, 150, 4000])
@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_funnel_limit_is_the_touching_point(theta: float, n: int, confidence: float) -> None:
    low, high = wilson_funnel_limit(theta, n, confidence)
    expected_high = _touch_by_bisection(theta, n, confidence, upper=True)
    assert float(high) == pytest.approx(min(expected_high, 1.0), abs=1e-9)
    if float(low) > 0:
        assert float(low) == pytest.approx(_touch_by_bisection(theta, n, confidence, upper=False), abs=1e-9)


def _binom_cdf(r: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, r + 1)) if r >= 0 else 0.0


def _poisson_cdf(r: int, mu: float) -> float:
    return sum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(0, r + 1)) if r >= 0 else 0.0


def _interpolated(cdf, p: float, top: int) -> float:  # type: ignore[no-untyped-def]
    r = next(r for r in range(top + 1) if cdf(r) >= p)
    return r - (cdf(r) - p) / (cdf(r) - cdf(r - 1))


@pytest.mark.parametrize(("n", "theta"), [(20, 0.3), (57, 0.11), (200, 0.62)])
def test_exact_binomial_limits_against_plain_python(n: int, theta: float) -> None:
    for confidence in (0.95, 0.998):
        tail = (1 - confidence) / 2
        low, high = exact_funnel_limit(theta, n, confidence, "proportion")
        cdf = lambda r: _binom_cdf(r, n, theta)  # noqa: E731
        # Interpolating below the zero count gives a negative proportion, which is clipped to 0.
        assert float(low) == pytest.approx(max(0.0, _interpolated(cdf, tail, n) / n), abs=1e-9)
        assert float(high) == pytest.approx(_interpolated(cdf, 1 - tail, n) / n, abs=1e-9)


@pytest.mark.parametrize(("n", "theta"), [(1000, 0.004), (25_000, 0.0013), (50, 0.3)])
def test_exact_poisson_limits_against_plain_python(n: float, theta: float) -> None:
    mu = n * theta
    for confidence in (0.95, 0.998):
        tail = (1 - confidence) / 2
        low, high = exact_funnel_limit(theta, n, confidence, "rate")
        cdf = lambda r: _poisson_cdf(r, mu)  # noqa: E731
        assert float(low) == pytest.approx(max(0.0, _interpolated(cdf, tail, 200) / n), abs=1e-9)
        assert float(high) == pytest.approx(_interpolated(cdf, 1 - tail, 200) / n, abs=1e-9)


def test_exact_limits_approach_normal_for_large_n() -> None:
    theta, n = 0.2, 1_000_000
    low, high = exact_funnel_limit(theta, n, 0.95, "proportion")
    half = z_value(0.95) * math.sqrt(theta * (1 - theta) / n)
    assert float(high) == pytest.approx(theta + half, abs=2e-6)
    assert float(low) == pytest.approx(theta - half, abs=2e-6)


def _reference_overdispersion(num: list[float], den: list[float], measure: str) -> tuple[float, float]:
    """Loop transcription of Spiegelhalter (2005, QSHC), independent of the vectorised code."""
    theta = sum(num) / sum(den)
    f = (lambda v: math.asin(math.sqrt(v))) if measure == "proportion" else math.sqrt
    zs, ws = [], []
    for o, n in zip(num, den):
        s = 1 / (2 * math.sqrt(n))
        zs.append((f(o / n) - f(theta)) / s)
        ws.append(1 / s**2)
    lo, hi = np.percentile(zs, [10, 90])
    phi = sum(min(max(z, lo), hi) ** 2 for z in zs) / len(zs)
    k = len(zs)
    tau2 = 0.0
    if k * phi > k - 1:
        tau2 = (k * phi - (k - 1)) / (sum(ws) - sum(w * w for w in ws) / sum(ws))
    return phi, tau2


@pytest.mark.parametrize("measure", ["proportion", "rate"])
def test_overdispersion_matches_loop_reference(measure: str) -> None:
    rng = np.random.default_rng(2005)
    den = rng.integers(200, 20_000, 60).astype(float)
    if measure == "proportion":
        p = np.clip(rng.normal(0.25, 0.06, 60), 0.01, 0.99)
        num = rng.binomial(den.astype(int), p).astype(float)
    else:
        num = rng.poisson(den * np.exp(rng.normal(np.log(0.01), 0.3, 60))).astype(float)
    result = funnel_limits(num, den, measure=measure)  # type: ignore[arg-type]
    phi, tau2 = _reference_overdispersion(list(num), list(den), measure)
    assert result.phi == pytest.approx(phi, rel=1e-10)
    assert result.tau2 == pytest.approx(tau2, rel=1e-10)
    assert result.overdispersion_adjusted and result.method == "random-effects"
    # Adjusted limits: back-transform of f(theta) +/- z sqrt(s^2 + tau^2), checked at one unit.
    i = 7
    f = np.arcsin(np.sqrt(result.benchmark)) if measure == "proportion" else np.sqrt(result.benchmark)
    y = f + z_value(0.95) * math.sqrt(1 / (4 * den[i]) + tau2)
    expected = math.sin(y) ** 2 if measure == "proportion" else y**2
    assert result.upper95[i] == pytest.approx(expected, rel=1e-12)


def test_no_adjustment_without_overdispersion() -> None:
    rng = np.random.default_rng(7)
    den = rng.integers(500, 5000, 200)
    num = rng.binomial(den, 0.3)
    result = funnel_limits(num, den)
    assert 0.6 < result.phi < 1.5  # pure binomial data: phi near 1
    if result.phi <= 1:
        assert not result.overdispersion_adjusted and result.method == "wilson"
    plain = funnel_limits(num, den, overdispersion=False)
    assert plain.method == "wilson" and not plain.overdispersion_adjusted
    assert plain.phi == result.phi  # still reported


def test_bands_sides_and_not_compared() -> None:
    den = np.array([1000, 1000, 1000, 1000, 0, 1000, 1000])
    num = np.array([300, 340, 400, 200, 0, 300, 305])
    result = funnel_limits(num, den, overdispersion=False, benchmark=0.3)
    assert list(result.band) == [
        "within 95%",
        "between 95% and 99.8%",
        "beyond 99.8%",
        "beyond 99.8%",
        "not compared",
        "within 95%",
        "within 95%",
    ]
    assert list(result.side) == ["", "high", "high", "low", "", "", ""]
    assert np.isnan(result.lower95[4])


def test_funnel_agrees_with_wilson_benchmark_comparison() -> None:
    """Units outside the Wilson funnel are exactly those whose Wilson interval excludes theta."""
    rng = np.random.default_rng(11)
    den = rng.integers(10, 3000, 300)
    num = rng.binomial(den, np.clip(rng.normal(0.4, 0.08, 300), 0, 1))
    result = funnel_limits(num, den, overdispersion=False)
    lo, hi = wilson(num, den)
    lo2, hi2 = wilson(num, den, 0.998)
    labels = compare_to_benchmark(num / den, lo, hi, lo2, hi2, result.benchmark, "high-is-good")
    outside95 = result.band != "within 95%"
    assert np.array_equal(outside95, labels != "similar")
    assert np.array_equal(result.band == "beyond 99.8%", np.isin(labels, ["best", "worst"]))


def test_grid_and_exact_rates() -> None:
    result = funnel_limits([5, 12, 40], [10_000, 25_000, 80_000], measure="rate", points=50)
    assert result.method in ("exact-poisson", "random-effects")
    assert result.grid.size == 50
    assert np.all(result.grid_upper998 >= result.grid_upper95)
    assert np.all(result.grid_lower998 <= result.grid_lower95)
    explicit = funnel_limits([5, 12, 40], [10_000, 25_000, 80_000], measure="rate", points=[1000, 2000.0])
    assert list(explicit.grid) == [1000.0, 2000.0]


def test_few_units_warn_and_bad_input_raises() -> None:
    single = funnel_limits([3], [10])
    assert np.isnan(single.phi) and single.warnings
    assert single.band[0] == "within 95%"
    with pytest.raises(StatsInputError, match="exceed"):
        funnel_limits([11], [10])
    with pytest.raises(StatsInputError, match="same length"):
        funnel_limits([1, 2], [10])
    with pytest.raises(StatsInputError, match="Wilson"):
        funnel_limits([1], [10], measure="rate", limits="wilson")


def test_degenerate_benchmark() -> None:
    result = funnel_limits([0, 0, 0], [10, 20, 30], overdispersion=False, limits="exact")
    assert result.benchmark == 0.0
    assert np.all(result.upper95 == 0.0) and np.all(result.band == "within 95%")


@settings(max_examples=100, deadline=None)
@given(theta=st.floats(0.01, 0.99), method=st.sampled_from(["wilson", "exact", "random-effects"]))
def test_limits_narrow_as_n_grows(theta: float, method: str) -> None:
    n = np.geomspace(5, 1e6, 300)
    if method == "wilson":
        lo, hi = wilson_funnel_limit(theta, n, 0.95)
        assert np.all(np.diff(hi) <= 1e-15) and np.all(np.diff(lo) >= -1e-15)
    elif method == "exact":
        lo, hi = exact_funnel_limit(theta, np.unique(np.rint(n)), 0.95)
        # Discreteness makes the exact limits wobble slightly; the width still shrinks overall.
        width = hi - lo
        assert width[-1] < width[0]
        assert np.all(np.diff(width) <= 2.0 / np.unique(np.rint(n))[1:])
    else:
        rng = np.random.default_rng(int(theta * 1e6))
        den = rng.integers(100, 10_000, 40)
        num = rng.binomial(den, np.clip(rng.normal(theta, 0.1, 40), 0, 1))
        result = funnel_limits(num, den, points=n)
        assert np.all(np.diff(result.grid_upper95) <= 1e-12)
        assert np.all(np.diff(result.grid_lower95) >= -1e-12)
