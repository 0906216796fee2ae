"""Spec cases: similar peers (result_peers) - NHS RightCare "Similar 10".

Hand arithmetic (docs/methods.md, "Similar peers"), per level: cap each feature at mean + 5 SD (never
reached with three organisations: a value can be at most sqrt(2) SDs from the mean), take square roots,
standardise with the population SD, distance d_ij = sum_v (z_iv - z_jv)^2, nearest first, ties to the
lower code, k = min(10, n - 1).

With square roots a, b, c of one feature, (z_i - z_j)^2 = (sqrt x_i - sqrt x_j)^2 / var, var the population
variance of the square roots. The features below have square roots 1, 2, 5 (var = ((5/3)^2 + (2/3)^2 +
(7/3)^2) / 3 = 78/27) and 10, 20, 30 (var = 200/3), so a difference of 1, 3 or 4 in the first costs 27/78,
243/78 or 432/78, and a difference of 10 or 20 in the second 1.5 or 6.
"""

from __future__ import annotations

from spec_support import EVERYWHERE, Spec, pipelines_only

from uptake import stats

# Three ICBs with their own IMD score and population; PCNs with none of their own (from their practices);
# acute trusts (and one mental-health trust) whose only feature is activity.
#
#   ENG - Y1 - QA - SA - UA - PA1, PA2        trusts RA1, RA2, RA3 (acute), RM1 (mental health): in QA
#            - QB - SB - UB - PB1
#            - QC - SC - UC - PC1
HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {"imd_score": 1.0, "population": 100}),
    ("QB", "icb", "Y1", {"imd_score": 4.0, "population": 400}),
    ("QC", "icb", "Y1", {"imd_score": 25.0, "population": 900}),
    ("SA", "sub-icb", "QA", {}),
    ("SB", "sub-icb", "QB", {}),
    ("SC", "sub-icb", "QC", {}),
    ("UA", "pcn", "SA", {}),
    ("UB", "pcn", "SB", {}),
    ("UC", "pcn", "SC", {}),
    ("PA1", "practice", "UA", {"imd_score": 16.0, "population": 100}),
    ("PA2", "practice", "UA", {"imd_score": 28.0, "population": 300}),
    ("PB1", "practice", "UB", {"imd_score": 4.0, "population": 900}),
    ("PC1", "practice", "UC", {"imd_score": 1.0, "population": 100}),
    ("RA1", "trust", "QA", {"trust_type": "acute"}),
    ("RA2", "trust", "QA", {"trust_type": "acute"}),
    ("RA3", "trust", "QA", {"trust_type": "acute"}),
    ("RM1", "trust", "QA", {"trust_type": "mental-health"}),
]
SPEC = Spec(HIERARCHY)

# Peers belong to levels, not indicators: these two indicators only give the levels something to compute
# (and the trusts their activity: mean denominator per month). The trusts' indicator is marked real
# (synthetic=False): activity comes from real indicators only, so a synthetic series never moves peers.
PRACTICES = SPEC.case("peers-practices", pyspark=True, level="practice", rows=[
    (org, "2024-01", 5, 10) for org in ("PA1", "PA2", "PB1", "PC1")
])
TRUSTS = SPEC.case("peers-trusts", pyspark=True, level="trust", synthetic=False, rows=[
    ("RA1", "2024-01", 4, 8), ("RA1", "2024-02", 6, 12),    # mean denominator 10
    ("RA2", "2024-01", 20, 40), ("RA2", "2024-02", 20, 40),  # 40
    ("RA3", "2024-01", 45, 90), ("RA3", "2024-02", 45, 90),  # 90
    ("RM1", "2024-01", 20, 40), ("RM1", "2024-02", 20, 40),  # 40
])


def peers_of(impl, run, level, features=None, codes=None):
    """{org: [(peer, distance), ...]} nearest first, from result_peers or stats.similar_peers on features
    written out by hand (stats does not derive features from the hierarchy)."""
    if impl == "stats":
        res = stats.similar_peers(features, codes, k=10)
        return {code: list(zip(map(str, res.peer_codes[i]), map(float, res.distance[i]), strict=True))
                for i, code in enumerate(codes)}
    out: dict[str, list] = {}
    for r in run.rows("result_peers", level=level, order="org_code, rank"):
        out.setdefault(r["org_code"], []).append((r["peer_code"], r["distance"]))
    return out


def check_peers(got, want) -> None:
    assert set(got) == set(want), (sorted(got), sorted(want))
    for org, expected in want.items():
        assert [p for p, _ in got[org]] == [p for p, _ in expected], (org, got[org])
        for (_, d_got), (_, d_want) in zip(got[org], expected, strict=True):
            assert abs(d_got - d_want) < 1e-9, (org, got[org], expected)


@EVERYWHERE
def test_icbs_matched_on_their_own_imd_score_and_population(impl, run) -> None:
    """Square roots: IMD 1, 2, 5; population 10, 20, 30.
    QA-QB: 27/78 + 1.5 = 24/13 = 1.846154; QB-QC: 243/78 + 1.5 = 60/13 = 4.615385;
    QA-QC: 432/78 + 6 = 150/13 = 11.538462."""
    got = peers_of(impl, run, "icb", [[1, 100], [4, 400], [25, 900]], ["QA", "QB", "QC"])
    check_peers(got, {"QA": [("QB", 24 / 13), ("QC", 150 / 13)],
                      "QB": [("QA", 24 / 13), ("QC", 60 / 13)],
                      "QC": [("QB", 60 / 13), ("QA", 150 / 13)]})
    if impl != "stats":
        assert {r["features"] for r in run.rows("result_peers", level="icb")} == {"imd_score,population"}


@EVERYWHERE
def test_pcns_take_their_features_from_their_practices(impl, run) -> None:
    """UA: population 100 + 300 = 400, IMD weighted by list size (16*100 + 28*300)/400 = 25; UB: PB1's
    (4, 900); UC: PC1's (1, 100). Square roots: IMD 5, 2, 1; population 20, 30, 10.
    UA-UB: 243/78 + 1.5 = 4.615385; UB-UC: 27/78 + 6 = 6.346154; UA-UC: 432/78 + 1.5 = 7.038462.
    (An unweighted IMD, 22, or a mean population, 200, would give other distances.)"""
    got = peers_of(impl, run, "pcn", [[25, 400], [4, 900], [1, 100]], ["UA", "UB", "UC"])
    check_peers(got, {"UA": [("UB", 60 / 13), ("UC", 183 / 26)],
                      "UB": [("UA", 60 / 13), ("UC", 165 / 26)],
                      "UC": [("UB", 165 / 26), ("UA", 183 / 26)]})


@EVERYWHERE
def test_trusts_matched_on_activity_within_their_type_ties_to_the_lower_code(impl, run) -> None:
    """Mean denominators 10, 40, 90 (and RM1 40); the median over the level's trusts (10, 40, 40, 90) is 40,
    so activity = 0.25, 1, 2.25, square roots 0.5, 1, 1.5 (var 1/6): neighbours 0.25 * 6 = 1.5 apart, the
    ends 6. RA2 is 1.5 from both: RA1 comes first by code. RM1 is the only mental-health trust: no peers."""
    got = peers_of(impl, run, "trust", [[0.25], [1.0], [2.25]], ["RA1", "RA2", "RA3"])
    check_peers(got, {"RA1": [("RA2", 1.5), ("RA3", 6.0)],
                      "RA2": [("RA1", 1.5), ("RA3", 1.5)],
                      "RA3": [("RA2", 1.5), ("RA1", 6.0)]})
    if impl != "stats":
        assert {r["features"] for r in run.rows("result_peers", level="trust")} == {"activity:peers-trusts"}


@pipelines_only("uptake.stats matches the organisations it is given; which levels have peers is the pipeline's")
def test_a_lone_region_has_no_peers(impl, run) -> None:
    assert run.rows("result_peers", level="region") == []
    assert run.rows("result_peers", level="england") == []
