"""Spec cases: change detection (result_changes) - CUSUM on an organisation's percentile series.

Three practices, so in every month their percentiles are 0, 50 and 100 (percent rank x 100). To keep the
arithmetic short these cases use a 3-month reference window and a threshold of 2 SDs
(UPTAKE_CUSUM_WINDOW=3, UPTAKE_CUSUM_SENSITIVITY=2; OpenPrescribing uses 12 and 5).

Hand arithmetic (docs/methods.md, "CUSUM alerts"), k = 0.5:

    S+_t = max(0, S+_(t-1) + (x_t - m) - k s)     alert "increase" when S+_t > h s
    S-_t = min(0, S-_(t-1) + (x_t - m) + k s)     alert "decrease" when S-_t < -h s

m, s from the first 3 months (s with ddof = 1); after an alert m is reset to the mean of the last 3 months;
when the next month is not more than k s beyond it, the CUSUM returns to 0 and m, s are recomputed.
"""

from __future__ import annotations

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check_rows, pipelines_only

from uptake import stats

HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {}),
    ("SA", "sub-icb", "QA", {}),
    ("PA1", "practice", "SA", {}),
    ("PA2", "practice", "SA", {}),
    ("PA3", "practice", "SA", {}),
]
SPEC = Spec(HIERARCHY, settings={"cusum_window": 3, "cusum_sensitivity": 2})
MONTHS = [f"2024-{m:02d}" for m in range(1, 10)]


def changes(impl, run, case, org, percentiles=None):
    """result_changes rows of one organisation, or stats.cusum_alerts on its percentile series (the
    percentiles are the pipeline's ranks, given by hand to stats, which does not rank)."""
    if impl != "stats":
        return run.rows("result_changes", case, org_code=org)
    res = stats.cusum_alerts(percentiles, window=3, sensitivity=2)
    return [
        {"period": MONTHS[t], "percentile": percentiles[t], "cusum_increase": res.cusum_increase[t],
         "cusum_decrease": res.cusum_decrease[t], "threshold_increase": res.threshold_increase[t],
         "threshold_decrease": res.threshold_decrease[t], "alert": str(res.alert[t])}
        for t in range(len(percentiles))
    ]


def ranked(values_by_month: list[tuple[float, float, float]], gap: dict | None = None):
    """Rows for PA1, PA2, PA3 (numerators out of 10) month by month; gap = {(org, month): True} for 0/0."""
    rows = []
    for month, trio in zip(MONTHS, values_by_month, strict=True):
        for org, num in zip(("PA1", "PA2", "PA3"), trio, strict=True):
            rows.append((org, month, 0, 0) if (gap or {}).get((org, month)) else (org, month, num, 10))
    return rows


# PA1 climbs from the bottom to the top of its three and stays there.
RISE = [(1, 5, 9), (5, 9, 1)] + [(9, 5, 1)] * 7
CLIMB = SPEC.case("changes-climb", pyspark=True, level="practice", rows=ranked(RISE))
# Reference (Jan-Mar): percentiles 0, 50, 100 -> m = 50, s = sqrt((50^2 + 0 + 50^2) / 2) = 50;
# k s = 25, threshold h s = 100. Each later month at 100 adds 100 - 50 - 25 = 25 to S+:
# Apr 25, May 50, Jun 75, Jul 100 (not above 100), Aug 125 > 100 -> alert. Then m = mean(Jun..Aug) = 100;
# Sep: 100 - 100 - 25 < 0 -> S+ back to 0, no alert (and m, s recomputed: 100, 0).
# S- never goes below 0: each month adds (100 - 50) + 25 > 0.
CLIMB_WANT = [
    {"period": "2024-01", "percentile": 0.0, "cusum_increase": None, "cusum_decrease": None, "alert": ""},
    {"period": "2024-02", "percentile": 50.0, "cusum_increase": None, "cusum_decrease": None, "alert": ""},
    {"period": "2024-03", "percentile": 100.0, "cusum_increase": None, "threshold_increase": None, "alert": ""},
    *[{"period": f"2024-{m:02d}", "percentile": 100.0, "cusum_increase": s, "cusum_decrease": 0.0,
       "threshold_increase": 100.0, "threshold_decrease": -100.0, "alert": ""}
      for m, s in ((4, 25.0), (5, 50.0), (6, 75.0), (7, 100.0))],
    {"period": "2024-08", "percentile": 100.0, "cusum_increase": 125.0, "cusum_decrease": 0.0,
     "threshold_increase": 100.0, "alert": "increase"},
    {"period": "2024-09", "percentile": 100.0, "cusum_increase": 0.0, "cusum_decrease": 0.0,
     "threshold_increase": 100.0, "alert": ""},
]


@EVERYWHERE
def test_a_sustained_rise_in_percentile_alerts(impl, run) -> None:
    got = changes(impl, run, CLIMB, "PA1", [0.0, 50.0] + [100.0] * 7)
    check_rows(got, CLIMB_WANT, key="period")


GAP = SPEC.case("changes-missing-month", level="practice", rows=ranked(RISE, gap={("PA1", "2024-06"): True}))


@NOT_ON_SPARK
def test_a_month_without_a_value_carries_the_cusum(impl, run) -> None:
    """The same climb, but PA1 reports 0/0 in June: no percentile, S+ carried at 50 with no alert, so the
    alert comes a month later: Jul 75, Aug 100, Sep 125 -> increase."""
    got = changes(impl, run, GAP, "PA1", [0.0, 50.0, 100.0, 100.0, 100.0, float("nan"), 100.0, 100.0, 100.0])
    want = [
        {"period": "2024-04", "cusum_increase": 25.0, "alert": ""},
        {"period": "2024-05", "cusum_increase": 50.0, "alert": ""},
        {"period": "2024-06", "percentile": None, "cusum_increase": 50.0, "alert": ""},
        {"period": "2024-07", "cusum_increase": 75.0, "alert": ""},
        {"period": "2024-08", "cusum_increase": 100.0, "alert": ""},
        {"period": "2024-09", "cusum_increase": 125.0, "alert": "increase"},
    ]
    check_rows([r for r in got if str(r["period"]) >= "2024-04"], want, key="period")


@pipelines_only("uptake.stats works on a series it is given; which organisations have one is the pipeline's")
def test_a_lone_organisation_never_moves_and_england_is_not_monitored(impl, run) -> None:
    """SA is the only sub-ICB: its percentile is 0 every month, so the reference is flat (m = 0, s = 0): the
    threshold is 0 and S+ stays 0 (0 is not above 0) - no alert. England is not ranked, so it has no rows."""
    got = run.rows("result_changes", CLIMB, org_code="SA")
    want = [{"period": m, "percentile": 0.0, "alert": ""} for m in MONTHS[:3]] + [
        {"period": m, "percentile": 0.0, "cusum_increase": 0.0, "cusum_decrease": 0.0, "threshold_increase": 0.0,
         "alert": ""} for m in MONTHS[3:]]
    check_rows(got, want, key="period")
    assert run.rows("result_changes", CLIMB, level="england") == []
