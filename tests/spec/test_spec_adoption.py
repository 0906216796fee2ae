"""Spec cases: adoption (result_adoption) - when each organisation first reached the threshold, and its
Rogers adopter category among the organisations of its level.

Hand arithmetic (docs/results.md, result_adoption; docs/methods.md, "Rogers' adopter categories"):

* an organisation adopts in the first period its value reaches the threshold (>=; <= when low is good), one
  already past it in its first period adopts then; months_from_launch counts from the indicator's
  first_period;
* normal cuts m - 2s, m - s, m, m + s (m, s the mean and population SD of the adopters' times); quantile cuts
  the 2.5th, 16th, 50th and 84th percentiles (linear); t < c1 innovators, < c2 early adopters, < c3 early
  majority, < c4 late majority, else laggards (a time on a cut goes to the later category); fewer than two
  adopters, or all at one time: unclassified; non-adopters: not yet.

uptake.stats has no first crossing: it is handed the adoption times worked out by hand.
"""

from __future__ import annotations

import math

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check, check_rows, pipelines_only

from uptake import stats

#   ENG - Y1 - QA - SA - PA1 .. PA6
HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {}),
    ("SA", "sub-icb", "QA", {}),
    *[(f"PA{i}", "practice", "SA", {}) for i in range(1, 7)],
]
SPEC = Spec(HIERARCHY)
MONTHS = [f"2024-{m:02d}" for m in range(1, 7)]


def monthly(series: dict[str, list[int]], denominator: int = 10):
    return [(org, MONTHS[t], num, denominator) for org, nums in series.items() for t, num in enumerate(nums)]


def adoption(impl, run, case, times: dict[str, float] | None = None, level="practice"):
    """{org: result_adoption row}, or stats.adopter_categories on the hand-worked times (NaN = not adopted)."""
    if impl != "stats":
        return {r["org_code"]: r for r in run.rows("result_adoption", case, level=level)}
    t = [times[o] for o in times]
    normal = stats.adopter_categories(t, mode="normal").category
    quantile = stats.adopter_categories(t, mode="quantile").category
    return {o: {"adopted": not math.isnan(times[o]), "months_from_launch": None if math.isnan(times[o]) else times[o],
                "category_normal": str(normal[i]), "category_quantile": str(quantile[i])}
            for i, o in enumerate(times)}


ROGERS = SPEC.case("adoption-rogers", pyspark=True, level="practice", adoption_threshold=0.5, first_period="2024-01",
                   rows=monthly({
                       # numerators out of 10, January to June 2024
                       "PA1": [6, 6, 6, 6, 6, 6],   # past the threshold from the start: adopts in January (0)
                       "PA2": [2, 6, 6, 6, 6, 6],   # February (1)
                       "PA3": [2, 2, 5, 5, 5, 5],   # March (2): exactly 0.5 counts
                       "PA4": [2, 2, 2, 7, 3, 3],   # April (3), though it falls back
                       "PA5": [2, 2, 2, 2, 8, 8],   # May (4)
                       "PA6": [2, 2, 2, 2, 2, 2],   # never
                   }))
# Times 0, 1, 2, 3, 4: m = 2, s = sqrt((4 + 1 + 0 + 1 + 4) / 5) = sqrt 2 = 1.414214;
#   normal cuts -0.828427, 0.585786, 2, 3.414214 -> 0 early adopters, 1 early majority, 2 (on the cut) and 3
#   late majority, 4 laggards.
#   quantile cuts at h = 4q: 0.1, 0.64, 2, 3.36 -> 0 innovators, 1 early majority, 2 and 3 late majority, 4 laggards.
ROGERS_WANT = [
    {"org_code": "PA1", "adopted": True, "first_adopted": "2024-01", "months_from_launch": 0.0,
     "category_normal": "early adopters", "category_quantile": "innovators"},
    {"org_code": "PA2", "adopted": True, "first_adopted": "2024-02", "months_from_launch": 1.0,
     "category_normal": "early majority", "category_quantile": "early majority"},
    {"org_code": "PA3", "adopted": True, "first_adopted": "2024-03", "months_from_launch": 2.0,
     "category_normal": "late majority", "category_quantile": "late majority"},
    {"org_code": "PA4", "adopted": True, "first_adopted": "2024-04", "months_from_launch": 3.0,
     "category_normal": "late majority", "category_quantile": "late majority"},
    {"org_code": "PA5", "adopted": True, "first_adopted": "2024-05", "months_from_launch": 4.0,
     "category_normal": "laggards", "category_quantile": "laggards"},
    {"org_code": "PA6", "adopted": False, "first_adopted": None, "months_from_launch": None,
     "category_normal": "not yet", "category_quantile": "not yet"},
]


@EVERYWHERE
def test_first_crossing_and_rogers_categories(impl, run) -> None:
    got = adoption(impl, run, ROGERS, {"PA1": 0.0, "PA2": 1.0, "PA3": 2.0, "PA4": 3.0, "PA5": 4.0, "PA6": math.nan})
    want = ROGERS_WANT
    if impl == "stats":  # no dates or thresholds in stats
        want = [{k: v for k, v in row.items() if k not in ("first_adopted",)} for row in want]
    else:
        want = [{**row, "threshold": 0.5} for row in want]
    check_rows([{**row, "org_code": org} for org, row in got.items()], want, key="org_code")


@pipelines_only("uptake.stats has no roll-up and no first crossing")
def test_a_rolled_up_organisation_adopts_when_its_pooled_value_crosses(impl, run) -> None:
    """SA pools all six practices (out of 60): Jan 16, Feb 20, Mar 23, Apr 28, May 30 = 0.5 -> adopts in May
    (month 4). It is the only sub-ICB, one adopter: unclassified."""
    check(adoption(impl, run, ROGERS, level="sub-icb")["SA"],
          {"adopted": True, "first_adopted": "2024-05", "months_from_launch": 4.0,
           "category_normal": "unclassified", "category_quantile": "unclassified"})
    assert run.rows("result_adoption", ROGERS, level="england") == []


LOW = SPEC.case("adoption-low-is-good", level="practice", polarity="low-is-good", adoption_threshold=0.2,
                first_period="2023-12", rows=monthly({"PA1": [3, 2], "PA2": [1, 1], "PA3": [3, 3]}))


@NOT_ON_SPARK
def test_low_is_good_adopts_at_or_below_the_threshold_counting_from_launch(impl, run) -> None:
    """Launch December 2023. PA2 is at 0.1 in January (month 1), PA1 reaches 0.2 in February (month 2; 0.2 <= 0.2),
    PA3 stays at 0.3. Times 1, 2: m = 1.5, s = 0.5, normal cuts 0.5, 1, 1.5, 2 -> 1 (on c2) early majority, 2 (on
    c4) laggards; quantile cuts 1.025, 1.16, 1.5, 1.84 -> 1 innovators, 2 laggards."""
    got = adoption(impl, run, LOW, {"PA1": 2.0, "PA2": 1.0, "PA3": math.nan})
    check(got["PA2"], {"adopted": True, "months_from_launch": 1.0, "category_normal": "early majority",
                       "category_quantile": "innovators"})
    check(got["PA1"], {"adopted": True, "months_from_launch": 2.0, "category_normal": "laggards",
                       "category_quantile": "laggards"})
    check(got["PA3"], {"adopted": False, "category_normal": "not yet", "category_quantile": "not yet"})
    if impl != "stats":
        check(got["PA1"], {"first_adopted": "2024-02", "threshold": 0.2})


AT_ONCE = SPEC.case("adoption-all-at-once", level="practice", adoption_threshold=0.5,
                    rows=monthly({"PA1": [6], "PA2": [7], "PA3": [1]}))


@NOT_ON_SPARK
def test_adopters_all_at_one_time_are_unclassified(impl, run) -> None:
    """PA1 and PA2 both adopt in January: no spread to tell categories apart."""
    got = adoption(impl, run, AT_ONCE, {"PA1": 0.0, "PA2": 0.0, "PA3": math.nan})
    for org in ("PA1", "PA2"):
        check(got[org], {"adopted": True, "category_normal": "unclassified", "category_quantile": "unclassified"})
    check(got["PA3"], {"adopted": False, "category_normal": "not yet"})
