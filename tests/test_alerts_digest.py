"""The alert digest (uptake.mission.alerts) on result tables made from the schema's declaration and filled by hand,
so each kind of item is checked against rows whose answer is known: special-cause change at the latest period,
worse than England and getting worse (comparison worse and SPC concern, never one without the other), a
commitment off trajectory, an innovation's count of organisations with special causes; and "new" is judged
against the digest last sent: nothing repeats, a changed status is told again."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from sqlalchemy import select

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import load_catalogue
from uptake.mission import alerts
from uptake.results import schema
from uptake.store import make_engine, session_scope, upgrade
from uptake.store.alert_models import AlertSubscription, SentDigest
from uptake.store.models import User
from uptake.web.accounts import create_user

PERIODS = [dt.date(2022, 11, 1), dt.date(2022, 12, 1), dt.date(2023, 1, 1)]
IND = "doac-share"  # high is good


def _insert(con, table: str, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    con.register("_rows", frame)
    con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _rows')
    con.unregister("_rows")


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "uptake.duckdb"
    AnalyticsStore(path).ensure_schema()
    con = duckdb.connect(str(path))
    for table in (schema.VALUES, schema.SPC, schema.SPC_SERIES, schema.ATTAINMENT, schema.PUBLICATIONS):
        con.execute(table.ddl())
    _insert(con, "organisations", [
        {"code": "ENG", "level": "england", "name": "England", "valid_from": dt.date(2020, 1, 1)},
        {"code": "AAA", "level": "sub-icb", "name": "Location A", "valid_from": dt.date(2020, 1, 1)},
        {"code": "BBB", "level": "sub-icb", "name": "Location B", "valid_from": dt.date(2020, 1, 1)}])
    values, spc = [], []
    # AAA falls to 30% in January (worse than England, special-cause concern); BBB is worse but steady
    for code, shares, last_cause in (("AAA", (0.60, 0.61, 0.30), "concern"), ("BBB", (0.50, 0.51, 0.50), "common-cause"),
                                     ("ENG", (0.70, 0.71, 0.70), "common-cause")):
        for period, share in zip(PERIODS, shares, strict=True):
            level = "england" if code == "ENG" else "sub-icb"
            values.append({"indicator": IND, "level": level, "org_code": code, "org_name": code, "period": period,
                           "numerator": share * 1000, "denominator": 1000.0, "value": share,
                           "ci95_low": share - 0.03, "ci95_high": share + 0.03,
                           "comparison": "similar" if code == "ENG" else "worse", "comparison_method": "interval",
                           "synthetic": False})
            spc.append({"indicator": IND, "level": level, "org_code": code, "period": period, "value": share,
                        "basis": "value", "special_cause": last_cause if period == PERIODS[-1] else "common-cause",
                        "rule": "outside-limits" if period == PERIODS[-1] and last_cause != "common-cause" else ""})
    _insert(con, "result_values", values)
    _insert(con, "result_spc", spc)
    _insert(con, "result_spc_series", [
        {"indicator": IND, "level": "sub-icb", "org_code": "AAA", "variation_icon": "concern-low", "basis": "value"},
        {"indicator": IND, "level": "sub-icb", "org_code": "BBB", "variation_icon": "common-cause", "basis": "value"}])
    _insert(con, "result_attainment", [
        {"framework": "cardiovascular-disease", "commitment": "anticoagulation-doacs", "indicator": IND,
         "level": "sub-icb", "org_code": code, "org_name": code, "period": period, "value": 0.3,
         "ci95_low": 0.27, "ci95_high": 0.33, "trajectory_value": 0.8, "target": 0.85, "status": status,
         "synthetic": False}
        for code, status in (("AAA", "off-trajectory"), ("BBB", "on-trajectory")) for period in PERIODS[1:]])
    _publish(con, 1)
    yield con
    con.close()


def _publish(con, publication_id: int) -> None:
    con.execute("INSERT INTO publications (publication_id, kind, state, created_at, published_at) "
                "VALUES (?, 'compute', 'published', now(), now())", [publication_id])


@pytest.fixture
def workflow(database_url):
    """The workflow database: SQLite, and PostgreSQL when UPTAKE_TEST_DATABASE_URL is set (tests/conftest.py)."""
    url = database_url
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        user = create_user(session, email="f@example.org", name="F", role="national-admin",
                           password="a long password for the digest test", actor="test")
        for kind, target in (("organisation", "AAA"), ("organisation", "BBB"), ("innovation", "doacs")):
            session.add(AlertSubscription(user_id=user.id, target_kind=kind, target_id=target))
    yield engine
    engine.dispose()


def _digest(engine, con):
    with session_scope(engine) as session:
        user = session.scalar(select(User))
        return alerts.build_digest(session, con, load_catalogue(), user)


def test_each_kind_of_item_comes_from_the_rows_that_say_so(store, workflow) -> None:
    digest = _digest(workflow, store)
    by_kind = {}
    for item in digest.items:
        by_kind.setdefault(item.kind, []).append(item)
    assert digest.publication_id == 1
    # AAA: special cause in January, worse and getting worse, off trajectory; BBB (worse but steady): nothing
    assert [i.key for i in by_kind["special-cause"] if i.key.startswith("spc|")] == [
        f"spc|{IND}|sub-icb|AAA|2023-01-01|concern"]
    assert [i.key for i in by_kind["worse-and-getting-worse"]] == [f"wgw|{IND}|sub-icb|AAA|2023-01-01"]
    assert [i.key for i in by_kind["off-trajectory"]] == [
        "att|cardiovascular-disease|anticoagulation-doacs|sub-icb|AAA|2023-01-01|off-trajectory"]
    assert not any("|BBB|" in i.key for i in digest.items)
    wgw = by_kind["worse-and-getting-worse"][0]
    assert "worse than England in January 2023 (30.0%, 95% interval 27.0% to 33.0%; England 70.0%)" in wgw.text
    assert wgw.link == "/organisations/AAA/profile"
    # the innovation: of the 2 sub-ICB locations charted in January, 1 shows special-cause concern
    innovation = [i for i in by_kind["special-cause"] if i.key.startswith("inn|")]
    assert [i.key for i in innovation] == [f"inn|{IND}|sub-icb|2023-01-01|0|1|0|None"]
    assert "of 2 sub-ICB locations charted, 0 show special-cause improvement, 1 special-cause concern" \
        in innovation[0].text and innovation[0].link == "/innovations/doacs"


def test_a_digest_tells_only_what_the_last_one_did_not(store, workflow) -> None:
    first = _digest(workflow, store)
    assert len(first.items) == 4
    with session_scope(workflow) as session:
        session.add(SentDigest(user_id=first.user_id, publication_id=1, content_sha256=first.content_sha256(),
                               content={"keys": first.keys, "subscriptions": [], "items": []},
                               unsubscribe_token_sha256="0" * 64))
    _publish(store, 2)
    second = _digest(workflow, store)
    assert second.publication_id == 2 and second.items == [] and second.already_told == 4
    # AAA's status moves from off trajectory to missed: told again, and only that
    store.execute("UPDATE result_attainment SET status = 'missed' WHERE org_code = 'AAA'")
    third = _digest(workflow, store)
    assert [i.key for i in third.items] == [
        "att|cardiovascular-disease|anticoagulation-doacs|sub-icb|AAA|2023-01-01|missed"]
    assert "is missed in January 2023" in third.items[0].text


def test_a_changed_rating_says_what_it_was_and_a_group_covers_its_members(store, workflow) -> None:
    from uptake.mission.alerts import Item, _changed
    from uptake.store.group_models import OrgGroup, OrgGroupMember

    told = {"rating|sub-icb|AAA|2022-04-01|good"}
    item = Item("rating|sub-icb|AAA|2022-04-01|requires-improvement", "rating", "A", "Rating text.", "/ratings")
    assert _changed(item, told).text == "Rating text. It was 'good' in your last digest."
    assert _changed(item, {"rating|sub-icb|BBB|2022-04-01|good"}).text == "Rating text."
    with session_scope(workflow) as session:
        user = session.scalar(select(User))
        for sub in session.scalars(select(AlertSubscription)):
            session.delete(sub)
        group = OrgGroup(owner_id=user.id, title="A and B", level="sub-icb",
                         members=[OrgGroupMember(org_code="AAA"), OrgGroupMember(org_code="BBB")])
        session.add(group)
        session.flush()
        session.add(AlertSubscription(user_id=user.id, target_kind="group", target_id=str(group.id)))
    digest = _digest(workflow, store)
    assert {i.subscription for i in digest.items} == {"A and B (custom group)"}
    assert sorted(i.kind for i in digest.items) == ["off-trajectory", "special-cause", "worse-and-getting-worse"]
    assert all("|AAA|" in i.key and i.text.startswith("Location A (AAA): ") for i in digest.items)


def test_the_email_has_text_html_and_a_one_click_unsubscribe(store, workflow) -> None:
    from uptake.settings import Settings

    digest = _digest(workflow, store)
    message = alerts.compose(digest, Settings(public_url="https://uptake.example", smtp_from="a@b.c"), "TOKEN123")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert message["List-Unsubscribe"] == "<https://uptake.example/alerts/unsubscribe/TOKEN123>"
    assert "Worse than England and getting worse (1)" in text and "https://uptake.example/organisations/AAA/profile" in text
    assert html.count("<li>") == len(digest.items) == 4
    assert alerts.token_sha256("TOKEN123") != "TOKEN123" and len(alerts.token_sha256("TOKEN123")) == 64
