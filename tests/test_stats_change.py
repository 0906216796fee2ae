"""The change between two periods with its interval (the improvement ranking): Newcombe's published examples,
the rate difference against its textbook formula written out, and the verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uptake.stats import improvement_verdict, newcombe_difference, rate_difference


@pytest.mark.parametrize(("start", "end", "expected"), [
    # Newcombe RG (1998) Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score, no continuity
    # correction): examples (a)-(c) and (h), each as end - start = the paper's p1 - p2
    ((48, 80), (56, 70), (0.2000, 0.0524, 0.3339)),
    ((3, 10), (9, 10), (0.6000, 0.1705, 0.8090)),
    ((2, 7), (6, 7), (0.5714, 0.0582, 0.8062)),
    ((0, 20), (0, 10), (0.0, -0.1611, 0.2775)),
])
def test_newcombe_table_ii_method_10(start, end, expected):
    d, low, high = newcombe_difference(start[0], start[1], end[0], end[1])
    assert (round(float(d), 4), round(float(low), 4), round(float(high), 4)) == expected


def test_newcombe_is_vectorised_and_empty_denominators_give_nan():
    d, low, high = newcombe_difference([48, 3, 0], [80, 10, 0], [56, 9, 1], [70, 10, 5])
    assert np.allclose(d[:2], [0.2, 0.6]) and math.isnan(d[2]) and math.isnan(low[2]) and math.isnan(high[2])
    assert (low[:2] < d[:2]).all() and (d[:2] < high[:2]).all()


def test_rate_difference_is_the_normal_approximation_written_out():
    x1, n1, x2, n2 = 40.0, 10_000.0, 90.0, 12_000.0
    d, low, high = rate_difference(x1, n1, x2, n2)
    se = math.sqrt(x1 / n1 ** 2 + x2 / n2 ** 2)
    assert float(d) == pytest.approx(x2 / n2 - x1 / n1)
    assert float(low) == pytest.approx(x2 / n2 - x1 / n1 - 1.959964 * se, rel=1e-6)
    assert float(high) == pytest.approx(x2 / n2 - x1 / n1 + 1.959964 * se, rel=1e-6)
    assert all(math.isnan(float(v)) for v in rate_difference(1, 0, 2, 10))


def test_verdicts_follow_the_polarity():
    low, high = [0.01, -0.05, -0.02, np.nan], [0.05, -0.01, 0.02, np.nan]
    assert improvement_verdict(low, high, "high-is-good") == [
        "clear improvement", "clear decline", "no clear change", "no interval"]
    assert improvement_verdict(low, high, "low-is-good")[:2] == ["clear decline", "clear improvement"]
    assert improvement_verdict(low, high, "no-judgement")[:2] == ["clear rise", "clear fall"]
