"""The organisations directory: find an organisation by name or code, of one level or every level; or by postcode
or place: the nearest organisations with distances (uptake.reference.geo, offline)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from uptake.reference import geo
from uptake.results import read
from uptake.web.pages.common import partial, web_of
from uptake.web.tables.base import Context
from uptake.web.tables.organisations import organisations as organisations_table
from uptake.web.tables.postcode import district_practices, find, nearest

router = APIRouter(include_in_schema=False)


@router.get("/organisations")
async def organisations(
    request: Request,
    q_: Annotated[str | None, Query(alias="q", max_length=100)] = None,
    level: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    near: Annotated[str | None, Query(max_length=100)] = None,
    near_level: str | None = None,
) -> Response:
    web = web_of(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = Context(cur, web.catalogue, web.principal(request))
            table = organisations_table(tctx, q_ or None, level or None, page=page, per_page=50) \
                if snapshot.has("organisations") else None
            levels = ([r["level"] for r in read.organisations.level_counts(cur)] if snapshot.has("organisations")
                      else [])
            found = _near(web, tctx, near, near_level) if near and snapshot.has("organisations") else None
        template = "partials/organisation_list.html" if partial(request) else "organisations.html"
        return web.render(request, template, table=table, q=q_ or "", level=level or "", levels=sorted(levels),
                          page=page, per_page=50, nav="organisations", near=near or "",
                          near_level=near_level or "", near_levels=geo.NEAREST_LEVELS, found=found)

    return await web.cached_page(request, build)


def _near(web, tctx: Context, near: str, near_level: str | None) -> dict:
    """The find-by-postcode section: where the query was placed, the sub-ICB location and ICB whose boundaries
    contain it, the nearest organisations and the practices in its district; or the error to show."""
    try:
        found = find(tctx, near, near_level or None)
    except HTTPException as exc:
        return {"error": exc.detail}
    location = found["location"]
    return {
        "location": location,
        "sub_icb": geo.containing(location, web.boundaries("sub-icb")),
        "icb": geo.containing(location, web.boundaries("icb")),
        "nearest": nearest(tctx, near, near_level or None),
        "practices": district_practices(tctx, near) if location.district else None,
    }
