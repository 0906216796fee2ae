"""Pure ASGI middleware that guards the app before any route runs:

- ``RequestLimitsMiddleware``: refuses a request body larger than the limit with 413 *before reading it*
  (a declared Content-Length is checked before the app is called; a streamed, chunked body is counted as
  it arrives and cut off at the limit), and refuses a path with control characters (a NUL byte, a line
  break) or of absurd length, or a query string with a NUL or another control character, with 400, so no
  route ever sees one.
- ``ProxyHeadersMiddleware``: believes X-Forwarded-For and X-Forwarded-Proto only when the socket peer is
  one of the configured trusted proxies (UPTAKE_TRUSTED_PROXIES; none by default). The client is then the
  rightmost address in X-Forwarded-For that is not itself a trusted proxy: addresses further left were
  written by the client and prove nothing.

Both answer with a short JSON body under /api/ and plain text elsewhere (the NHS.UK error page needs the
app's templates, and neither answer is one a person using the site should ever see).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the longest path answered; a longer one is malformed (no page's address comes near)
MAX_PATH_CHARS = 2048


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes the limit (the app stops reading)."""


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope.get("path", "").startswith("/api/"):
        body, media = json.dumps({"detail": message}).encode(), b"application/json"
    else:
        body, media = message.encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", media), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})


def _malformed(path: str) -> bool:
    return len(path) > MAX_PATH_CHARS or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)


def _malformed_query(query: bytes) -> bool:
    """A query string carrying a NUL or another control character (other than tab and line breaks) once
    decoded: no parameter of this app takes one, and databases refuse them (PostgreSQL text cannot hold NUL)."""
    if not query:
        return False
    text = unquote_plus(query.decode("latin-1"), encoding="utf-8", errors="replace")
    return any((ord(c) < 0x20 and c not in "\t\n\r") or ord(c) == 0x7F for c in text)


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self) -> str:
        return (f"The request is too large: at most {self.max_body_bytes} bytes are accepted "
                "(UPTAKE_MAX_BODY_BYTES).")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _malformed(scope.get("path", "")) or _malformed_query(scope.get("query_string", b"")):
            await _refuse(scope, send, 400, "The address is malformed.")
            return
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _refuse(scope, send, 400, "The Content-Length header is not a number.")
                    return
                break
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(scope, send, 413, self._too_large())
            return

        limit = self.max_body_bytes
        state = {"received": 0, "exceeded": False, "started": False}

        async def limited_receive() -> Message:
            if state["exceeded"]:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            if state["exceeded"]:
                # The app caught BodyTooLarge and answered something else (FastAPI turns body errors into
                # 400): the answer is 413, sent once below, and whatever the app sends is dropped.
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        if state["exceeded"]:
            if state["started"]:  # the app had already answered: nothing more can be said
                return
            await _refuse(scope, send, 413, self._too_large())


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ProxyHeadersMiddleware:
    def __init__(self, app: ASGIApp, trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]):
        self.app = app
        self.trusted = tuple(trusted)

    def _trusted(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip.version == net.version and ip in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.trusted and scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and self._trusted(client[0]):
                headers = {}
                for name, value in scope.get("headers", ()):
                    if name in (b"x-forwarded-for", b"x-forwarded-proto"):
                        previous = headers.get(name)
                        text = value.decode("latin-1")
                        headers[name] = f"{previous}, {text}" if previous else text
                forwarded = [a.strip() for a in headers.get(b"x-forwarded-for", "").split(",") if a.strip()]
                if forwarded:
                    scope = dict(scope)
                    chosen = forwarded[0]
                    for address in reversed(forwarded):
                        if not self._trusted(address):
                            chosen = address
                            break
                    ip = _ip(chosen)
                    if ip is not None:
                        scope["client"] = (str(ip), 0)
                proto_header = headers.get(b"x-forwarded-proto", "")
                protos = [p.strip().lower() for p in proto_header.split(",") if p.strip()]
                if protos and protos[-1] in ("http", "https"):
                    scope = dict(scope)
                    secure = protos[-1] == "https"
                    if scope["type"] == "websocket":
                        scope["scheme"] = "wss" if secure else "ws"
                    else:
                        scope["scheme"] = protos[-1]
        await self.app(scope, receive, send)
