"""Custom groups over HTTP (uptake.web.groups) on the web test workspace: a signed-in user saves a group and
sees its pooled figures beside its members; anonymous writes are refused; bad codes and mixed levels are
answered at the field with nothing saved; the shared link works signed out; another user cannot see or
change the group; every write leaves an audit event."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_support import csrf_of

from uptake.results import read
from uptake.stats.intervals import wilson
from uptake.store.db import make_engine, session_scope
from uptake.store.group_models import OrgGroup
from uptake.store.models import AuditEvent


def _count(demo, model, *where) -> int:
    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as s:
            return s.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        engine.dispose()


def _create(client: TestClient, title: str, members: str):
    form = client.get("/groups/new")
    assert form.status_code == 200
    return client.post("/groups/new", data={"title": title, "members": members, "description": "A federation",
                                            "csrf_token": csrf_of(form.text)}, follow_redirects=False)


@pytest.fixture
def saved(signed_in, demo):
    owner = signed_in("icb-analyst")
    response = _create(owner, "North Central federation", "MJ0, mj1\nMJ2")
    assert response.status_code == 303, response.text[:2000]
    group_id = int(response.headers["location"].rsplit("/", 1)[1])
    return owner, group_id


def test_a_signed_in_user_saves_a_group_and_sees_pooled_figures(saved, demo, app) -> None:
    owner, group_id = saved
    page = owner.get(f"/groups/{group_id}")
    assert page.status_code == 200
    assert "North Central federation" in page.text and "Group (pooled, 3 of 3)" in page.text
    assert all(code in page.text for code in ("MJ0", "MJ1", "MJ2"))
    body = owner.get(f"/api/v1/groups/{group_id}").json()
    assert body["level"] == "sub-icb" and body["members"] == ["MJ0", "MJ1", "MJ2"]
    doac = next(i for i in body["indicators"] if i["indicator"] == "doac-share")
    # the reference: the members' own rows of the latest period, read straight from the snapshot
    with app.state.web.snapshots.cursor() as (_, cur):
        period = read.values.latest_period(cur, "doac-share", "sub-icb")
        rows, _ = read.values.values(cur, indicator="doac-share", level="sub-icb", period=period,
                                     org_codes=["MJ0", "MJ1", "MJ2"])
    x, n = sum(r["numerator"] for r in rows), sum(r["denominator"] for r in rows)
    low, high = wilson(x, n)
    assert doac["period"] == period.isoformat()
    assert doac["pooled"]["numerator"] == pytest.approx(x) and doac["pooled"]["denominator"] == pytest.approx(n)
    assert doac["pooled"]["value"] == pytest.approx(x / n)
    assert (doac["pooled"]["ci95_low"], doac["pooled"]["ci95_high"]) == (pytest.approx(float(low)),
                                                                          pytest.approx(float(high)))
    csv = owner.get(f"/groups/{group_id}/download.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("group,indicator") and any(",GROUP," in line for line in lines)
    assert _count(demo, AuditEvent, AuditEvent.action == "group.create", AuditEvent.entity_id == str(group_id)) == 1
    assert owner.get("/groups").text.count(f"/groups/{group_id}") >= 1
    assert 'href="/groups"' in owner.get("/").text  # the header's account menu links to them
    assert any(g["id"] == group_id for g in owner.get("/api/v1/groups").json())


def test_anonymous_visitors_cannot_save_or_list(client, demo) -> None:
    before = _count(demo, OrgGroup)
    page = client.get("/sign-in")
    response = client.post("/groups/new", data={"title": "x", "members": "MJ0", "csrf_token": csrf_of(page.text)},
                           follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/groups", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/groups").status_code == 401
    assert _count(demo, OrgGroup) == before


@pytest.mark.parametrize("members,message", [
    ("MJ0, NOPE9", "Organisation codes not known as current organisations: NOPE9"),
    ("MJ0, PMJ00", "must all be of one level"),
    ("", "Enter at least one organisation code"),
])
def test_bad_members_are_answered_at_the_field_and_nothing_is_saved(signed_in, demo, members, message) -> None:
    before = _count(demo, OrgGroup)
    response = _create(signed_in("provider-lead"), "Bad group", members)
    assert response.status_code == 400
    assert "There is a problem" in response.text and 'href="#members"' in response.text
    assert message in response.text and 'id="members-error"' in response.text
    assert _count(demo, OrgGroup) == before


def test_shared_link_works_signed_out_and_stops_when_unshared(saved, client, demo) -> None:
    owner, group_id = saved
    page = owner.get(f"/groups/{group_id}")
    shared = owner.post(f"/groups/{group_id}/share", data={"share": "on", "csrf_token": csrf_of(page.text)},
                        follow_redirects=False)
    assert shared.status_code == 303
    token = re.search(r"/groups/shared/([A-Za-z0-9_-]+)", owner.get(f"/groups/{group_id}").text).group(1)
    assert len(token) >= 32
    public = client.get(f"/groups/shared/{token}")
    assert public.status_code == 200 and "North Central federation" in public.text
    assert "Delete the group" not in public.text and "shared read-only" in public.text
    assert client.get(f"/groups/shared/{token}/download.csv").status_code == 200
    assert client.get(f"/api/v1/groups/shared/{token}").json()["members"] == ["MJ0", "MJ1", "MJ2"]
    assert client.get(f"/groups/{group_id}").status_code == 404  # the owner's view stays the owner's
    page = owner.get(f"/groups/{group_id}")
    owner.post(f"/groups/{group_id}/share", data={"share": "off", "csrf_token": csrf_of(page.text)})
    assert client.get(f"/groups/shared/{token}").status_code == 404
    assert _count(demo, AuditEvent, AuditEvent.action == "group.share", AuditEvent.entity_id == str(group_id)) == 1


def test_another_user_cannot_see_or_change_the_group(saved, signed_in, demo) -> None:
    _, group_id = saved
    other = signed_in("national-admin")
    assert other.get(f"/groups/{group_id}").status_code == 404
    assert other.get(f"/groups/{group_id}/edit").status_code == 404
    assert other.get(f"/api/v1/groups/{group_id}").status_code == 404
    token = csrf_of(other.get("/groups/new").text)
    edit = other.post(f"/groups/{group_id}/edit", data={"title": "Taken", "members": "KK0", "csrf_token": token})
    assert edit.status_code == 404
    assert other.post(f"/groups/{group_id}/delete", data={"csrf_token": token}).status_code == 404
    assert _count(demo, OrgGroup, OrgGroup.id == group_id, OrgGroup.title == "North Central federation") == 1


def test_the_owner_edits_the_group(saved, demo) -> None:
    owner, group_id = saved
    form = owner.get(f"/groups/{group_id}/edit")
    assert "MJ1" in form.text
    response = owner.post(f"/groups/{group_id}/edit", data={"title": "Two of them", "members": "MJ0 MJ1",
                                                            "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert response.status_code == 303
    assert owner.get(f"/api/v1/groups/{group_id}").json()["members"] == ["MJ0", "MJ1"]
    assert _count(demo, AuditEvent, AuditEvent.action == "group.update", AuditEvent.entity_id == str(group_id)) == 1
