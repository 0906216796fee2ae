"""Serving an app on a free loopback port in a background thread, for the browser tests and benchmarks;
`Watched`, a Playwright page that records console errors and refuses requests off this machine; and what every
browser test module shares: where Chromium is (``needs_chromium`` skips a module without it), the ``browser``
fixture (registered in tests/web/conftest.py), the demo workspace served (``demo_server``) and ``sign_in``
through the sign-in form."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = Path(os.environ.get("UPTAKE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

#: ``pytestmark = needs_chromium`` in a browser test module
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium; `make test` installs it)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BackgroundServer:
    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uptake-test-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "BackgroundServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Watched:
    """A page that records console errors and refuses (and records) any request off this machine."""

    def __init__(self, context, base: str):
        self.page = context.new_page()
        self.errors: list[str] = []
        self.offsite: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(base) or r.request.url.startswith("data:") or r.request.url.startswith("blob:"):
                r.continue_()
            else:
                self.offsite.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)

    def check(self) -> None:
        assert not self.offsite, f"requests off this machine: {self.offsite}"
        assert not self.errors, f"console errors: {self.errors}"


CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


def launch_chromium(chromium=CHROMIUM):
    """A generator for a module-scoped pytest fixture: Debian's Chromium driven by Playwright for Python
    (skips the module if Playwright is missing)."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def axe_source() -> str:
    """axe-core's script from node_modules (installed by `npm ci`); skips the test when it is missing."""
    import pytest

    from uptake.web.assets import find_node_modules

    modules = find_node_modules()
    path = modules / "axe-core" / "axe.min.js" if modules else None
    if path is None or not path.exists():
        pytest.skip("axe-core is not installed in node_modules (run npm ci)")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module."""
    yield from launch_chromium(CHROMIUM)


def demo_server(demo):
    """A generator for a module-scoped fixture: the web tests' demo workspace served on a free port, the
    sign-in rate limit by address lifted (every test signs in from 127.0.0.1)."""
    from web_support import make_app

    from uptake.web.security import RateLimiter

    app = make_app(demo)
    app.state.web.signin_by_address = RateLimiter(10_000, 300)
    with BackgroundServer(app) as running:
        yield running


def sign_in(page, base: str, email: str, password: str, *, wait_until: str = "load") -> None:
    """Sign in through the sign-in form on ``page`` and wait to be sent home."""
    page.goto(base + "/sign-in", wait_until=wait_until)
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


class Visit:
    """A watched page of ``site`` in a browser context (someone's, signed in or not)."""

    def __init__(self, site, context):
        self.site = site
        self.watched = Watched(context, site.url)
        self.page = self.watched.page

    def goto(self, path: str, status: int = 200):
        """Open ``path`` and assert the answer's status."""
        response = self.page.goto(self.site.url + path, wait_until="load")
        assert response is not None and response.status == status, (path, response and response.status)
        self.forget(status)
        return response

    def forget(self, status: int) -> None:
        if status >= 400:  # Chromium logs the expected error status as a console error: forget that one
            self.watched.errors = [e for e in self.watched.errors if f"status of {status}" not in e]

    def check(self) -> None:
        self.watched.check()


def visits(site, people, visit=Visit, *, check: bool = True):
    """A generator for a ``visit`` fixture: visit(who) -> a ``visit`` (class) in people(who)'s context; at the
    end of the test each is checked (no console error, no request off this machine; with ``check``) and closed."""
    opened: list = []

    def make(who):
        v = visit(site, people(who))
        opened.append(v)
        return v

    yield make
    for v in opened:
        if check:
            v.check()
        v.page.close()


def people_contexts(browser, sign_in_as, **new_context):
    """A generator for a module-scoped ``people`` fixture: people(who) -> a browser context (1,280 x 900, and
    ``new_context``'s options) made once each and signed in by ``sign_in_as(context, who)``; people(None): a
    member of the public (never signed in). The contexts close at the end of the module."""
    contexts: dict = {}

    def get(who):
        if who not in contexts:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, **new_context)
            if who is not None:
                sign_in_as(context, who)
            contexts[who] = context
        return contexts[who]

    yield get
    for context in contexts.values():
        context.close()
