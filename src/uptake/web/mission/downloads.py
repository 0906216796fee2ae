"""Every mission table as CSV, /mission/download/{name}.csv, with the filters of the page it came from (what
the page shows, no more)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from uptake.mission.assessments import availability_gap_report
from uptake.mission.permissions import NotPermitted
from uptake.mission.plans import filings, review_queue
from uptake.mission.ratings import ratings_table
from uptake.store.db import session_scope
from uptake.web.mission.assessments import assessments_with_status
from uptake.web.mission.common import csv_download, results_cursor, web_of, who_of
from uptake.web.mission.frameworks import attainment_rows
from uptake.web.mission.ratings import check_rating, filter_ratings, matching, rating_lists
from uptake.web.params import date_param

router = APIRouter(tags=["mission pages"], include_in_schema=False)


#: the columns of the filings download
FILING_COLUMNS = ["id", "icb_code", "framework", "commitment", "kind", "status", "revision", "content", "updated_at"]


@router.get("/mission/download/{name}.csv")
def download(request: Request, name: str, framework: str | None = None, commitment: str | None = None,
             level: str | None = None, period: str | None = None, include_caught_up: bool = False,
             org: str | None = None, queue: bool = False, rating: str | None = None,
             q_: Annotated[str | None, Query(alias="q", max_length=100)] = None) -> Response:
    """CSV of a mission table, with the filters of the page it came from (what the page shows, no more;
    every row of it, not one page)."""
    if name == "attainment":
        return csv_download(attainment_rows(request, framework=framework or None, commitment=commitment or None,
                                            level=level or None, org_code=org or None), "attainment")
    with session_scope(web_of(request).engine) as session:
        if name == "ratings":
            frame = ratings_table(session, level=level or None, period=date_param(period), org_code=org or None)
            return csv_download(filter_ratings(frame, rating=check_rating(rating), q=q_), "ratings")
        if name in ("watch-list", "missed-opportunities"):
            watch, missed = rating_lists(request, level or None, date_param(period))
            return csv_download(matching(watch if name == "watch-list" else missed, q_), name)
        if name == "gaps":
            with results_cursor(request) as cur:
                return csv_download(availability_gap_report(session, cur, include_caught_up=include_caught_up),
                                    "gaps")
        if name == "assessments":  # as /assessments shows them: with their status
            return csv_download(assessments_with_status(request, session), "assessments")
        if name == "filings":
            return csv_download(_filings(request, session, queue), "filings")
    raise HTTPException(404, f"no table {name}")


def _filings(request: Request, session, queue: bool) -> pd.DataFrame:
    """The filings the person may see, or (``queue``) the national review queue."""
    who = who_of(request)
    if queue:
        try:
            chosen = review_queue(session, who)
        except NotPermitted:
            raise HTTPException(403, "the review queue is for national reviewers") from None
    else:
        chosen = filings(session, who)
    rows = [{"id": f.id, "icb_code": f.icb_code, "framework": f.framework_id, "commitment": f.commitment_key,
             "kind": f.kind, "status": f.status, "revision": f.revision, "content": f.content,
             "updated_at": f.updated_at} for f in chosen]
    return pd.DataFrame(rows, columns=FILING_COLUMNS)
