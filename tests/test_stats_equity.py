"""Slope index of inequality (uptake.stats.equity).

Checked against an independent weighted least-squares fit (numpy.polyfit with weights sqrt(a), which
minimises sum a (y - fit)^2) and against exact hand values for linear data. The simulated 95% intervals
are checked against a slow loop refitting the point estimate to the same draws, for determinism, for
narrowing as the denominators grow, and by a seeded coverage study with a known true slope.
"""

from __future__ import annotations

import numpy as np
import pytest

from uptake.stats import StatsInputError, slope_index_of_inequality
from uptake.stats.equity import simulate_group_values, slope_index_interval


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


# ---------------------------------------------------------------------- simulated 95% intervals
def _reference_interval(value, population, measure="proportion", simulations=500, seed=7):
    """The obvious, slow way: refit the point estimate to every row of the same draws, one at a time."""
    draws = simulate_group_values(value, population, measure=measure, simulations=simulations, seed=seed)
    groups = np.arange(1, len(value) + 1)
    fits = [slope_index_of_inequality(row, population, groups, simulations=0) for row in draws]
    sii = np.array([f.sii for f in fits])
    rii = np.array([f.rii for f in fits])
    return (*np.percentile(sii, [2.5, 97.5]), *np.percentile(rii[np.isfinite(rii)], [2.5, 97.5]))


@pytest.mark.parametrize("measure,value,population", [
    ("proportion", [0.30, 0.34, 0.41, 0.45, 0.52], [120, 90, 150, 60, 80]),
    ("proportion", [0.02, 0.0, 0.05, 1.0], [40, 15, 60, 3]),  # values at the bounds, a tiny group
    ("rate", [1.8, 2.5, 2.2], [300, 250, 400]),
])
def test_interval_equals_a_loop_over_the_same_draws(measure, value, population) -> None:
    got = slope_index_interval(value, population, measure=measure, simulations=500, seed=7)
    want = _reference_interval(value, population, measure)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    whole = slope_index_of_inequality(value, population, range(1, len(value) + 1), measure=measure,
                                      simulations=500, seed=7)
    assert (whole.sii_ci95_low, whole.sii_ci95_high, whole.rii_ci95_low, whole.rii_ci95_high) == got


def test_draws_follow_the_count_distributions() -> None:
    draws = simulate_group_values([0.25, 2.0], [400, 100], simulations=4000, seed=1)
    assert np.allclose(draws[:, 0] * 400, np.round(draws[:, 0] * 400))  # whole numerators over 400
    assert draws[:, 0].mean() == pytest.approx(0.25, abs=0.003)
    assert draws[:, 0].std() == pytest.approx(np.sqrt(0.25 * 0.75 / 400), rel=0.05)
    assert np.all(draws[:, 1] == 1.0)  # a "proportion" above 1 is clipped to 1
    rate = simulate_group_values([2.0], [100], measure="rate", simulations=4000, seed=1)[:, 0]
    assert rate.mean() == pytest.approx(2.0, rel=0.01) and rate.var() == pytest.approx(2.0 / 100, rel=0.06)
    with pytest.raises(StatsInputError, match="measure"):
        simulate_group_values([0.1], [10], measure="ratio")


def test_interval_contains_the_estimate_and_is_deterministic() -> None:
    rng = np.random.default_rng(11)
    for _ in range(25):
        k = int(rng.integers(2, 6))
        pop = rng.integers(20, 5000, k).astype(float)
        value = np.clip(rng.uniform(0.05, 0.95) + rng.normal(0, 0.1, k), 0, 1)
        r = slope_index_of_inequality(value, pop, np.arange(1, k + 1), simulations=2000)
        assert r.sii_ci95_low <= r.sii <= r.sii_ci95_high
        assert r.rii_ci95_low <= r.rii <= r.rii_ci95_high
        again = slope_index_of_inequality(value, pop, np.arange(1, k + 1), simulations=2000)
        assert (again.sii_ci95_low, again.sii_ci95_high, again.rii_ci95_low, again.rii_ci95_high) == (
            r.sii_ci95_low, r.sii_ci95_high, r.rii_ci95_low, r.rii_ci95_high)


def test_interval_narrows_as_denominators_grow() -> None:
    value = [0.40, 0.43, 0.47, 0.52, 0.55]
    shares = np.array([1.0, 1.2, 0.9, 1.1, 0.8])
    widths = []
    for scale in (50, 200, 800, 3200, 12800):
        low, high, rlow, rhigh = slope_index_interval(value, shares * scale, simulations=4000)
        widths.append((high - low, rhigh - rlow))
    sii_w, rii_w = np.array(widths).T
    assert np.all(np.diff(sii_w) < 0) and np.all(np.diff(rii_w) < 0)
    # the width goes as 1/sqrt(n): four times the denominators, half the width (Monte Carlo error aside)
    assert sii_w[:-1] / sii_w[1:] == pytest.approx([2.0] * 4, rel=0.1)


def test_interval_covers_the_true_slope_about_95_percent_of_the_time() -> None:
    """Simulation study: groups with known proportions on a line (true SII 0.1), observed counts drawn
    from them, 200 repeats. Seeded, so it cannot flake; the 90-99% band is wide for 200 repeats."""
    rng = np.random.default_rng(2024)
    pop = np.array([400.0, 350.0, 500.0, 300.0, 450.0])
    a = pop / pop.sum()
    x = np.cumsum(a) - a / 2
    truth = 0.30 + 0.10 * x  # exactly linear in the ridit, so the true SII is 0.10
    covered = 0
    repeats = 200
    for _ in range(repeats):
        observed = rng.binomial(pop.astype(int), truth) / pop
        low, high, _, _ = slope_index_interval(observed, pop, simulations=1000, seed=int(rng.integers(2**31)))
        covered += low <= 0.10 <= high
    assert 0.90 * repeats <= covered <= 0.99 * repeats


def test_interval_edge_cases() -> None:
    one = slope_index_of_inequality([0.3, 0.4], [10, 20], [2, 2])
    assert np.isnan([one.sii_ci95_low, one.sii_ci95_high, one.rii_ci95_low, one.rii_ci95_high]).all()
    zero = slope_index_of_inequality([0.3, 0.4], [0, 0], [1, 2])
    assert np.isnan([zero.sii, zero.sii_ci95_low, zero.rii_ci95_high]).all()
    none = slope_index_of_inequality([0.3, 0.4], [10, 20], [1, 2], simulations=0)
    assert not np.isnan(none.sii) and np.isnan([none.sii_ci95_low, none.sii_ci95_high]).all()
    flat = slope_index_of_inequality([0.0, 0.0, 0.0], [10, 20, 30], [1, 2, 3], simulations=200)
    assert (flat.sii_ci95_low, flat.sii_ci95_high) == (0.0, 0.0) and np.isnan(flat.rii_ci95_low)
    assert np.isnan(slope_index_interval([0.2], [10])).all()
