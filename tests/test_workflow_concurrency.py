"""The workflow database under concurrency, through the real web app served by uvicorn in a thread, on SQLite
and on PostgreSQL: many clients (threads, each with its own HTTP client) editing one filing, creating the
same filing, and using API tokens at once. Every answer is a success or 409, never a 500; no update is lost
(the revision is 1 + the number of edits that succeeded); a stale edit is refused and changes nothing,
through the API and through the form. Also the optimistic locking of users and value assessments, and
recording token use without a write per request."""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from test_mission_plans import PLAN
from test_mission_support import ADMIN, mission_workflow, small_store

from uptake.mission.assessments import add_assessment
from uptake.mission.demo import NATIONAL_ASSESSMENTS
from uptake.store import ApiToken, User, add_user, issue_api_token, make_engine, session_scope, upgrade
from uptake.store.mission_models import ComplyOrJustifyFiling, ValueAssessment
from uptake.workspace import Workspace

STALE = "someone else changed this; reload"
ANALYST = "analyst@alpha.nhs.uk"
REVIEWER = "reviewer@england.nhs.uk"
FILING = {"framework": "stroke", "commitment": "thrombolysis", "icb": "QAA", "kind": "plan"}


@dataclass
class Site:
    app: object
    url: str  # the workflow database
    tokens: dict[str, dict[str, str]]  # email -> Authorization header


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """The web app over a small workspace whose workflow database is `database_url` (SQLite or PostgreSQL),
    with an ICB analyst of QAA and a national reviewer, each with an API token."""
    from uptake.web.app import create_app

    ws = Workspace(root=tmp_path / "ws", database_url_override=database_url).ensure()
    small_store(ws.analytics_path)
    upgrade(database_url)
    engine = mission_workflow(make_engine(database_url))
    tokens = {}
    with session_scope(engine) as session:
        for email, role, scope in ((ANALYST, "icb-analyst", "QAA"), (REVIEWER, "national-admin", None)):
            user = add_user(session, email, email, role, scope, actor="test")
            tokens[email] = {"authorization": "Bearer " + issue_api_token(session, user, "test", actor="test")}
    engine.dispose()
    app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
    yield Site(app, database_url, tokens)
    app.state.web.engine.dispose()


class LiveServer:
    """uvicorn serving the app on a free port of 127.0.0.1, in a thread (one event loop; sync routes run in
    its thread pool, as in production)."""

    def __init__(self, app: object):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.base_url = "http://127.0.0.1:%d" % self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", backlog=1024))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.socket.close()


@pytest.fixture
def live(site: Site) -> Iterator[tuple[Site, str]]:
    with LiveServer(site.app) as server:
        yield site, server.base_url


def at_once(base_url: str, count: int, work: Callable[[httpx.Client, int, threading.Barrier], httpx.Response]
            ) -> list[httpx.Response]:
    """Run `work(client, i, barrier)` in `count` threads, each with its own HTTP client; the barrier lets the
    work line its requests up to go together."""
    barrier = threading.Barrier(count, timeout=60)
    responses: list[httpx.Response | BaseException | None] = [None] * count

    def run(i: int) -> None:
        try:
            with httpx.Client(base_url=base_url, timeout=120) as client:
                responses[i] = work(client, i, barrier)
        except BaseException as exc:  # noqa: BLE001 - reported below
            responses[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    problems = [r for r in responses if not isinstance(r, httpx.Response)]
    assert not problems, f"{len(problems)} clients failed without an answer: {problems[:3]}"
    return responses  # type: ignore[return-value]


def statuses(responses: list[httpx.Response]) -> Counter:
    return Counter(r.status_code for r in responses)


def server_errors(responses: list[httpx.Response]) -> list[str]:
    return [f"{r.status_code}: {r.text[:300]}" for r in responses if r.status_code >= 500]


def the_filing(site: Site, client: httpx.Client | TestClient, filing_id: int) -> dict:
    response = client.get(f"/api/v1/plans/{filing_id}", headers=site.tokens[ANALYST])
    assert response.status_code == 200, response.text
    return response.json()


def check_no_update_was_lost(filing: dict, edits: int) -> None:
    """The filing's revision counts the create and every successful edit, and the history has each once."""
    assert filing["revision"] == 1 + edits
    changes = [h for h in filing["history"] if h["action"] in ("create", "edit")]
    assert [h["revision"] for h in changes] == list(range(1, 2 + edits))
    assert changes[-1]["content"] == filing["content"]


# --- 50 clients editing one plan --------------------------------------------------------------------------


def _create(site: Site, client: httpx.Client) -> dict:
    created = client.post("/api/v1/plans", json=dict(FILING, content=PLAN), headers=site.tokens[ANALYST])
    assert created.status_code == 201, created.text
    return created.json()


def test_fifty_clients_editing_what_they_read_lose_nothing(live) -> None:
    """Each client reads the plan, then saves its edit of what it read (expected_version): one wins, the
    others are told someone else changed it; nobody overwrites an edit they did not see."""
    site, base_url = live
    with httpx.Client(base_url=base_url) as client:
        filing_id = _create(site, client)["id"]

    def edit(client: httpx.Client, i: int, barrier: threading.Barrier) -> httpx.Response:
        # the list, not /plans/{id}: that one also reads the analytics store (plan against actual), which is
        # not what this test is about
        listed = client.get("/api/v1/plans", params={"icb": "QAA"}, headers=site.tokens[ANALYST])
        version = next(f["version"] for f in listed.json() if f["id"] == filing_id)
        barrier.wait()  # everyone has read the same version before anyone saves
        body = dict(FILING, content=dict(PLAN, summary=f"Edit number {i}"), expected_version=version)
        return client.post("/api/v1/plans", json=body, headers=site.tokens[ANALYST])

    responses = at_once(base_url, 50, edit)
    assert not server_errors(responses), server_errors(responses)[:5]
    counts = statuses(responses)
    assert set(counts) <= {201, 409} and counts[201] == 1, counts
    assert all(STALE in r.json()["detail"] for r in responses if r.status_code == 409)
    with httpx.Client(base_url=base_url) as client:
        filing = the_filing(site, client, filing_id)
    check_no_update_was_lost(filing, counts[201])
    winner = next(r for r in responses if r.status_code == 201).json()
    assert filing["content"]["summary"] == winner["content"]["summary"]


def test_fifty_clients_editing_blind_answer_success_or_conflict_and_lose_no_increment(live) -> None:
    """Clients that send no expected version: their edits are serialised (SQLite) or refused when they race
    (PostgreSQL: the row's version changed under them); never a 500, never a lost increment."""
    site, base_url = live
    with httpx.Client(base_url=base_url) as client:
        filing_id = _create(site, client)["id"]

    def edit(client: httpx.Client, i: int, barrier: threading.Barrier) -> httpx.Response:
        barrier.wait()
        body = dict(FILING, content=dict(PLAN, summary=f"Edit number {i}"))
        return client.post("/api/v1/plans", json=body, headers=site.tokens[ANALYST])

    responses = at_once(base_url, 50, edit)
    assert not server_errors(responses), server_errors(responses)[:5]
    counts = statuses(responses)
    assert set(counts) <= {201, 409} and counts[201] >= 1, counts
    with httpx.Client(base_url=base_url) as client:
        check_no_update_was_lost(the_filing(site, client, filing_id), counts[201])


# --- 20 clients creating the same filing --------------------------------------------------------------------


@pytest.mark.parametrize("create_only", [False, True], ids=["create-or-edit", "create-only"])
def test_twenty_clients_creating_one_filing_make_exactly_one(live, create_only: bool) -> None:
    site, base_url = live

    def create(client: httpx.Client, i: int, barrier: threading.Barrier) -> httpx.Response:
        body = dict(FILING, content=dict(PLAN, summary=f"Creator {i}"))
        if create_only:
            body["expected_version"] = 0  # "I have seen no filing": never edits one made meanwhile
        barrier.wait()
        return client.post("/api/v1/plans", json=body, headers=site.tokens[ANALYST])

    responses = at_once(base_url, 20, create)
    assert not server_errors(responses), server_errors(responses)[:5]
    counts = statuses(responses)
    assert set(counts) <= {201, 409} and counts[201] >= 1, counts
    with httpx.Client(base_url=base_url) as client:
        listed = client.get("/api/v1/plans", params={"icb": "QAA"}, headers=site.tokens[ANALYST]).json()
        assert [(f["framework_id"], f["commitment_key"]) for f in listed] == [("stroke", "thrombolysis")]
        filing = the_filing(site, client, listed[0]["id"])
    check_no_update_was_lost(filing, counts[201] - 1)  # one created it; the other successes edited it
    if create_only:
        assert counts == Counter({201: 1, 409: 19})


# --- API tokens -----------------------------------------------------------------------------------------------


def test_two_hundred_token_requests_from_four_threads_never_fail(live) -> None:
    """A request with a token used to write api_tokens.last_used_at: on SQLite, concurrent clients got
    "database is locked" 500s. Now the use is recorded at most once a minute per token."""
    site, base_url = live
    engine = site.app.state.web.engine
    writes: list[str] = []

    def count_writes(conn, cursor, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count_writes)
    try:
        def use(client: httpx.Client, i: int, barrier: threading.Barrier) -> list[httpx.Response]:
            barrier.wait()
            return [client.get("/api/v1/me", headers=site.tokens[ANALYST]) for _ in range(50)]

        batches = at_once_lists(base_url, 4, use)
    finally:
        event.remove(engine, "before_cursor_execute", count_writes)
    answers = [r for batch in batches for r in batch]
    assert len(answers) == 200
    assert statuses(answers) == Counter({200: 200}), server_errors(answers)[:5]
    assert answers[-1].json()["email"] == ANALYST
    assert 1 <= len(writes) <= 4  # the first requests of each thread at most, not one per request
    check_engine = make_engine(site.url)
    try:
        with session_scope(check_engine) as session:
            used = session.scalars(select(ApiToken.last_used_at).join(User).where(User.email == ANALYST)).one()
        assert used is not None and dt.datetime.now(dt.UTC) - used < dt.timedelta(minutes=5)
    finally:
        check_engine.dispose()


def at_once_lists(base_url: str, count: int, work) -> list[list[httpx.Response]]:
    wrapped: list[list[httpx.Response]] = [[] for _ in range(count)]

    def run(client: httpx.Client, i: int, barrier: threading.Barrier) -> httpx.Response:
        wrapped[i] = work(client, i, barrier)
        return wrapped[i][-1]

    at_once(base_url, count, run)
    return wrapped


def test_token_use_is_recorded_at_most_once_a_minute_and_never_fails(workflow_engine, caplog) -> None:
    from uptake.store.repository import record_token_use, token_use_is_due

    mission_workflow(workflow_engine)
    with session_scope(workflow_engine) as session:
        user = add_user(session, ANALYST, "A", "icb-analyst", "QAA", actor="test")
        issue_api_token(session, user, "laptop", actor="test")
    with session_scope(workflow_engine) as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    now = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
    assert record_token_use(workflow_engine, token_id, now=now)  # never used: written
    assert not record_token_use(workflow_engine, token_id, now=now + dt.timedelta(seconds=59))
    assert record_token_use(workflow_engine, token_id, now=now + dt.timedelta(seconds=61))
    with session_scope(workflow_engine) as session:
        assert session.get(ApiToken, token_id).last_used_at == now + dt.timedelta(seconds=61)
    assert token_use_is_due(None) and token_use_is_due(now, now + dt.timedelta(minutes=2))
    assert not token_use_is_due(now, now + dt.timedelta(seconds=30))
    with caplog.at_level(logging.WARNING, logger="uptake.store.repository"):
        assert record_token_use(_engine_without_tables(), token_id, now=now) is False
    assert "could not record the use of API token" in caplog.text


def _engine_without_tables():
    return make_engine("sqlite://")  # in memory, no tables: the UPDATE fails


# --- stale edits through the API and the form ---------------------------------------------------------------


def test_a_stale_edit_or_step_through_the_api_answers_409_and_changes_nothing(site: Site) -> None:
    analyst, reviewer = site.tokens[ANALYST], site.tokens[REVIEWER]
    with TestClient(site.app) as client:
        first = client.post("/api/v1/plans", json=dict(FILING, content=PLAN, expected_version=0), headers=analyst)
        assert first.status_code == 201 and first.json()["version"] == 1
        filing_id = first.json()["id"]
        again = client.post("/api/v1/plans", json=dict(FILING, content=PLAN, expected_version=0), headers=analyst)
        assert again.status_code == 409 and STALE in again.json()["detail"]
        theirs = dict(PLAN, summary="Their edit")
        assert client.post("/api/v1/plans", json=dict(FILING, content=theirs, expected_version=1),
                           headers=analyst).json()["version"] == 2
        mine = client.post("/api/v1/plans", json=dict(FILING, content=dict(PLAN, summary="My edit"),
                                                      expected_version=1), headers=analyst)
        assert mine.status_code == 409 and mine.json()["detail"].startswith(STALE)
        stale_step = client.post(f"/api/v1/plans/{filing_id}/submit", json={"expected_version": 1}, headers=analyst)
        assert stale_step.status_code == 409
        filing = the_filing(site, client, filing_id)
        assert (filing["status"], filing["revision"], filing["version"]) == ("draft", 2, 2)
        assert filing["content"]["summary"] == "Their edit"
        submitted = client.post(f"/api/v1/plans/{filing_id}/submit", json={"expected_version": 2}, headers=analyst)
        assert submitted.status_code == 200 and submitted.json()["version"] == 3
        # a review step taken on the copy read before the submit is stale too
        assert client.post(f"/api/v1/plans/{filing_id}/accept", json={"expected_version": 2},
                           headers=reviewer).status_code == 409
        assert client.post(f"/api/v1/plans/{filing_id}/accept", json={"expected_version": 3},
                           headers=reviewer).json()["status"] == "accepted"
        spec = client.get("/api/v1/openapi.json").json()
        assert "409" in spec["paths"]["/api/v1/plans"]["post"]["responses"]


def test_a_stale_form_shows_the_error_summary_and_keeps_what_was_typed(site: Site) -> None:
    analyst = site.tokens[ANALYST]
    form = {"commitment": "stroke/thrombolysis", "kind": "plan", "summary": "Pre-alert and direct to CT.",
            "actions": "Pre-alert protocol | Network lead | 2022-09-30", "funding_amount": "250000",
            "funding_source": "ICB", "funding_years": "2022/23", "support": "Peer support.",
            "expected_trajectory": "2022-12-31 15%\n2025-12-31 20%"}
    with TestClient(site.app) as client:
        blank = client.get("/plans/new?framework=stroke&commitment=thrombolysis", headers=analyst).text
        assert 'name="version" value="0"' in blank and 'name="version_for" value="stroke/thrombolysis"' in blank
        created = client.post("/plans/new", data=dict(form, version="0", version_for="stroke/thrombolysis"),
                              headers=analyst, follow_redirects=False)
        assert created.status_code == 303
        filing_id = int(created.headers["location"].rsplit("/", 1)[1])
        page = client.get("/plans/new?framework=stroke&commitment=thrombolysis", headers=analyst).text
        assert 'name="version" value="1"' in page
        # someone else saves first
        assert client.post("/api/v1/plans", json=dict(FILING, content=dict(PLAN, summary="Their edit")),
                           headers=analyst).status_code == 201
        stale = client.post("/plans/new", data=dict(form, summary="My careful edit", version="1",
                                                    version_for="stroke/thrombolysis"), headers=analyst)
        assert stale.status_code == 409
        assert "There is a problem" in stale.text and "nhsuk-error-summary" in stale.text
        assert "Someone else changed this filing" in stale.text
        assert "My careful edit" in stale.text  # what they typed is still there
        filing = the_filing(site, client, filing_id)
        assert filing["content"]["summary"] == "Their edit" and filing["revision"] == 2
        # the version counts only for the commitment the form was opened for
        other = client.post("/plans/new", data=dict(form, version="1", version_for="stroke/something-else"),
                            headers=analyst, follow_redirects=False)
        assert other.status_code == 303
        plan_page = client.get(f"/plans/{filing_id}", headers=analyst).text
        version = re.search(r'name="version" value="(\d+)"', plan_page).group(1)
        assert version == "3"
        stale_step = client.post(f"/plans/{filing_id}/submit", data={"version": "2"}, headers=analyst)
        assert stale_step.status_code == 409 and "Someone else changed this filing" in stale_step.text
        assert "nhsuk-error-summary" in stale_step.text
        assert client.post(f"/plans/{filing_id}/submit", data={"version": version}, headers=analyst,
                           follow_redirects=False).status_code == 303
        assert the_filing(site, client, filing_id)["status"] == "submitted"


def test_a_conflict_no_route_answers_is_a_409(site: Site) -> None:
    from uptake.errors import Conflict

    def clash() -> None:
        raise Conflict()

    site.app.add_api_route("/api/v1/test-conflict", clash)
    site.app.add_api_route("/test-conflict", clash)
    with TestClient(site.app) as client:
        api = client.get("/api/v1/test-conflict")
        assert api.status_code == 409 and api.json() == {"detail": STALE}
        page = client.get("/test-conflict")
        assert page.status_code == 409 and "Someone else changed this" in page.text


# --- optimistic locking of every record people edit -----------------------------------------------------------


def _two_sessions_edit(engine, load: Callable, first: Callable, second: Callable) -> None:
    """Two people read the same record; the first saves; the second's save is refused (Conflict)."""
    from uptake.errors import Conflict

    with session_scope(engine) as reader:
        stale = load(reader)  # the second person's copy (read before the first person saved)
    with session_scope(engine, write=True) as session:
        first(load(session))
    with pytest.raises(Conflict, match=re.escape(STALE)):
        with session_scope(engine, write=True) as session:
            session.add(stale)  # their copy, as they read it
            second(stale)


def test_users_and_assessments_refuse_stale_edits(workflow_engine) -> None:
    engine = mission_workflow(workflow_engine)
    with session_scope(engine) as session:
        add_user(session, ANALYST, "A", "icb-analyst", "QAA", actor="test")
        assessment_id = add_assessment(session, ADMIN, **NATIONAL_ASSESSMENTS[0]).assessment.id

    def load_user(session):
        return session.scalars(select(User).where(User.email == ANALYST)).one()

    _two_sessions_edit(engine, load_user, lambda u: setattr(u, "name", "First"), lambda u: setattr(u, "active", False))
    with session_scope(engine) as session:
        user = load_user(session)
        assert (user.name, user.active, user.version) == ("First", True, 2)

    _two_sessions_edit(engine, lambda s: s.get(ValueAssessment, assessment_id),
                       lambda a: setattr(a, "conditions", "First"), lambda a: setattr(a, "conditions", "Second"))
    with session_scope(engine) as session:
        assert session.get(ValueAssessment, assessment_id).conditions == "First"


def test_filings_refuse_stale_edits_in_the_domain(workflow_engine) -> None:
    from uptake.errors import Conflict
    from uptake.mission.permissions import Who
    from uptake.mission.plans import save_filing, transition

    engine = mission_workflow(workflow_engine)
    who = Who(role="icb-analyst", email=ANALYST, scope_org_code="QAA")
    with session_scope(engine) as session:
        filing = save_filing(session, who, "stroke", "thrombolysis", "QAA", "plan", PLAN, expected_version=0)
        assert filing.version == 1
    _two_sessions_edit(engine, lambda s: s.get(ComplyOrJustifyFiling, filing.id),
                       lambda f: setattr(f, "status", "submitted"), lambda f: setattr(f, "revision", 99))
    with session_scope(engine) as session:
        with pytest.raises(Conflict):  # the reviewer read it before the other change
            transition(session, ADMIN, filing.id, "accept", expected_version=1)
        stored = session.get(ComplyOrJustifyFiling, filing.id)
        assert (stored.status, stored.revision, stored.version) == ("submitted", 1, 2)


def test_read_then_write_transactions_queue_instead_of_failing(workflow_engine) -> None:
    """Ten threads each read a user and save a change of what they read (session_scope(write=True)): on
    SQLite they queue for the write lock (BEGIN IMMEDIATE, busy timeout) and all succeed; on PostgreSQL the
    ones that race get Conflict. Never "database is locked", never a lost increment."""
    from uptake.errors import Conflict

    engine = mission_workflow(workflow_engine)
    with session_scope(engine) as session:
        add_user(session, ANALYST, "0", "icb-analyst", "QAA", actor="test")
    barrier = threading.Barrier(10, timeout=60)
    outcomes: list[str] = []

    def increment() -> None:
        barrier.wait()
        try:
            with session_scope(engine, write=True) as session:
                user = session.scalars(select(User).where(User.email == ANALYST)).one()
                time.sleep(0.01)  # widen the window between the read and the write
                user.name = str(int(user.name) + 1)
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001 - reported below
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=increment) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    counts = Counter(outcomes)
    assert set(counts) <= {"saved", "conflict"}, counts
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(User.email == ANALYST)).one()
        assert int(user.name) == counts["saved"] and user.version == 1 + counts["saved"]
    if engine.dialect.name == "sqlite":
        assert counts["saved"] == 10


def test_sqlite_waits_for_the_write_lock(tmp_path) -> None:
    from uptake.store.db import SQLITE_BUSY_TIMEOUT_MS

    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    begins: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, statement, *a: begins.append(statement)
                 if statement.startswith("BEGIN") else None)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS >= 5000
        begins.clear()
        with session_scope(engine) as session:
            session.execute(select(1))
        with session_scope(engine, write=True) as session:
            session.execute(select(1))
        assert begins == ["BEGIN", "BEGIN IMMEDIATE"]
    finally:
        engine.dispose()
