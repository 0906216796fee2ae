"""What every endpoint of the results API shares: the answer with its ETag (an unchanged answer is 304 Not
Modified, and published answers are kept for anonymous callers until the results change), the page of a list
with its links, the query parameters, and the checks that an indicator is known and a result table computed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, create_model
from starlette.concurrency import run_in_threadpool

from uptake.levels import Level
from uptake.results.schema import Shape
from uptake.web.access import Principal
from uptake.web.state import CachedBody, mark

MAX_PER_PAGE = 1000

LevelParam = Enum("LevelParam", {lv.name: lv.value for lv in Level}, type=str)  # type: ignore[misc]
LevelParam.__doc__ = "An organisation level."

PageParam = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")]
PerPageParam = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page (at most 1000).")]
PeriodParam = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Period start, YYYY-MM-DD.")]
CodeParam = Annotated[str, Query(min_length=1, max_length=64, description="ODS code of the organisation.")]

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


def shape_model(shape: Shape, name: str, doc: str | None = None) -> type[BaseModel]:
    """A response model with the columns of ``shape`` (uptake.results.schema): a column that is never NULL is
    a required field, any other an optional one (None when the value is missing)."""
    fields: dict[str, Any] = {
        c.name: (c.python, ...) if c.required else (c.python | None, None) for c in shape.columns
    }
    return create_model(name, __doc__=doc, __module__=__name__, **fields)


def web_of(request: Request):
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


def _etag(request: Request, principal: Principal, stamp: str = "") -> str:
    web = web_of(request)
    key = "|".join([web.snapshots.current.version, request.url.path, str(sorted(request.query_params.multi_items())),
                    principal.cache_key, stamp])
    return 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


async def respond(request: Request, build, *, private: bool = False, variant=None, extra_stamp: str = "") -> Response:
    """ETag first: an unchanged answer costs no query at all. ``build`` runs in the thread pool. ``variant``,
    for answers that also show what lives outside the snapshot (the mission's, in the workflow database),
    gives a stamp of that state (read in the thread pool), added to the ETag and so to the cache key;
    ``extra_stamp`` is such a stamp the caller read for this principal (their groups, for a group benchmark)."""
    web = web_of(request)
    principal = await web.principal_async(request)
    variant_stamp = await web.variant_stamp(variant) if variant is not None else ""
    stamp = variant_stamp + extra_stamp
    etag = _etag(request, principal, stamp)
    headers = {"etag": etag, "cache-control": "private, no-cache" if (private or principal.signed_in) else "no-cache",
               "vary": "Authorization, Cookie"}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    # Published answers are the same for every anonymous caller until the results change: keep them.
    cacheable = not principal.signed_in and not private
    # the key names the snapshot's version (the ETag hashes it) so the answers built for a new snapshot
    # ahead of the switch to it are kept by the switch (``Web.fresh_cache``)
    key = f"{web.snapshots.current.version}|{etag}"
    hit = web.fresh_cache().get("api|" + key) if cacheable else None
    if hit is None:
        def build_and_keep() -> tuple[CachedBody, dict]:
            payload, extra = build(principal)
            body = json.dumps(_clean(payload), separators=(",", ":")).encode("utf-8")
            made = (CachedBody.of(body, "application/json", etag), extra)
            if cacheable:
                web.cache.put("api|" + key, made[0])
                web.cache.put("api-headers|" + key, extra)
            return made

        # concurrent anonymous callers of an answer not yet built share one build (the ETag names the answer
        # and the principal's view of it); a signed-in caller's answer is built for them alone
        hit = await (web.shared("api:" + etag, build_and_keep) if cacheable else run_in_threadpool(build_and_keep))
    else:
        hit = (hit, web.cache.get("api-headers|" + key) or {})
    cached, extra = hit
    if cacheable and not extra_stamp:  # one answer for every anonymous caller (of this stamp): the edge's
        mark(request.scope, cached, (variant, variant_stamp) if variant is not None else None)
    headers.update(extra)
    headers["vary"] += ", Accept-Encoding"
    return cached.response(request, headers)


def paged(request: Request, items: list[dict], total: int, page: int, per_page: int) -> tuple[dict, dict]:
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


def org_page(request: Request, principal: Principal, web, ind, *, org_code: str | None, table: str, reader,
             page: int, per_page: int, not_signed_in: str, **filters) -> tuple[dict, dict]:
    """A page of an indicator's rows by organisation, for innovation-pack data: signed in (else 403 with
    ``not_signed_in``), the indicator's innovation in the role, and only the organisations the role covers
    (``org_code`` outside them is 403). ``reader(cur, indicator=, org_codes=, limit=, offset=, **filters)``
    returns (rows, total) from the snapshot's ``table``."""
    if not principal.signed_in:
        raise HTTPException(403, not_signed_in)
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
        need(snapshot, table)
        rows, total = reader(cur, indicator=ind.id, org_codes=codes, limit=per_page,
                             offset=(page - 1) * per_page, **filters)
    return paged(request, rows, total, page, per_page)


def known_indicator(web, indicator: str):
    if indicator not in web.catalogue.indicators:
        raise HTTPException(404, f"unknown indicator {indicator!r}; list them at /api/v1/indicators")
    return web.catalogue.indicators[indicator]


def need(snapshot, table: str) -> None:
    if not snapshot.has(table):
        raise HTTPException(404, f"{table} has not been computed in this workspace (run `uptake compute`)")
