"""The organisations directory: find an organisation by name or code, of one level or every level."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.web.pages.common import partial, web_of
from uptake.web.tables.base import Context
from uptake.web.tables.organisations import organisations as organisations_table

router = APIRouter(include_in_schema=False)


@router.get("/organisations")
async def organisations(
    request: Request,
    q_: Annotated[str | None, Query(alias="q", max_length=100)] = None,
    level: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    web = web_of(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = Context(cur, web.catalogue, web.principal(request))
            table = organisations_table(tctx, q_ or None, level or None, page=page, per_page=50) \
                if snapshot.has("organisations") else None
            levels = ([r["level"] for r in read.organisations.level_counts(cur)] if snapshot.has("organisations")
                      else [])
        template = "partials/organisation_list.html" if partial(request) else "organisations.html"
        return web.render(request, template, table=table, q=q_ or "", level=level or "", levels=sorted(levels),
                          page=page, per_page=50, nav="organisations")

    return await web.cached_page(request, build)
