"""The filing form both ways (uptake.web.mission.forms): a filed plan or justification shown as form fields
reads back as the same content, and each schema problem lands at its form field in plain words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mission_plans import JUSTIFICATION, PLAN

from uptake.web.mission.forms import FIELD_LABELS, content_from_form, field_errors, form_from_content
from uptake.mission.plans import ContentProblems, check_content


@pytest.mark.parametrize("kind, content", [("plan", PLAN), ("justification", JUSTIFICATION)])
def test_a_filed_content_reads_back_from_its_form(kind, content) -> None:
    checked = check_content(kind, content)
    assert check_content(kind, content_from_form(kind, form_from_content(kind, checked))) == checked


words = st.text(st.characters(codec="utf-8", exclude_characters="|\n\r", exclude_categories=("Cs", "Cc")),
                min_size=1, max_size=30).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None)
@given(descriptions=st.lists(st.tuples(words, words, st.dates()), min_size=1, max_size=5),
       amount=st.integers(0, 10**9), percents=st.lists(st.integers(0, 1000), min_size=1, max_size=5),
       start=st.dates())
def test_any_plan_round_trips_through_its_form(descriptions, amount, percents, start) -> None:
    import datetime as dt

    plan = {"summary": "s", "actions": [{"description": d, "owner": o, "due": due.isoformat()}
                                        for d, o, due in descriptions],
            "funding": {"amount_pounds": amount, "source": "ICB", "years": None}, "support": "x",
            "expected_trajectory": [{"date": (start + dt.timedelta(days=30 * i)).isoformat(), "value": p / 1000}
                                    for i, p in enumerate(percents)]}
    try:
        checked = check_content("plan", plan)
    except ContentProblems:  # dates past 9999 and the like: not a plan to round-trip
        return
    back = check_content("plan", content_from_form("plan", form_from_content("plan", checked)))
    assert back["actions"] == checked["actions"] and back["funding"] == checked["funding"]
    assert [p["date"] for p in back["expected_trajectory"]] == [p["date"] for p in checked["expected_trajectory"]]
    for a, b in zip(back["expected_trajectory"], checked["expected_trajectory"], strict=True):
        assert a["value"] == pytest.approx(b["value"], abs=1e-9)


def _problems(kind: str, form: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(ContentProblems) as caught:
        check_content(kind, content_from_form(kind, form))
    return field_errors(caught.value)


def test_plan_problems_land_at_their_fields_in_form_order() -> None:
    form = form_from_content("plan", check_content("plan", PLAN))
    form.update(summary="", funding_amount="lots",
                actions=form["actions"] + "\nCall the network | | 31/12/2024",
                expected_trajectory="2022-12-31 19%\nsoon 17%")
    found = _problems("plan", form)
    assert found == [
        ("summary", "Summary is empty"),
        ("actions", "Actions, line 3: the owner is empty"),
        ("actions", "Actions, line 3: the due date is not a date like 2024-03-31"),
        ("funding_amount", "Funding (pounds) is not a number"),
        ("expected_trajectory", "Expected trajectory, line 2: the date is not a date like 2024-03-31"),
    ]
    assert all(field in FIELD_LABELS for field, _ in found)


def test_a_trajectory_out_of_order_is_named_at_its_field() -> None:
    form = form_from_content("plan", check_content("plan", PLAN))
    form.update(expected_trajectory="2022-12-31 19%\n2021-12-31 17%")
    assert _problems("plan", form) == [("expected_trajectory",
                                        "Expected trajectory: put the dates in order, each date once")]


def test_justification_problems_land_at_their_fields() -> None:
    form = form_from_content("justification", check_content("justification", JUSTIFICATION))
    form.update(reason="", evidence="", review_date="next year", reason_category="bored")
    assert _problems("justification", form) == [
        ("reason_category", "Reason category is not one of the choices"),
        ("reason", "Reason is empty"),
        ("evidence", "Evidence needs at least one line"),
        ("review_date", "Review date is not a date like 2024-03-31"),
    ]
