"""Alerts end to end (uptake.mission.alerts, uptake.web.alerts, `uptake alerts send`): a user signs in and follows
an organisation, an innovation and a stroke unit on their pages; a new period of DOAC figures is loaded and
computed (the real pipeline and the mission's refresh, on the publication tests' small workspace); `uptake alerts
send` delivers the digest to a real SMTP server running in the test (aiosmtpd on 127.0.0.1), whose message is
read back and checked against the results it reports; the unsubscribe link works signed out; a second send
sends nothing; a server that cannot be reached is a clear error and marks nothing as sent."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import time

import pandas as pd
import publication_support as ps
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner
from web_support import csrf_of

from uptake.analytics.store import AnalyticsStore
from uptake.cli import app as cli_app
from uptake.mission.permissions import operator
from uptake.mission.ratings import publish_ratings, rate_in_publication, review_ratings
from uptake.mission.results import open_store, reading
from uptake.pipeline.run import run_pipeline
from uptake.results import read
from uptake.store import make_engine, session_scope
from uptake.store.alert_models import AlertSubscription, SentDigest
from uptake.store.models import AuditEvent, User
from uptake.web.accounts import create_user

PASSWORD = "a long test password for alerts 42"
EMAIL = "follower@example.org"
NEW_PERIOD = dt.date(2023, 1, 1)  # the month after the workspace's 24 (2021-01 .. 2022-12)


class Inbox:
    """The SMTP server's handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from uptake.web.app import create_app

    ws = ps.build(tmp_path_factory.mktemp("alerts") / "ws")
    engine = make_engine(ws.database_url)
    _compute(ws, engine)
    with session_scope(engine) as session:
        create_user(session, email=EMAIL, name="Fola Follower", role="national-admin", password=PASSWORD,
                    actor="test")
    app = create_app(ws, secret_key="alerts-test-secret-" + "y" * 32)
    yield ws, engine, app
    engine.dispose()


def _compute(ws, engine) -> None:
    def mission(pub):
        with session_scope(engine) as session:
            rate_in_publication(pub, session, operator())

    run_pipeline(ws, engine="duckdb", publish_with=mission)


def _sign_in(client: TestClient) -> None:
    page = client.get("/sign-in")
    answer = client.post("/sign-in", data={"email": EMAIL, "password": PASSWORD, "next": "/",
                                           "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]


def _follow(client: TestClient, address: str) -> None:
    page = client.get(address)
    assert page.status_code == 200 and 'id="alerts-follow-button"' in page.text, address
    form = re.search(r'<form method="post" action="/alerts/subscribe">(.*?)</form>', page.text, re.S).group(1)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    answer = client.post("/alerts/subscribe", data=fields, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == address
    assert 'id="alerts-unfollow"' in client.get(address).text  # the button now stops them


def _send(ws, port: int, host: str = "127.0.0.1"):
    env = {"UPTAKE_SMTP_HOST": host, "UPTAKE_SMTP_PORT": str(port), "UPTAKE_SMTP_FROM": "Uptake <alerts@uptake.test>",
           "UPTAKE_PUBLIC_URL": "http://testserver", "UPTAKE_DATABASE_URL": None}
    return CliRunner().invoke(cli_app, ["alerts", "send", "--workspace", str(ws.root)], env=env)


def _count(engine, model, *where) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _load_new_period(ws) -> None:
    """January 2023 for every sub-ICB location on its line, but 03C falls from 52% to 10%."""
    rows = [(code, NEW_PERIOD, round((0.10 if code == "03C" else share) * 1000 + 3 * 24), 1000)
            for code, share in ps.SUB_ICB_SHARES.items()]
    frame = pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])
    ps.load(AnalyticsStore(ws.analytics_path), "doac-share", frame, "january-2023")


def test_subscribe_load_a_new_period_and_read_the_alert_email(site, smtp, monkeypatch) -> None:
    ws, engine, app = site
    inbox, port = smtp
    with TestClient(app, base_url="http://testserver") as client:
        _sign_in(client)
        _follow(client, "/organisations/03C")
        _follow(client, "/innovations/doacs")
        _follow(client, "/organisations/U06")
        assert _count(engine, AuditEvent, AuditEvent.action == "alert.subscribe") == 3
        listed = client.get("/api/v1/alerts").json()
        assert {(s["kind"], s["target_id"]) for s in listed["subscriptions"]} == {
            ("organisation", "03C"), ("innovation", "doacs"), ("organisation", "U06")}

    # new data land: a new month, computed and published (with the mission's refresh); ratings published
    _load_new_period(ws)
    _compute(ws, engine)
    with session_scope(engine) as session:
        review_ratings(session, operator())
        publish_ratings(session, operator())
    app.state.web.snapshots.reload()  # as the site does within seconds of the store changing
    with reading(open_store(ws)) as con:
        publication = read.runs.publication(con)["publication_id"]
        spc = read.spc.spc(con, "doac-share", "sub-icb", "03C")
        attainment = read.attainment.attainment(con, org_code="03C", level="sub-icb")
    assert spc[-1]["period"] == NEW_PERIOD and spc[-1]["special_cause"] == "concern"

    result = _send(ws, port)
    assert result.exit_code == 0, result.output
    assert "[1/1] " + EMAIL in result.output and "1 digest(s) sent" in result.output
    assert len(inbox.messages) == 1 and inbox.recipients[0] == [EMAIL]
    message = inbox.messages[0]
    assert message["To"] == EMAIL and message["From"] == "Uptake <alerts@uptake.test>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # the special-cause change of 03C, as the SPC chart has it, with its value and link
    value = f"{spc[-1]['value']:.1%}"
    assert f"shows special-cause concern (outside limits) in January 2023" in text and value in text
    assert "http://testserver/organisations/03C?indicator=doac-share" in text
    # the commitment it fell off (its status in result_attainment that month)
    status = attainment.sort_values("period").iloc[-1]["status"]
    assert status in ("off-trajectory", "missed")
    assert f"is {status.replace('-', ' ')} in January 2023" in text
    assert "/nsf/cardiovascular-disease/anticoagulation-doacs" in text
    # the innovation's organisations with special causes, and the ratings just published
    assert "of 4 sub-ICB locations charted" in text and "http://testserver/innovations/doacs" in text
    assert "[Stroke unit U06] Published innovation rating" in text
    assert "[Location 03C] Published innovation rating" in text
    assert "Special-cause change" in html and "<a href=\"http://testserver/organisations/03C?indicator=doac-share\"" in html
    # the unsubscribe link: in the body and in the List-Unsubscribe header, one-click POST (RFC 8058)
    link = re.search(r"http://testserver(/alerts/unsubscribe/[A-Za-z0-9_-]+)", text).group(1)
    assert message["List-Unsubscribe"] == f"<http://testserver{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with session_scope(engine) as session:
        sent = session.scalars(select(SentDigest)).all()
        assert [(s.publication_id, len(s.content["items"])) for s in sent] == [(publication, len(text.split("\n* ")) - 1)]
        assert link.rsplit("/", 1)[1] not in str(sent[0].content) + sent[0].unsubscribe_token_sha256

    # the digest in the browser is the one emailed
    with TestClient(app, base_url="http://testserver") as client:
        _sign_in(client)
        page = client.get("/alerts")
        assert page.status_code == 200 and "Last email sent" in page.text and "Location 03C" in page.text
        csv = client.get("/alerts/download.csv")
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0] == "section,kind,subscription,text,link,synthetic,publication_id"
        assert sum(line.startswith("digest,") for line in csv.text.splitlines()) == len(sent[0].content["items"])
        api = client.get("/api/v1/alerts").json()
        assert api["digest"]["publication_id"] == publication and api["last_sent"]["publication_id"] == publication

    # sending again for the same publication sends nothing
    again = _send(ws, port)
    assert again.exit_code == 0 and "0 digest(s) sent" in again.output and "1 already sent" in again.output
    assert len(inbox.messages) == 1

    # follow the link signed out: a confirm page, then POST unsubscribes every subscription of the digest
    with TestClient(app, base_url="http://testserver") as anonymous:
        confirm = anonymous.get(link)
        assert confirm.status_code == 200 and 'id="unsubscribe-button"' in confirm.text and EMAIL in confirm.text
        assert _count(engine, AlertSubscription) == 3  # a GET changes nothing (link scanners follow GETs)
        assert anonymous.post(link, data={"other": "x"}).status_code == 403  # not the one-click body, no CSRF
        assert _count(engine, AlertSubscription) == 3
        # what a mail client's one-click POST sends (RFC 8058); the token in the address is the credential
        done = anonymous.post(link, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "will get no more emails about 3 subscription(s)" in done.text
        assert anonymous.get("/alerts/unsubscribe/not-a-token").status_code == 404
    assert _count(engine, AlertSubscription) == 0

    # another new period: nobody follows anything, so nothing is sent
    _load_new_period_february(ws)
    _compute(ws, engine)
    third = _send(ws, port)
    assert third.exit_code == 0 and "0 digest(s) sent" in third.output
    assert len(inbox.messages) == 1


def _load_new_period_february(ws) -> None:
    rows = [(code, dt.date(2023, 2, 1), round(share * 1000 + 3 * 25), 1000) for code, share in ps.SUB_ICB_SHARES.items()]
    frame = pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])
    ps.load(AnalyticsStore(ws.analytics_path), "doac-share", frame, "february-2023")


def test_an_smtp_server_that_cannot_be_reached_is_a_clear_error_and_nothing_is_marked(site, tmp_path) -> None:
    ws, engine, app = site
    with session_scope(engine) as session:
        user_id = session.scalar(select(User.id).where(User.email == EMAIL))
        session.add(AlertSubscription(user_id=user_id, target_kind="organisation", target_id="U05"))
    before = _count(engine, SentDigest)
    closed = _free_port()  # nothing listens there
    result = _send(ws, closed)
    assert result.exit_code == 1
    assert f"could not connect to the SMTP server 127.0.0.1:{closed}" in result.output
    assert "Nothing was marked as sent" in result.output
    assert _count(engine, SentDigest) == before
    unset = CliRunner().invoke(cli_app, ["alerts", "send", "--workspace", str(ws.root)],
                               env={"UPTAKE_SMTP_HOST": "", "UPTAKE_DATABASE_URL": None})
    assert unset.exit_code == 1 and "no SMTP server is set: set UPTAKE_SMTP_HOST" in unset.output
    assert _count(engine, SentDigest) == before


def test_signed_out_visitors_cannot_follow_and_see_a_sign_in_link(site) -> None:
    ws, engine, app = site
    with TestClient(app, base_url="http://testserver") as client:
        page = client.get("/organisations/03C")
        assert "to get email alerts about" in page.text and 'id="alerts-follow-button"' not in page.text
        token = csrf_of(client.get("/sign-in").text)
        before = _count(engine, AlertSubscription)
        answer = client.post("/alerts/subscribe", data={"kind": "organisation", "target": "03C", "csrf_token": token})
        assert answer.status_code == 403 and _count(engine, AlertSubscription) == before
        assert client.get("/alerts", follow_redirects=False).status_code == 303
        assert client.get("/api/v1/alerts").status_code == 401


def test_an_unknown_target_is_refused(site) -> None:
    ws, engine, app = site
    with TestClient(app, base_url="http://testserver") as client:
        _sign_in(client)
        token = csrf_of(client.get("/alerts").text)
        before = _count(engine, AlertSubscription)
        for kind, target, why in (("organisation", "NOPE1", "no organisation with the code"),
                                  ("innovation", "nope", "no innovation"), ("group", "999", "no group 999"),
                                  ("practice-list", "x", "one can follow")):
            answer = client.post("/alerts/subscribe", data={"kind": kind, "target": target, "csrf_token": token})
            assert answer.status_code == 400 and why in answer.text, (kind, answer.text[:300])
        assert client.post("/alerts/subscribe", data={"kind": "organisation", "target": "03C"}).status_code == 403
        assert _count(engine, AlertSubscription) == before


def test_uptake_compute_sends_the_digests_when_the_settings_say_so(site, smtp) -> None:
    ws, engine, app = site
    inbox, port = smtp
    # the compute runs in this process: the web app's snapshot reloads (a read-only ATTACH of the same file, in a
    # background thread) must not race its writes here, which DuckDB refuses within one process (between
    # processes, as in use, the reload waits and retries)
    holder = app.state.web.snapshots
    holder.check_seconds = float("inf")
    for _ in range(100):
        if not holder._reloading:
            break
        time.sleep(0.1)
    with session_scope(engine) as session:
        user_id = session.scalar(select(User.id).where(User.email == EMAIL))
        session.add(AlertSubscription(user_id=user_id, target_kind="innovation", target_id="doacs"))
    rows = [(code, dt.date(2023, 3, 1), round((0.95 if code == "01A" else share) * 1000 + 3 * 26), 1000)
            for code, share in ps.SUB_ICB_SHARES.items()]
    ps.load(AnalyticsStore(ws.analytics_path), "doac-share",
            pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"]), "march-2023")
    before = len(inbox.messages)
    env = {"UPTAKE_SMTP_HOST": "127.0.0.1", "UPTAKE_SMTP_PORT": str(port), "UPTAKE_PUBLIC_URL": "http://testserver",
           "UPTAKE_ALERTS_AFTER_COMPUTE": "1", "UPTAKE_DATABASE_URL": None}
    result = CliRunner().invoke(cli_app, ["compute", "--no-forecasts", "--workspace", str(ws.root)], env=env)
    assert result.exit_code == 0, result.output
    assert "Sending alert digests" in result.output and "1 digest(s) sent" in result.output
    assert len(inbox.messages) == before + 1 and inbox.recipients[-1] == [EMAIL]
    assert "March 2023" in inbox.messages[-1].get_body(("plain",)).get_content()
