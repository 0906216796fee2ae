"""Spec cases: values (result_values) - numerator / denominator -> value, its 95% and 99.8% intervals and
the comparison with England.

Hand arithmetic used below (docs/methods.md, "Confidence intervals"):

* Wilson, z = 1.959964 (95%) or 3.090232 (99.8%):
  low, high = (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)).
  Worked once: x = 50, n = 100, 95%: z^2 = 3.841459; 2x + z^2 = 103.841459;
  z sqrt(3.841459 + 4*50*0.5) = 1.959964 * 10.190263 = 19.972545; 2(n + z^2) = 207.682918;
  low = 83.868914 / 207.682918 = 0.4038315, high = 123.814004 / 207.682918 = 0.5961685.
* Counts (rates): exact Poisson below 10 events, Byar from 10; divide by the denominator.
* Comparison (Fingertips): England inside the 95% interval -> similar; outside -> better / worse by
  polarity; outside the 99.8% interval too -> best / worst. That is result_values.comparison_plain, and
  comparison too unless the level's funnel in the period is over-dispersed; then comparison is the funnel's
  random-effects judgement (worked in tests/spec/test_spec_funnel.py, case funnel-comparison).
"""

from __future__ import annotations

import math

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check, check_rows, duckdb_only, pipelines_only

from uptake import stats

# The made-up hierarchy: one region, two ICBs; PA1 and PA2 share a PCN, PB1 is in no PCN.
#
#   ENG - Y1 - QA - SA - UA - PA1
#                          \- PA2
#            \ QB - SB ------- PB1
HIERARCHY = [
    # code   level       parent  attributes
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {}),
    ("SA", "sub-icb", "QA", {}),
    ("UA", "pcn", "SA", {}),
    ("PA1", "practice", "UA", {}),
    ("PA2", "practice", "UA", {}),
    ("QB", "icb", "Y1", {}),
    ("SB", "sub-icb", "QB", {}),
    ("PB1", "practice", "SB", {}),
]
SPEC = Spec(HIERARCHY)


def values_row(impl, run, case, org, period, *, level="practice", pooled=None, england=None):
    """The result_values row of one organisation, or what uptake.stats says for the same counts.

    ``stats`` has no roll-up, so for a rolled-up organisation it is handed the pooled counts worked out
    by hand (``pooled``), and England's value (``england``) for the plain comparison (``comparison_plain``;
    whether the level's funnel is over-dispersed is the pipeline's to say)."""
    if impl != "stats":
        return run.one("result_values", case, level=level, org_code=org, period=period)
    num, den = pooled if pooled is not None else case.row(org, period)
    if case.measure == "proportion":
        lo95, hi95 = stats.wilson(num, den, 0.95)
        lo998, hi998 = stats.wilson(num, den, 0.998)
    else:
        lo95, hi95 = (v / den for v in stats.byar(num, 0.95))
        lo998, hi998 = (v / den for v in stats.byar(num, 0.998))
    value = num / den if den > 0 else math.nan
    out = {"numerator": num, "denominator": den, "value": value, "ci95_low": float(lo95),
           "ci95_high": float(hi95), "ci998_low": float(lo998), "ci998_high": float(hi998)}
    if england is not None:
        out["comparison_plain"] = str(stats.compare_to_benchmark(value, lo95, hi95, lo998, hi998, england,
                                                                 case.polarity))
    return out


# ------------------------------------------------------------------------------------------------ cases

WILSON = SPEC.case("values-wilson", level="practice", rows=[
    # org    month      numerator denominator
    ("PA1", "2024-01", 50, 100),
])


@NOT_ON_SPARK
def test_a_proportion_gets_its_wilson_intervals(impl, run) -> None:
    """50 of 100 -> 0.5, 95% 0.4038315-0.5961685 (worked in the module docstring), 99.8% 0.3523764-0.6476236
    (same formula, z = 3.090232). England is PA1 alone, so the comparison is 'similar'."""
    got = values_row(impl, run, WILSON, "PA1", "2024-01", england=0.5)
    check(got, {"numerator": 50.0, "denominator": 100.0, "value": 0.5,
                "ci95_low": 0.4038315, "ci95_high": 0.5961685,
                "ci998_low": 0.3523764, "ci998_high": 0.6476236, "comparison_plain": "similar"})


ROLLUP = SPEC.case("values-rollup", pyspark=True, level="practice", rows=[
    ("PA1", "2024-01", 30, 40),
    ("PA2", "2024-01", 20, 60),
    ("PB1", "2024-01", 10, 100),
])


@pipelines_only("uptake.stats has no roll-up: it works on counts it is given")
def test_every_level_pools_its_members_counts(impl, run) -> None:
    """Sums by hand: UA = SA = QA = 30+20 / 40+60 = 50/100; QB = SB = 10/100; Y1 = England = 60/200 = 0.3.
    PB1 is in no PCN, so the PCN level has UA only. Intervals of 50/100 and 60/200 by the Wilson formula."""
    got = run.rows("result_values", ROLLUP, order="level, org_code")
    want = [
        {"level": "practice", "org_code": "PA1", "numerator": 30.0, "denominator": 40.0, "members": 1, "value": 0.75},
        {"level": "practice", "org_code": "PA2", "numerator": 20.0, "denominator": 60.0, "members": 1,
         "value": 1 / 3},
        {"level": "practice", "org_code": "PB1", "numerator": 10.0, "denominator": 100.0, "members": 1, "value": 0.1},
        {"level": "pcn", "org_code": "UA", "numerator": 50.0, "denominator": 100.0, "members": 2, "value": 0.5,
         "ci95_low": 0.4038315, "ci95_high": 0.5961685},
        {"level": "sub-icb", "org_code": "SA", "numerator": 50.0, "denominator": 100.0, "members": 2, "value": 0.5},
        {"level": "sub-icb", "org_code": "SB", "numerator": 10.0, "denominator": 100.0, "members": 1, "value": 0.1},
        {"level": "icb", "org_code": "QA", "numerator": 50.0, "denominator": 100.0, "members": 2, "value": 0.5},
        {"level": "icb", "org_code": "QB", "numerator": 10.0, "denominator": 100.0, "members": 1, "value": 0.1},
        {"level": "region", "org_code": "Y1", "numerator": 60.0, "denominator": 200.0, "members": 3, "value": 0.3,
         "ci95_low": 0.2407474, "ci95_high": 0.3667907},
        {"level": "england", "org_code": "ENG", "numerator": 60.0, "denominator": 200.0, "members": 3,
         "value": 0.3, "comparison": "not compared", "percent_rank": None},
    ]
    check_rows(got, want, key="org_code")


COMPARED = SPEC.case("values-compared", pyspark=True, level="practice", rows=[
    ("PA1", "2024-01", 60, 100),
    ("PA2", "2024-01", 20, 100),
    ("PB1", "2024-01", 70, 100),
])
# England = (60 + 20 + 70) / 300 = 0.5. By the Wilson formula:
#   PA1 0.6: 95% 0.5020026-0.6905987 (excludes 0.5), 99.8% 0.4463794-0.7361864 (includes) -> better
#   PA2 0.2: 95% 0.1333669-0.2888292, 99.8% 0.1051916-0.3471109 (both exclude, below) -> worst
#   PB1 0.7: 95% 0.6041515-0.7810511, 99.8% 0.5461479-0.8189837 (both exclude, above) -> best
#   QA (80/200 = 0.4): 95% 0.3346058-0.4691633 (excludes), 99.8% 0.2998768-0.5092376 (includes) -> worse
# Those are comparison_plain. The three practices' funnel is over-dispersed: z = (asin sqrt p - pi/4) * 20 =
# 2.013579, -6.435011, 4.115168, winsorised (10th and 90th percentiles of three) to -4.745293 and 3.694851, so
# phi = (2.013579^2 + 4.745293^2 + 3.694851^2) / 3 = 13.408076 and tau^2 = (3 phi - 2) / (1200 - 400) =
# 0.0477803; the random-effects 95% limits at n = 100 are sin^2(pi/4 -/+ 1.959964 sqrt(0.0025 + 0.0477803)) =
# 0.1149570-0.8850430, so every practice's comparison is "similar" (method random-effects). QA and QB are two
# ICBs, too few to estimate over-dispersion: QA's comparison is the plain "worse".
COMPARED_WANT = {
    ("PA1", "practice"): ((60, 100), "better"),
    ("PA2", "practice"): ((20, 100), "worst"),
    ("PB1", "practice"): ((70, 100), "best"),
    ("QA", "icb"): ((80, 200), "worse"),
}


@EVERYWHERE
def test_comparison_with_england_at_two_levels(impl, run) -> None:
    for (org, level), (pooled, comparison) in COMPARED_WANT.items():
        got = values_row(impl, run, COMPARED, org, "2024-01", level=level, pooled=pooled, england=0.5)
        check(got, {"value": pooled[0] / pooled[1], "comparison_plain": comparison}, what=org)
        if impl != "stats":
            judged = ("similar", "random-effects") if level == "practice" else (comparison, "interval")
            check(got, {"comparison": judged[0], "comparison_method": judged[1]}, what=org)


COMPARED_LOW = SPEC.case("values-compared-low-is-good", level="practice", polarity="low-is-good",
                         rows=list(COMPARED.rows))


@NOT_ON_SPARK
def test_low_is_good_swaps_better_and_worse(impl, run) -> None:
    """The same counts and intervals as above; with low is good a high value is the bad one."""
    swapped = {"better": "worse", "worse": "better", "best": "worst", "worst": "best"}
    for (org, level), (pooled, comparison) in COMPARED_WANT.items():
        got = values_row(impl, run, COMPARED_LOW, org, "2024-01", level=level, pooled=pooled, england=0.5)
        check(got, {"comparison_plain": swapped[comparison]}, what=org)


NO_JUDGEMENT = SPEC.case("values-no-judgement", level="practice", polarity="no-judgement",
                         rows=list(COMPARED.rows))


@NOT_ON_SPARK
def test_no_judgement_is_higher_or_lower_in_stats_and_not_compared_in_the_tables(impl, run) -> None:
    """The two implementations answer differently here, by design and as documented:
    stats.compare_to_benchmark says 'higher' / 'lower' for a no-judgement polarity (docs/methods.md), while
    result_values leaves such indicators 'not compared' (docs/results.md, result_values.comparison)."""
    for (org, level), (pooled, comparison) in COMPARED_WANT.items():
        got = values_row(impl, run, NO_JUDGEMENT, org, "2024-01", level=level, pooled=pooled, england=0.5)
        if impl == "stats":
            want = "higher" if comparison in ("better", "best") else "lower"
        else:
            want = "not compared"
            check(got, {"comparison": want, "comparison_method": None}, what=org)
        check(got, {"comparison_plain": want}, what=org)


RATES = SPEC.case("values-rates", level="practice", measure="rate", rows=[
    ("PA1", "2024-01", 5, 1000),
    ("PA2", "2024-01", 0, 100),
    ("PB1", "2024-01", 100, 10000),
])


@NOT_ON_SPARK
def test_a_rate_gets_exact_poisson_limits_below_10_events_and_byar_from_10(impl, run) -> None:
    """* 0 events: exact upper limit chi2(0.975; 2)/2 = -ln(0.025) = 3.6888795 events (chi-squared with 2
      degrees of freedom is exponential), and -ln(0.001) = 6.9077553 at 99.8%; lower 0. Per 100: /100.
    * 5 events: the published exact table gives 1.623-11.668 events (docs/methods.md); per 1000.
    * 100 events, Byar: low = 100 (1 - 1/900 - z/30)^3 = 81.362105, high = 101 (1 - 1/909 + z/(3 sqrt 101))^3
      = 121.627938 (z = 1.959964; the byar gem gives 121.628347 at z = 1.96); per 10000."""
    check(values_row(impl, run, RATES, "PA2", "2024-01"),
          {"value": 0.0, "ci95_low": 0.0, "ci95_high": 0.036888795, "ci998_low": 0.0, "ci998_high": 0.069077553})
    check(values_row(impl, run, RATES, "PA1", "2024-01"),
          {"value": 0.005, "ci95_low": 0.001623, "ci95_high": 0.011668}, tol=5e-4)  # the table's 4 figures
    check(values_row(impl, run, RATES, "PB1", "2024-01"),
          {"value": 0.01, "ci95_low": 0.0081362105, "ci95_high": 0.0121627938})


ZERO = SPEC.case("values-zero-denominator", level="practice", rows=[
    ("PA1", "2024-01", 0, 0),
    ("PA2", "2024-01", 3, 10),
])


@duckdb_only("stats.wilson(0, 0) is NaN (below), but a row with no value is a table matter")
def test_a_zero_denominator_keeps_its_row_without_a_value(impl, run) -> None:
    """PA1 has a row (it reported) but no value, interval or comparison; the PCN pools 3/10 (0/0 adds
    nothing), so UA = 3/10 with members 2."""
    check(run.one("result_values", ZERO, org_code="PA1"),
          {"numerator": 0.0, "denominator": 0.0, "members": 1, "value": None, "ci95_low": None,
           "ci95_high": None, "percent_rank": None, "decile": None, "comparison": "not compared"})
    check(run.one("result_values", ZERO, org_code="UA"),
          {"numerator": 3.0, "denominator": 10.0, "members": 2, "value": 0.3, "ci95_low": 0.1077913,
           "ci95_high": 0.6032219})


def test_stats_gives_no_interval_for_a_zero_denominator() -> None:
    """The stats side of the case above: n = 0 gives NaN limits (docs/methods.md, Wilson edges)."""
    low, high = stats.wilson(0, 0)
    assert math.isnan(float(low)) and math.isnan(float(high))
