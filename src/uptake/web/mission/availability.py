"""Availability: /availability (value assessments, and the organisations where an assessed innovation is not
yet available)."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.errors import UptakeError
from uptake.mission.assessments import assessments_frame, availability_gap_report
from uptake.store.db import session_scope
from uptake.web.mission.common import cached, records, render, results_cursor, web_of

router = APIRouter(tags=["mission pages"], include_in_schema=False)


@router.get("/availability")
async def availability_page(request: Request, include_caught_up: bool = False) -> Response:
    return await cached(request, lambda: _availability_page(request, include_caught_up))


def _availability_page(request: Request, include_caught_up: bool = False) -> Response:
    with session_scope(web_of(request).engine) as session:
        assessments = assessments_frame(session)
        try:
            with results_cursor(request) as cur:
                gaps = availability_gap_report(session, cur, include_caught_up=include_caught_up)
        except UptakeError:
            gaps = pd.DataFrame()
    return render(request, "mission/availability.html", assessments=records(assessments),
                  gaps=records(gaps.head(1000)) if not gaps.empty else [], total=len(gaps),
                  include_caught_up=include_caught_up)
