"""Spec cases: XmR charts (result_spc, result_spc_series) - centre, limits and each Making Data Count rule.

One practice, alone in every level above it, so its chart is also its sub-ICB's, ICB's, region's and
England's. The indicators are rates with a denominator of 1, so each value is its numerator: whole numbers,
which keep "on the mean" and "equal to the last point" exact.

Hand arithmetic (docs/methods.md, "XmR charts"), default rule length 7:

* centre = mean(y); mR_i = |y_i - y_(i-1)|; mR-bar = mean(mR);
* process limits centre -/+ 2.66 mR-bar, two sigma -/+ 1.773 mR-bar, one sigma -/+ 0.8865 mR-bar;
* rules in priority order: outside-limits (strictly beyond a process limit), trend (7 points each strictly
  higher / lower than the last; a tie breaks it), two-of-three (3 points on one side of the centre, 2 or 3
  beyond two sigma: those are flagged), shift (7 points strictly on one side of the centre);
* icons from 13 points: variation from the last point; assurance compares a target with the limits.

Flags are written one per period as a string: '+' high, '-' low, '.' none.
"""

from __future__ import annotations

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check, pipelines_only

from uptake import stats

HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {}),
    ("SA", "sub-icb", "QA", {}),
    ("PA1", "practice", "SA", {}),
    ("QB", "icb", "Y1", {}),  # a second practice, in another ICB: only the spread-curve cases use it
    ("SB", "sub-icb", "QB", {}),
    ("PB1", "practice", "SB", {}),
]
SPEC = Spec(HIERARCHY, settings={"targets": {"spc-target-fail": 12.0, "spc-target-pass": 0.5,
                                             "spc-target-hit-and-miss": 8.0}})
IMPROVEMENT = {"high-is-good": "increase", "low-is-good": "decrease", "no-judgement": "neutral"}
MONTHS = [f"{2023 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(1, 25)]  # 2023-01 .. 2024-12


def series_case(case_id: str, values: list[int], **kwargs):
    """A case whose practice PA1 has these values in consecutive months from 2023-01 (denominator 1)."""
    return SPEC.case(case_id, level="practice", measure="rate", first_period="2023-01",
                     rows=[("PA1", MONTHS[i], v, 1) for i, v in enumerate(values)], **kwargs)


def chart(impl, run, case, level="practice", org="PA1"):
    """(points in period order, the series row) from stats.xmr or from result_spc / result_spc_series."""
    if impl == "stats":
        values = [n / d for _, n, d in case.series("PA1")]
        target = SPEC.settings["targets"].get(case.id)
        res = stats.xmr(values, IMPROVEMENT[case.polarity], target)
        points = [
            {"value": res.values[j], "centre": res.mean[j], "moving_range": res.moving_range[j],
             "mean_moving_range": res.mean_moving_range[j], "upper_limit": res.upper_limit[j],
             "lower_limit": res.lower_limit[j], "upper_two_sigma": res.upper_two_sigma[j],
             "lower_two_sigma": res.lower_two_sigma[j], "upper_one_sigma": res.upper_one_sigma[j],
             "lower_one_sigma": res.lower_one_sigma[j], "outside_limits": int(res.outside_limits[j]),
             "trend": int(res.trend[j]), "two_of_three": int(res.two_of_three[j]), "shift": int(res.shift[j]),
             "direction": int(res.direction[j]), "rule": str(res.rule[j]), "special_cause": str(res.special_cause[j])}
            for j in range(len(values))
        ]
        series = {"points": len(values), "improvement": res.improvement, "variation_icon": res.variation_icon,
                  "assurance_icon": res.assurance_icon, "target": res.target, "warnings": "; ".join(res.warnings)}
        return points, series
    points = run.rows("result_spc", case, order="period", level=level, org_code=org)
    series = run.one("result_spc_series", case, level=level, org_code=org)
    return points, series


def flags(points, column: str) -> str:
    return "".join({1: "+", -1: "-", 0: "."}[int(p[column])] for p in points)


def column(points, name: str) -> list:
    return [p[name] for p in points]


LIMITS = series_case("spc-limits", [5, 7, 5, 7, 5, 7, 5, 7, 5, 7, 5, 7], pyspark=True)


@EVERYWHERE
def test_centre_and_limits(impl, run) -> None:
    """Twelve points alternating 5, 7: centre 6; eleven moving ranges of 2, so mR-bar = 2; limits
    6 -/+ 5.32 = 0.68 / 11.32, two sigma 6 -/+ 3.546, one sigma 6 -/+ 1.773. Nothing is flagged (no run
    is longer than one point on a side). Twelve points are too few for icons."""
    points, series = chart(impl, run, LIMITS)
    assert len(points) == 12
    for p in points:
        check(p, {"centre": 6.0, "mean_moving_range": 2.0, "upper_limit": 11.32, "lower_limit": 0.68,
                  "upper_two_sigma": 9.546, "lower_two_sigma": 2.454, "upper_one_sigma": 7.773,
                  "lower_one_sigma": 4.227, "special_cause": "common-cause", "direction": 0})
    check(points[0], {"moving_range": None})  # the first point has no moving range
    assert column(points[1:], "moving_range") == [2.0] * 11
    check(series, {"points": 12, "variation_icon": None, "assurance_icon": None})
    assert "only 12 points" in series["warnings"]


@pipelines_only("uptake.stats charts one series; the roll-up that gives every level a chart is the pipeline's")
def test_every_level_above_a_lone_practice_has_the_same_chart(impl, run) -> None:
    """PA1 is alone in SA, QA, Y1 and England, so each has the chart above (England too)."""
    for level, org in (("sub-icb", "SA"), ("icb", "QA"), ("region", "Y1"), ("england", "ENG")):
        points, _ = chart(impl, run, LIMITS, level=level, org=org)
        assert column(points, "value") == [5.0, 7.0] * 6, org
        check(points[-1], {"centre": 6.0, "upper_limit": 11.32, "lower_limit": 0.68}, what=org)


OUTSIDE = series_case("spc-outside-limits", [9, 11, 9, 11, 9, 11, 22, 11, 9, 11, 9, 11, 9])


@NOT_ON_SPARK
def test_a_point_outside_the_process_limits(impl, run) -> None:
    """Sum 6*9 + 6*11 + 22 = 142, centre 142/13 = 10.923077; moving ranges ten 2s and two 11s = 42,
    mR-bar 42/12 = 3.5; upper limit 10.923077 + 2.66 * 3.5 = 20.233077 < 22. The neighbours 11, 22, 11 are
    on one side but only one is beyond two sigma (17.128577), so rule 3 does not fire. 13 points: icons; the
    last point (9) is common cause."""
    points, series = chart(impl, run, OUTSIDE)
    check(points[6], {"centre": 10.923077, "mean_moving_range": 3.5, "upper_limit": 20.233077,
                      "lower_limit": 1.613077, "upper_two_sigma": 17.128577, "rule": "outside-limits",
                      "special_cause": "improvement"})
    assert flags(points, "outside_limits") == "......+......"
    assert flags(points, "direction") == "......+......"
    check(series, {"points": 13, "variation_icon": "common-cause", "assurance_icon": None})


TREND = series_case("spc-trend", [5, 4, 5, 6, 7, 8, 9, 10, 5, 6])


@NOT_ON_SPARK
def test_seven_rising_points_are_a_trend(impl, run) -> None:
    """4, 5, 6, 7, 8, 9, 10: seven points each higher than the last (six rises): all seven flagged.
    Centre 65/10 = 6.5, mR-bar 13/9 = 1.444444, upper limit 10.342222 (10 is inside), two sigma 9.061
    (only 10 beyond, so no two-of-three); above the centre only 7..10 in a row (4 < 7, no shift)."""
    points, _ = chart(impl, run, TREND)
    check(points[0], {"centre": 6.5, "mean_moving_range": 13 / 9, "upper_limit": 10.342222, "upper_two_sigma": 9.061})
    assert flags(points, "trend") == ".+++++++.."
    assert flags(points, "outside_limits") + flags(points, "two_of_three") + flags(points, "shift") == "." * 30
    assert column(points, "rule") == ["", *["trend"] * 7, "", ""]
    assert column(points, "special_cause") == ["common-cause", *["improvement"] * 7, "common-cause", "common-cause"]


TIE = series_case("spc-tie", [10, 2, 3, 4, 5, 5, 6, 7, 8, 1])


@NOT_ON_SPARK
def test_an_equal_value_breaks_a_trend(impl, run) -> None:
    """2, 3, 4, 5, 5, 6, 7, 8 rises seven times in eight points, but 5, 5 is not a rise: the runs are
    2..5 and 5..8 (four points each), so no trend (the convention that lets a tie neither count nor break
    would flag all eight). Centre 5.1, mR-bar 21/9, limits 11.306667 / -1.106667; only 10 is beyond two
    sigma (9.237); the longest run on one side is five (2, 3, 4, 5, 5): nothing at all is flagged."""
    points, _ = chart(impl, run, TIE)
    check(points[0], {"centre": 5.1, "mean_moving_range": 7 / 3, "upper_limit": 11.306667, "lower_limit": -1.106667})
    assert flags(points, "trend") == ".........."
    assert flags(points, "direction") == ".........."


SHIFT_VALUES = [1, 3, 1, 3, 1, 3, 4, 5, 4, 5, 4, 5, 4]
SHIFT = series_case("spc-shift", SHIFT_VALUES, pyspark=True)


@EVERYWHERE
def test_seven_points_above_the_centre_are_a_shift(impl, run) -> None:
    """Centre 43/13 = 3.307692. The first six points (1 and 3) are all below it - six is not enough - and the
    last seven (4 and 5) all above: a shift. mR-bar = (5*2 + 1 + 6*1)/12 = 17/12; two sigma 5.819442 /
    0.795942 (1 is not beyond), limits 7.076026 / -0.460641. High is good: improvement, and the last point
    gives the icon improvement-high."""
    points, series = chart(impl, run, SHIFT)
    check(points[0], {"centre": 3.307692, "mean_moving_range": 17 / 12, "upper_limit": 7.076026,
                      "lower_two_sigma": 0.795942})
    assert flags(points, "shift") == "......+++++++"
    assert column(points, "rule") == [""] * 6 + ["shift"] * 7
    assert column(points, "special_cause") == ["common-cause"] * 6 + ["improvement"] * 7
    check(series, {"variation_icon": "improvement-high", "improvement": "increase"})


SHIFT_LOW = series_case("spc-shift-low-is-good", SHIFT_VALUES, polarity="low-is-good")
SHIFT_NEUTRAL = series_case("spc-shift-no-judgement", SHIFT_VALUES, polarity="no-judgement")


@NOT_ON_SPARK
def test_polarity_names_the_same_signal_concern_or_neutral(impl, run) -> None:
    """The same series: when low is good the shift up is a concern (icon concern-high); with no judgement
    it is neutral (neutral-high). The flags and their direction do not change."""
    for case, label, icon in ((SHIFT_LOW, "concern", "concern-high"), (SHIFT_NEUTRAL, "neutral", "neutral-high")):
        points, series = chart(impl, run, case)
        assert flags(points, "direction") == "......+++++++", case.id
        assert column(points, "special_cause") == ["common-cause"] * 6 + [label] * 7, case.id
        check(series, {"variation_icon": icon}, what=case.id)


TWO_OF_THREE = series_case("spc-two-of-three", [1, 3, 1, 3, 1, 3, 1, 3, 7, 7, 3, 1, 3, 1])


@NOT_ON_SPARK
def test_two_of_three_beyond_two_sigma(impl, run) -> None:
    """Centre 38/14 = 19/7 = 2.714286; moving ranges 7*2 + 4 + 0 + 4 + 3*2 = 28 over 13, mR-bar 2.153846;
    two sigma 2.714286 + 1.773 * 2.153846 = 6.533055, limit 8.443516. The points 3, 7, 7 (and 7, 7, 3) are
    all above the centre with two beyond two sigma: the two 7s are flagged (the 3 is not beyond, so not
    flagged). No other rule fires (the run above the centre is 3, 7, 7, 3: four points)."""
    points, series = chart(impl, run, TWO_OF_THREE)
    check(points[8], {"centre": 2.714286, "mean_moving_range": 28 / 13, "upper_two_sigma": 6.533055,
                      "upper_limit": 8.443516})
    assert flags(points, "two_of_three") == "........++...."
    assert column(points, "rule") == [""] * 8 + ["two-of-three"] * 2 + [""] * 4
    assert flags(points, "outside_limits") + flags(points, "trend") + flags(points, "shift") == "." * 42
    check(series, {"variation_icon": "common-cause"})


# 13 points alternating 5, 7 and a final 6: centre 78/13 = 6; mR-bar (11*2 + 1)/12 = 23/12 = 1.916667;
# limits 6 -/+ 2.66 * 23/12 = 0.901667 / 11.098333. High is good, so a target of 12 (>= the upper limit) is
# consistently failed, 0.5 (<= the lower limit) consistently passed, and 8 (between) hit and miss.
ASSURED = [5, 7, 5, 7, 5, 7, 5, 7, 5, 7, 5, 7, 6]
TARGET_FAIL = series_case("spc-target-fail", ASSURED)
TARGET_PASS = series_case("spc-target-pass", ASSURED)
TARGET_HIT = series_case("spc-target-hit-and-miss", ASSURED)


@NOT_ON_SPARK
def test_assurance_icon_compares_the_target_with_the_limits(impl, run) -> None:
    for case, target, icon in ((TARGET_FAIL, 12.0, "consistently-fail"), (TARGET_PASS, 0.5, "consistently-pass"),
                               (TARGET_HIT, 8.0, "hit-and-miss")):
        points, series = chart(impl, run, case)
        check(points[-1], {"upper_limit": 11.098333, "lower_limit": 0.901667}, what=case.id)
        check(series, {"target": target, "assurance_icon": icon, "variation_icon": "common-cause"}, what=case.id)


# ------------------------------------------------------------------ spreading innovations: the difference from England
# Two practices, PA1 and PB1 (denominator 1), around a national S-curve s: PA1 = s + c and PB1 = s - c, so England
# = (PA1 + PB1) / 2 = s exactly and the charted differences are c and -c. Fourteen months from January 2023: the
# only April (position 3) would leave 3 points before it, fewer than 12, so there is one period of limits.
S_CURVE = [10, 11, 13, 16, 20, 25, 31, 37, 42, 46, 49, 51, 52, 53]


def spread_case(case_id: str, gap: list[int], **kwargs):
    rows = [("PA1", MONTHS[i], s + c, 1) for i, (s, c) in enumerate(zip(S_CURVE, gap))]
    rows += [("PB1", MONTHS[i], s - c, 1) for i, (s, c) in enumerate(zip(S_CURVE, gap))]
    return SPEC.case(case_id, level="practice", measure="rate", first_period="2023-01", spread_curve=True,
                     rows=rows, **kwargs)


SPREAD = spread_case("spc-spread-curve", [2, 3] * 7, pyspark=True)
SPREAD_STEP = spread_case("spc-spread-step", [2, 3, 2, 3, 2, 3, 2, 9, 10, 9, 10, 9, 10, 9])


def spread_chart(impl, run, case, org="PA1"):
    """Points of an organisation's chart on the difference basis: from stats.xmr on value minus England, or
    from result_spc (whose centre and limits are on the value scale: England's value added back)."""
    if impl == "stats":
        england = [(a + b) / 2 for (_, a, _), (_, b, _) in zip(case.series("PA1"), case.series("PB1"))]
        mine = [n for _, n, _ in case.series(org)]
        res = stats.xmr([v - e for v, e in zip(mine, england)], "increase")
        return [{"value": v, "england_value": e, "basis": "difference from England", "centre": e + res.mean[j],
                 "upper_limit": e + res.upper_limit[j], "lower_limit": e + res.lower_limit[j],
                 "moving_range": res.moving_range[j], "mean_moving_range": res.mean_moving_range[j],
                 "rule": str(res.rule[j]), "special_cause": str(res.special_cause[j]),
                 "direction": int(res.direction[j])} for j, (v, e) in enumerate(zip(mine, england))]
    return run.rows("result_spc", case, order="period", level="practice", org_code=org)


@EVERYWHERE
def test_a_spread_curve_is_charted_on_the_difference_from_england(impl, run) -> None:
    """PA1's difference from England alternates 2, 3: centre 2.5, every moving range 1, so mR-bar 1 and the
    limits 2.5 -/+ 2.66 = -0.16 / 5.16 (two sigma 0.727 / 4.273); no run of 7 on one side, no trend: nothing is
    special cause. result_spc states the centre and limits on the value scale, England's value (the S-curve)
    plus these: in March 2023 (s = 13) the centre is 15.5 and the limits 12.84 / 18.16. On its values PA1 (12,
    14, 15, 19, ... 56) rises eleven times in a row: every point would be special cause."""
    points = spread_chart(impl, run, SPREAD)
    assert len(points) == 14
    assert column(points, "england_value") == S_CURVE
    assert {p["basis"] for p in points} == {"difference from England"}
    for p, s in zip(points, S_CURVE):
        check(p, {"centre": s + 2.5, "upper_limit": s + 5.16, "lower_limit": s - 0.16, "mean_moving_range": 1.0})
    assert column(points, "special_cause") == ["common-cause"] * 14
    check(points[2], {"value": 15.0, "centre": 15.5, "upper_limit": 18.16, "lower_limit": 12.84})
    plain = stats.xmr([s + c for s, c in zip(S_CURVE, [2, 3] * 7)], "increase")
    assert (plain.special_cause != "common-cause").all()  # the whole-series chart of the same values
    mirror = spread_chart(impl, run, SPREAD, org="PB1")  # -3, -2, ...: the same chart upside down
    check(mirror[0], {"centre": 10 - 2.5, "upper_limit": 10 + 0.16})
    if impl != "stats":
        check(run.one("result_spc_series", SPREAD, level="practice", org_code="PA1"),
              {"basis": "difference from England", "points": 14})
        # England's own chart stays on its values: the S-curve, a trend
        england = run.rows("result_spc", SPREAD, order="period", level="england", org_code="ENG")
        assert {p["basis"] for p in england} == {"value"} and england[0]["england_value"] is None
        assert "trend" in column(england, "rule")


@NOT_ON_SPARK
def test_a_step_in_the_difference_from_england_is_flagged(impl, run) -> None:
    """From August 2023 PA1 moves 7 points further ahead of England (2, 3, ... then 9, 10, ...). The difference
    has centre 83/14 = 5.928571 and mR-bar 19/13 = 1.461538 (twelve ranges of 1 and the jump of 7): limits
    2.040879 / 9.816264, two sigma 3.337264 / 8.519879. Before the step the 2s are below the lower limit and the
    3s beyond two sigma (two of three): concern; after it the 10s are above the upper limit and the 9s beyond
    two sigma: improvement. The step is flagged on both sides of it."""
    points = spread_chart(impl, run, SPREAD_STEP)
    first = points[0]
    check(first, {"centre": 10 + 83 / 14, "upper_limit": 10 + 9.816264, "lower_limit": 10 + 2.040879,
                  "mean_moving_range": 19 / 13})
    assert column(points, "rule") == ["outside-limits", "two-of-three"] * 3 + ["outside-limits"] + \
        ["two-of-three", "outside-limits"] * 3 + ["two-of-three"]
    assert column(points, "special_cause") == ["concern"] * 7 + ["improvement"] * 7
