"""CUSUM alerts on a percentile series (uptake.stats.cusum).

The method is implemented from its published description (Walker et al. 2018, BMC Med Inform Decis
Mak 18, doi:10.1186/s12911-018-0642-6; ebmdatalab/CUSUM README). No worked numbers are published, so
the first test is a small example worked by hand from that description.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.stats import StatsInputError, cusum_alerts


def test_hand_worked_example() -> None:
    """window 4, reference 1, 3, 1, 3: mean 2, SD sqrt(4/3) = 1.1547, k = 0.57735, threshold 5.7735.

    t=4..6 (value 5): excess 5 - 2 - 0.57735 = 2.42265 each; S = 2.42, 4.85, 7.27 -> alert at t=6;
    the reference mean resets to mean(3, 5, 5, 5) = 4.5. t=7 (5): 5 - 4.5 - 0.577 < 0 -> reset:
    S = 0, reference = mean and SD of (5, 5, 5, 5) = 5, 0. t=8 (2): below the mean, S stays 0.
    The decrease side never accumulates (every value is at or above the reference mean minus k).
    """
    x = [1, 3, 1, 3, 5, 5, 5, 5, 2]
    r = cusum_alerts(x, window=4)
    sd = math.sqrt(4 / 3)
    step = 3 - 0.5 * sd
    assert np.all(np.isnan(r.cusum_increase[:4]))
    assert list(r.cusum_increase[4:7]) == pytest.approx([step, 2 * step, 3 * step])
    assert list(r.cusum_increase[7:]) == [0.0, 0.0]
    assert list(r.alert) == [""] * 6 + ["increase", "", ""]
    assert r.threshold_increase[4] == pytest.approx(5 * sd)
    assert r.reference_mean_increase[7] == pytest.approx(4.5)
    assert r.reference_mean_increase[8] == pytest.approx(5.0)
    assert np.all(r.cusum_decrease[4:] == 0.0)


def test_sustained_change_retriggers_then_settles() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[50 + rng.normal(0, 2, 12), np.full(12, 70.0), np.full(12, 70.0)]
    r = cusum_alerts(x)
    first = int(np.flatnonzero(r.alert_increase)[0])
    assert 12 <= first <= 14
    # Keeps alerting while the recent reference still lags behind, then stops once it has caught up.
    assert r.alert_increase[first : first + 5].all()
    assert not r.alert_increase[-6:].any()
    assert not r.alert_decrease.any()


def test_decrease_alert_symmetry() -> None:
    rng = np.random.default_rng(1)
    x = np.r_[50 + rng.normal(0, 2, 12), 50 + rng.normal(0, 2, 6), np.full(6, 20.0)]
    up = cusum_alerts(x)
    down = cusum_alerts(100 - x)
    assert np.array_equal(up.alert_decrease, down.alert_increase)
    assert np.array_equal(up.alert_increase, down.alert_decrease)
    assert np.allclose(up.cusum_decrease[12:], -down.cusum_increase[12:])


def test_edge_cases() -> None:
    short = cusum_alerts(np.arange(10.0))
    assert short.warnings and not short.alert_increase.any()
    flat = cusum_alerts([50.0] * 12 + [50.0, 51.0])
    assert flat.alert[-1] == "increase" and any("flat" in w for w in flat.warnings)
    gap = cusum_alerts([1.0, 3, 1, 3, np.nan, 5, 5, 5], window=4)
    assert gap.alert[4] == "" and gap.cusum_increase[4] == 0.0
    with pytest.raises(StatsInputError):
        cusum_alerts([1.0, 2.0], window=1)
    with pytest.raises(StatsInputError):
        cusum_alerts([1.0, 2.0], sensitivity=0)


@settings(max_examples=200, deadline=None)
@given(x=st.lists(st.floats(0, 100), min_size=13, max_size=60), c=st.floats(-50, 50))
def test_alerts_invariant_to_a_constant_shift(x: list[float], c: float) -> None:
    a = cusum_alerts(x)
    b = cusum_alerts([v + c for v in x])
    # Tolerate disagreement only where the CUSUM sits within rounding of its threshold.
    near = np.isclose(a.cusum_increase, a.threshold_increase, rtol=1e-9, atol=1e-9) | np.isclose(
        a.cusum_decrease, a.threshold_decrease, rtol=1e-9, atol=1e-9
    )
    if not near.any():
        assert np.array_equal(a.alert, b.alert)
    assert np.all(a.cusum_increase[~np.isnan(a.cusum_increase)] >= 0)
    assert np.all(a.cusum_decrease[~np.isnan(a.cusum_decrease)] <= 0)
