"""The Health Innovation Challenge's pure parts (uptake.ecosystem.anchors): the least-cost matching under
anchor capacity equals a brute-force optimum on small cases; capacity 0 is a field error; the designation rule
decides as its YAML says, and a stored trace re-evaluates to the same decision; track-record facts are as
computed by hand."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from uptake.ecosystem import anchors
from uptake.ecosystem.anchors import FieldProblems, assign, check_round_fields, load_rule, plan_round, track_record


def brute_force(cost: np.ndarray, capacity: int) -> float:
    """The least total cost over every way of giving each partner one anchor or none, no anchor over its
    capacity, matching as many partners as the capacity allows (the obviously-correct reference)."""
    n_p, n_a = cost.shape
    wanted = min(n_p, n_a * capacity)
    best = np.inf
    for choice in itertools.product(range(-1, n_a), repeat=n_p):
        matched = [a for a in choice if a >= 0]
        if len(matched) != wanted or any(matched.count(a) > capacity for a in range(n_a)):
            continue
        best = min(best, sum(cost[p, a] for p, a in enumerate(choice) if a >= 0))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_assignment_equals_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_p, n_a, capacity = int(rng.integers(1, 7)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    cost = rng.uniform(0, 10, size=(n_p, n_a))
    pairs = assign(cost, capacity)
    assert len(pairs) == min(n_p, n_a * capacity)
    assert len({p for p, _ in pairs}) == len(pairs)  # each partner at most once
    assert max(np.bincount([a for _, a in pairs], minlength=n_a)) <= capacity
    assert sum(cost[p, a] for p, a in pairs) == pytest.approx(brute_force(cost, capacity))


def test_capacity_binds_the_cheapest_anchor() -> None:
    # both partners are nearest anchor 0; with capacity 1 one of them must go to anchor 1, the one whose
    # extra cost is least (partner 1: 5 - 1 = 4 < partner 0: 9 - 2 = 7)
    cost = np.array([[2.0, 9.0], [1.0, 5.0]])
    assert assign(cost, 1) == [(0, 0), (1, 1)]
    assert assign(cost, 2) == [(0, 0), (1, 0)]


def test_capacity_of_zero_is_a_field_error() -> None:
    with pytest.raises(FieldProblems) as caught:
        check_round_fields(title="Round", capacity="0", funding="25000")
    assert [f for f, _ in caught.value.problems] == ["capacity"]
    with pytest.raises(FieldProblems) as caught:
        check_round_fields(title="", capacity="two", funding="-1")
    assert [f for f, _ in caught.value.problems] == ["title", "capacity", "funding"]
    assert check_round_fields(title="R", capacity="3", funding="£25,000") == (3, 25000.0, 1.0, 1.0)
    with pytest.raises(anchors.UptakeError):
        assign(np.ones((2, 2)), 0)


def _values() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Two footprints of four units; years 2020 and 2022 (span 2 for yearly results)."""
    rows = []
    start = {"A1": 0.30, "A2": 0.10, "A3": 0.12, "A4": 0.15, "B1": 0.05, "B2": 0.20, "B3": 0.22, "B4": 0.08}
    end = {"A1": 0.40, "A2": 0.14, "A3": 0.11, "A4": 0.20, "B1": 0.06, "B2": 0.35, "B3": 0.18, "B4": 0.09}
    for code in start:
        rows.append({"org_code": code, "period": dt.date(2020, 1, 1), "value": start[code], "denominator": 100.0})
        rows.append({"org_code": code, "period": dt.date(2021, 1, 1), "value": start[code], "denominator": 100.0})
        rows.append({"org_code": code, "period": dt.date(2022, 1, 1), "value": end[code],
                     "denominator": 100.0 + 50 * (code[1] == "1")})
    members = pd.DataFrame({"footprint_code": [c[0] for c in start], "org_code": list(start)})
    sites = pd.DataFrame({"org_code": list(start), "lat": [51 + i * 0.1 for i in range(8)],
                          "lon": [-1 - i * 0.1 for i in range(8)], "imd_score": [None] * 8})
    return pd.DataFrame(rows), members, sites


def test_track_record_facts_by_hand() -> None:
    values, members, _ = _values()
    facts = track_record(values, members, polarity="high-is-good", threshold=0.2, span=2).set_index("org_code")
    # A1: 0.40 is the best of 8 -> percentile 1; +10 points; of A2-A4, A2 (+4) and A4 (+5) improved: 2/3
    assert facts.loc["A1", "attainment_percentile"] == pytest.approx(1.0)
    assert facts.loc["A1", "improvement"] == pytest.approx(10.0)
    assert facts.loc["A1", "spread_to_peers"] == pytest.approx(2 / 3)
    assert facts.loc["A1", "at_threshold"] == 1
    # B2: 0.35, second of 8 -> (7 - 1) / 7; B1 and B4 improved, B3 fell: 2/3
    assert facts.loc["B2", "attainment_percentile"] == pytest.approx(6 / 7)
    assert facts.loc["B2", "spread_to_peers"] == pytest.approx(2 / 3)
    assert facts.loc["B1", "attainment_percentile"] == pytest.approx(0.0)
    # low is good: the order turns round
    low = track_record(values, members, polarity="low-is-good", threshold=None, span=2).set_index("org_code")
    assert low.loc["B1", "attainment_percentile"] == pytest.approx(1.0)
    assert low.loc["A1", "improvement"] == pytest.approx(-10.0)


def test_designation_follows_the_rule_and_its_trace_reproduces_it() -> None:
    values, members, sites = _values()
    rule = load_rule(1)
    plan = plan_round(values, members, sites, polarity="high-is-good", threshold=0.2, period_kind="year", rule=rule,
                      capacity=2)
    decided = plan.designations.set_index("org_code")
    assert sorted(decided.index[decided["designate"]]) == ["A1", "B2"]
    assert decided.loc["A1", "decided_by"] == "best-and-spreading"
    assert "top quarter of England (percentile 100)" in decided.loc["A1", "because"]
    assert decided.loc["B3", "decided_by"] == "default"
    for code, row in decided.iterrows():
        again = anchors.evaluate_facts(rule, {k: row[k] for k in anchors.FACTS}, 2)
        assert again.designate == row["designate"] and again.decided_by == row["decided_by"]
        assert [t["rule"] for t in row["trace"]] == [r.id for r in rule.rules]
    # capacity 2: each anchor takes two of its three partners; one partner per footprint is left
    assert len(plan.pairs) == 4
    assert sorted(fp for fp, _ in plan.unmatched) == ["A", "B"]
    assert all(p.anchor_code[0] == p.partner_code[0] for p in plan.pairs)  # within the footprint
    assert all(p.explanation.startswith(p.partner_code) for p in plan.pairs)


def test_no_track_record_is_never_designated() -> None:
    values, members, sites = _values()
    recent = values.loc[values["period"] > dt.date(2020, 1, 1)]  # two years: no result 2 periods before
    plan = plan_round(recent, members, sites, polarity="high-is-good", threshold=0.2, period_kind="year",
                      rule=load_rule(), capacity=1)
    assert not plan.designations["designate"].any()
    assert set(plan.designations["decided_by"]) == {"no-track-record"}
    assert plan.pairs == []


def test_great_circle_distance_london_to_bristol() -> None:
    # Charing Cross (51.5074, -0.1278) to Bristol Temple Meads (51.4491, -2.5813): about 170 km
    assert float(anchors.great_circle_km(51.5074, -0.1278, 51.4491, -2.5813)) == pytest.approx(170.0, abs=2)


def test_a_recorded_round_gives_its_pairs_to_the_simulator(tmp_path) -> None:
    """record_round stores designations (facts, trace) and partnerships; partnership_pairs gives them back, for
    the newest round, a named one or the newest of an indicator; the round is one audit event."""
    from sqlalchemy import func, select

    from uptake.catalogue import load_catalogue
    from uptake.store import make_engine, session_scope, sync_catalogue, upgrade
    from uptake.store.models import AuditEvent

    url = f"sqlite:///{tmp_path / 'workflow.db'}"
    upgrade(url)
    engine = make_engine(url)
    values, members, sites = _values()
    rule = load_rule()
    plan = plan_round(values, members, sites, polarity="high-is-good", threshold=0.2, period_kind="year", rule=rule,
                      capacity=1)
    try:
        with session_scope(engine) as session:
            sync_catalogue(session, load_catalogue())
            first = anchors.record_round(session, "tester", plan, title="One", framework_id="stroke",
                                         indicator_id="thrombolysis-rate", level="stroke-unit", rule=rule, capacity=1,
                                         funding=1000.0, weight_distance=1.0, weight_dissimilarity=1.0)
            anchors.record_round(session, "tester", plan, title="Two", framework_id="cvd", indicator_id="doac-share",
                                 level="sub-icb", rule=rule, capacity=1, funding=0.0, weight_distance=1.0,
                                 weight_dissimilarity=1.0)
        with session_scope(engine) as session:
            expected = sorted((p.anchor_code, p.partner_code) for p in plan.pairs)
            assert sorted(anchors.partnership_pairs(session, first.id)) == expected
            assert sorted(anchors.partnership_pairs(session, indicator="thrombolysis-rate")) == expected
            assert anchors.partnership_pairs(session, indicator="nothing") == []
            stored = anchors.designations_frame(session, first.id).set_index("org_code")
            assert stored.loc["A1", "designated"] and stored.loc["A1", "decided_by"] == "best-and-spreading"
            assert session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "anchor-round.run")) == 2
    finally:
        engine.dispose()
