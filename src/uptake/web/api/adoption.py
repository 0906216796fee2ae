"""First adoption and adopter category of each organisation (result_adoption)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.results.schema import ADOPTION_ROW
from uptake.web.api.common import (
    LevelParam,
    Page,
    PageParam,
    PerPageParam,
    known_indicator,
    need,
    paged,
    respond,
    shape_model,
    web_of,
)
from uptake.web.api.errors import responses

router = APIRouter(prefix="/api/v1", tags=["results"])

AdoptionOut = shape_model(ADOPTION_ROW, "AdoptionOut")


@router.get("/adoption", response_model=Page[AdoptionOut], summary="First adoption and adopter category",
            responses=responses(404))
async def adoption(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_adoption")
            rows, total = read.adoption.adoption(cur, indicator=indicator, level=level.value if level else None,
                                                 limit=per_page, offset=(page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)
