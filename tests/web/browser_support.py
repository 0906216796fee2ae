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
