"""Spec cases: opportunity (result_opportunity, result_opportunity_totals) - the gap to a benchmark in
patients and pounds.

Hand arithmetic (docs/methods.md, "Opportunity"; docs/results.md, result_opportunity):

    high is good: gap = max(0, P x denominator - numerator)     low is good: gap = max(0, numerator - P x denominator)

for P = the level's median (p50), its top decile (p90 when high is good, p10 when low is good), the mean of
the best 5 of the organisation's similar peers, and a target (UPTAKE_TARGETS); pounds = gap x unit cost.
Totals add only positive gaps, for England and for each ICB.

Five practices, so each practice's 10 similar peers are simply the other four (k = min(10, n - 1)), and the
best 5 of them are all four: the peer benchmark is the mean of the other four practices' values. (The practices
have no population characteristics, so they are matched on the activity of the real indicators at their level:
the first case is marked real, and its denominators, 80 everywhere, make every practice equally similar.
Synthetic series give no activity.)
"""

from __future__ import annotations

import numpy as np
import pytest

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check, check_rows, duckdb_only, pipelines_only

from uptake import stats

#   ENG - Y1 - QA - SA - PA1, PA2, PA3
#            - QB - SB - PB1, PB2
HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {}),
    ("SA", "sub-icb", "QA", {}),
    ("PA1", "practice", "SA", {}),
    ("PA2", "practice", "SA", {}),
    ("PA3", "practice", "SA", {}),
    ("QB", "icb", "Y1", {}),
    ("SB", "sub-icb", "QB", {}),
    ("PB1", "practice", "SB", {}),
    ("PB2", "practice", "SB", {}),
]
SPEC = Spec(HIERARCHY, settings={"targets": {"opportunity-high": 0.5}})
ORGS = ("PA1", "PA2", "PA3", "PB1", "PB2")


def opportunity_rows(impl, run, case, period, target=None):
    """{org: result_opportunity row} of the practices, or the same from uptake.stats: the deciles
    (stats.centile), the peer benchmark (stats.similar_peers on a featureless level, whose peers are
    everyone else, and stats.peer_benchmark) and the gaps (stats.opportunity)."""
    if impl != "stats":
        return {r["org_code"]: r for r in run.rows("result_opportunity", case, level="practice", period=period)}
    rows = case.period_rows(period)
    codes = [o for o, _, _ in rows]
    num = np.array([n for _, n, _ in rows])
    den = np.array([d for _, _, d in rows])
    value = num / den
    pol = case.polarity
    median = float(stats.centile(value, 50))
    top = float(stats.centile(value, 90 if pol == "high-is-good" else 10))
    peers = stats.similar_peers(np.ones((len(codes), 1)), codes, k=10)
    peer = stats.peer_benchmark(value, peers, pol, best=5)
    low, high = stats.wilson(num, den)
    fav, unfav = (high, low) if pol == "high-is-good" else (low, high)
    out = {}
    for i, org in enumerate(codes):
        gaps = {"median": stats.opportunity(num[i], den[i], median, pol),
                "top_decile": stats.opportunity(num[i], den[i], top, pol),
                "peers": stats.opportunity(num[i], den[i], peer[i], pol),
                "target": stats.opportunity(num[i], den[i], np.nan if target is None else target, pol)}
        row = {"value": value[i], "median_value": median, "top_decile_value": top, "peer_value": peer[i],
               "target_value": target, "unit_cost": case.unit_cost,
               "gap_peers_low": float(stats.opportunity(fav[i] * den[i], den[i], peer[i], pol)),
               "gap_peers_high": float(stats.opportunity(unfav[i] * den[i], den[i], peer[i], pol))}
        for name, gap in gaps.items():
            gap = float(gap)
            row[f"gap_{name}"] = None if np.isnan(gap) else gap
            row[f"gap_{name}_pounds"] = None if case.unit_cost is None or np.isnan(gap) else gap * case.unit_cost
        out[org] = row
    return out


HIGH = SPEC.case("opportunity-high", pyspark=True, level="practice", unit_cost=40.0, synthetic=False, rows=[
    ("PA1", "2024-01", 10, 80),
    ("PA2", "2024-01", 20, 80),
    ("PA3", "2024-01", 30, 80),
    ("PB1", "2024-01", 40, 80),
    ("PB2", "2024-01", 50, 80),
])
# Values 0.125, 0.25, 0.375, 0.5, 0.625 (m = 5). Median p50 = 0.375 (x 80 = 30 patients); top decile p90: h = 3.6
# -> 0.5 + 0.6 * 0.125 = 0.575 (x 80 = 46). Peer benchmark = mean of the other four: PA1 (0.25 + 0.375 + 0.5 +
# 0.625)/4 = 0.4375 (35), PA2 0.40625 (32.5), PA3 0.375 (30), PB1 0.34375 (27.5), PB2 0.3125 (25). Target 0.5 (40).
# Gaps = benchmark patients - numerator, floored at 0; pounds x 40.
HIGH_WANT = {
    "PA1": {"median_value": 0.375, "gap_median": 20.0, "top_decile_value": 0.575, "gap_top_decile": 36.0,
            "peer_value": 0.4375, "gap_peers": 25.0, "target_value": 0.5, "gap_target": 30.0, "unit_cost": 40.0,
            "gap_median_pounds": 800.0, "gap_top_decile_pounds": 1440.0, "gap_peers_pounds": 1000.0,
            "gap_target_pounds": 1200.0},
    "PA2": {"gap_median": 10.0, "gap_top_decile": 26.0, "peer_value": 0.40625, "gap_peers": 12.5, "gap_target": 20.0,
            "gap_median_pounds": 400.0},
    "PA3": {"gap_median": 0.0, "gap_top_decile": 16.0, "peer_value": 0.375, "gap_peers": 0.0, "gap_target": 10.0,
            "gap_median_pounds": 0.0},
    "PB1": {"gap_median": 0.0, "gap_top_decile": 6.0, "peer_value": 0.34375, "gap_peers": 0.0, "gap_target": 0.0},
    "PB2": {"gap_median": 0.0, "gap_top_decile": 0.0, "peer_value": 0.3125, "gap_peers": 0.0, "gap_target": 0.0,
            "gap_top_decile_pounds": 0.0},
}


@EVERYWHERE
def test_gaps_to_four_benchmarks_in_patients_and_pounds(impl, run) -> None:
    got = opportunity_rows(impl, run, HIGH, "2024-01", target=0.5)
    assert set(got) == set(ORGS)
    for org, want in HIGH_WANT.items():
        check(got[org], want, what=org)


@EVERYWHERE
def test_the_peer_gap_over_the_organisations_own_interval(impl, run) -> None:
    """PA1 10/80: Wilson 95% 0.0693356-0.2150280. At the favourable end (0.2150280 x 80 = 17.202242 patients)
    the peer gap is 35 - 17.202242 = 17.797758; at the unfavourable end 35 - 5.546846 = 29.453154."""
    check(opportunity_rows(impl, run, HIGH, "2024-01", target=0.5)["PA1"],
          {"gap_peers": 25.0, "gap_peers_low": 17.797758, "gap_peers_high": 29.453154})


@pipelines_only("uptake.stats gives each gap; adding them up by ICB needs the hierarchy")
def test_totals_add_positive_gaps_for_england_and_each_icb(impl, run) -> None:
    """Median: PA1 20 + PA2 10 = 30 (2 organisations), all in QA; QB none. Top decile: 36 + 26 + 16 in QA (78, 3),
    6 in QB (PB1), 84 and 4 in England. Peers: 25 + 12.5 = 37.5 in QA. Target: 30 + 20 + 10 = 60 in QA.
    Pounds x 40."""
    got = run.rows("result_opportunity_totals", HIGH, level="practice")
    for row in got:
        row["key"] = f"{row['benchmark']}/{row['area_code']}"
    want = [
        {"key": "median/ENG", "organisations": 2, "gap_patients": 30.0, "gap_pounds": 1200.0},
        {"key": "median/QA", "organisations": 2, "gap_patients": 30.0, "gap_pounds": 1200.0},
        {"key": "median/QB", "organisations": 0, "gap_patients": 0.0, "gap_pounds": 0.0},
        {"key": "top-decile/ENG", "organisations": 4, "gap_patients": 84.0, "gap_pounds": 3360.0},
        {"key": "top-decile/QA", "organisations": 3, "gap_patients": 78.0, "gap_pounds": 3120.0},
        {"key": "top-decile/QB", "organisations": 1, "gap_patients": 6.0, "gap_pounds": 240.0},
        {"key": "peers/ENG", "organisations": 2, "gap_patients": 37.5, "gap_pounds": 1500.0},
        {"key": "peers/QA", "organisations": 2, "gap_patients": 37.5, "gap_pounds": 1500.0},
        {"key": "peers/QB", "organisations": 0, "gap_patients": 0.0, "gap_pounds": 0.0},
        {"key": "target/ENG", "organisations": 3, "gap_patients": 60.0, "gap_pounds": 2400.0},
        {"key": "target/QA", "organisations": 3, "gap_patients": 60.0, "gap_pounds": 2400.0},
        {"key": "target/QB", "organisations": 0, "gap_patients": 0.0, "gap_pounds": 0.0},
    ]
    check_rows(got, want, key="key")


LOW = SPEC.case("opportunity-low-is-good", level="practice", polarity="low-is-good", rows=list(HIGH.rows))


@NOT_ON_SPARK
def test_low_is_good_measures_the_excess_above_the_benchmark(impl, run) -> None:
    """The same counts. Top decile is now p10: h = 0.4 -> 0.125 + 0.4 * 0.125 = 0.175 (x 80 = 14); gaps =
    numerator - benchmark patients: top decile PA2 6, PA3 16, PB1 26, PB2 36; median (30) PB1 10, PB2 20;
    peers (best = lowest, here still all four others) PB1 40 - 27.5 = 12.5, PB2 50 - 25 = 25. No target and no
    unit cost: those columns are empty."""
    got = opportunity_rows(impl, run, LOW, "2024-01")
    want = {
        "PA1": (0.0, 0.0, 0.0), "PA2": (0.0, 6.0, 0.0), "PA3": (0.0, 16.0, 0.0),
        "PB1": (10.0, 26.0, 12.5), "PB2": (20.0, 36.0, 25.0),
    }
    for org, (median, top, peers) in want.items():
        check(got[org], {"median_value": 0.375, "gap_median": median, "top_decile_value": 0.175,
                         "gap_top_decile": top, "gap_peers": peers, "target_value": None, "gap_target": None,
                         "unit_cost": None, "gap_median_pounds": None}, what=org)


NONE = SPEC.case("opportunity-no-judgement", level="practice", polarity="no-judgement", rows=list(HIGH.rows))


@duckdb_only("stats.opportunity raises for no-judgement (checked below): it has no rows")
def test_no_judgement_has_no_opportunity(impl, run) -> None:
    assert run.rows("result_opportunity", NONE) == []
    assert run.rows("result_opportunity_totals", NONE) == []


def test_stats_refuses_an_opportunity_without_a_direction() -> None:
    with pytest.raises(stats.StatsInputError, match="no-judgement"):
        stats.opportunity(10, 80, 0.375, "no-judgement")


AT_MEDIAN = SPEC.case("opportunity-at-the-median", level="practice", rows=[
    ("PA1", "2024-01", 5, 100),
    ("PA2", "2024-01", 7, 100),
    ("PA3", "2024-01", 9, 100),
])

@NOT_ON_SPARK
def test_an_organisation_exactly_at_the_median_has_no_gap(impl, run) -> None:
    """Median of 0.05, 0.07, 0.09 is PA2's own value, 0.07: by the formula its gap is max(0, 0.07 x 100 - 7) = 0
    exactly, and only PA1 (7 - 5 = 2 patients) is short of the median. (In floating point 0.07 x 100 - 7 is
    8.9e-16: this case found that, and gaps nearer zero than stats.ranks.GAP_TOLERANCE now count as 0.)"""
    got = opportunity_rows(impl, run, AT_MEDIAN, "2024-01")
    assert got["PA2"]["gap_median"] == 0.0
    if impl != "stats":
        check(run.one("result_opportunity_totals", AT_MEDIAN, level="practice", benchmark="median", area_code="ENG"),
              {"organisations": 1, "gap_patients": 2.0})
