"""Sessions, CSRF protection, sign-in rate limiting and security headers.

- **Session cookie** ``uptake_session``: a signed (HMAC-SHA256, itsdangerous) and timestamped value holding
  the user id, a random session id, when the session began and the CSRF token; nothing else about the user
  is kept client-side. A signed-in session is recorded in the workflow database (``web_sessions``, by the
  hash of its id): every request checks that its row is live and re-reads the user, so signing out (which
  ends the row) or deactivating a user ends the session at once, in every worker process, whoever holds a
  copy of the cookie. The session lasts ``UPTAKE_SESSION_LIFETIME`` seconds at most (8 hours) and ends
  after ``UPTAKE_SESSION_IDLE_TIMEOUT`` seconds without a request (1 hour): the cookie's signature time is
  the last activity, re-signed at most every ``UPTAKE_SESSION_REFRESH_AFTER`` seconds, so the idle clock
  costs no database write. HttpOnly, SameSite=Lax, Path=/, and Secure whenever the request came over https
  (directly, or through a trusted proxy: UPTAKE_TRUSTED_PROXIES). A new session (and CSRF token) is issued
  at sign-in and the cookie is deleted at sign-out.
- **CSRF**: the synchroniser-token pattern. Every form that changes something carries ``csrf_token``;
  the server compares it, in constant time, with the token in the signed session. The Origin header, when
  the browser sends one, must also be this site. API calls authenticated by a bearer token carry no
  ambient credentials and are exempt.
- **Sign-in throttling** that slows attackers without locking anyone out: wrong passwords for one account
  from one address close that (account, address) pair for a growing time (30 s after the fifth, doubling,
  at most 15 minutes); any address is limited to 20 attempts in 5 minutes; and failures on an account from
  anywhere only *delay* its sign-ins (0.25 s after the fifth, doubling, at most 3 s), so the right password
  from another address still works. In memory, per worker process.
- **Headers**: a Content-Security-Policy that allows scripts from this site only (no inline scripts, no
  eval), frame-ancestors 'none', nosniff, a same-origin referrer policy.
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "uptake_session"
SESSION_MAX_AGE = 8 * 3600  # the default lifetime; see uptake.web.settings
SESSION_IDLE_TIMEOUT = 3600
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
    issued: float = field(default_factory=lambda: now())
    #: the session id of a signed-in session (its hash is the row in web_sessions); None when anonymous
    sid: str | None = None
    modified: bool = False
    clear: bool = False

    @classmethod
    def new(cls, user_id: int | None = None, sid: str | None = None) -> "Session":
        return cls(csrf=secrets.token_urlsafe(32), user_id=user_id, sid=sid, modified=True)


def now() -> float:
    """The session clock (wall time); tests replace it to step time without sleeping."""
    return time.time()


class _Signer(TimestampSigner):
    """itsdangerous' timestamp signer on the session clock (whole seconds, as itsdangerous signs)."""

    def get_timestamp(self) -> int:
        return int(now())


class SessionMiddleware:
    """Puts a :class:`Session` (or None) in ``scope['uptake.session']`` and writes it back if changed.

    A cookie older than ``lifetime`` (from sign-in) is ignored; so is a signed-in cookie whose signature is
    older than ``idle_timeout`` (the signature is renewed on activity, every ``refresh_after`` seconds).
    """

    def __init__(self, app: ASGIApp, secret_key: str, max_age: int = SESSION_MAX_AGE,
                 idle_timeout: int = SESSION_IDLE_TIMEOUT, refresh_after: int = 60):
        self.app = app
        self.max_age = max_age
        self.idle_timeout = min(idle_timeout, max_age)
        self.refresh_after = refresh_after
        self.serializer = URLSafeTimedSerializer(secret_key, salt="uptake-session", signer=_Signer)

    def _read(self, raw: str) -> tuple[Session | None, bool]:
        """The session in a cookie, and whether a stale cookie should be deleted."""
        try:
            data, signed = self.serializer.loads(raw, max_age=self.max_age, return_timestamp=True)
            session = Session(csrf=data["c"], user_id=data.get("u"), issued=float(data.get("t", 0)),
                              sid=data.get("s"))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None, True
        current = now()
        if current - session.issued > self.max_age:
            return None, True  # past its lifetime, however active
        if session.user_id is not None:
            idle = current - signed.timestamp()
            if idle > self.idle_timeout:
                return None, True
            if idle >= self.refresh_after:
                session.modified = True  # renew the signature: the idle clock starts again
        return session, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        session: Session | None = None
        stale = False
        raw = connection.cookies.get(SESSION_COOKIE)
        if raw:
            session, stale = self._read(raw)
        scope["uptake.session"] = session
        secure = connection.url.scheme == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current: Session | None = scope.get("uptake.session")
                headers = MutableHeaders(scope=message)
                if (current is not None and current.clear) or (current is None and stale):
                    headers.append("set-cookie", self._cookie("", 0, secure))
                elif current is not None and current.modified:
                    value = self.serializer.dumps(
                        {"c": current.csrf, "u": current.user_id, "t": current.issued, "s": current.sid})
                    remaining = max(1, math.ceil(current.issued + self.max_age - now()))
                    headers.append("set-cookie", self._cookie(value, remaining, secure))
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


def start_session(connection: HTTPConnection, user_id: int, sid: str) -> Session:
    """A fresh session for a user who has just signed in (a new session id and CSRF token: no session
    fixation). ``sid`` is the id recorded in the workflow database (uptake.store.session_models)."""
    session = Session.new(user_id, sid)
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


class Backoff:
    """Failures per key, with a wait that doubles: after ``free`` failures, a key must wait
    ``base * 2 ** (failures - free)`` seconds (at most ``cap``) from its latest failure. A key is forgotten
    ``forget`` seconds after its latest failure; at most ``max_keys`` keys are kept, the least recently failed
    dropped first, so a flood of made-up keys cannot exhaust memory. Thread-safe."""

    def __init__(self, free: int, base: float, cap: float, forget: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        self.free, self.base, self.cap, self.forget, self.max_keys = free, base, cap, forget, max_keys
        self.clock = clock
        self._entries: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] > self.forget:
            del self._entries[key]
            return None
        return entry

    def step(self, failures: int) -> float:
        """The wait after ``failures`` failures (0 while they are within the free allowance)."""
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** min(failures - self.free, 60))

    def failures(self, key: str) -> int:
        with self._lock:
            entry = self._entry(key, self.clock())
            return entry[0] if entry else 0

    def wait(self, key: str) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            entry = self._entry(key, now)
        if entry is None:
            return 0.0
        return max(0.0, entry[1] + self.step(entry[0]) - now)

    def fail(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            entry = self._entry(key, now)
            self._entries[key] = ((entry[0] if entry else 0) + 1, now)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)

    def reset(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class SignInThrottle:
    """Sign-in throttling that cannot lock a user out.

    - The (account, address) pair is *refused* for a growing time after repeated failures: 30 s after the
      fifth wrong password, doubling with each further one, at most 15 minutes.
    - The account, from any address, is only *slowed down*: after five failures every attempt on it waits
      0.25 s, doubling, at most 3 s, before its password is checked. The right password from an address
      that has not been failing still signs in.
    - (Each address is also limited to 20 attempts in 5 minutes: ``Web.signin_by_address``.)

    A success resets the pair and the account. Counts are forgotten an hour after the latest failure.
    """

    def __init__(self, free: int = 5, pair_base: float = 30, pair_cap: float = 15 * 60,
                 account_base: float = 0.25, account_cap: float = 3.0, forget: float = 3600,
                 clock: Callable[[], float] = time.monotonic):
        self.pair = Backoff(free, pair_base, pair_cap, forget, clock=clock)
        self.account = Backoff(free, account_base, account_cap, forget, clock=clock)

    @staticmethod
    def _pair(email: str, address: str) -> str:
        return f"{email}\n{address}"

    def refusal(self, email: str, address: str) -> float:
        """Seconds before this address may try this account again (0: now)."""
        return self.pair.wait(self._pair(email, address))

    def delay(self, email: str) -> float:
        """Seconds to wait before checking a password for this account (never a refusal)."""
        return self.account.step(self.account.failures(email))

    def failed(self, email: str, address: str) -> None:
        self.pair.fail(self._pair(email, address))
        self.account.fail(email)

    def succeeded(self, email: str, address: str) -> None:
        self.pair.reset(self._pair(email, address))
        self.account.reset(email)


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
    """The client's address: the socket peer, or what a trusted proxy says (see uptake.web.limits)."""
    client: Any = connection.client
    return client.host if client else "unknown"
