"""Spec cases: ranks and deciles (result_values.percent_rank / decile, result_deciles).

Hand arithmetic (docs/methods.md, "Percent rank, centiles, deciles"), within one level and period:

* percent_rank = (rank - 1) / (m - 1), rank = 1 + the number of strictly smaller values (ties share the
  lowest rank), m = organisations with a value;
* centile k: h = (m - 1) k / 100; x[floor h] + (h - floor h)(x[ceil h] - x[floor h]) on the sorted values;
* decile band (result_values.decile) = 1 + the number of the lines p10..p90 strictly below the value, except
  that a value equal to the level's maximum in the period is in band 10 (organisations at the top share the
  top decile, however many of them there are).
"""

from __future__ import annotations

import math

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check, check_rows, pipelines_only

from uptake import stats

# Five practices in one sub-ICB, no PCN:  ENG - Y1 - QA - SA - PA1 .. PA5
HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {}),
    ("SA", "sub-icb", "QA", {}),
    ("PA1", "practice", "SA", {}),
    ("PA2", "practice", "SA", {}),
    ("PA3", "practice", "SA", {}),
    ("PA4", "practice", "SA", {}),
    ("PA5", "practice", "SA", {}),
]
SPEC = Spec(HIERARCHY)
LINES = ("p10", "p20", "p30", "p40", "p50", "p60", "p70", "p80", "p90")


def practice_answers(impl, run, case, period):
    """{org: {value, percent_rank}} and the decile lines of the practices in one period."""
    if impl == "stats":
        rows = case.period_rows(period)
        values = [n / d if d > 0 else math.nan for _, n, d in rows]
        ranks = stats.percent_rank(values)
        found = {org: {"value": v, "percent_rank": float(r)} for (org, _, _), v, r in zip(rows, values, ranks)}
        lines = dict(zip(LINES, (float(x) for x in stats.deciles(values))))
        return found, lines
    found = {r["org_code"]: r for r in run.rows("result_values", case, level="practice", period=period)}
    lines = run.one("result_deciles", case, level="practice", period=period)
    return found, lines


TIES = SPEC.case("deciles-ties", pyspark=True, level="practice", rows=[
    ("PA1", "2024-01", 1, 10),
    ("PA2", "2024-01", 2, 10),
    ("PA3", "2024-01", 2, 10),
    ("PA4", "2024-01", 4, 10),
    ("PA5", "2024-01", 5, 10),
])
# Sorted values 0.1, 0.2, 0.2, 0.4, 0.5 (m = 5):
#   ranks 1, 2, 2, 4, 5 -> percent ranks 0, 1/4, 1/4, 3/4, 1
#   p10: h = 0.4 -> 0.1 + 0.4 * 0.1 = 0.14     p60: h = 2.4 -> 0.2 + 0.4 * 0.2 = 0.28
#   p20: h = 0.8 -> 0.1 + 0.8 * 0.1 = 0.18     p70: h = 2.8 -> 0.2 + 0.8 * 0.2 = 0.36
#   p30: h = 1.2 -> 0.2 (x1 = x2 = 0.2)        p80: h = 3.2 -> 0.4 + 0.2 * 0.1 = 0.42
#   p40: h = 1.6 -> 0.2                         p90: h = 3.6 -> 0.4 + 0.6 * 0.1 = 0.46
#   p50: h = 2   -> x2 = 0.2
TIES_LINES = {"p10": 0.14, "p20": 0.18, "p30": 0.2, "p40": 0.2, "p50": 0.2, "p60": 0.28, "p70": 0.36,
              "p80": 0.42, "p90": 0.46}


@EVERYWHERE
def test_tied_values_share_the_lowest_percent_rank(impl, run) -> None:
    found, _ = practice_answers(impl, run, TIES, "2024-01")
    want = {"PA1": 0.0, "PA2": 0.25, "PA3": 0.25, "PA4": 0.75, "PA5": 1.0}
    assert set(found) == set(want)
    for org, rank in want.items():
        check(found[org], {"percent_rank": rank}, what=org)


@EVERYWHERE
def test_decile_lines_are_continuous_centiles_of_the_organisations(impl, run) -> None:
    _, lines = practice_answers(impl, run, TIES, "2024-01")
    check(lines, TIES_LINES)
    if impl != "stats":
        assert lines["organisations"] == 5


@pipelines_only("uptake.stats gives the lines; placing a row in a band is the pipeline's column")
def test_decile_band_counts_the_lines_strictly_below(impl, run) -> None:
    """0.1: no line below -> 1; 0.2: 0.14 and 0.18 below (the three lines at 0.2 are not strictly below) -> 3;
    0.4: seven lines below (up to 0.36) -> 8; 0.5: all nine -> 10."""
    found, _ = practice_answers(impl, run, TIES, "2024-01")
    for org, band in {"PA1": 1, "PA2": 3, "PA3": 3, "PA4": 8, "PA5": 10}.items():
        check(found[org], {"decile": band}, what=org)


@EVERYWHERE
def test_a_level_with_one_organisation(impl, run) -> None:
    """SA is the only sub-ICB: its pooled value (1+2+2+4+5)/50 = 0.28 has percent rank 0 (one value, as SQL
    PERCENT_RANK gives) and every decile line is 0.28. It is its level's maximum, so its band is 10 (no line is
    strictly below it, which alone would give 1)."""
    if impl == "stats":
        rank = float(stats.percent_rank([0.28])[0])
        lines = dict(zip(LINES, (float(x) for x in stats.deciles([0.28]))))
        check({"percent_rank": rank, **lines}, {"percent_rank": 0.0, **{k: 0.28 for k in LINES}})
        return
    check(run.one("result_values", TIES, level="sub-icb", org_code="SA"),
          {"value": 0.28, "percent_rank": 0.0, "decile": 10})
    check(run.one("result_deciles", TIES, level="sub-icb"), {"organisations": 1, **{k: 0.28 for k in LINES}})


@pipelines_only("uptake.stats has no England: ranking within levels is the pipeline's")
def test_england_is_not_ranked(impl, run) -> None:
    check(run.one("result_values", TIES, level="england"), {"value": 0.28, "percent_rank": None, "decile": None})
    assert run.rows("result_deciles", TIES, level="england") == []


GAPS = SPEC.case("deciles-missing", level="practice", rows=[
    ("PA1", "2024-02", 3, 10),
    ("PA2", "2024-02", 1, 10),
    ("PA3", "2024-02", 0, 0),   # reported, but nothing to rank
    ("PA4", "2024-02", 3, 10),
    ("PA5", "2024-02", 6, 10),
])
# m = 4 values (PA3 has none): sorted 0.1, 0.3, 0.3, 0.6
#   percent ranks: PA2 0, PA1 and PA4 1/3, PA5 1; PA3 none
#   h = 3k/100: p10 0.3 -> 0.1 + 0.3 * 0.2 = 0.16; p20 0.6 -> 0.22; p30 0.9 -> 0.28; p40 1.2, p50 1.5,
#   p60 1.8 -> 0.3; p70 2.1 -> 0.3 + 0.1 * 0.3 = 0.33; p80 2.4 -> 0.42; p90 2.7 -> 0.51
#   bands: 0.1 -> 1; 0.3 -> 1 + 3 (0.16, 0.22, 0.28; the lines at 0.3 are not below) = 4; 0.6 -> 10


@NOT_ON_SPARK
def test_an_organisation_without_a_value_is_neither_ranked_nor_counted(impl, run) -> None:
    found, lines = practice_answers(impl, run, GAPS, "2024-02")
    for org, rank in {"PA1": 1 / 3, "PA2": 0.0, "PA3": None, "PA4": 1 / 3, "PA5": 1.0}.items():
        check(found[org], {"percent_rank": rank}, what=org)
    check(lines, {"p10": 0.16, "p20": 0.22, "p30": 0.28, "p40": 0.3, "p50": 0.3, "p60": 0.3, "p70": 0.33,
                  "p80": 0.42, "p90": 0.51})
    if impl != "stats":
        assert lines["organisations"] == 4
        check_rows(run.rows("result_values", GAPS, level="practice"),
                   [{"org_code": "PA3", "value": None, "decile": None}, {"org_code": "PA1", "decile": 4},
                    {"org_code": "PA2", "decile": 1}, {"org_code": "PA4", "decile": 4},
                    {"org_code": "PA5", "decile": 10}], key="org_code")


TOP = SPEC.case("deciles-at-the-maximum", pyspark=True, level="practice", rows=[
    ("PA1", "2024-01", 1, 10),
    ("PA2", "2024-01", 10, 10),
    ("PA3", "2024-01", 10, 10),
    ("PA4", "2024-01", 10, 10),
    ("PA5", "2024-01", 10, 10),
])
# Sorted 0.1, 1, 1, 1, 1 (m = 5), like QOF practices at 100%:
#   p10: h = 0.4 -> 0.1 + 0.4 * 0.9 = 0.46;  p20: h = 0.8 -> 0.1 + 0.8 * 0.9 = 0.82;  p30 .. p90: h >= 1.2 -> 1
#   PA1: no line below -> band 1.  PA2-PA5: two lines strictly below (0.46, 0.82), which alone would put them
#   all in band 3 and leave bands 4-10 empty; they are the maximum, so they share band 10.
#   Percent ranks (SQL PERCENT_RANK, ties take the lowest rank): PA1 0, PA2-PA5 1/4.


@EVERYWHERE
def test_organisations_at_the_maximum_share_the_top_decile(impl, run) -> None:
    found, lines = practice_answers(impl, run, TOP, "2024-01")
    check(lines, {"p10": 0.46, "p20": 0.82, **{f"p{k}": 1.0 for k in range(30, 100, 10)}})
    for org, rank in {"PA1": 0.0, "PA2": 0.25, "PA3": 0.25, "PA4": 0.25, "PA5": 0.25}.items():
        check(found[org], {"percent_rank": rank}, what=org)
    if impl == "stats":  # the band is the pipeline's column: stats gives the lines and the maximum
        assert max(v["value"] for v in found.values()) == 1.0
        return
    for org, band in {"PA1": 1, "PA2": 10, "PA3": 10, "PA4": 10, "PA5": 10}.items():
        check(found[org], {"decile": band}, what=org)
    # the sub-ICB pools all five (41/50 = 0.82), alone at its level: its maximum, so band 10
    check(run.one("result_values", TOP, level="sub-icb", org_code="SA"), {"decile": 10})
