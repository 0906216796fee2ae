"""Confidence intervals and benchmark comparison (uptake.stats.intervals).

Published values used here:
* Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven methods.
  Stat Med 1998;17:857-872, Table II, method 3 (Wilson score without continuity correction):
  81/263 -> 0.2553-0.3662; 15/148 -> 0.0624-0.1605; 0/20 -> 0.0000-0.1611; 1/29 -> 0.0061-0.1718.
* Exact 95% Poisson limits (Garwood 1936), as tabulated in standard tables (e.g. Documenta Geigy;
  epitools' pois.exact documentation gives 3.689 as the upper limit for 0 events):
  0 -> (0, 3.689); 1 -> (0.0253, 5.572); 2 -> (0.2422, 7.225); 3 -> (0.6187, 8.767);
  5 -> (1.623, 11.668).
* Byar's approximation with z = 1.96, from the documentation of the MIT-licensed "byar" Ruby gem
  (rubydoc.info/gems/byar/1.0.0): observed 100 -> upper 121.628347271806; Byar.lower(100, 90)
  = 0.9040199067337297 (i.e. lower 81.36179...); Byar.upper(100, 90) = 1.3514260807978444.
* PHE "Technical Guide: Confidence Intervals" (2018): z = 1.959964 (95%) and 3.090232 (99.8%);
  "Byar's method is within 0.2% of the exact value for numerators of 10 or more" at 95%.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from uptake.stats import StatsInputError, byar, compare_to_benchmark, exact_poisson, wilson, z_value

CONF_Z196 = 2 * norm.cdf(1.96) - 1  # the confidence level whose z is exactly 1.96


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombe_1998_table_ii(x: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson(x, n)
    assert round(float(lo), 4) == low
    assert round(float(hi), 4) == high


def test_wilson_vectorised_and_zero_denominator() -> None:
    lo, hi = wilson(np.array([81, 0, 5]), np.array([263, 0, 5]))
    assert lo.shape == (3,)
    assert np.isnan(lo[1]) and np.isnan(hi[1])
    assert hi[2] == 1.0 and lo[0] > 0


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(StatsInputError, match="position"):
        wilson([5, 11], [10, 10])
    with pytest.raises(StatsInputError):
        wilson(1, 2, confidence=95)


def test_z_values_match_phe_technical_guide() -> None:
    assert round(z_value(0.95), 6) == 1.959964
    assert round(z_value(0.998), 6) == 3.090232


@pytest.mark.parametrize(
    ("x", "low", "high"),
    [(0, 0.0, 3.689), (1, 0.0253, 5.572), (2, 0.2422, 7.225), (3, 0.6187, 8.767), (5, 1.623, 11.668)],
)
def test_exact_poisson_matches_standard_table(x: int, low: float, high: float) -> None:
    lo, hi = exact_poisson(x)
    assert float(lo) == pytest.approx(low, abs=6e-4)
    assert float(hi) == pytest.approx(high, abs=6e-4)
    # Below 10 events byar() uses the exact limits.
    assert byar(x) == exact_poisson(x)


def test_byar_matches_published_gem_documentation() -> None:
    lo, hi = byar(100, confidence=CONF_Z196)
    assert float(hi) == pytest.approx(121.628347271806, rel=1e-12)
    assert float(lo) / 90 == pytest.approx(0.9040199067337297, rel=1e-12)
    assert float(hi) / 90 == pytest.approx(1.3514260807978444, rel=1e-12)


def test_byar_within_phe_stated_accuracy_from_ten_events() -> None:
    """PHE: Byar is within 0.2% of the exact value for numerators of 10 or more (95%)."""
    x = np.arange(10, 2001)
    b_lo, b_hi = byar(x)
    e_lo, e_hi = exact_poisson(x)
    assert np.all(np.abs(b_lo / e_lo - 1) < 0.002)
    assert np.all(np.abs(b_hi / e_hi - 1) < 0.002)


def test_byar_edge_cases() -> None:
    lo, hi = byar([np.nan, 0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert lo[1] == 0.0
    with pytest.raises(StatsInputError):
        byar([-1])


counts = st.integers(min_value=0, max_value=100_000)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=1, max_value=100_000), frac=st.floats(0, 1))
def test_wilson_properties(n: int, frac: float) -> None:
    x = int(round(frac * n))
    p = x / n
    prev_lo, prev_hi = 2.0, -1.0
    for conf in (0.8, 0.9, 0.95, 0.998):
        lo, hi = (float(v) for v in wilson(x, n, conf))
        assert 0.0 <= lo <= p <= hi <= 1.0
        # Widening with confidence: lower limits fall, upper limits rise.
        assert lo <= prev_lo + 1e-15 and hi >= prev_hi - 1e-15
        prev_lo, prev_hi = lo, hi


@settings(max_examples=300, deadline=None)
@given(x=counts)
def test_byar_properties(x: int) -> None:
    prev_lo, prev_hi = np.inf, -np.inf
    for conf in (0.8, 0.9, 0.95, 0.998):
        lo, hi = (float(v) for v in byar(x, conf))
        assert 0.0 <= lo <= x <= hi
        assert lo <= prev_lo and hi >= prev_hi
        prev_lo, prev_hi = lo, hi


def test_compare_to_benchmark_one_and_two_level() -> None:
    value = np.array([0.5, 0.8, 0.9, 0.2, 0.1, np.nan, 0.5])
    lo95 = np.array([0.4, 0.65, 0.85, 0.1, 0.05, np.nan, 0.5])
    hi95 = np.array([0.6, 0.9, 0.95, 0.45, 0.15, np.nan, 0.7])
    lo998 = np.array([0.3, 0.45, 0.8, 0.05, 0.02, np.nan, 0.45])
    hi998 = np.array([0.7, 0.95, 0.97, 0.6, 0.3, np.nan, 0.8])
    one = compare_to_benchmark(value, lo95, hi95, None, None, 0.5, "high-is-good")
    assert list(one) == ["similar", "better", "better", "worse", "worse", "not compared", "similar"]
    two = compare_to_benchmark(value, lo95, hi95, lo998, hi998, 0.5, "high-is-good")
    assert list(two) == ["similar", "better", "best", "worse", "worst", "not compared", "similar"]
    low_good = compare_to_benchmark(value, lo95, hi95, lo998, hi998, 0.5, "low-is-good")
    assert list(low_good) == ["similar", "worse", "worst", "better", "best", "not compared", "similar"]
    neutral = compare_to_benchmark(value, lo95, hi95, lo998, hi998, 0.5, "no-judgement")
    assert list(neutral) == ["similar", "higher", "higher", "lower", "lower", "not compared", "similar"]


def test_compare_to_benchmark_rejects_bad_arguments() -> None:
    with pytest.raises(StatsInputError, match="polarity"):
        compare_to_benchmark(1, 0, 2, None, None, 1, "higher")
    with pytest.raises(StatsInputError, match="both"):
        compare_to_benchmark(1, 0, 2, 0, None, 1, "high-is-good")


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 5000), frac=st.floats(0, 1), bench=st.floats(0.01, 0.99))
def test_compare_with_wilson_is_consistent(n: int, frac: float, bench: float) -> None:
    x = int(round(frac * n))
    lo, hi = wilson(x, n)
    lo2, hi2 = wilson(x, n, 0.998)
    label = str(compare_to_benchmark(x / n, lo, hi, lo2, hi2, bench, "high-is-good"))
    if lo <= bench <= hi:
        assert label == "similar"
    elif lo > bench:
        assert label in ("better", "best")
        assert (label == "best") == bool(lo2 > bench)
    else:
        assert label in ("worse", "worst")
