"""Limits and sessions (issue 12, items 6 and 7): the request body limit, sign-in throttling that cannot lock
a user out, X-Forwarded-For trusted only from configured proxies, sign-out ending the session on the server,
session lifetime and idle timeout, malformed paths, and a workflow database behind its migrations."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from web_support import PASSWORD, csrf_of, make_app, sign_in

ATTACKER = ("192.0.2.66", 40000)
FRESH = ("198.51.100.7", 40000)


def _app(demo, **settings):
    from uptake.web.app import create_app
    from uptake.web.settings import WebSettings

    import workspace_builder

    return create_app(demo.workspace, catalogue=demo.built.catalogue, boundaries=workspace_builder.boundaries,
                      secret_key="test-secret-key-" + "x" * 32, settings=WebSettings(**settings))


# ---------------------------------------------------------------------- the server `uptake serve` starts
@pytest.fixture(scope="module")
def served(demo):
    """The app served by `run_server` (with uvicorn's options exactly as `uptake serve` passes them) on a free
    loopback port, in a background thread."""
    import uvicorn

    from browser_support import free_port
    from uptake.cli.serve import run_server

    port = free_port()
    started: dict = {}

    def fake_run(app, **options):
        server = uvicorn.Server(uvicorn.Config(app, **options))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        started.update(server=server, thread=thread, app=app)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(uvicorn, "run", fake_run)
        run_server(demo.workspace, "127.0.0.1", port)
    server = started["server"]
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and started["thread"].is_alive(), "the server did not start"
        time.sleep(0.05)
    yield port, started["app"]
    server.should_exit = True
    started["thread"].join(timeout=10)


def _raw(port: int, head: bytes, body: bytes = b"", timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.parametrize("path", ["/sign-in", "/api/v1/plans", "/plans/new"])
def test_a_huge_declared_body_is_refused_before_it_is_read(served, path):
    """An anonymous POST declaring 300 MB: 413 at once, having read (almost) nothing; before, the server read
    the whole body before answering 401/403 (12-18 s and +500 MB of memory each)."""
    port, _ = served
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {300 * 1024 * 1024}\r\n\r\n").encode()
    started = time.monotonic()
    try:
        answer = _raw(port, head, b"a" * 1000)
    except TimeoutError:
        pytest.fail("the server waited for the 300 MB body instead of refusing it")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 3


def test_a_chunked_body_past_the_limit_is_refused_by_the_server(served):
    """The same without a Content-Length: a chunked body is counted as it arrives and refused at the limit
    (before, it was read whole, however large)."""
    port, _ = served
    head = (b"POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n")
    # 4 MiB, twice the default limit, in fields of 512 KiB (the form parser refuses a field over 1 MiB itself)
    body = b"&".join(b"f%d=" % i + b"x" * (512 * 1024) for i in range(8))
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        def stream():
            try:
                sock.sendall(head)
                for chunk in chunks:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server answered and closed the connection

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        sender.join(timeout=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_streamed_body_is_cut_off_at_the_limit():
    """A chunked body (no Content-Length) is counted as it arrives; the app never sees more than the limit."""
    from uptake.web.limits import RequestLimitsMiddleware

    seen = []

    async def app(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            seen.append(len(body))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    sent = {"bytes": 0}

    async def receive():
        sent["bytes"] += 65536
        return {"type": "http.request", "body": b"x" * 65536, "more_body": sent["bytes"] < 100 * 1024 * 1024}

    answers = []

    async def send(message):
        answers.append(message)

    scope = {"type": "http", "method": "POST", "path": "/sign-in",
             "headers": [(b"transfer-encoding", b"chunked")]}
    asyncio.run(RequestLimitsMiddleware(app, max_body_bytes=1024 * 1024)(scope, receive, send))
    assert answers[0]["status"] == 413
    assert sent["bytes"] <= 1024 * 1024 + 65536  # stopped reading at the limit, not at 100 MB
    assert max(seen, default=0) <= 1024 * 1024


def test_a_body_within_the_limit_is_served(demo):
    app = _app(demo, max_body_bytes=4096)
    with TestClient(app) as client:
        assert sign_in(client, demo.users["innovator"].email).status_code == 303
        token = csrf_of(client.get("/account").text)
        big = client.post("/account/tokens", data={"csrf_token": token, "label": "x" * 5000})
        assert big.status_code == 413
        assert "too large" in big.text
        api = client.post("/api/v1/plans", content=b"{" + b" " * 5000 + b"}",
                          headers={"content-type": "application/json"})
        assert api.status_code == 413 and "detail" in api.json()


# ---------------------------------------------------------------------- sign-in throttling
def test_wrong_passwords_from_elsewhere_cannot_lock_a_user_out(fresh_app, demo):
    """Before, 5 wrong passwords from anywhere locked the account for everyone for 15 minutes."""
    email = demo.users["icb-analyst"].email
    with TestClient(fresh_app, client=ATTACKER) as attacker:
        for _ in range(6):
            assert sign_in(attacker, email, "wrong password 123").status_code in (400, 429)
        assert sign_in(attacker, email).status_code == 429  # the attacker's own address is refused
    with TestClient(fresh_app, client=FRESH) as user:
        started = time.monotonic()
        response = sign_in(user, email)
        assert response.status_code == 303, response.text
        assert time.monotonic() - started < 8  # slowed down a little at most


def test_the_pair_refusal_grows_and_a_success_resets_it():
    from uptake.web.security import SignInThrottle

    throttle = SignInThrottle()
    for _ in range(5):
        assert throttle.refusal("a@example.org", "192.0.2.1") == 0
        throttle.failed("a@example.org", "192.0.2.1")
    first = throttle.refusal("a@example.org", "192.0.2.1")
    throttle.failed("a@example.org", "192.0.2.1")
    second = throttle.refusal("a@example.org", "192.0.2.1")
    assert 0 < first < second <= 15 * 60
    assert throttle.refusal("a@example.org", "192.0.2.2") == 0  # another address is not refused
    assert 0 < throttle.delay("a@example.org") <= 3  # only slowed down, and by a few seconds at most
    for _ in range(50):
        throttle.failed("a@example.org", "192.0.2.3")
    assert throttle.delay("a@example.org") <= 3
    throttle.succeeded("a@example.org", "192.0.2.1")
    assert throttle.refusal("a@example.org", "192.0.2.1") == 0 and throttle.delay("a@example.org") == 0


def test_the_throttle_forgets_old_keys():
    from uptake.web.security import Backoff

    backoff = Backoff(free=1, base=1, cap=10, forget=3600, max_keys=100)
    for i in range(1000):
        backoff.fail(f"key{i}")
    assert len(backoff) <= 100


# ---------------------------------------------------------------------- X-Forwarded-For
def test_rotating_x_forwarded_for_does_not_escape_the_address_limit(served):
    """Before, `uptake serve` trusted X-Forwarded-For from 127.0.0.1, so rotating it bypassed the per-address
    sign-in limit."""
    import httpx

    port, app = served
    base = f"http://127.0.0.1:{port}"
    statuses = []
    with httpx.Client(base_url=base) as client:
        for i in range(25):
            page = client.get("/sign-in")
            response = client.post("/sign-in", data={"email": f"nobody{i}@example.org", "password": "x" * 12,
                                                     "csrf_token": csrf_of(page.text), "next": "/"},
                                   headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
            statuses.append(response.status_code)
    assert 429 in statuses, statuses


def test_x_forwarded_for_is_trusted_only_from_configured_proxies(demo):
    from uptake.web.security import client_address

    for settings, peer, expected in [
        ({}, ("10.0.0.5", 1), "10.0.0.5"),
        ({"trusted_proxies": "10.0.0.0/8"}, ("10.0.0.5", 1), "203.0.113.9"),
        ({"trusted_proxies": "10.0.0.0/8, 192.168.1.1"}, ("192.168.1.1", 1), "203.0.113.9"),
        ({"trusted_proxies": "10.0.0.5"}, ("10.0.0.6", 1), "10.0.0.6"),
    ]:
        app = _app(demo, **settings)

        @app.get("/test-address")
        def address(request: Request):
            return {"address": client_address(request), "scheme": request.url.scheme}

        app.router.routes.insert(0, app.router.routes.pop())
        with TestClient(app, client=peer) as client:
            # a client puts whatever it likes on the left; the proxy appends the address it saw
            forwarded = {"X-Forwarded-For": "1.2.3.4, 203.0.113.9, 10.0.0.7", "X-Forwarded-Proto": "https"}
            response = client.get("/test-address", headers=forwarded)
            answer = response.json()
            proxied = expected == "203.0.113.9"
            assert answer["address"] == expected, (settings, answer)
            assert answer["scheme"] == ("https" if proxied else "http")
            # behind a trusted TLS proxy: HSTS, and the session cookie is Secure
            assert ("strict-transport-security" in response.headers) == proxied
            assert ("Secure" in client.get("/sign-in", headers=forwarded).headers["set-cookie"]) == proxied


def test_trusted_proxies_must_be_addresses():
    from pydantic import ValidationError

    from uptake.web.settings import WebSettings

    with pytest.raises(ValidationError, match="not an IP address or network"):
        WebSettings(trusted_proxies="proxy.example")


# ---------------------------------------------------------------------- sessions
def test_a_copied_cookie_stops_working_at_sign_out(fresh_app, demo):
    """Before, sign-out only deleted the browser's cookie: a copy kept working for up to 8 hours."""
    with TestClient(fresh_app) as client:
        sign_in(client, demo.users["national-admin"].email)
        copied = client.cookies.get("uptake_session")
        assert client.get("/api/v1/me").json()["role"] == "national-admin"
        response = client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/").text)},
                                follow_redirects=False)
        assert response.status_code == 303
    with TestClient(fresh_app, cookies={"uptake_session": copied}) as thief:
        assert thief.get("/api/v1/me").json()["role"] == "public"
        assert thief.get("/admin/users").status_code == 404


def test_sessions_are_recorded_and_ended_in_the_workflow_database(fresh_app, demo):
    from sqlalchemy import select

    from uptake.store.db import make_engine, session_scope
    from uptake.store.session_models import WebSession

    user = demo.users["innovator"]
    with TestClient(fresh_app) as client:
        sign_in(client, user.email)
        engine = make_engine(demo.workspace.database_url)
        try:
            with session_scope(engine) as db:
                rows = db.scalars(select(WebSession).where(WebSession.ended_at.is_(None))).all()
                assert rows and all(len(row.id) == 64 for row in rows)  # a hash, not the session id itself
                assert client.cookies.get("uptake_session") not in {row.id for row in rows}
            client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/").text)})
            with session_scope(engine) as db:
                ended = db.scalars(select(WebSession).where(WebSession.ended_at.is_not(None))).all()
                assert ended
        finally:
            engine.dispose()


class _Clock:
    """A session clock stepped by the test instead of sleeping (slow machines cannot make it flaky)."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.25

    def __call__(self) -> float:
        return self.t


def test_an_idle_session_ends(demo, monkeypatch):
    from uptake.web import security

    clock = _Clock()
    monkeypatch.setattr(security, "now", clock)
    app = _app(demo, session_idle_timeout=10, session_refresh_after=0)
    with TestClient(app) as client:
        sign_in(client, demo.users["provider-lead"].email)
        for _ in range(3):  # activity every 6 s keeps it alive for 18 s, past the 10 s idle timeout
            clock.t += 6
            assert client.get("/api/v1/me").json()["role"] == "provider-lead"
        clock.t += 12
        assert client.get("/api/v1/me").json()["role"] == "public"


def test_a_session_ends_after_its_lifetime_even_when_active(demo, monkeypatch):
    from uptake.web import security

    clock = _Clock()
    monkeypatch.setattr(security, "now", clock)
    app = _app(demo, session_lifetime=30, session_idle_timeout=30, session_refresh_after=0)
    with TestClient(app) as client:
        response = sign_in(client, demo.users["provider-lead"].email)
        assert "Max-Age=30" in response.headers["set-cookie"]
        for _ in range(5):  # active every 5 s: still signed in at 25 s
            clock.t += 5
            assert client.get("/api/v1/me").json()["role"] == "provider-lead"
        clock.t += 6  # 31 s after sign-in, 6 s after the last request
        assert client.get("/api/v1/me").json()["role"] == "public"


def test_a_cookie_from_before_the_session_table_is_not_accepted(fresh_app, demo):
    """Cookies signed before sessions were recorded carry no session id: they sign nobody in."""
    from itsdangerous import URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer("test-secret-key-" + "x" * 32, salt="uptake-session")
    old = serializer.dumps({"c": "csrf", "u": 1, "t": time.time()})
    with TestClient(fresh_app, cookies={"uptake_session": old}) as client:
        assert client.get("/api/v1/me").json()["role"] == "public"


# ---------------------------------------------------------------------- malformed paths
@pytest.mark.parametrize("path", [
    "/static/app.js%00.png", "/static/%00", "/assets/%00/x.svg", "/organisations/MJ0%00",
    "/static/..%2f..%2fsecret", "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/app.js%0a",
    "/geo/icb%00.json", "/api/v1/organisations/%00",
    "/static/" + "a" * 5000,
    "/ratings?status=published&level=%00", "/api/v1/ratings?level=%00", "/organisations?q=a%00b",
    "/innovations/doacs?level=icb&period=%01",
])
def test_malformed_paths_answer_400_or_404(fresh_app, path):
    with TestClient(fresh_app, raise_server_exceptions=False) as client:
        response = client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code)


def test_ordinary_query_strings_pass(fresh_app):
    with TestClient(fresh_app, raise_server_exceptions=False) as client:
        assert client.get("/organisations?q=north+london").status_code == 200
        assert client.get("/organisations?q=St%20Mary%27s%20%26%20Co").status_code == 200


# ---------------------------------------------------------------------- migrations at start
def _behind(tmp_path, database_url):
    from uptake.store.migrate import downgrade, head_revision, upgrade
    from uptake.workspace import Workspace

    from alembic.script import ScriptDirectory
    from uptake.store.migrate import alembic_config

    ws = Workspace(root=tmp_path / "ws", database_url_override=database_url).ensure()
    upgrade(ws.database_url)
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision()).down_revision
    downgrade(ws.database_url, previous)
    return ws, previous


def test_the_server_refuses_a_database_behind_its_migrations(tmp_path, database_url):
    """Before, the app started and /plans answered 500."""
    from uptake.errors import UptakeError
    from uptake.store.migrate import current_revision
    from uptake.web.app import create_app

    ws, previous = _behind(tmp_path, database_url)
    with pytest.raises(UptakeError) as refused:
        create_app(ws, secret_key="k" * 40)
    message = str(refused.value)
    assert "uptake init" in message and "UPTAKE_MIGRATE_ON_START" in message and previous in message
    assert current_revision(ws.database_url) == previous  # nothing was changed


def test_the_server_refuses_a_database_that_was_never_migrated(tmp_path):
    from uptake.errors import UptakeError
    from uptake.web.app import create_app
    from uptake.workspace import Workspace

    ws = Workspace(root=tmp_path / "ws").ensure()
    with pytest.raises(UptakeError, match="uptake init"):
        create_app(ws, secret_key="k" * 40)


def test_the_server_can_migrate_on_start(tmp_path, database_url):
    from uptake.store.migrate import current_revision, head_revision
    from uptake.web.app import create_app
    from uptake.web.settings import WebSettings

    ws, _ = _behind(tmp_path, database_url)
    app = create_app(ws, secret_key="k" * 40, settings=WebSettings(migrate_on_start=True))
    assert current_revision(ws.database_url) == head_revision()
    app.state.web.engine.dispose()


def test_migrate_on_start_is_read_from_the_environment(monkeypatch):
    from uptake.web.settings import WebSettings

    monkeypatch.setenv("UPTAKE_MIGRATE_ON_START", "1")
    monkeypatch.setenv("UPTAKE_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("UPTAKE_TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8")
    settings = WebSettings()
    assert settings.migrate_on_start and settings.max_body_bytes == 4096
    assert [str(n) for n in settings.proxy_networks] == ["127.0.0.1/32", "10.0.0.0/8"]
    monkeypatch.delenv("UPTAKE_MIGRATE_ON_START")
    monkeypatch.delenv("UPTAKE_MAX_BODY_BYTES")
    monkeypatch.delenv("UPTAKE_TRUSTED_PROXIES")
    defaults = WebSettings()
    assert defaults.max_body_bytes == 2 * 1024 * 1024 and defaults.trusted_proxies == ""
    assert defaults.session_lifetime == 8 * 3600 and defaults.session_idle_timeout == 3600
    assert not defaults.migrate_on_start


def test_a_password_is_still_checked_after_the_delay(fresh_app, demo):
    """The account-wide backoff delays, never refuses: a wrong password after it is still a plain 400."""
    email = demo.users["provider-lead"].email
    for i in range(5):
        with TestClient(fresh_app, client=(f"192.0.2.{i + 10}", 1)) as attacker:
            assert sign_in(attacker, email, "wrong password 123").status_code == 400
    with TestClient(fresh_app, client=FRESH) as user:
        assert sign_in(user, email, "another wrong one").status_code == 400
        assert sign_in(user, email, PASSWORD).status_code == 303
