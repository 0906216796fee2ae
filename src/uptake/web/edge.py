"""The edge cache: anonymous GETs of pages and API answers already built for this snapshot are answered here,
before the middleware stack and FastAPI's routing, with the same body and headers the full path gave.

Why: under load nearly every request is an anonymous GET of something already in the response cache
(``Web.cached_page`` and ``api.common.respond``), yet each one still went through the session, limits and
security-header middlewares, routing, dependencies and the principal lookup: most of a request's CPU on a
2-core machine. The edge serves those from the same cache with the headers the full path sent.

What is served here, and only this:
- a GET with no body, no Authorization header and no session cookie (the visitor is anonymous, as the full
  path would decide), and no If-None-Match (revalidations go the full path, which answers 304);
- whose answer the full path built as a public cached answer for the current snapshot (the handler marks it
  with ``mark``; answers that also depend on the workflow database, the mission's, are never marked), with
  status 200 and no Set-Cookie.

The key is the snapshot version, the HTMX partial flag, the scheme, the path and the query string; the body
is the cached one (gzip when the client accepts it), the headers the ones the full path sent (security
headers included) but for the length and encoding, which are set for the body sent. A new snapshot empties the
response cache and with it these entries (``Web.fresh_cache``).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uptake.web.security import SESSION_COOKIE
from uptake.web.state import CachedBody

__all__ = ["EdgeCacheMiddleware", "mark", "MARK"]

#: the scope key a handler sets to the CachedBody it answered with, when the answer is public
MARK = "uptake.edge"
_DROP = {b"content-length", b"content-encoding"}


def mark(scope: Scope, body: CachedBody) -> None:
    """Say that this request's answer is ``body``, public for every anonymous visitor of this snapshot."""
    scope[MARK] = body


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def _eligible(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") != "GET":
        return False
    cookie = _header(scope, b"cookie")
    if cookie is not None and SESSION_COOKIE.encode() + b"=" in cookie:
        return False
    for name in (b"authorization", b"if-none-match", b"transfer-encoding"):
        if _header(scope, name) is not None:
            return False
    length = _header(scope, b"content-length")
    return length is None or length.strip() == b"0"


def _key(scope: Scope, version: str) -> str:
    partial = (_header(scope, b"hx-request") == b"true" and _header(scope, b"hx-history-restore-request") is None)
    query = scope.get("query_string", b"").decode("latin-1")
    return f"edge|{version}|{int(partial)}|{scope.get('scheme', 'http')}|{scope.get('path', '')}?{query}"


def _gzip_ok(scope: Scope) -> bool:
    accept = _header(scope, b"accept-encoding")
    return accept is not None and b"gzip" in accept


class EdgeCacheMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        web: Any = getattr(getattr(scope.get("app"), "state", None), "web", None)
        if web is None or not _eligible(scope):
            await self.app(scope, receive, send)
            return
        version = web.snapshots.current.version
        key = _key(scope, version)
        hit = web.fresh_cache().get(key)
        if hit is not None:
            body, headers = hit
            await self._send(scope, send, body, headers)
            return

        started: dict[str, Any] = {}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started["status"] = message["status"]
                started["headers"] = list(message.get("headers", []))
            await send(message)

        await self.app(scope, receive, capture)
        body = scope.get(MARK)
        if not isinstance(body, CachedBody) or started.get("status") != 200:
            return
        headers = [(k, v) for k, v in started.get("headers", []) if k.lower() not in _DROP]
        if any(k.lower() == b"set-cookie" for k, _ in headers):
            return
        web.cache.put(key, (body, headers))

    @staticmethod
    async def _send(scope: Scope, send: Send, body: CachedBody, headers: list[tuple[bytes, bytes]]) -> None:
        payload = body.body
        out = list(headers)
        if body.gzipped is not None and _gzip_ok(scope):
            payload = body.gzipped
            out.append((b"content-encoding", b"gzip"))
        out.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": payload})

