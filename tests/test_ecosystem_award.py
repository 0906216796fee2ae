"""The Innovation Award: the scheme file, nominations refused at the field, scores from the results with their
sources, awards by rank within the budget, and the fairness audit reproducing hand-computed rates and Wilson
intervals and the four-fifths rule on a fixture."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from ecosystem_support import ADMIN, LEAD_U01, mission_support, small_world
from uptake.ecosystem.award import (
    FieldProblems,
    NotAllowed,
    allocate,
    all_nominations,
    bundled_scheme,
    current_scheme,
    decide,
    fairness_audit,
    load_scheme,
    nominate,
    read_scheme,
    score_nominations,
)
from uptake.errors import UptakeError
from uptake.mission.results import reading
from uptake.store import AuditEvent, session_scope
from uptake.store.ecosystem_award_models import AwardNomination
from uptake.workspace import Workspace

GOOD = {"nominee_name": "Thrombolysis team, unit U01", "nominee_kind": "team", "org_code": "U01",
        "commitment": "stroke/thrombolysis", "evidence": "Door-to-needle protocol and a 24-hour CT rota since 2019.",
        "sex": "female", "ethnic_group": "asian", "profession": "doctor", "region": "london", "trust_type": "acute"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = Workspace(root=tmp_path_factory.mktemp("award") / "ws").ensure()
    engine, store = small_world(ws)
    yield engine, store
    engine.dispose()


# --- the fairness audit: hand-computed ------------------------------------------------------------------


def _wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_the_fairness_audit_reproduces_hand_computed_rates_intervals_and_the_four_fifths_rule() -> None:
    # Fixture: 10 women nominated, 4 awarded; 8 men, 5 awarded; 2 prefer not to say, 2 awarded.
    rows = ([("female", True)] * 4 + [("female", False)] * 6 + [("male", True)] * 5 + [("male", False)] * 3
            + [("prefer-not-to-say", True)] * 2)
    frame = pd.DataFrame([{"sex": s, "ethnic_group": "white", "profession": "doctor", "region": "london",
                           "trust_type": "acute", "awarded": a} for s, a in rows])
    audit = fairness_audit(frame).set_index(["attribute", "group"])
    female, male, unsaid = (audit.loc[("sex", g)] for g in ("female", "male", "prefer-not-to-say"))
    assert (female.nominated, female.awarded, female.rate) == (10, 4, 0.4)
    assert (male.nominated, male.awarded, male.rate) == (8, 5, 0.625)
    # Wilson 95% by hand, and as published tables give it for 4/10: 0.168 to 0.687
    assert (female.ci95_low, female.ci95_high) == pytest.approx(_wilson_by_hand(4, 10), abs=1e-9)
    assert (round(female.ci95_low, 3), round(female.ci95_high, 3)) == (0.168, 0.687)
    assert (male.ci95_low, male.ci95_high) == pytest.approx(_wilson_by_hand(5, 8), abs=1e-9)
    # the reference is the highest rate among stated groups (prefer not to say, at 100%, is never the reference)
    assert male.four_fifths == "reference" and female.reference_group == "male"
    assert female.impact_ratio == pytest.approx(0.4 / 0.625) and female.four_fifths == "below four fifths"
    assert unsaid.rate == 1.0 and unsaid.four_fifths == "passes"
    assert audit.loc[("sex", "other")].four_fifths == "none nominated"
    # one group only: its own reference
    assert audit.loc[("ethnic_group", "white")].four_fifths == "reference"
    assert audit.loc[("ethnic_group", "white")].rate == pytest.approx(11 / 20)


def test_four_fifths_exactly_passes_and_no_awards_is_said_so() -> None:
    rows = [("female", True)] * 4 + [("female", False)] * 6 + [("male", True)] * 5 + [("male", False)] * 5
    frame = pd.DataFrame([{"sex": s, "ethnic_group": "white", "profession": "doctor", "region": "london",
                           "trust_type": "acute", "awarded": a} for s, a in rows])
    audit = fairness_audit(frame).set_index(["attribute", "group"])
    assert audit.loc[("sex", "female")].impact_ratio == pytest.approx(0.8)
    assert audit.loc[("sex", "female")].four_fifths == "passes"
    none = fairness_audit(frame.assign(awarded=False)).set_index(["attribute", "group"])
    assert none.loc[("sex", "female")].four_fifths == "no awards"


# --- allocation --------------------------------------------------------------------------------------------


def test_awards_go_by_rank_within_the_budget() -> None:
    scheme = bundled_scheme()  # budget 100,000: gold 30,000 at 75, silver 15,000 at 60, bronze 5,000 at 45
    scores = [(1, 90.0), (2, 88.0), (3, 80.0), (4, 76.0), (5, 61.0), (6, 50.0), (7, 20.0), (8, 90.0)]
    allocations = {a.nomination_id: a for a in allocate(scheme, scores)}
    assert [allocations[i].rank for i in (1, 8, 2)] == [1, 2, 3]  # a tie goes to the earlier nomination
    assert [allocations[i].level for i in (1, 8, 2)] == ["gold", "gold", "gold"]
    # 10,000 left: nomination 3 qualifies for gold but only bronze fits
    assert allocations[3].level == "bronze" and "no longer fitted" in allocations[3].reason
    assert allocations[4].level == "bronze"
    assert allocations[5].level is None and "budget left" in allocations[5].reason
    assert allocations[7].level is None and "below the lowest" in allocations[7].reason
    assert sum(a.amount_pounds for a in allocations.values()) <= scheme.budget_pounds


# --- the scheme file ----------------------------------------------------------------------------------------


def test_a_bad_scheme_file_is_refused_with_its_problems(tmp_path: Path) -> None:
    text = (Path(bundled_scheme.__globals__["BUNDLED_SCHEMES"]) / "innovation-award-v1.yaml").read_text()
    bad = tmp_path / "innovation-award-v2.yaml"
    bad.write_text(text.replace("version: 1", "version: 2").replace("weight: 40", "weight: -1"))
    with pytest.raises(UptakeError, match="criteria.attainment.weight"):
        read_scheme(bad)
    misnamed = tmp_path / "innovation-award-v3.yaml"
    misnamed.write_text(text)
    with pytest.raises(UptakeError, match="name the file innovation-award-v1.yaml"):
        read_scheme(misnamed)


# --- nominations, scores and decisions on the small world ---------------------------------------------------


def test_bad_nominations_are_refused_at_the_field_and_nothing_is_saved(world) -> None:
    engine, _ = world
    with session_scope(engine) as session:
        scheme = current_scheme(session)
        before = session.scalar(select(func.count()).select_from(AwardNomination))
        with pytest.raises(FieldProblems) as caught:
            nominate(session, LEAD_U01, scheme, {**GOOD, "evidence": "", "org_code": "NOPE", "sex": "unknown"})
        fields = [f for f, _ in caught.value.problems]
        assert fields == ["org_code", "evidence", "sex"]
        with pytest.raises(NotAllowed):
            nominate(session, LEAD_U01, scheme, {**GOOD, "org_code": "U02"})
        with pytest.raises(NotAllowed):
            nominate(session, ADMIN.__class__(role="innovator", email="i@x.org"), scheme, GOOD)
        assert session.scalar(select(func.count()).select_from(AwardNomination)) == before


def test_scores_come_from_the_results_with_their_sources_and_a_decision_is_audited(world) -> None:
    engine, store = world
    with session_scope(engine) as session:
        scheme = current_scheme(session)
        for code in ("U01", "U05", "U11"):
            nominate(session, ADMIN, scheme, {**GOOD, "org_code": code, "nominee_name": f"Team {code}"})
    with session_scope(engine) as session:
        nominations = all_nominations(session, scheme)
        with reading(store) as cur:
            scored = {s.nomination_id: s for s in score_nominations(cur, scheme, nominations)}
        by_org = {row.org_code: scored[row.id] for row in nominations.itertuples()}
        u01, u05, u11 = by_org["U01"], by_org["U05"], by_org["U11"]
        # U01 met the thrombolysis commitment in its latest year: full marks for attainment, from its source
        assert u01.criteria["attainment"]["score"] == 1.0
        assert "status met" in u01.criteria["attainment"]["source"]
        # U05 is below the minimum standard every year: no attainment, and it fell: no improvement
        assert u05.criteria["attainment"]["score"] == 0.0 and u05.criteria["improvement"]["score"] == 0.0
        assert u01.score > u11.score > u05.score
        # the total is the weighted formula of the criteria, recomputed here
        weights = {c: scheme.criteria[c].weight for c in scheme.criteria}
        expected = 100 * sum(weights[c] * u11.criteria[c]["score"] for c in weights) / sum(weights.values())
        assert u11.score == pytest.approx(expected, abs=1e-3)
        # reach: each unit's latest-year numerator ranked against the other 11 units' (the fixture's numbers)
        latest = {code: numerators[-1] for code, (_, numerators) in mission_support().UNITS.items()}
        for code, scored_one in (("U01", u01), ("U11", u11)):
            others = [n for other, n in latest.items() if other != code]
            mine = latest[code]
            assert scored_one.criteria["reach"]["inputs"]["numerator"] == mine
            assert scored_one.criteria["reach"]["score"] == pytest.approx(
                (sum(n < mine for n in others) + 0.5 * sum(n == mine for n in others)) / len(others))
        assert u11.criteria["reach"]["score"] == pytest.approx(3 / 11)  # above U05, U06 and U12 only
        round_ = decide(session, ADMIN, scheme, list(scored.values()))
        assert round_.awarded_pounds <= scheme.budget_pounds
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("award.%"))).all()
        assert {"award.scheme-load", "award.nominate", "award.decide"} <= set(actions)
        with pytest.raises(NotAllowed):
            decide(session, LEAD_U01, scheme, list(scored.values()))


def test_loading_a_changed_scheme_under_the_same_version_is_refused(world) -> None:
    engine, _ = world
    scheme = bundled_scheme()
    with session_scope(engine) as session:
        _, added = load_scheme(session, ADMIN, scheme)
        assert added is False
        changed = scheme.model_copy(update={"budget_pounds": 1.0})
        with pytest.raises(UptakeError, match="new version"):
            load_scheme(session, ADMIN, changed)
        with pytest.raises(NotAllowed):
            load_scheme(session, LEAD_U01, scheme)


def test_the_batched_scores_equal_the_plain_reference(world) -> None:
    """score_nominations (one query per commitment and per level and period) against score_one (three queries
    a nomination), on every unit, an ICB, and an organisation without results."""
    from uptake.ecosystem.award import score_one

    engine, store = world
    with session_scope(engine) as session:
        scheme = current_scheme(session)
    codes = [f"U{i:02d}" for i in range(1, 13)] + ["QAA", "01A"]
    nominations = pd.DataFrame({"id": range(1, len(codes) + 1), "org_code": codes, "framework": "stroke",
                                "commitment": "thrombolysis"})
    with reading(store) as cur:
        fast = score_nominations(cur, scheme, nominations)
        slow = [score_one(cur, scheme, "stroke", "thrombolysis", code, i) for i, code in
                zip(nominations["id"], codes)]
    assert [f.score for f in fast] == [s.score for s in slow]
    assert [f.criteria for f in fast] == [s.criteria for s in slow]
    assert fast[-1].score == 0 and "no result" in fast[-1].criteria["attainment"]["source"]
