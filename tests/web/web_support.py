"""Helpers shared by the web tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
import workspace_builder  # noqa: E402

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(demo):
    from uptake.web.app import create_app

    return create_app(demo.workspace, catalogue=demo.built.catalogue, boundaries=workspace_builder.boundaries,
                      secret_key="test-secret-key-" + "x" * 32)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD):
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "next": "/",
                                         "csrf_token": csrf_of(page.text)}, follow_redirects=False)
