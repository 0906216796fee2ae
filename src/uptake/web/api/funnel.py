"""Funnel plot points and limits of one indicator, level and period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.results import read
from uptake.web.api.common import LevelParam, PeriodParam, known_indicator, need, respond, web_of
from uptake.web.api.errors import responses
from uptake.web.methods import SHARE_ONLY_NOTE
from uptake.web.params import date_param

router = APIRouter(prefix="/api/v1", tags=["results"])


class FunnelOut(BaseModel):
    indicator: str
    level: str
    period: dt.date | None
    points: list[dict[str, Any]]
    limits: list[dict[str, Any]]
    #: why there is no funnel (a share-only indicator publishes no counts), else null
    note: str | None = None


@router.get("/funnel", response_model=FunnelOut, summary="Funnel plot points and limits", responses=responses(404))
async def funnel(request: Request, indicator: str, level: LevelParam, period: PeriodParam = None) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)
    share_only = web.catalogue.indicators[indicator].share_only

    def build(principal):
        if share_only:  # no counts: no funnel, and the answer says why
            return {"indicator": indicator, "level": level.value, "period": date_param(period), "points": [],
                    "limits": [], "note": SHARE_ONLY_NOTE}, {}
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_funnel")
            day = date_param(period) or read.values.latest_period(cur, indicator, level.value)
            points = read.funnel.funnel_points(cur, indicator, level.value, day) if day else []
            limits = read.funnel.funnel_curve(cur, indicator, level.value, day) if day and snapshot.has(
                "result_funnel_curve") else []
        return {"indicator": indicator, "level": level.value, "period": day, "points": points, "limits": limits}, {}

    return await respond(request, build)
