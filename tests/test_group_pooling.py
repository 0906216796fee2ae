"""Pooling a custom group's members (uptake.results.pooling) against cases worked by hand."""

from __future__ import annotations

import math

import pytest

from uptake.results.pooling import SHARE_ONLY_WHY, pool

MEMBERS = [{"numerator": 30.0, "denominator": 100.0, "value": 0.30},
           {"numerator": 45.0, "denominator": 150.0, "value": 0.30},
           {"numerator": 10.0, "denominator": 50.0, "value": 0.20}]


def test_proportion_pools_counts_with_the_wilson_interval_worked_by_hand() -> None:
    # 85 / 300 = 0.283333; Wilson 95% (z = 1.959964, z^2 = 3.841459):
    # centre 2*85 + z^2 = 173.841459, spread z * sqrt(z^2 + 4*85*(1 - 85/300)) = 30.835304,
    # denominator 2*(300 + z^2) = 607.682918 -> 0.235331 to 0.336814
    pooled = pool("proportion", MEMBERS, group_size=3)
    assert (pooled.numerator, pooled.denominator, pooled.members, pooled.missing) == (85.0, 300.0, 3, 0)
    assert pooled.value == pytest.approx(85 / 300)
    assert pooled.ci95_low == pytest.approx(0.235331, abs=1e-6)
    assert pooled.ci95_high == pytest.approx(0.336814, abs=1e-6)
    # the pooled value is not the mean of the members' values (0.266667): the larger member weighs more
    assert pooled.value != pytest.approx(sum(m["value"] for m in MEMBERS) / 3)


def test_members_without_a_value_are_left_out_and_counted() -> None:
    rows = [*MEMBERS[:2], {"numerator": None, "denominator": 0.0, "value": None}]
    pooled = pool("proportion", rows, group_size=4)  # one member has no row at all
    assert (pooled.numerator, pooled.denominator, pooled.members, pooled.missing) == (75.0, 250.0, 2, 2)


def test_rate_uses_byar_limits_on_the_pooled_count() -> None:
    rows = [{"numerator": 12.0, "denominator": 1000.0, "value": 0.012},
            {"numerator": 8.0, "denominator": 1000.0, "value": 0.008}]
    pooled = pool("rate", rows, group_size=2)
    # Byar, x = 20, z = 1.959964: low = 20 (1 - 1/180 - z/(3 sqrt 20))^3, high = 21 (1 - 1/189 + z/(3 sqrt 21))^3
    z = 1.959964
    low = 20 * (1 - 1 / 180 - z / (3 * math.sqrt(20))) ** 3 / 2000
    high = 21 * (1 - 1 / 189 + z / (3 * math.sqrt(21))) ** 3 / 2000
    assert pooled.value == pytest.approx(0.01)
    assert pooled.ci95_low == pytest.approx(low, rel=1e-5)
    assert pooled.ci95_high == pytest.approx(high, rel=1e-5)


def test_share_only_has_no_pooled_count_and_says_why() -> None:
    rows = [{"numerator": 0.4, "denominator": 1.0, "value": 0.4}, {"numerator": 0.7, "denominator": 1.0, "value": 0.7}]
    pooled = pool("share-only", rows, group_size=2)
    assert pooled.numerator is None and pooled.denominator is None
    assert pooled.ci95_low is None and pooled.ci95_high is None
    assert pooled.value == pytest.approx(0.55)
    assert pooled.why == SHARE_ONLY_WHY and "without their counts" in pooled.why


def test_no_member_with_a_value_gives_no_figure() -> None:
    pooled = pool("proportion", [], group_size=2)
    assert pooled.value is None and pooled.missing == 2
