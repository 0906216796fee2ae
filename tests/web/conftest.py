"""Shared fixtures for the web tests: one small workspace per test session (see workspace_builder), an app
over it, demo users with known passwords (one per role), and signed-in clients."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
import workspace_builder  # noqa: E402
from web_support import PASSWORD, make_app, sign_in  # noqa: E402
from browser_support import browser  # noqa: E402, F401 (the browser tests' fixture)


@dataclass(frozen=True)
class DemoWorkspace:
    built: workspace_builder.Built
    users: dict[str, "object"]  # role -> DemoUser

    @property
    def workspace(self):
        return self.built.workspace


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoWorkspace:
    from uptake.store.db import make_engine, session_scope
    from uptake.web.accounts import ensure_demo_users

    built = workspace_builder.build(tmp_path_factory.mktemp("web") / "workspace")
    engine = make_engine(built.workspace.database_url)
    try:
        with session_scope(engine) as db:
            users = ensure_demo_users(db, icb_code="QMJ", provider_code="RAL", innovation_id="doacs",
                                      password_factory=lambda: PASSWORD)
    finally:
        engine.dispose()
    return DemoWorkspace(built, {u.role: u for u in users})


@pytest.fixture(scope="session")
def app(demo: DemoWorkspace):
    from uptake.web.security import RateLimiter

    shared = make_app(demo)
    # Many tests sign in from the same test client address; the per-address limit is tested on fresh_app.
    shared.state.web.signin_by_address = RateLimiter(100_000, 300)
    return shared


@pytest.fixture
def fresh_app(demo: DemoWorkspace):
    """An app of its own (fresh rate limiters and caches) for tests that change them."""
    return make_app(demo)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="session")
def session_cookies(app, demo) -> dict[str, str]:
    """One real sign-in per role (Argon2 is slow on purpose); tests reuse the session cookies."""
    cookies = {}
    for role, user in demo.users.items():
        with TestClient(app, base_url="http://testserver") as c:
            response = sign_in(c, user.email)
            assert response.status_code == 303, response.text
            cookies[role] = c.cookies.get("uptake_session")
    return cookies


@pytest.fixture
def signed_in(app, session_cookies):
    """A factory: signed_in(role) -> a TestClient signed in as that role's demo user."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        c = TestClient(app, base_url="http://testserver", cookies={"uptake_session": session_cookies[role]})
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)
