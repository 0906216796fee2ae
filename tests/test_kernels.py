"""The compiled kernels (uptake.pipeline.kernels, numba) against the NumPy references they replace: the SPC
run rules (spc.special_causes_numpy) and the CUSUM recursion (changes.cusum_matrix_numpy) must give the
same flags and the same float bits on random series and on the edge cases (no points, one point, NaN,
ties on the mean and the lines, flat reference periods, windows longer than the series)."""

from __future__ import annotations

import numpy as np
import pytest

from uptake.pipeline import changes, kernels, spc
from uptake.stats import cusum_alerts
from uptake.stats.spc import SpecialCauseRules


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype == object or b.dtype == object:
        return a.shape == b.shape and bool(np.all(a == b))
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_numba_kernels_are_used() -> None:
    """numba is a declared dependency, so the pipeline runs the compiled kernels (not the fallback)."""
    assert kernels.available()


def test_switched_off_by_setting(monkeypatch) -> None:
    monkeypatch.setenv("UPTAKE_NUMBA", "0")
    assert not kernels.available()
    rules = SpecialCauseRules(7)
    y = np.arange(10.0)
    assert kernels.special_causes(y, np.zeros(10), np.ones(10), np.eye(1, 10, dtype=bool)[0], rules) is None
    assert kernels.cusum_one_side(np.zeros((1, 20)), 1, 12, 5.0, 0.5) is None
    # and the pipeline's entry points still answer, by the NumPy reference
    flags = spc.special_causes(y, np.zeros(10), np.ones(10), np.eye(1, 10, dtype=bool)[0], rules)
    assert flags["trend"].tolist() == [1] * 10


@pytest.mark.parametrize("n", [*range(0, 40), 127, 128, 129, 130, 255, 256, 257, 1000, 1031])
def test_numpy_sum_reproduced(n: int) -> None:
    """The kernels' sum gives NumPy's bits (its pairwise summation), so means and SDs are NumPy's."""
    rng = np.random.default_rng(n)
    a = rng.random(n) * 10.0 ** rng.integers(-3, 6, n)
    assert kernels._compiled()._np_sum(a, 0, n) == a.sum()
    if n > 3:
        assert kernels._compiled()._np_sum(a, 3, n - 3) == a[3:].sum()


def _series(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    if kind == "ties":  # few distinct values: points exactly on the mean and on the lines, flat steps
        return rng.integers(0, 4, n).astype(np.float64)
    if kind == "nan":
        y = rng.normal(size=n)
        y[rng.random(n) < 0.2] = np.nan
        return y
    if kind == "trend":  # long monotone runs, both ways
        return np.cumsum(np.where(rng.random(n) < 0.8, 1.0, -1.0) * rng.choice([-1.0, 1.0]))
    return rng.normal(size=n)


def _chart(rng: np.random.Generator, y: np.ndarray):
    """Centre and mR-bar per point with segments, some on the values' own lines (ties on the lines)."""
    n = y.size
    new_segment = rng.random(n) < 0.08
    if n:
        new_segment[0] = True
    seg = np.cumsum(new_segment)
    mean = np.zeros(n)
    mrbar = np.zeros(n)
    for s in np.unique(seg):
        at = seg == s
        vals = y[at & ~np.isnan(y)]
        mean[at] = np.round(vals.mean(), 0) if vals.size else np.nan
        mrbar[at] = rng.choice([0.0, 0.5, 1.0 / 2.66, 1.0, np.nan], p=[0.15, 0.3, 0.2, 0.3, 0.05])
    return mean, mrbar, new_segment


@pytest.mark.parametrize("kind", ["normal", "ties", "nan", "trend"])
@pytest.mark.parametrize("rule_length", [6, 7])
def test_run_rules_identical(kind: str, rule_length: int) -> None:
    rng = np.random.default_rng([rule_length, len(kind)])
    rules = SpecialCauseRules(rule_length)
    for n in [0, 1, 2, 3, 5, 6, 7, 8, 13, 40, 500]:
        for _ in range(8):
            y = _series(rng, n, kind)
            mean, mrbar, new_segment = _chart(rng, y)
            want = spc.special_causes_numpy(y, mean, mrbar, new_segment, rules)
            got = kernels.special_causes(y, mean, mrbar, new_segment, rules)
            assert list(got) == list(want)
            for name in want:
                assert _same_bits(got[name], want[name]), (name, n, kind, y, want[name], got[name])


def test_run_rules_hand_checked() -> None:
    """A case worked by hand, so the two cannot agree on a wrong answer (mean 0, mR-bar 1: limits at 2.66,
    two-sigma lines at 1.773): 7 rising points flag a trend, 7 points above the mean a shift, points above
    2.66 are outside, windows of 3 points on one side with 2 beyond 1.773 flag those beyond (a point on
    the mean breaks a window)."""
    rules = SpecialCauseRules(7)
    y = np.array([1.0, 2, 3, 4, 5, 6, 7, 0, 20, 0, 2.5, 2.5, 0, -2.5])
    n = y.size
    new_segment = np.zeros(n, bool)
    new_segment[0] = True
    got = kernels.special_causes(y, np.zeros(n), np.ones(n), new_segment, rules)
    assert got["trend"].tolist() == [1] * 7 + [0] * 7
    assert got["shift"].tolist() == [1] * 7 + [0] * 7
    assert got["outside-limits"].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    assert got["two-of-three"].tolist() == [0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("kind", ["normal", "ties", "nan", "trend"])
@pytest.mark.parametrize("window", [2, 3, 12])
def test_cusum_identical(kind: str, window: int) -> None:
    rng = np.random.default_rng([window, len(kind)])
    for rows, periods in [(0, 0), (0, 30), (1, 0), (1, 1), (3, window), (3, window + 1), (20, 40), (200, 61)]:
        x = np.stack([_series(rng, periods, kind) for _ in range(rows)]) if rows else np.zeros((0, periods))
        x = np.abs(x) * 10.0
        for sensitivity in (5.0, 1.0):
            want = changes.cusum_matrix_numpy(x, window, sensitivity)
            got = changes.cusum_matrix(x, window, sensitivity)
            assert list(got) == list(want)
            for name in want:
                assert _same_bits(got[name], want[name]), (name, rows, periods, kind)


def test_cusum_kernel_against_stats_per_series() -> None:
    """The compiled CUSUM also equals the point-by-point ``stats.cusum_alerts`` row by row."""
    rng = np.random.default_rng(17)
    x = np.abs(rng.normal(50, 10, (30, 48))) + np.linspace(0, 30, 48) * (rng.random((30, 1)) < 0.5)
    x[rng.random(x.shape) < 0.1] = np.nan
    got = changes.cusum_matrix(x, 12, 5.0)
    alerts = 0
    for r in range(x.shape[0]):
        one = cusum_alerts(x[r], 12, 5.0)
        assert _same_bits(got["cusum_increase"][r], one.cusum_increase)
        assert _same_bits(got["cusum_decrease"][r], one.cusum_decrease)
        assert got["alert"][r].tolist() == one.alert.tolist()
        alerts += int((one.alert != "").sum())
    assert alerts > 0  # the case exercises the alert and reset branches
