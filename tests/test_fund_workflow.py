"""The transformation fund's workflow (uptake.models.fund_applications): apply, submit, review, decline with a
reason, justify, approve; who may take each step; lost updates refused; bad input refused with nothing saved;
and the allocation over the applications in the competition, checked against the brute force."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from uptake.catalogue import load_catalogue
from uptake.errors import Conflict, NotFound
from uptake.models import fund_applications as fa
from uptake.models.fund import brute_force
from uptake.reference import load_reference
from uptake.store import AuditEvent, session_scope, sync_catalogue, sync_reference
from uptake.store.fund_models import FundApplication, FundReview


@dataclass(frozen=True)
class Person:
    role: str
    actor: str
    scope_org_code: str | None = None


ICB, OTHER_ICB = "QE1", "QF7"  # QE1: in the most deprived IMD quintile
ADMIN = Person("national-admin", "reviewer@nhs.invalid")
PUBLIC = Person("public", "public")


@pytest.fixture(scope="module")
def reference():
    return load_reference(), load_catalogue()


@pytest.fixture
def engine(workflow_engine, reference):
    ref, catalogue = reference
    with session_scope(workflow_engine) as session:
        sync_reference(session, ref.organisations, ref.relationships, actor="system")
        sync_catalogue(session, catalogue, actor="system")
    return workflow_engine


def lead(code: str = ICB) -> Person:
    return Person("icb-analyst", f"lead@{code.lower()}.invalid", code)


def form(**changes) -> dict:
    data = {"org_code": ICB, "innovation_id": "set-below", "title": "DOACs for atrial fibrillation", "first_year": "2026",
            "last_year": "2027", "cost_implementation_1": "1,000,000", "cost_double_running_1": "250000",
            "cost_decommissioning_2": "50000", "benefit": "12", "benefit_low": "8", "benefit_high": "15",
            "benefit_source": "outcome-model", "benefit_reference": "cardiovascular-disease/anticoagulation-doacs"}
    data.update(changes)
    return data


def innovation_id(engine) -> str:
    from uptake.store.models import Innovation
    with session_scope(engine) as session:
        return session.scalar(select(Innovation.id).order_by(Innovation.id))


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_apply_review_decline_justify_approve_with_audit(engine) -> None:
    setup = fa.fund_setup()
    innovation = innovation_id(engine)
    with session_scope(engine) as session:
        app = fa.apply(session, lead(), setup, form(innovation_id=innovation))
        assert app.status == "draft" and app.costs_per_year() == [1_250_000, 50_000, 0, 0]
        assert app.org_level == "icb"
        app_id = app.id
    with session_scope(engine) as session:
        # a draft is the ICB's and the reviewers' only
        assert fa.applications(session, PUBLIC) == [] and fa.applications(session, lead(OTHER_ICB)) == []
        assert [a.id for a in fa.applications(session, ADMIN)] == [app_id]
        fa.step(session, lead(), app_id, "submit")
        fa.step(session, ADMIN, app_id, "review")
        with pytest.raises(fa.FieldProblems, match="reason"):
            fa.step(session, ADMIN, app_id, "decline", "  ")
        fa.step(session, ADMIN, app_id, "decline", "benefit interval too wide")
        fa.step(session, lead(), app_id, "justify", "the interval comes from the stroke model's 95% band")
        app = fa.step(session, ADMIN, app_id, "approve", "accepted the justification")
        assert app.status == "approved" and app.justification and app.reviewer_notes == "accepted the justification"
    with session_scope(engine) as session:
        steps = session.scalars(select(FundReview.action).where(FundReview.application_id == app_id)
                                .order_by(FundReview.id)).all()
        assert steps == ["create", "submit", "review", "decline", "justify", "approve"]
        audited = session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == fa.ENTITY)).all()
        assert [a.rsplit(".", 1)[1] for a in audited] == steps


@pytest.mark.parametrize("action", ["submit", "review", "approve", "decline", "justify", "edit"])
def test_who_may_take_each_step(action) -> None:
    people = [ADMIN, PUBLIC, lead(), lead(OTHER_ICB), Person("provider-lead", "p@x.invalid", ICB),
              Person("innovator", "i@x.invalid")]
    for person, status in itertools.product(people, [None, *fa.FUND_STATUSES]):
        problem = fa.step_problem(person, action, ICB, "icb", status)
        from_ok = status in fa.TRANSITIONS[action][0]
        role_ok = (person == lead()) if action in fa.APPLICANT_ACTIONS else person.role == "national-admin"
        assert (problem is None) == (from_ok and role_ok), (person, status, problem)
    assert fa.step_problem(Person("provider-lead", "p@x", "RX1"), "create", "RX1", "trust", None) is None
    assert "trusts" in fa.step_problem(lead(), "create", "A81001", "practice", None)


def test_a_stale_change_is_refused_and_changes_nothing(engine) -> None:
    setup = fa.fund_setup()
    innovation = innovation_id(engine)
    with session_scope(engine) as session:
        app_id = fa.apply(session, lead(), setup, form(innovation_id=innovation)).id
    with session_scope(engine) as session:
        version = fa.get_application(session, ADMIN, app_id).version
    with session_scope(engine) as session:
        fa.edit(session, lead(), setup, app_id, form(innovation_id=innovation, title="renamed"),
                expected_version=version)
    with pytest.raises(Conflict), session_scope(engine) as session:
        fa.step(session, lead(), app_id, "submit", expected_version=version)
    with session_scope(engine) as session:
        app = fa.get_application(session, ADMIN, app_id)
        assert (app.status, app.title, app.revision) == ("draft", "renamed", 2)


def test_other_organisations_and_reviewers_may_not_apply_or_see_drafts(engine) -> None:
    setup = fa.fund_setup()
    innovation = innovation_id(engine)
    for person in (lead(OTHER_ICB), ADMIN, PUBLIC):
        with pytest.raises(fa.NotAllowed), session_scope(engine) as session:
            fa.apply(session, person, setup, form(innovation_id=innovation))
    with session_scope(engine) as session:
        app_id = fa.apply(session, lead(), setup, form(innovation_id=innovation)).id
    with pytest.raises(NotFound), session_scope(engine) as session:
        fa.step(session, lead(OTHER_ICB), app_id, "submit")
    assert count(engine, FundApplication) == 1


@pytest.mark.parametrize("changes, field, words", [
    ({"org_code": "ZZZ99"}, "org_code", "unknown organisation"),
    ({"org_code": "A81001"}, "org_code", "not a current ICB or trust"),
    ({"innovation_id": "no-such-thing"}, "innovation_id", "unknown innovation"),
    ({"cost_implementation_1": "-5"}, "cost_implementation_1", "negative"),
    ({"cost_implementation_1": "lots"}, "cost_implementation_1", "not a number"),
    ({"first_year": "2019"}, "first_year", "outside the fund's NSF period"),
    ({"last_year": "2035"}, "last_year", "outside the fund's NSF period"),
    ({"cost_implementation_4": "10"}, "cost_implementation_4", "outside the application's years"),
    ({"cost_implementation_1": "3000000000"}, "cost_implementation_1", "over the fund's budget"),
    ({"benefit_low": "13"}, "benefit_low", "does not hold"),
    ({"benefit_source": "simulator-scenario", "benefit_reference": "99"}, "benefit_reference", "no finished"),
])
def test_bad_input_is_refused_at_its_field_and_saves_nothing(engine, changes, field, words) -> None:
    setup = fa.fund_setup()
    data = form(**{"innovation_id": innovation_id(engine), **changes})
    with pytest.raises(fa.FieldProblems) as caught, session_scope(engine) as session:
        fa.apply(session, lead(), setup, data)
    assert any(f == field and words in m for f, m in caught.value.problems), caught.value.problems
    assert count(engine, FundApplication) == 0 and count(engine, FundReview) == 0


def test_a_budget_over_the_fund_is_refused() -> None:
    with pytest.raises(Exception, match="over the fund"):
        fa.fund_setup(budget_per_year=[3e9, 3e9, 3e9, 3e9])
    with pytest.raises(Exception, match="4 yearly budgets"):
        fa.fund_setup(budget_per_year=[1e9])


def test_the_allocation_over_the_competition_equals_the_brute_force(engine) -> None:
    """Eight applications from ICBs in and out of the most deprived quintile, under a tight budget: the
    allocation run over the stored applications equals the brute force over the same inputs, drafts and
    declined applications stay out, and each decision is explained."""
    setup = fa.fund_setup(budget_per_year=[3e6, 3e6, 1e6, 1e6], deprived_share=0.3)
    innovation = innovation_id(engine)
    codes = ["QE1", "QF7", "QGH", "QH8", "QHG", "QE1", "QF7", "QGH", "QH8"]
    ids = []
    for n, code in enumerate(codes):
        with session_scope(engine) as session:
            app = fa.apply(session, lead(code), setup, form(
                org_code=code, innovation_id=innovation, cost_implementation_1=str(400_000 + 170_000 * n),
                cost_decommissioning_2=str(90_000 * (n % 3)), benefit=str(3 + (n * 7) % 11),
                benefit_low=str(1 + (n * 7) % 11), benefit_high=str(6 + (n * 7) % 11)))
            if n < 8:
                fa.step(session, lead(code), app.id, "submit")
            ids.append(app.id)
    with session_scope(engine) as session:
        fa.step(session, ADMIN, ids[0], "decline", "not ready")
        result = fa.run_allocation(session, ADMIN, setup, record=True)
        inputs = fa.as_allocation_input(session, [fa.get_application(session, ADMIN, i) for i in ids[1:8]])
        capped = fa.run_allocation(session, ADMIN, setup, sensitivity_limit=6)  # 7 in the competition
    assert not capped.sensitivity_run and all(r["flips_within_interval"] is None for r in capped.rows)
    assert [r["funded"] for r in capped.rows] == [r["funded"] for r in result.rows]
    assert [r["id"] for r in result.rows] == ids[1:8]  # the draft and the declined one are not in it
    best, _ = brute_force(setup.fund, inputs)
    assert result.benefit == pytest.approx(best)
    assert all(r["explanation"] and r["binding"] for r in result.rows)
    assert result.sensitivity_run and all(isinstance(r["flips_within_interval"], bool) for r in result.rows)
    for t, spent in enumerate(result.spend_per_year):
        assert spent <= setup.fund.budget_per_year[t] + 1e-6
    funded_total = sum(r["total_cost"] for r in result.funded)
    deprived = sum(r["total_cost"] for r in result.funded if r["most_deprived_quintile"])
    assert deprived >= 0.3 * funded_total - 1e-6
    assert any(r["most_deprived_quintile"] for r in result.rows) and any(
        not r["most_deprived_quintile"] for r in result.rows)


def test_the_demo_applications_are_labelled_and_allocated(engine) -> None:
    from uptake.models.fund_demo import seed_demo_fund

    with session_scope(engine) as session:
        lines = seed_demo_fund(session)
    with session_scope(engine) as session:
        assert seed_demo_fund(session) == ["fund demo applications already there"]  # once per workspace
        apps = fa.applications(session, ADMIN)
        assert len(apps) == 16 and all(a.synthetic and a.title.startswith("DEMO") for a in apps)
        assert {a.status for a in apps} >= {"draft", "submitted", "approved", "justified", "under-review"}
        result = fa.run_allocation(session, ADMIN, fa.fund_setup())
        frames = fa.result_frames(result)
    assert "16 DEMO" in lines[0] and result.synthetic and len(result.rows) == 15
    assert (frames["decisions"]["synthetic"] == "DEMO/SYNTHETIC").all()
    assert (frames["summary"]["synthetic"].iloc[:5] == "DEMO/SYNTHETIC").all()
