"""XmR charts and Making Data Count rules (uptake.stats.spc).

Published example: NHSRplotthedots vignette "Deviations from Excel defaults" (CRAN, NHS-R community,
MIT licence; nhsrplotthedots.nhsrcommunity.com). For the series
1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1 (improvement direction "increase") the published
chart caption reports, with outlying moving ranges screened, "the upper process limit as 4.6, the mean
as 1.94 and the lower process limit as -0.72", with "four grey common cause points followed by a single
blue special cause improvement point followed by a further 12 grey common cause points". With
screening off (the Excel tool's behaviour) the limits follow from the same data: mean 35/18,
mR-bar 32/17, limits 35/18 -/+ 2.66 x 32/17.

Rule details checked against the Making Data Count team's description in NHSRplotthedots issue #194
(two-of-three: all three points on one side, beyond-limit points count, only points beyond two sigma
flagged) and issue #143 (points on opposite sides do not make a two-of-three signal).

``xmr`` is the slow, obviously correct reference: it applies the rules declared by
``SpecialCauseRules`` point by point and window by window. The pipeline's vectorised form is checked
against it in tests/test_pipeline_units.py; here it is checked against the published examples and
against properties (shifted series, reversed improvement, monotone runs).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from uptake.stats import StatsInputError, xmr
from uptake.stats.spc import RULES, SpecialCauseRules

NHSR_EXAMPLE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_nhsrplotthedots_published_example_screened() -> None:
    r = xmr(NHSR_EXAMPLE, "increase", screen_moving_ranges=True)
    assert round(r.upper_limit[0], 2) == 4.6
    assert round(r.mean[0], 2) == 1.94
    assert round(r.lower_limit[0], 2) == -0.72
    expected = ["common-cause"] * 4 + ["improvement"] + ["common-cause"] * 13
    assert list(r.special_cause) == expected
    assert r.rule[4] == "outside-limits"
    assert r.variation_icon == "common-cause"


def test_nhsrplotthedots_example_excel_default() -> None:
    r = xmr(NHSR_EXAMPLE, "increase")
    assert r.mean[0] == pytest.approx(35 / 18)
    assert r.mean_moving_range[0] == pytest.approx(32 / 17)
    assert r.upper_limit[0] == pytest.approx(35 / 18 + 2.66 * 32 / 17)
    assert r.lower_limit[0] == pytest.approx(35 / 18 - 2.66 * 32 / 17)
    assert list(r.special_cause).count("improvement") == 1 and r.special_cause[4] == "improvement"
    assert np.isnan(r.moving_range[0]) and r.moving_range[4] == 8


def test_two_of_three_rules_from_making_data_count() -> None:
    base = [10.0, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9]  # mean 10, mR-bar 19/14
    # Limits fixed on these 15 points: two sigma at 10 + 1.773 x 19/14 = 12.41, process limit 13.61.
    same_side = base + [13.0, 10.5, 13.0]
    r = xmr(same_side, baseline=15)
    assert r.upper_two_sigma[0] == pytest.approx(10 + 1.773 * 19 / 14)
    assert r.two_of_three[-3] == 1 and r.two_of_three[-1] == 1
    assert r.two_of_three[-2] == 0  # the middle point is not beyond two sigma: not flagged
    opposite = base + [13.0, 9.5, 13.0]  # middle point below the mean: no signal (issue #143)
    assert not np.any(xmr(opposite, baseline=15).two_of_three)
    beyond_limit = base + [12.8, 10.5, 30.0]  # a point beyond the limit counts too (issue #194)
    r3 = xmr(beyond_limit, baseline=15)
    assert r3.two_of_three[-3] == 1 and r3.two_of_three[-1] == 1
    assert r3.rule[-1] == "outside-limits"  # priority
    assert r3.rule[-3] == "two-of-three"


def test_trend_tie_breaks_and_shift_on_mean_breaks() -> None:
    rising = [5.0, 1, 5, 1, 5, 1, 5, 0, 1, 2, 3, 4, 5, 6, 1, 5]
    r = xmr(rising)
    assert list(r.trend[7:14]) == [1] * 7
    tied = [5.0, 1, 5, 1, 5, 1, 5, 0, 1, 2, 2, 3, 4, 5, 1, 5]  # a tie breaks the run
    assert not np.any(xmr(tied).trend[7:14])
    assert np.all(xmr(rising, rule_length=6).trend[7:14] == 1)
    series = [0.0] * 6 + [1, 1, 1, 1, 1, 1, 1] + [-1] * 6
    r2 = xmr(series)  # mean = 1/19: the seven 1s are above, the zeros below
    assert np.all(r2.shift[6:13] == 1)
    exact = [1.0, 3, 3, 3, 3, 2, 3, 3, 3, 1, 2, 2, 2]  # mean 31/13; no run of 7 strictly one side
    assert not np.any(xmr(exact).shift)


def test_points_exactly_on_a_line_are_not_beyond_it() -> None:
    base = [10.0, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9]  # limits fixed on these 15 points
    lines = xmr(base + [10.0], baseline=15)
    upl, two = lines.upper_limit[0], lines.upper_two_sigma[0]
    on = xmr(base + [upl, 10.5, two, two], baseline=15)
    assert on.upper_limit[0] == upl and on.values[-4] == upl
    assert not np.any(on.outside_limits) and not np.any(on.two_of_three)
    above = xmr(base + [np.nextafter(upl, np.inf), 10.5, np.nextafter(two, np.inf), two], baseline=15)
    assert above.outside_limits[-4] == 1 and above.rule[-4] == "outside-limits"
    assert list(above.two_of_three[-4:]) == [1, 0, 1, 0]


def test_the_rules_as_declared() -> None:
    rules = SpecialCauseRules()
    assert (rules.rule_length, rules.trend_points, rules.shift_points) == (7, 7, 7)
    assert SpecialCauseRules(6).trend_points == SpecialCauseRules(6).shift_points == 6
    assert (rules.window, rules.needed, rules.priority) == (3, 2, RULES)
    assert (rules.limit_factor, rules.two_sigma_factor) == (2.66, 1.773)
    assert xmr(NHSR_EXAMPLE, rule_length=6).rule_length == 6


def test_icons_and_warnings() -> None:
    rng = np.random.default_rng(3)
    y = list(50 + rng.normal(0, 1, 20))
    r = xmr(y + [80.0], "increase", target=40.0)
    assert r.variation_icon == "improvement-high"
    assert r.assurance_icon == "consistently-pass"  # target below the lower limit
    assert xmr(y + [80.0], "decrease", target=40.0).variation_icon == "concern-high"
    assert xmr(y + [80.0], "decrease", target=40.0).assurance_icon == "consistently-fail"
    assert xmr(y + [80.0], "neutral").variation_icon == "neutral-high"
    assert xmr(y + [20.0], "increase").variation_icon == "concern-low"
    assert xmr(y, "increase", target=50.0).assurance_icon == "hit-and-miss"
    assert xmr(y, "increase", target=60.0).assurance_icon == "consistently-fail"
    short = xmr(y[:8], target=50.0)
    assert short.variation_icon is None and short.assurance_icon is None
    assert any("13 points" in w for w in short.warnings)


def test_baseline_and_rebase() -> None:
    y = [1.0, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 11, 12, 11, 12, 11, 12, 11, 12]
    fixed = xmr(y, baseline=12)
    assert np.all(fixed.mean == 1.5) and np.all(fixed.outside_limits[12:] == 1)
    rebased = xmr(y, rebase_at=[12])
    assert rebased.mean[0] == 1.5 and rebased.mean[-1] == 11.5
    assert np.isnan(rebased.moving_range[12])
    assert not np.any(rebased.outside_limits)
    assert any("only 8 points" in w for w in rebased.warnings)


def test_bad_input() -> None:
    with pytest.raises(StatsInputError, match="missing"):
        xmr([1.0, np.nan, 2.0])
    with pytest.raises(StatsInputError):
        xmr([1.0])
    with pytest.raises(StatsInputError, match="single point"):
        xmr([1.0, 2, 3, 4], rebase_at=[3])
    with pytest.raises(StatsInputError):
        xmr([1.0, 2, 3], improvement="up")  # type: ignore[arg-type]


def test_constant_series() -> None:
    r = xmr([4.0] * 15)
    assert np.all(r.upper_limit == 4.0) and not np.any(r.direction)
    assert r.variation_icon == "common-cause"


@st.composite
def charts(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(min_value=2, max_value=60))
    y = draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n))
    # Random walks give trends and shifts; plain noise gives limits and two-of-three.
    if draw(st.booleans()):
        y = list(np.cumsum(y))
    y = [float(v) for v in y]
    cuts = draw(st.lists(st.integers(2, max(2, n - 2)), max_size=3, unique=True)) if n >= 4 else []
    cuts = sorted(c for c in cuts if 2 <= c <= n - 2)
    cuts = [c for i, c in enumerate(cuts) if i == 0 or c - cuts[i - 1] >= 2]
    baseline = draw(st.one_of(st.none(), st.integers(2, 20)))
    rule_length = draw(st.integers(2, 8))
    screen = draw(st.booleans())
    improvement = draw(st.sampled_from(["increase", "decrease", "neutral"]))
    return y, cuts, baseline, rule_length, screen, improvement


@settings(max_examples=300, deadline=None)
@given(
    noise=st.lists(st.floats(-5, 5), min_size=0, max_size=30),
    before=st.integers(0, 15),
    length=st.integers(6, 12),
    step=st.floats(0.01, 3),
    rule_length=st.sampled_from([6, 7]),
)
def test_monotone_run_triggers_trend(  # type: ignore[no-untyped-def]
    noise, before, length, step, rule_length
) -> None:
    assume(length >= rule_length)
    head = noise[:before]
    run = [100.0 + step * i for i in range(length)]
    r = xmr(head + run + noise[before:], rule_length=rule_length)
    flags = r.trend[len(head) : len(head) + length]
    # The first point may also end an earlier falling trend, in which case it keeps that direction.
    assert np.all(flags[1:] == 1) and flags[0] != 0


@settings(max_examples=300, deadline=None)
@given(case=charts(), c=st.integers(-1000, 1000))
def test_shifting_by_a_constant_shifts_limits_and_keeps_flags(case, c) -> None:
    y, cuts, baseline, rule_length, screen, improvement = case
    kw = dict(baseline=baseline, rebase_at=cuts or None, rule_length=rule_length, screen_moving_ranges=screen)
    a = xmr(y, improvement, **kw)
    # Exclude exact ties with a limit, where rounding of the shifted limit may land either side.
    lines = [a.upper_limit, a.lower_limit, a.upper_two_sigma, a.lower_two_sigma]
    assume(all(np.all((np.abs(a.values - line) > 1e-9) | (a.mean_moving_range == 0)) for line in lines))
    b = xmr([v + c for v in y], improvement, **kw)
    assert np.allclose(b.mean, a.mean + c) and np.allclose(b.upper_limit, a.upper_limit + c)
    assert np.allclose(b.lower_limit, a.lower_limit + c)
    for name in ("outside_limits", "trend", "two_of_three", "shift", "direction"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.variation_icon == b.variation_icon


@settings(max_examples=300, deadline=None)
@given(case=charts(), target=st.one_of(st.none(), st.integers(-30, 30)))
def test_reversing_improvement_swaps_improvement_and_concern(case, target) -> None:
    y, cuts, baseline, rule_length, screen, _ = case
    kw = dict(baseline=baseline, rebase_at=cuts or None, rule_length=rule_length, screen_moving_ranges=screen)
    up = xmr(y, "increase", target, **kw)
    down = xmr(y, "decrease", target, **kw)
    swap = {"improvement": "concern", "concern": "improvement", "common-cause": "common-cause"}
    assert [swap[s] for s in up.special_cause] == list(down.special_cause)
    if up.variation_icon is not None:
        assert down.variation_icon == up.variation_icon.replace("improvement", "X").replace(
            "concern", "improvement"
        ).replace("X", "concern")
    icon_swap = {"consistently-pass": "consistently-fail", "consistently-fail": "consistently-pass"}
    if up.assurance_icon is not None:
        if up.upper_limit[-1] == up.lower_limit[-1] == target:
            # no variation, exactly on the target: it meets the target every time, whichever way is better
            assert up.assurance_icon == down.assurance_icon == "consistently-pass"
        else:
            assert down.assurance_icon == icon_swap.get(up.assurance_icon, up.assurance_icon)


@pytest.mark.parametrize("improvement", ["increase", "decrease"])
def test_a_flat_process_exactly_on_its_target_consistently_passes(improvement) -> None:
    result = xmr([5.0] * 20, improvement, 5.0)
    assert result.upper_limit[-1] == result.lower_limit[-1] == 5.0
    assert result.assurance_icon == "consistently-pass"
    assert xmr([5.0] * 20, improvement, 6.0 if improvement == "increase" else 4.0).assurance_icon == \
        "consistently-fail"


def test_looks_like_spread_curve() -> None:
    """A spread: >= 24 points, Spearman |rho| >= 0.9 with time, and >= 10 points of share between the first and
    last 12 points' means (docs/methods.md, "SPC for a spreading innovation")."""
    from uptake.stats.spc import looks_like_spread_curve

    t = np.arange(60)
    s_curve = 0.45 + 0.35 / (1 + np.exp(-(t - 24) / 7))
    assert looks_like_spread_curve(s_curve)
    assert looks_like_spread_curve(s_curve[::-1])  # a decline is a spread too (of the alternative)
    assert not looks_like_spread_curve(s_curve[:23])  # too short
    assert not looks_like_spread_curve(np.full(60, 0.5))  # flat: ties everywhere, no correlation
    assert not looks_like_spread_curve(0.5 + 0.001 * t)  # monotone but only 4.8 points
    rng = np.random.default_rng(3)
    assert not looks_like_spread_curve(0.5 + rng.normal(0, 0.1, 60))  # no trend
    assert looks_like_spread_curve(np.r_[np.full(12, 0.3), np.linspace(0.3, 0.6, 36), np.full(12, 0.6)])  # ties
    assert looks_like_spread_curve([np.nan, *s_curve])  # missing values are dropped
