"""The stroke pathway model in the JSON API: /api/v1/pathway (per scenario, nationally) and
/api/v1/pathway/units (per unit and scenario, paginated), as ``uptake compute`` published them
(result_pathway_national, result_pathway_units)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from uptake.models.pathway.summary import SOURCE
from uptake.results import read
from uptake.results.schema import PATHWAY_NATIONAL, PATHWAY_UNITS
from uptake.web.api.common import Page, PageParam, PerPageParam, need, paged, respond, shape_model, web_of
from uptake.web.api.errors import ETAG_RESPONSES, responses



async def _caller(request: Request) -> None:
    """Every route reads the caller first, so an unknown, revoked or malformed API token answers 401 on every
    route alike (uptake.web.api.errors)."""
    await request.app.state.web.principal_async(request)


router = APIRouter(prefix="/api/v1", tags=["models"], dependencies=[Depends(_caller)], responses=ETAG_RESPONSES)

PathwayScenarioOut = shape_model(PATHWAY_NATIONAL, "PathwayScenarioOut",
                                 "One scenario of the stroke pathway model, nationally (132 units).")
PathwayUnitOut = shape_model(PATHWAY_UNITS, "PathwayUnitOut", "One unit under one scenario.")
ScenarioParam = Literal["base", "speed", "onset", "speed_onset"]
METHOD = (
    "SAMueL-1's stroke pathway simulation (vectorised): for each unit, simulated years of its admissions; a "
    "patient is thrombolysed when onset is known, arrival is within 4 h, the scan within 4 h of arrival, the "
    "patient eligible and 15 minutes of the 270-minute window remain; lognormal times per unit. Added good "
    "outcomes (mRS 0-1): the SAMueL clinical outcome model at the onset-to-needle time. Percentages are of "
    "admissions; intervals are the 2.5th-97.5th percentiles over simulated years (good outcomes with the "
    "outcome model's stated uncertainty). docs/outcomes-stroke.md."
)


class PathwayOut(BaseModel):
    """The pathway model's scenarios nationally, with how they were calculated."""

    method: str = Field(description="How the figures were calculated.")
    source: str = Field(description="Where the model and its inputs come from.")
    items: list[PathwayScenarioOut]  # type: ignore[valid-type]


@router.get("/pathway", response_model=PathwayOut, summary="Stroke pathway model: every scenario nationally",
            responses=responses(404))
async def pathway(request: Request) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_pathway_national")
            return {"method": METHOD, "source": SOURCE, "items": read.pathway.national(cur)}, {}

    return await respond(request, build)


@router.get("/pathway/units", response_model=Page[PathwayUnitOut],
            summary="Stroke pathway model: each unit under each scenario", responses=responses(404))
async def pathway_units(
    request: Request,
    scenario: ScenarioParam | None = None,
    stroke_team: Annotated[str | None, Query(max_length=20, description="A SAMueL unit code, e.g. AGNOF1041H.")] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_pathway_units")
            rows = read.pathway.units(cur, scenario=scenario, stroke_team=stroke_team)
        start = (page - 1) * per_page
        return paged(request, rows[start:start + per_page], len(rows), page, per_page)

    return await respond(request, build)
