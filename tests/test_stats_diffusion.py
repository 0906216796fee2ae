"""Rogers' adopter categories (uptake.stats.diffusion).

Reference facts: Rogers (2003, Diffusion of Innovations, 5th edn, fig. 7-3) partitions a normal curve
of adoption times at m - 2s, m - s, m and m + s into 2.5%, 13.5%, 34%, 34% and 16%. A large normal
sample must reproduce those shares; the quantile mode reproduces them by construction.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.stats import ADOPTER_CATEGORIES, StatsInputError, adopter_categories

ROGERS_SHARES = [0.025, 0.135, 0.34, 0.34, 0.16]


def test_normal_mode_reproduces_rogers_shares() -> None:
    rng = np.random.default_rng(1962)
    times = rng.normal(36, 10, 200_000)
    result = adopter_categories(times)
    shares = [np.mean(result.category == c) for c in ADOPTER_CATEGORIES]
    assert shares == pytest.approx(ROGERS_SHARES, abs=0.005)
    assert result.cuts == pytest.approx((16, 26, 36, 46), abs=0.2)


def test_quantile_mode_on_skewed_times() -> None:
    rng = np.random.default_rng(5)
    times = rng.lognormal(3, 0.8, 100_000)
    result = adopter_categories(times, mode="quantile")
    shares = [np.mean(result.category == c) for c in ADOPTER_CATEGORIES]
    assert shares == pytest.approx(ROGERS_SHARES, abs=0.002)
    # The normal mode misplaces skewed data: no innovators at all below m - 2s < 0.
    assert np.mean(adopter_categories(times).category == "innovators") == 0.0


def test_boundaries_and_edge_cases() -> None:
    result = adopter_categories([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan])
    m, s = 5.0, float(np.std(np.arange(11.0)))
    assert result.cuts == pytest.approx((m - 2 * s, m - s, m, m + s))
    assert result.category[5] == "late majority"  # t == m goes to the later category
    assert result.category[-1] == "not yet"
    same = adopter_categories([4.0, 4.0, np.nan])
    assert list(same.category) == ["unclassified", "unclassified", "not yet"]
    assert np.all(np.isnan(same.cuts))
    assert list(adopter_categories([np.nan]).category) == ["not yet"]
    with pytest.raises(StatsInputError):
        adopter_categories([1.0, np.inf])
    with pytest.raises(StatsInputError):
        adopter_categories([1.0, 2.0], mode="rank")  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(times=st.lists(st.one_of(st.floats(0, 1000), st.just(float("nan"))), max_size=50))
def test_categories_are_ordered_in_time(times: list[float]) -> None:
    for mode in ("normal", "quantile"):
        result = adopter_categories(times, mode=mode)  # type: ignore[arg-type]
        order = {c: i for i, c in enumerate(ADOPTER_CATEGORIES)}
        pairs = [(t, order[c]) for t, c in zip(times, result.category) if c in order]
        for t1, c1 in pairs:
            for t2, c2 in pairs:
                if t1 < t2:
                    assert c1 <= c2
