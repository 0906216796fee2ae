"""The Uptake web application: NHS.UK pages, the JSON API under /api/v1, sign-in and roles.

`create_app(workspace)` builds a FastAPI app over one workspace. Pages and the API read precomputed
results only (the pipeline's result tables, through an in-memory snapshot: see `uptake.web.snapshot`);
users, tokens and the audit log are in the workflow database.
"""

from __future__ import annotations

import asyncio

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from uptake import ATTRIBUTION, __version__
from uptake.catalogue import Catalogue, load_catalogue
from uptake.errors import Conflict
from uptake.reference import load_boundaries
from uptake.errors import UptakeError
from uptake.store.db import make_engine, normalise_url
from uptake.store.migrate import current_revision, head_revision, known_revisions, upgrade
from uptake.web import api, auth_routes, pages, static_routes
from uptake.web.api import errors as api_errors
from uptake.web.assets import AssetStore
from uptake.web.ecosystem import adopters as ecosystem_adopters
from uptake.web.ecosystem import barriers as ecosystem_barriers
from uptake.web.ecosystem import networks as ecosystem_networks
from uptake.web.error_pages import error_page
from uptake.web.edge import EdgeCacheMiddleware
from uptake.web.limits import ProxyHeadersMiddleware, RequestLimitsMiddleware
from uptake.web.ecosystem import award as ecosystem_award
from uptake.web.ecosystem import leads as ecosystem_leads
from uptake.web.ecosystem import time_to_innovate as ecosystem_time
from uptake.web import alerts as web_alerts
from uptake.web import groups as custom_groups
from uptake.web import fund as transformation_fund
from uptake.web.mission.pages import mount as mount_mission
from uptake.web.models import api as models_api
from uptake.web.models import health_wealth, simulator, simulator_api, stroke_pathway, stroke_pathway_api
from uptake.web.models import value as value_page
from uptake.web.security import SecurityHeadersMiddleware, SessionMiddleware, load_secret_key
from uptake.web.settings import WebSettings
from uptake.web.snapshot import SnapshotHolder
from uptake.web.state import BoundaryLoader, Web, freeze_heap
from uptake.workspace import Workspace

log = logging.getLogger(__name__)


def _default_boundaries(level: str) -> dict | None:
    try:
        return load_boundaries(level)
    except Exception as exc:  # no bundled boundaries for this level, or reference data not built
        log.warning("no boundaries for %s: %s", level, exc)
        return None


@asynccontextmanager
async def _lifespan(app: FastAPI):
    app.state.web.loop = asyncio.get_running_loop()  # where a new snapshot's pages are built ahead of the switch
    freeze_heap(collect=True)
    yield
    app.state.web.engine.dispose()


def create_app(
    workspace: Workspace | Path | str | None = None,
    *,
    catalogue: Catalogue | None = None,
    boundaries: BoundaryLoader | None = None,
    node_modules: Path | None = None,
    secret_key: str | None = None,
    settings: WebSettings | None = None,
) -> FastAPI:
    """The web app over ``workspace`` (a Workspace, a path, or None for the default workspace).

    Refuses (UptakeError) a workflow database that is not at the newest migration, unless
    ``settings.migrate_on_start`` (UPTAKE_MIGRATE_ON_START) says to migrate it first."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    settings = settings or WebSettings()
    check_database(ws, migrate=settings.migrate_on_start)
    engine = make_engine(ws.database_url)
    web = Web(
        workspace=ws,
        catalogue=catalogue or load_catalogue(),
        engine=engine,
        snapshots=SnapshotHolder(ws.analytics_path, directory=ws.snapshot_dir),
        assets=AssetStore(node_modules),
        boundaries=boundaries or _default_boundaries,
        settings=settings,
    )
    missing = web.assets.missing()
    if missing:
        log.warning("static assets missing (run `npm ci` in the project root): %s", ", ".join(missing))

    app = FastAPI(
        title="Uptake API",
        version=__version__,
        description=(
            "Published results of the Uptake pipeline: how far each proven innovation has spread across "
            "NHS England organisations, with intervals, funnels, SPC, peers, opportunity and adoption. "
            "Public data needs no sign-in; innovation-pack data (peers, opportunity) needs an API token "
            "(`Authorization: Bearer TOKEN`, created on the Your account page). " + ATTRIBUTION
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.web = web
    web.app = app
    web.snapshots.before_switch = web.prerender
    # Added innermost first. Outermost: the client's real address and scheme (so HSTS and Secure cookies
    # follow a trusted TLS proxy); security headers on every answer; then the size and path limits, before
    # any session is read or body parsed.
    key = secret_key or load_secret_key(ws.root / "web-secret.key")
    app.add_middleware(SessionMiddleware, secret_key=key, max_age=settings.session_lifetime,
                       idle_timeout=settings.session_idle_timeout,
                       refresh_after=settings.session_refresh_after)
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.edge_cache:
        app.add_middleware(EdgeCacheMiddleware)  # outside the others: it replays the headers they added
    app.add_middleware(ProxyHeadersMiddleware, trusted=settings.proxy_networks)

    app.include_router(static_routes.router)
    app.include_router(api.router)
    app.include_router(auth_routes.router)
    app.include_router(pages.router)
    mount_mission(app)
    app.include_router(models_api.router)
    app.include_router(health_wealth.router)
    app.include_router(value_page.router)
    app.include_router(stroke_pathway_api.router)
    app.include_router(stroke_pathway.router)
    app.include_router(simulator_api.router)  # the policy simulator (uptake.web.models.simulator)
    app.include_router(simulator.router)
    ecosystem_award.mount(app)  # the Innovation Award (uptake.web.ecosystem.award)
    ecosystem_leads.mount(app)  # innovation leads and their portfolios (uptake.web.ecosystem.leads)
    ecosystem_time.mount(app)  # time to innovate (uptake.web.ecosystem.time_to_innovate)
    ecosystem_networks.mount(app)  # clinical networks and the Health Innovation Challenge
    ecosystem_barriers.mount(app)  # barriers to spread
    ecosystem_adopters.mount(app)  # the adoption log, case library and who already does this
    custom_groups.mount(app)  # custom groups of organisations (uptake.web.groups)
    transformation_fund.mount(app)  # the transformation fund (uptake.web.fund)
    web_alerts.mount(app)  # alerts: subscriptions, the digest, one-click unsubscribe (uptake.web.alerts)
    _install_error_pages(app)
    api_errors.install(app)  # the OpenAPI document says every status and error body the API answers

    return app


def check_database(ws: Workspace, *, migrate: bool = False) -> None:
    """Refuse to serve a workflow database that is behind (or ahead of) this version's migrations: its
    pages would fail. With ``migrate``, bring it up to date instead."""
    url = ws.database_url
    shown = normalise_url(url).render_as_string(hide_password=True)
    try:
        current = current_revision(url)
    except UptakeError:
        raise  # already says what to do (a missing workspace directory)
    except Exception as exc:  # the server is down, the file unreadable, ...
        raise UptakeError(f"cannot open the workflow database {shown}: {exc}") from None
    head = head_revision()
    if current == head:
        return
    if current is not None and current not in known_revisions():
        raise UptakeError(
            f"the workflow database {shown} is at migration {current}, which this version of Uptake does not "
            f"know (its newest is {head}): it was migrated by a newer version. Upgrade Uptake.")
    if migrate:
        log.warning("migrating the workflow database %s from %s to %s (UPTAKE_MIGRATE_ON_START)",
                    shown, current or "empty", head)
        upgrade(url)
        return
    where = "" if ws.root == Workspace.resolve().root else f" --workspace {ws.root}"
    state = "has never been set up" if current is None else f"is at migration {current}"
    raise UptakeError(
        f"the workflow database {shown} {state}, but this version of Uptake needs migration {head}. "
        f"Run `uptake init{where}` to migrate it (existing data are kept), or set UPTAKE_MIGRATE_ON_START=1 "
        "to migrate when the server starts.")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")[:40]


def _install_error_pages(app: FastAPI) -> None:
    titles = {
        400: "There is a problem with the request",
        401: "You need to sign in",
        403: "You do not have access to this page",
        404: "Page not found",
        405: "That method is not allowed here",
        409: "Someone else changed this",
        422: "There is a problem with the request",
        429: "Too many attempts",
    }

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        detail = exc.detail if isinstance(exc.detail, str) else None
        response = error_page(request, exc.status_code,  # 404 and 422 in words: uptake.web.error_pages
                              titles.get(exc.status_code, "Sorry, there is a problem with the service"), detail)
        response.headers.update(headers)
        return response

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        """A change made to a stale copy of a record (optimistic locking) that no route answered itself."""
        return await http_error(request, StarletteHTTPException(409, str(exc)))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = api_errors.problems(exc.errors())  # the API's one error model (uptake.web.api.errors)
        if _wants_json(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return error_page(request, 422, titles[422], problems=exc.errors())  # in words: uptake.web.error_pages


def app_from_environment() -> FastAPI:
    """An app over $UPTAKE_WORKSPACE (or ./uptake-workspace), for ``uvicorn --factory`` and process managers:
    ``uvicorn uptake.web.app:app_from_environment --factory --no-proxy-headers --workers 2`` (the app reads
    X-Forwarded-For itself, from UPTAKE_TRUSTED_PROXIES only; uvicorn's own handling would trust
    127.0.0.1)."""
    return create_app(None)
