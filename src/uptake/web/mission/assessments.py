"""Value assessments: /assessments (every assessment with its scope, decision, due date and what it means now,
and for each national approval due everywhere how many organisations are still below the adoption threshold).
Public, as the API's GET /api/v1/assessments is, and served from the response cache to visitors who are not
signed in."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.errors import UptakeError
from uptake.mission.assessments import (
    ASSESSMENT_STATUSES,
    assessment_statuses,
    assessments_frame,
    availability_gap_report,
)
from uptake.store.db import session_scope
from uptake.web.mission.common import cached, records, render, results_cursor, web_of

router = APIRouter(tags=["mission pages"], include_in_schema=False)


@router.get("/assessments")
async def assessments_page(request: Request) -> Response:
    return await cached(request, lambda: _assessments_page(request))


def assessments_with_status(request: Request, session) -> pd.DataFrame:
    """Every assessment with its status and, for national approvals, how many organisations are not at the
    adoption threshold after the due date: no result, no uptake or low uptake (``gaps``, as the availability
    report lists them; None when there are no results to judge by)."""
    frame = assessment_statuses(assessments_frame(session))
    try:
        with results_cursor(request) as cur:
            gaps = availability_gap_report(session, cur)
    except UptakeError:  # no results yet: nothing to count
        return frame.assign(gaps=None)
    counts = gaps.groupby("assessment_id").size() if not gaps.empty else pd.Series(dtype=int)
    approved = frame["status"].isin(["due-everywhere", "due-soon"])
    gap_counts = [int(counts.get(i, 0)) if ok else None for i, ok in zip(frame["id"], approved)]
    return frame.assign(gaps=pd.Series(gap_counts, index=frame.index, dtype=object))


def _assessments_page(request: Request) -> Response:
    with session_scope(web_of(request).engine) as session:
        frame = assessments_with_status(request, session)
    frame = frame.sort_values(["decided_on", "id"], ascending=[False, False])
    counts = frame["status"].value_counts().to_dict() if not frame.empty else {}
    return render(request, "mission/assessments.html", assessments=records(frame), total=len(frame),
                  counts={key: counts.get(key, 0) for key in ASSESSMENT_STATUSES}, statuses=ASSESSMENT_STATUSES)
