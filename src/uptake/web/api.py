"""The JSON API, /api/v1: the same published results the pages show, for analysts and other systems.

- Lists are paginated: ``page`` (from 1) and ``per_page`` (1 to 1000, default 100); the response says
  ``total`` and ``pages`` and carries ``links`` (and a Link header) to the next and previous pages.
- Every response has an ETag; send it back in If-None-Match and an unchanged answer is 304 Not Modified.
  The ETag changes when the pipeline writes new results.
- Values are as stored: proportions as fractions (0.42, not 42%), dates as ISO period starts.
- Public data needs no credentials. Innovation-pack data (peers, opportunity by organisation) needs
  ``Authorization: Bearer TOKEN`` (or a signed-in browser session) and returns only what the role covers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, create_model
from starlette.concurrency import run_in_threadpool

from uptake.levels import Level
from uptake.results import read
from uptake.results.schema import ADOPTION_ROW, CHANGE_ROW, EQUITY_ROW, OPPORTUNITY_ROW, VALUE_ROW, Shape
from uptake.web import tables as t
from uptake.web.params import date_param
from uptake.web.access import Principal
from uptake.web.state import CachedBody

router = APIRouter(prefix="/api/v1", tags=["results"])

MAX_PER_PAGE = 1000

LevelParam = Enum("LevelParam", {lv.name: lv.value for lv in Level}, type=str)  # type: ignore[misc]
LevelParam.__doc__ = "An organisation level."


class Benchmark(str, Enum):
    median = "median"
    top_decile = "top-decile"
    peers = "peers"
    target = "target"


T = TypeVar("T")


class Links(BaseModel):
    self: str
    next: str | None = None
    prev: str | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
    pages: int
    links: Links


class Organisation(BaseModel):
    code: str
    level: str
    name: str | None = None
    ons_code: str | None = None
    imd_quintile: int | None = None
    population: float | None = None
    trust_type: str | None = None


class OrganisationDetail(Organisation):
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    imd_score: float | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    parents: list[dict[str, Any]] = []


class InnovationOut(BaseModel):
    id: str
    name: str
    kind: str
    conditions: list[str]
    pathway_stage: str
    description: str
    nice_reference: str | None = None
    owner: str
    indicators: list[str]


class IndicatorOut(BaseModel):
    id: str
    innovation: str
    title: str
    why_it_matters: str
    numerator: str
    denominator: str
    measure: str
    multiplier: float
    unit: str
    polarity: str
    levels: list[str]
    period: str
    adoption_threshold: float | None = None
    unit_cost: float | None = None
    synthetic: bool
    source: dict[str, Any]
    results: list[dict[str, Any]] = []


class FunnelOut(BaseModel):
    indicator: str
    level: str
    period: dt.date | None
    points: list[dict[str, Any]]
    limits: list[dict[str, Any]]


class SpcOut(BaseModel):
    indicator: str
    level: str
    org_code: str
    series: dict[str, Any] | None
    points: list[dict[str, Any]]


class PeersOut(BaseModel):
    org_code: str
    level: str
    peers: list[dict[str, Any]]


class Direction(str, Enum):
    up = "up"
    down = "down"
    both = "both"


def _model(shape: Shape, name: str, doc: str | None = None) -> type[BaseModel]:
    """A response model with the columns of ``shape`` (uptake.results.schema): a column that is never NULL is
    a required field, any other an optional one (None when the value is missing)."""
    fields: dict[str, Any] = {
        c.name: (c.python, ...) if c.required else (c.python | None, None) for c in shape.columns
    }
    return create_model(name, __doc__=doc, __module__=__name__, **fields)


ValueOut = _model(VALUE_ROW, "ValueOut")
OpportunityOut = _model(OPPORTUNITY_ROW, "OpportunityOut")
AdoptionOut = _model(ADOPTION_ROW, "AdoptionOut")
ChangeOut = _model(CHANGE_ROW, "ChangeOut", "A change detected by CUSUM: a run of alerts in one direction on the "
                   "organisation's percentile.")
#: sii_ci95_low/high and rii_ci95_low/high are simulated 95% intervals: see docs/methods.md
EquityOut = _model(EQUITY_ROW, "EquityOut", "The slope index of inequality across IMD quintiles (1 = most "
                   "deprived) for one period.")


class Me(BaseModel):
    signed_in: bool
    role: str
    email: str | None = None
    scope: str


# ---------------------------------------------------------------------- helpers
def _web(request: Request):
    return request.app.state.web


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _etag(request: Request, principal: Principal) -> str:
    web = _web(request)
    key = "|".join([web.snapshots.current.version, request.url.path, str(sorted(request.query_params.multi_items())),
                    principal.cache_key])
    return 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


async def _respond(request: Request, build, *, private: bool = False) -> Response:
    """ETag first: an unchanged answer costs no query at all. ``build`` runs in the thread pool."""
    web = _web(request)
    principal = await web.principal_async(request)
    etag = _etag(request, principal)
    headers = {"etag": etag, "cache-control": "private, no-cache" if (private or principal.signed_in) else "no-cache",
               "vary": "Authorization, Cookie"}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    # Published answers are the same for every anonymous caller until the results change: keep them.
    cacheable = not principal.signed_in and not private
    hit = web.fresh_cache().get("api|" + etag) if cacheable else None
    if hit is None:
        payload, extra = await run_in_threadpool(build, principal)
        body = json.dumps(_clean(payload), separators=(",", ":")).encode("utf-8")
        hit = (CachedBody.of(body, "application/json", etag), extra)
        if cacheable:
            web.cache.put("api|" + etag, hit[0])
            web.cache.put("api-headers|" + etag, extra)
    else:
        hit = (hit, web.cache.get("api-headers|" + etag) or {})
    cached, extra = hit
    headers.update(extra)
    headers["vary"] += ", Accept-Encoding"
    return cached.response(request, headers)


def _page(request: Request, items: list[dict], total: int, page: int, per_page: int) -> tuple[dict, dict]:
    pages = max(1, math.ceil(total / per_page)) if per_page else 1

    def link(number: int) -> str:
        params = dict(request.query_params)
        params.update(page=str(number), per_page=str(per_page))
        return f"{request.url.path}?{urlencode(params)}"

    links = {"self": link(page), "next": link(page + 1) if page < pages else None,
             "prev": link(page - 1) if page > 1 else None}
    header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url and rel != "self")
    return ({"items": items, "page": page, "per_page": per_page, "total": total, "pages": pages, "links": links},
            {"link": header} if header else {})


def _indicator(web, indicator: str):
    if indicator not in web.catalogue.indicators:
        raise HTTPException(404, f"unknown indicator {indicator!r}; list them at /api/v1/indicators")
    return web.catalogue.indicators[indicator]


def _need(snapshot, table: str) -> None:
    if not snapshot.has(table):
        raise HTTPException(404, f"{table} has not been computed in this workspace (run `uptake compute`)")


PageParam = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")]
PerPageParam = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page (at most 1000).")]
PeriodParam = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Period start, YYYY-MM-DD.")]
CodeParam = Annotated[str, Query(min_length=1, max_length=64, description="ODS code of the organisation.")]


# ---------------------------------------------------------------------- endpoints
@router.get("/me", response_model=Me, summary="Who the API thinks you are")
async def me(request: Request) -> Response:
    def build(principal):
        return {"signed_in": principal.signed_in, "role": principal.role, "email": principal.email,
                "scope": principal.scope_label}, {}

    return await _respond(request, build, private=True)


@router.get("/organisations", response_model=Page[Organisation], summary="Organisations, by level or name")
async def organisations(
    request: Request,
    level: LevelParam | None = None,
    q_: Annotated[str | None, Query(alias="q", max_length=100, description="Part of a name or code.")] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = _web(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "organisations")
            rows, total = read.organisations.search_organisations(
                cur, q_, level.value if level else None, per_page, (page - 1) * per_page)
        return _page(request, rows, total, page, per_page)

    return await _respond(request, build)


@router.get("/organisations/{code}", response_model=OrganisationDetail, summary="One organisation and its parents")
async def organisation(request: Request, code: str) -> Response:
    web = _web(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "organisations")
            org = read.organisations.organisation(cur, code)
            if org is None:
                raise HTTPException(404, f"unknown organisation {code!r}")
            org["parents"] = read.organisations.parents(cur, code) if snapshot.has("relationships") else []
        return org, {}

    return await _respond(request, build)


@router.get("/innovations", response_model=list[InnovationOut], summary="Innovations in the catalogue")
async def innovations(request: Request) -> Response:
    web = _web(request)

    def build(principal):
        return [_innovation(web, inn) for inn in web.catalogue.innovations.values()], {}

    return await _respond(request, build)


@router.get("/innovations/{innovation_id}", response_model=InnovationOut, summary="One innovation")
async def innovation(request: Request, innovation_id: str) -> Response:
    web = _web(request)
    if innovation_id not in web.catalogue.innovations:
        raise HTTPException(404, f"unknown innovation {innovation_id!r}")
    return await _respond(request, lambda p: (_innovation(web, web.catalogue.innovations[innovation_id]), {}))


def _innovation(web, inn) -> dict:
    data = inn.model_dump(mode="json", exclude={"evidence"})
    data["indicators"] = [i.id for i in web.catalogue.indicators.values() if i.innovation == inn.id]
    return data


@router.get("/indicators", response_model=list[IndicatorOut], summary="Indicators, with the levels and periods "
            "that have results")
async def indicators(request: Request) -> Response:
    web = _web(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            levels = read.values.indicator_levels(cur) if snapshot.has("result_values") else []
        return [_indicator_out(ind, levels) for ind in web.catalogue.indicators.values()], {}

    return await _respond(request, build)


@router.get("/indicators/{indicator_id}", response_model=IndicatorOut, summary="One indicator")
async def indicator(request: Request, indicator_id: str) -> Response:
    web = _web(request)
    ind = _indicator(web, indicator_id)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            levels = read.values.indicator_levels(cur) if snapshot.has("result_values") else []
        return _indicator_out(ind, levels), {}

    return await _respond(request, build)


def _indicator_out(ind, levels: list[dict]) -> dict:
    data = ind.model_dump(mode="json", include=set(IndicatorOut.model_fields) - {"results"})
    data["results"] = [{k: r[k] for k in ("level", "first_period", "last_period", "organisations")}
                       for r in levels if r["indicator"] == ind.id]
    return data


@router.get("/values", response_model=Page[ValueOut], summary="Values with intervals, ranks and comparisons")
async def values(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    period: PeriodParam = None,
    org_code: Annotated[list[str] | None, Query(description="One or more ODS codes.")] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = _web(request)
    _indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_values")
            rows, total = read.values.values(cur, indicator=indicator, level=level.value if level else None,
                                             period=date_param(period), org_codes=org_code or None, limit=per_page,
                                             offset=(page - 1) * per_page)
        return _page(request, rows, total, page, per_page)

    return await _respond(request, build)


@router.get("/funnel", response_model=FunnelOut, summary="Funnel plot points and limits")
async def funnel(request: Request, indicator: str, level: LevelParam, period: PeriodParam = None) -> Response:
    web = _web(request)
    _indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_funnel")
            day = date_param(period) or read.values.latest_period(cur, indicator, level.value)
            points = read.funnel.funnel_points(cur, indicator, level.value, day) if day else []
            limits = read.funnel.funnel_curve(cur, indicator, level.value, day) if day and snapshot.has(
                "result_funnel_curve") else []
        return {"indicator": indicator, "level": level.value, "period": day, "points": points, "limits": limits}, {}

    return await _respond(request, build)


@router.get("/spc", response_model=SpcOut, summary="An organisation's SPC chart: limits, flags and icons")
async def spc(request: Request, indicator: str, org_code: CodeParam, level: LevelParam | None = None) -> Response:
    web = _web(request)
    _indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_spc")
            org = read.organisations.organisation(cur, org_code)
            if org is None:
                raise HTTPException(404, f"unknown organisation {org_code!r}")
            lv = level.value if level else org["level"]
            points = read.spc.spc_points(cur, indicator, lv, org_code)
            series = (read.spc.spc_series(cur, indicator, lv, org_code) if snapshot.has("result_spc_series")
                      else None)
        return {"indicator": indicator, "level": lv, "org_code": org_code, "series": series, "points": points}, {}

    return await _respond(request, build)


@router.get("/peers", response_model=PeersOut, summary="An organisation's 10 most similar peers (signed in)",
            responses={403: {"description": "Not in your role's scope"}})
async def peers(request: Request, org_code: CodeParam) -> Response:
    web = _web(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_peers")
            tctx = t.Context(cur, web.catalogue, principal)
            org = tctx.organisation(org_code)
            t.require_org_pack(tctx, org_code)
            rows = read.peers.peers(cur, org_code, org["level"])
        return {"org_code": org_code, "level": org["level"], "peers": rows}, {}

    return await _respond(request, build, private=True)


@router.get("/opportunity", response_model=Page[OpportunityOut],
            summary="Opportunity by organisation (signed in; only the organisations your role covers)",
            responses={403: {"description": "Not signed in, or not in your role's scope"}})
async def opportunity(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    period: PeriodParam = None,
    benchmark: Benchmark | None = None,
    org_code: Annotated[str | None, Query(max_length=64)] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = _web(request)
    ind = _indicator(web, indicator)

    def build(principal):
        if not principal.signed_in:
            raise HTTPException(403, "opportunity by organisation needs an API token or a signed-in session")
        if not principal.may_see_innovation(ind.innovation):
            raise HTTPException(403, "this indicator belongs to another innovation")
        visible = principal.visible_orgs()
        if org_code is not None:
            if visible is not None and org_code not in visible:
                raise HTTPException(403, f"organisation {org_code} is outside your role's scope")
            codes: list[str] | None = [org_code]
        else:
            codes = None if visible is None else sorted(visible)
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_opportunity")
            rows, total = read.opportunity.opportunity(
                cur, indicator=indicator, level=level.value if level else None, period=date_param(period),
                benchmark=benchmark.value if benchmark else None, org_codes=codes, limit=per_page,
                offset=(page - 1) * per_page)
        return _page(request, rows, total, page, per_page)

    return await _respond(request, build, private=True)


@router.get("/opportunity/totals", summary="National and ICB totals of the opportunity (positive gaps only)")
async def opportunity_totals(
    request: Request,
    indicator: str,
    period: PeriodParam = None,
    area_level: Annotated[str, Query(pattern="^(england|region|icb)$")] = "england",
) -> Response:
    web = _web(request)
    _indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_opportunity_totals")
            rows = read.opportunity.opportunity_totals(cur, indicator, date_param(period), area_level)
        return {"items": rows}, {}

    return await _respond(request, build)


@router.get("/adoption", response_model=Page[AdoptionOut], summary="First adoption and adopter category")
async def adoption(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = _web(request)
    _indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_adoption")
            rows, total = read.adoption.adoption(cur, indicator=indicator, level=level.value if level else None,
                                                 limit=per_page, offset=(page - 1) * per_page)
        return _page(request, rows, total, page, per_page)

    return await _respond(request, build)


@router.get("/changes", response_model=Page[ChangeOut],
            summary="Changes detected by CUSUM on organisations' percentiles (OpenPrescribing-style), newest first")
async def changes(
    request: Request,
    indicator: str | None = None,
    level: LevelParam | None = None,
    org_code: Annotated[str | None, Query(max_length=64, description="ODS code of one organisation.")] = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description=(
        "See the changes as they stood in this period (YYYY-MM-DD): later periods are ignored and "
        "`ongoing` means the latest alert is in it."))] = None,
    direction: Direction | None = None,
    history: Annotated[bool, Query(description=(
        "false (default): each organisation's latest change per indicator and level; true: every change."))] = False,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = _web(request)
    if indicator is not None:
        _indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_changes")
            rows, total = read.changes.changes(
                cur, indicator=indicator, level=level.value if level else None, org_code=org_code,
                period=date_param(period), direction=direction.value if direction else None, latest_only=not history,
                limit=per_page, offset=(page - 1) * per_page)
        return _page(request, rows, total, page, per_page)

    return await _respond(request, build)


@router.get("/equity", response_model=Page[EquityOut],
            summary="Slope index of inequality across deprivation (IMD) quintiles, per level and period")
async def equity(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    period: PeriodParam = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = _web(request)
    _indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "result_equity")
            rows, total = read.equity.equity(cur, indicator=indicator, level=level.value if level else None,
                                             period=date_param(period), limit=per_page, offset=(page - 1) * per_page)
        return _page(request, rows, total, page, per_page)

    return await _respond(request, build)


@router.get("/batches", summary="Provenance: every load into the analytics store")
async def batches(request: Request, indicator: str | None = None) -> Response:
    web = _web(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            _need(snapshot, "batches")
            return {"items": read.runs.batches(cur, indicator)}, {}

    return await _respond(request, build)
