"""State the whole web app shares (``app.state.web``): the workspace, catalogue, database engine, results
snapshot, assets, templates and the response cache, and how a request's principal is found. Pages and the
JSON API both import it; it imports neither."""

from __future__ import annotations

import asyncio
import gc
import gzip
import hashlib
import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader
from markupsafe import Markup
from sqlalchemy import Engine
from sqlalchemy.orm import Session as DbSession
from starlette.concurrency import run_in_threadpool

from uptake import ATTRIBUTION, __version__
from uptake.catalogue import Catalogue
from uptake.results import read
from uptake.store.db import session_scope
from uptake.store.models import User
from uptake.store.repository import api_token_for, record_token_use, token_use_is_due
from uptake.store.session_models import session_user
from uptake.web import formatting as fmt
from uptake.web.access import ANONYMOUS, Principal, principal_for
from uptake.web.assets import AssetStore
from uptake.web.security import CSRF_FIELD, RateLimiter, SignInThrottle, end_session, get_session
from uptake.web.settings import WebSettings
from uptake.web.snapshot import SnapshotHolder
from uptake.workspace import Workspace

log = logging.getLogger(__name__)

BoundaryLoader = Callable[[str], dict | None]


@dataclass(frozen=True)
class CachedBody:
    """A response body kept for reuse, with its gzip form made once."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, media_type: str, etag: str) -> "CachedBody":
        gzipped = gzip.compress(body, compresslevel=5, mtime=0) if len(body) > 1024 else None
        return cls(body, gzipped, media_type, etag)

    def __len__(self) -> int:
        return len(self.body) + len(self.gzipped or b"")

    def response(self, request: Request, headers: dict[str, str]) -> Response:
        if self.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            return Response(self.gzipped, media_type=self.media_type, headers={**headers, "content-encoding": "gzip"})
        return Response(self.body, media_type=self.media_type, headers=headers)


class LRUCache:
    """A thread-safe least-recently-used cache of response bodies, bounded by their total size."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        #: bytes allowed beyond max_bytes for a while: a prerender's (the new snapshot's answers are kept beside
        #: the old one's until the switch drops the old; without it, one full version's worth would evict the
        #: other's, visitors' pages or the ones just built ahead)
        self.room = 0
        self.size = 0
        #: counts since start (reported at /healthz: a load test can see whether pages were built during it)
        self.hits = self.misses = self.evictions = 0
        self._data: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self._data.move_to_end(key)
            return entry[0]

    def __len__(self) -> int:
        return len(self._data)

    def put(self, key: str, value: Any) -> None:
        cost = len(value) + 200 if isinstance(value, CachedBody) else 1000
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._data[key] = (value, cost)
            self.size += cost
            self._evict()

    def _evict(self) -> None:
        while self.size > self.max_bytes + self.room and self._data:
            _, (_, dropped) = self._data.popitem(last=False)
            self.size -= dropped
            self.evictions += 1

    def make_room(self, extra: int) -> None:
        """Allow ``extra`` bytes beyond the limit (0: back to the limit, evicting the least recently used)."""
        with self._lock:
            self.room = max(0, extra)
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.size = 0

    def retain(self, keep: Callable[[str], bool]) -> int:
        """Drop every entry whose key ``keep`` refuses; the number dropped."""
        with self._lock:
            dropped = [key for key in self._data if not keep(key)]
            for key in dropped:
                self.size -= self._data.pop(key)[1]
            return len(dropped)


def freeze_heap(collect: bool = False, thaw: bool = False) -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``): the modules, the
    catalogue, the templates and the snapshot's answers live as long as the server. Measured under 200 clients
    on the demo (docs/performance.md): the collector's full passes over them took up to 0.3 s each, every one
    a pause for every request in flight; frozen, they are not scanned. Frozen objects are still freed when no
    longer referenced; only cycles among them would wait, so after each prerender (once per publication) the
    frozen heap is thawed and collected once (``thaw``, ``collect``: one pause of a full collection) before
    freezing again, and nothing an old snapshot left in cycles stays for the server's life. Called at
    start-up (after one collection) and after a new snapshot's pages were built ahead of the switch."""
    if thaw:
        gc.unfreeze()
    if collect:
        gc.collect()
    gc.freeze()


#: a request the edge answered or kept, as needed to ask it again: (scheme, host, HTMX partial, path, query)
HotRequest = tuple[str, str, bool, str, str]
#: how many different requests are counted for ``Web.prerender`` (the rest are not counted)
HOT_LIMIT = 20_000

#: the scope key a handler sets to the CachedBody it answered with, when the answer is public (the edge's)
MARK = "uptake.edge"
#: and, for an answer that also depends on the workflow database: (stamp reader, the stamp it used)
MARK_VARIANT = "uptake.edge.variant"


def mark(scope: dict, body: CachedBody, variant: tuple[Any, str] | None = None) -> None:
    """Say that this request's answer is ``body``, public for every anonymous visitor of this snapshot (and,
    with ``variant`` = (stamp reader, stamp), of this stamp of the workflow database's state)."""
    scope[MARK] = body
    if variant is not None:
        scope[MARK_VARIANT] = variant


class Web:
    """Everything a request handler needs, shared by the whole app (``app.state.web``)."""

    def __init__(
        self,
        workspace: Workspace,
        catalogue: Catalogue,
        engine: Engine,
        snapshots: SnapshotHolder,
        assets: AssetStore,
        boundaries: BoundaryLoader,
        settings: WebSettings | None = None,
    ):
        self.settings = settings or WebSettings()
        self.workspace = workspace
        self.catalogue = catalogue
        self.engine = engine
        self.snapshots = snapshots
        self.assets = assets
        self.boundaries = boundaries
        self.cache = LRUCache(self.settings.cache_mb * 1024 * 1024)
        self._cache_version: str | None = None
        #: how often each anonymous request the edge could keep was asked for (what ``prerender`` builds)
        self.hot: Counter[HotRequest] = Counter()
        #: visitors' requests seen by the edge (Web.prerender paces itself only while some arrive)
        self.visits = 0
        #: the ASGI app and its event loop (``create_app`` and the first request set them), for ``prerender``
        self.app: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        #: what the last ``prerender`` did (reported at /healthz)
        self.last_prerender: dict[str, Any] = {}
        self._descendants: dict[tuple[str, str], list[str]] = {}
        #: reads in flight that requests share (``shared``), by key
        self._flights: dict[str, asyncio.Future] = {}
        #: sign-in throttling: growing refusals per (account, address), capped delays per account
        self.signin_throttle = SignInThrottle()
        #: and at most 20 sign-in attempts per address in 5 minutes
        self.signin_by_address = RateLimiter(20, 5 * 60)
        self.templates = Environment(
            loader=ChoiceLoader([PackageLoader("uptake.web", "templates"), PackageLoader("nhsuk_frontend_jinja")]),
            undefined=ChainableUndefined,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.templates.globals.update(
            asset_url=self.assets.url, attribution=ATTRIBUTION, version=__version__, catalogue=catalogue,
            level_label=fmt.level_label, period_label=fmt.period_label, indicator_value=fmt.indicator_value,
            interval=fmt.interval, number=fmt.number, pounds=fmt.pounds, csrf_field=CSRF_FIELD,
            comparison_labels=fmt.COMPARISON_LABELS, comparison_colours=fmt.COMPARISON_COLOURS,
            variation_labels=fmt.VARIATION_LABELS, assurance_labels=fmt.ASSURANCE_LABELS,
            benchmark_labels=fmt.BENCHMARK_LABELS, polarity_text=fmt.polarity_text,
            spc_basis_text=fmt.spc_basis_text, percentile=fmt.percentile,
        )
        self.templates.filters["chartjson"] = _chart_json
        self.templates.filters["sentence"] = lambda text: (str(text)[:1].upper() + str(text)[1:]) if text else ""
        # honest units: what a count counts and what the pounds are (formatting.counted, pounds_meant)
        self.templates.globals.update(
            counted=fmt.counted, counted_more=fmt.counted_more, pounds_meant=fmt.pounds_meant,
            count_plural=fmt.count_plural, denominator_plural=fmt.denominator_plural, unit_cost_text=fmt.unit_cost_text,
        )

    async def shared(self, key: str, read: Callable[[], Any]) -> Any:
        """``read()`` in the thread pool, shared by every request that asks for ``key`` while it runs (one
        query for a crowd, not one each: with 200 clients on the mission's pages, one workflow-database read
        of the mission's stamp instead of 200 queued for the connection pool). A request that arrives when no
        read is running starts a new one, so what a request sees was read after it arrived or while it
        waited; one that follows another (a test, a person reloading) always reads again."""
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(run_in_threadpool(read))
            self._flights[key] = task
            task.add_done_callback(lambda _: self._flights.pop(key, None))
        return await asyncio.shield(task)

    async def variant_stamp(self, variant: Callable[[], str], version: str | None = None) -> str:
        """The stamp ``variant()`` gives of what an answer shows from outside the snapshot (the mission's state
        in the workflow database), read once per snapshot version for the crowd asking at the same time
        (``shared``; the stamp may depend on the snapshot: mission_stamp). The one place its key is built: the
        page cache, the API's answers and the edge share each read."""
        version = self.snapshots.current.version if version is None else version
        return await self.shared(f"variant:{id(variant.__code__)}|{version}", variant)

    def fresh_cache(self) -> LRUCache:
        """The response cache, emptied whenever the results snapshot has changed, but for what was built for
        the new snapshot before the switch to it (``prerender``): every key names its snapshot's version
        between bars (``page``: ``{version}|...``, the edge's ``edge|{version}|...``, ``api|{version}|...``)."""
        version = self.snapshots.published.version
        if version != self._cache_version:
            mark = f"|{version}|"
            self.cache.retain(lambda key: mark in f"|{key}|")
            self.cache.make_room(0)  # the old version's answers are gone: the prerender's extra room too
            self._cache_version = version
        return self.cache

    # -------------------------------------------------------------- building a new snapshot's pages ahead
    def prerender(self, snapshot: Any) -> None:
        """Build the most requested anonymous pages and API answers for ``snapshot`` before readers are
        switched to it (``SnapshotHolder.before_switch``; runs in the reload thread, which waits for it).

        Each is asked of the whole app, as a visitor would, one after another (paced while visitors are asking:
        after each build, as long again without building; unpaced when none asked during it) on the server's
        event loop with
        ``snapshots.serving(snapshot)``: the answers land in the response cache and the edge under the new
        version's keys, and the switch keeps them. Meanwhile every visitor is served the old snapshot's pages,
        so a publication costs them no cold builds (before: every page was built again on its first request
        after the switch, all at once under load). Bounded by UPTAKE_PRERENDER_SECONDS and
        UPTAKE_PRERENDER_MAX; what is left is built on its first request as before."""
        budget, limit = self.settings.prerender_seconds, self.settings.prerender_max
        loop = self.loop
        if budget <= 0 or limit <= 0 or loop is None or self.app is None or loop.is_closed() or not loop.is_running():
            self.last_prerender = {"version": snapshot.version, "built": 0, "asked": 0, "seconds": 0.0}
            return
        started = time.monotonic()
        self.last_prerender = {"version": snapshot.version, "running": True}
        # room for the new version's answers beside the old one's until the switch (fresh_cache takes it back):
        # the cache may hold up to twice UPTAKE_CACHE_MB meanwhile
        self.cache.make_room(self.cache.max_bytes)
        future = asyncio.run_coroutine_threadsafe(self._prerender(snapshot, limit, started + budget), loop)
        built = asked = 0
        try:
            while True:
                try:
                    built, asked = future.result(timeout=1.0)
                    break
                except TimeoutError:
                    # the server stopped (shut down, or a test's client closed: nothing will build the rest),
                    # or a build outlived the budget by a minute: switch without waiting any longer
                    if loop.is_closed() or not loop.is_running() or time.monotonic() > started + budget + 60:
                        future.cancel()
                        break
        except Exception:
            future.cancel()
            raise
        freeze_heap(collect=True, thaw=True)
        seconds = time.monotonic() - started
        self.last_prerender = {"version": snapshot.version, "built": built, "asked": asked, "seconds": round(seconds, 3)}
        log.info("built %d of %d pages of snapshot %s ahead of the switch in %.1f s", built, asked,
                 snapshot.version, seconds)

    async def _prerender(self, snapshot: Any, limit: int, deadline: float) -> tuple[int, int]:
        # read on the event loop, which is where the edge counts requests
        wanted = [request for request, _ in self.hot.most_common(limit)]
        built = asked = 0
        with self.snapshots.serving(snapshot):
            for request in wanted:
                if time.monotonic() >= deadline:
                    break
                asked += 1
                began, visits = time.monotonic(), self.visits
                if await _ask(self.app, request):
                    built += 1
                # paced while visitors are asking: as long again without building, so their requests get at least
                # half of the server (a build holds the interpreter while it renders) and the switch waits
                # instead of them; with nobody asking during the build, the next one starts at once
                if self.visits != visits:
                    await asyncio.sleep(min(time.monotonic() - began, max(0.0, deadline - time.monotonic())))
        return built, asked

    # -------------------------------------------------------------- who is asking
    def descendants(self, code: str) -> list[str]:
        version = self.snapshots.current.version
        key = (version, code)
        if key not in self._descendants:
            with self.snapshots.cursor() as (snapshot, cur):
                self._descendants[key] = (read.organisations.descendants(cur, code) if snapshot.has("relationships")
                                          else [])
        return self._descendants[key]

    def principal_of(self, user: User, via: str) -> Principal:
        codes = self.descendants(user.scope_org_code) if user.scope_org_code else []
        return principal_for(user, codes, via)

    async def principal_async(self, request: Request) -> Principal:
        """The principal, without leaving the event loop for anonymous visitors (the common case)."""
        cached = getattr(request.state, "principal", None)
        if cached is not None:
            return cached
        session = get_session(request)
        if "authorization" not in request.headers and (session is None or session.user_id is None):
            request.state.principal = ANONYMOUS
            return ANONYMOUS
        return await run_in_threadpool(self.principal, request)

    def principal(self, request: Request) -> Principal:
        cached = getattr(request.state, "principal", None)
        if cached is not None:
            return cached
        principal = self._resolve(request)
        request.state.principal = principal
        return principal

    def _resolve(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise HTTPException(401, "use Authorization: Bearer TOKEN", headers={"WWW-Authenticate": "Bearer"})
            with session_scope(self.engine) as db:  # reads only
                row = api_token_for(db, token.strip())
                principal = self.principal_of(row.user, "token") if row is not None else None
                token_id, last_used_at = (row.id, row.last_used_at) if row is not None else (None, None)
            if principal is None:
                raise HTTPException(401, "the API token is unknown or revoked",
                                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if token_id is not None and token_use_is_due(last_used_at):
                # at most one write per token a minute, in its own transaction; never fails the request
                record_token_use(self.engine, token_id)
            return principal
        session = get_session(request)
        if session is not None and session.user_id is not None:
            if session.sid:
                with DbSession(self.engine) as db:
                    # one read: the session is live (not signed out, not expired) and its user active
                    user = session_user(db, session.sid, session.user_id)
                    if user is not None:
                        return self.principal_of(user, "session")
            end_session(request)  # signed out, expired, or the user deactivated: forget the cookie
        return ANONYMOUS

    # -------------------------------------------------------------- rendering
    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        session = get_session(request)
        principal = getattr(request.state, "principal", None) or ANONYMOUS
        page = self.templates.get_template(template).render(
            request=request, principal=principal, csrf_token=session.csrf if session else "",
            path=request.url.path, **context,
        )
        return HTMLResponse(page, status_code=status_code)

    async def cached_page(self, request: Request, build: Callable[[], Response],
                          variant: Callable[[], str] | None = None) -> Response:
        """Serve a public GET page from the cache (anonymous visitors only; keyed by snapshot version).
        ``build`` runs in the thread pool (it queries DuckDB and renders templates). ``variant``, for pages
        that also show what lives outside the snapshot (the mission's, from the workflow database), gives a
        stamp of that state, read (in the thread pool) before each anonymous request and added to the key,
        so a change there is shown on the next request."""
        principal = await self.principal_async(request)
        partial = request.headers.get("hx-request") == "true" and not request.headers.get("hx-history-restore-request")
        if principal.signed_in or get_session(request) is not None:
            response = await run_in_threadpool(build)
            response.headers["cache-control"] = "private, no-store"
            response.headers["vary"] = "HX-Request, Cookie"
            return response
        version = self.snapshots.current.version
        stamp = await self.variant_stamp(variant, version) if variant is not None else ""
        key = f"{version}|{stamp}|{int(partial)}|{request.url.path}?{request.url.query}"
        hit = self.fresh_cache().get(key)
        if hit is None:
            def build_and_keep() -> CachedBody | Response:
                response = build()
                if response.status_code != 200:
                    return response
                etag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
                body = CachedBody.of(response.body, response.media_type, etag)
                self.cache.put(key, body)
                return body

            # a crowd asking for a page nobody has built yet (the first minutes after a publication: every
            # visitor's home page at once) waits for one build of it, not one build each
            hit = await self.shared("page:" + key, build_and_keep)
            if not isinstance(hit, CachedBody):
                return hit
        headers = {"etag": hit.etag, "cache-control": "no-cache", "vary": "HX-Request, Cookie, Accept-Encoding"}
        # the same for every anonymous visitor of this snapshot (and of this stamp of the workflow database's
        # state, which the edge reads again for each request): the edge may answer it
        mark(request.scope, hit, (variant, stamp) if variant is not None else None)
        if request.headers.get("if-none-match") == hit.etag:
            return Response(status_code=304, headers=headers)
        return hit.response(request, headers)


async def _ask(app: Any, request: HotRequest) -> bool:
    """GET ``request`` of the ASGI ``app`` as an anonymous visitor; whether it answered 200."""
    scheme, host, partial, path, query = request
    headers = [(b"host", host.encode("latin-1")), (b"accept-encoding", b"gzip"), (b"user-agent", b"uptake-prerender")]
    if partial:
        headers.append((b"hx-request", b"true"))
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": scheme, "path": path, "raw_path": path.encode("utf-8"),
             "query_string": query.encode("latin-1"), "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80), "state": {}}
    status: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    try:
        await app(scope, receive, send)
    except Exception:  # a page that fails to build now fails for its first visitor as before
        log.warning("building %s ahead of the switch failed", path, exc_info=True)
        return False
    return status == [200]


def _chart_json(spec: Any) -> str:
    """JSON for a <script type="application/json"> block: '<' escaped so no '</script>' can end it."""
    text = json.dumps(fmt.finite_or_none(spec), default=str, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
