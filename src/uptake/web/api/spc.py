"""An organisation's SPC chart: its points with limits and flags, and the series' icons."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.results import read
from uptake.web.api.common import CodeParam, LevelParam, known_indicator, need, respond, web_of
from uptake.web.api.errors import responses

router = APIRouter(prefix="/api/v1", tags=["results"])


class SpcOut(BaseModel):
    indicator: str
    level: str
    org_code: str
    series: dict[str, Any] | None
    points: list[dict[str, Any]]


@router.get("/spc", response_model=SpcOut, summary="An organisation's SPC chart: limits, flags and icons",
            responses=responses(404))
async def spc(request: Request, indicator: str, org_code: CodeParam, level: LevelParam | None = None) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_spc")
            org = read.organisations.organisation(cur, org_code)
            if org is None:
                raise HTTPException(404, f"unknown organisation {org_code!r}")
            lv = level.value if level else org["level"]
            points = read.spc.spc_points(cur, indicator, lv, org_code)
            series = (read.spc.spc_series(cur, indicator, lv, org_code) if snapshot.has("result_spc_series")
                      else None)
        return {"indicator": indicator, "level": lv, "org_code": org_code, "series": series, "points": points}, {}

    return await respond(request, build)
