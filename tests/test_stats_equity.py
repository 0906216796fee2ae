"""Slope index of inequality (uptake.stats.equity).

Checked against an independent weighted least-squares fit (numpy.polyfit with weights sqrt(a), which
minimises sum a (y - fit)^2) and against exact hand values for linear data.
"""

from __future__ import annotations

import numpy as np
import pytest

from uptake.stats import StatsInputError, slope_index_of_inequality


def test_linear_data_gives_exact_slope() -> None:
    # Equal populations: ridits 0.1, 0.3, 0.5, 0.7, 0.9; values 0.1..0.5 lie on y = 0.05 + 0.5x.
    r = slope_index_of_inequality([0.1, 0.2, 0.3, 0.4, 0.5], [100] * 5, [1, 2, 3, 4, 5])
    assert r.sii == pytest.approx(0.5)
    assert r.intercept == pytest.approx(0.05)
    assert r.rii == pytest.approx(0.5 / 0.3)
    assert list(r.ridit) == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])


def test_matches_weighted_polyfit_on_unit_level_data() -> None:
    rng = np.random.default_rng(2004)
    quintile = rng.integers(1, 6, 500)
    pop = rng.integers(1000, 20000, 500).astype(float)
    rate = 0.2 + 0.03 * quintile + rng.normal(0, 0.02, 500)
    r = slope_index_of_inequality(rate, pop, quintile)
    groups = np.arange(1, 6)
    n_g = np.array([pop[quintile == g].sum() for g in groups])
    y_g = np.array([(rate * pop)[quintile == g].sum() for g in groups]) / n_g
    a = n_g / n_g.sum()
    x = np.cumsum(a) - a / 2
    slope, intercept = np.polyfit(x, y_g, 1, w=np.sqrt(a))
    assert r.sii == pytest.approx(slope, rel=1e-10)
    assert r.intercept == pytest.approx(intercept, rel=1e-10)
    assert r.sii > 0  # higher values in less deprived quintiles
    assert list(r.group_value) == pytest.approx(list(y_g))


def test_edge_cases() -> None:
    one = slope_index_of_inequality([0.3, 0.4], [10, 20], [2, 2])
    assert np.isnan(one.sii)
    skip = slope_index_of_inequality([0.1, np.nan, 0.5, 0.9], [10, 10, 0, 10], [1, 2, 3, 5])
    assert list(skip.groups) == [1, 5]
    with pytest.raises(StatsInputError, match="whole"):
        slope_index_of_inequality([0.1, 0.2], [1, 1], [1.5, 2])
    with pytest.raises(StatsInputError, match="length"):
        slope_index_of_inequality([0.1], [1, 1], [1, 2])
