"""Sessions, CSRF protection, sign-in rate limiting and security headers.

- **Session cookie** ``uptake_session``: a signed (HMAC-SHA256, itsdangerous) and timestamped value holding
  the user id and the CSRF token; nothing else about the user is kept client-side, and the user is
  re-read from the database on every request, so deactivating a user ends their sessions at once.
  HttpOnly, SameSite=Lax, Path=/, 8 hours, and Secure whenever the request came over https (directly, or
  through a proxy that uvicorn trusts with --proxy-headers). A new session (and CSRF token) is issued at
  sign-in and the cookie is deleted at sign-out.
- **CSRF**: the synchroniser-token pattern. Every form that changes something carries ``csrf_token``;
  the server compares it, in constant time, with the token in the signed session. The Origin header, when
  the browser sends one, must also be this site. API calls authenticated by a bearer token carry no
  ambient credentials and are exempt.
- **Rate limiting** on sign-in: sliding windows per email and per client address.
- **Headers**: a Content-Security-Policy that allows scripts from this site only (no inline scripts, no
  eval), frame-ancestors 'none', nosniff, a same-origin referrer policy.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "uptake_session"
SESSION_MAX_AGE = 8 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Plotly and htmx set style attributes and inject <style> elements at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


def load_secret_key(path: Path) -> str:
    """The workspace's signing key (created on first use, readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
    key = secrets.token_urlsafe(48)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(key + "\n", encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)
    return key


@dataclass
class Session:
    """What the session cookie holds. ``user_id`` is None for a visitor who has not signed in."""

    csrf: str
    user_id: int | None = None
    issued: float = field(default_factory=time.time)
    modified: bool = False
    clear: bool = False

    @classmethod
    def new(cls, user_id: int | None = None) -> "Session":
        return cls(csrf=secrets.token_urlsafe(32), user_id=user_id, modified=True)


class SessionMiddleware:
    """Puts a :class:`Session` (or None) in ``scope['uptake.session']`` and writes it back if changed."""

    def __init__(self, app: ASGIApp, secret_key: str, max_age: int = SESSION_MAX_AGE):
        self.app = app
        self.max_age = max_age
        self.serializer = URLSafeTimedSerializer(secret_key, salt="uptake-session")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        session: Session | None = None
        raw = connection.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                data = self.serializer.loads(raw, max_age=self.max_age)
                session = Session(csrf=data["c"], user_id=data.get("u"), issued=data.get("t", 0))
            except (BadSignature, KeyError, TypeError):
                session = None
        scope["uptake.session"] = session
        secure = connection.url.scheme == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current: Session | None = scope.get("uptake.session")
                headers = MutableHeaders(scope=message)
                if current is not None and current.clear:
                    headers.append("set-cookie", self._cookie("", 0, secure))
                elif current is not None and current.modified:
                    value = self.serializer.dumps({"c": current.csrf, "u": current.user_id, "t": current.issued})
                    headers.append("set-cookie", self._cookie(value, self.max_age, secure))
            await send(message)

        await self.app(scope, receive, send_wrapper)

    @staticmethod
    def _cookie(value: str, max_age: int, secure: bool) -> str:
        parts = [f"{SESSION_COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)


def get_session(connection: HTTPConnection) -> Session | None:
    return connection.scope.get("uptake.session")


def ensure_session(connection: HTTPConnection) -> Session:
    """The visitor's session, creating one (with a CSRF token) if there is none yet."""
    session = get_session(connection)
    if session is None:
        session = Session.new()
        connection.scope["uptake.session"] = session
    return session


def start_session(connection: HTTPConnection, user_id: int) -> Session:
    """A fresh session for a user who has just signed in (a new CSRF token: no session fixation)."""
    session = Session.new(user_id)
    connection.scope["uptake.session"] = session
    return session


def end_session(connection: HTTPConnection) -> None:
    session = get_session(connection) or Session.new()
    session.clear = True
    connection.scope["uptake.session"] = session


def csrf_ok(connection: HTTPConnection, submitted: str | None) -> bool:
    session = get_session(connection)
    if session is None or not submitted:
        return False
    if not hmac.compare_digest(session.csrf.encode(), submitted.encode()):
        return False
    origin = connection.headers.get("origin")
    if origin and origin != "null":
        expected = f"{connection.url.scheme}://{connection.url.netloc}"
        if origin.rstrip("/") != expected:
            return False
    return True


class RateLimiter:
    """Sliding-window counters: at most ``limit`` events per key in ``window`` seconds (thread-safe)."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def retry_after(self, key: str) -> int:
        """Seconds to wait before ``key`` may try again (0: it may try now)."""
        now = time.monotonic()
        with self._lock:
            events = self._trim(key, now)
            if len(events) < self.limit:
                return 0
            return max(1, int(events[0] + self.window - now) + 1)

    def hit(self, key: str) -> None:
        with self._lock:
            self._trim(key, time.monotonic()).append(time.monotonic())

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
            await send(message)

        await self.app(scope, receive, send_wrapper)


def client_address(connection: HTTPConnection) -> str:
    client: Any = connection.client
    return client.host if client else "unknown"
