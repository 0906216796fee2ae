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
  with ``mark``), with status 200 and no Set-Cookie.

The key is the snapshot version, the HTMX partial flag, the scheme, the path and the query string; the body
is the cached one (gzip when the client accepts it), the headers the ones the full path sent (security
headers included) but for the length and encoding, which are set for the body sent. A new snapshot empties the
response cache and with it these entries (``Web.fresh_cache``), but for those built for it ahead of the
switch (``Web.prerender``, which asks for the requests counted here in ``Web.hot``).

Answers that also show what lives in the workflow database (the mission's pages and API: published ratings,
frameworks, assessments) are marked with the function that reads a stamp of that state. The edge remembers
which requests have such a stamp, reads it for each of them (one read shared by the requests that arrive
while it runs: ``Web.shared``, as the full path does) and keeps the answer under the key and the stamp, so a
change in the workflow database shows on the next request, as it does on the full path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uptake.web.security import SESSION_COOKIE
from uptake.web.state import HOT_LIMIT, MARK, MARK_VARIANT, CachedBody, mark

__all__ = ["EdgeCacheMiddleware", "mark", "MARK"]

_DROP = {b"content-length", b"content-encoding"}
#: how many requests with a stamp the edge remembers (beyond that, new ones go the full path every time)
VARIANT_LIMIT = 50_000


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


def _request(scope: Scope) -> tuple[str, str, bool, str, str]:
    """(scheme, host, HTMX partial, path, query): what names the answer, and what asks for it again."""
    partial = (_header(scope, b"hx-request") == b"true" and _header(scope, b"hx-history-restore-request") is None)
    host = (_header(scope, b"host") or b"").decode("latin-1")
    return (scope.get("scheme", "http"), host, partial, scope.get("path", ""),
            scope.get("query_string", b"").decode("latin-1"))


def _unversioned(request: tuple[str, str, bool, str, str]) -> str:
    scheme, _, partial, path, query = request
    return f"{int(partial)}|{scheme}|{path}?{query}"


def _gzip_ok(scope: Scope) -> bool:
    accept = _header(scope, b"accept-encoding")
    return accept is not None and b"gzip" in accept


class EdgeCacheMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app
        #: the requests whose answers carry a stamp of the workflow database: key without version -> reader
        self._variants: dict[str, Any] = {}  # request -> its stamp reader (Web.variant_stamp)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        web: Any = getattr(getattr(scope.get("app"), "state", None), "web", None)
        if web is None or not _eligible(scope):
            await self.app(scope, receive, send)
            return
        web.loop = asyncio.get_running_loop()  # for building a new snapshot's pages ahead of the switch
        if not web.snapshots.ahead:
            web.visits += 1  # a visitor's request (not the prerender's): the prerender paces itself while any come
        request = _request(scope)
        version = web.snapshots.current.version
        unversioned = _unversioned(request)
        key = f"edge|{version}|{unversioned}"
        variant = self._variants.get(unversioned)
        if variant is not None:
            try:
                key += "|" + await web.variant_stamp(variant, version)
            except Exception:  # the full path reads the stamp again and answers as it must
                variant, key = None, ""
        hit = web.fresh_cache().get(key) if key else None
        if hit is not None:
            body, headers = hit
            _count(web, request)
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
        if web.snapshots.current.version != version:  # switched while it was built: which one it shows is unsure
            return
        key = f"edge|{version}|{unversioned}"
        marked = scope.get(MARK_VARIANT)
        if marked is not None:
            reader, stamp = marked
            if unversioned not in self._variants and len(self._variants) >= VARIANT_LIMIT:
                return
            self._variants[unversioned] = reader
            key += "|" + stamp
        web.cache.put(key, (body, headers))
        _count(web, request)

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



def _count(web: Any, request: tuple[str, str, bool, str, str]) -> None:
    """Count a request for ``Web.prerender`` (up to ``HOT_LIMIT`` different ones)."""
    hot = web.hot
    if request in hot or len(hot) < HOT_LIMIT:
        hot[request] += 1
