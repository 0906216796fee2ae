"""Innovation ratings: /ratings (published ratings by level and rating year, with the decertification watch
list and the missed opportunities) and /ratings/{level}/{code} (one organisation's ratings explained, and a
national admin's drafts)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from uptake.errors import UptakeError
from uptake.mission.ratings import ratings_table
from uptake.results import read
from uptake.store.db import session_scope
from uptake.web.mission.common import ratings_freshness, records, render, results_cursor, web_of, who_of
from uptake.web.params import date_param

router = APIRouter(tags=["mission pages"], include_in_schema=False)


@router.get("/ratings")
def ratings_page(request: Request, level: str | None = None, period: str | None = None) -> Response:
    chosen = date_param(period)
    with session_scope(web_of(request).engine) as session:
        all_published = ratings_table(session, with_trace=False)
        fresh = ratings_freshness(request, session)
    frame = all_published
    if level:
        frame = frame.loc[frame["level"] == level]
    if chosen:
        frame = frame.loc[frame["period"] == chosen]
    years = sorted({p for p in all_published["period"]}, reverse=True) if not all_published.empty else []
    levels = sorted(set(all_published["level"])) if not all_published.empty else []
    summary = (frame.groupby(["level", "rating"]).size().unstack(fill_value=0) if not frame.empty else pd.DataFrame())
    shown = frame.drop(columns=["trace", "explanation"]).head(500) if not frame.empty else frame
    watch, missed = rating_lists(request, level or None, date_param(period))
    return render(request, "mission/ratings.html", rows=records(shown), total=len(frame), level=level,
                  freshness=fresh, watch=records(watch.head(200)), watch_total=len(watch),
                  missed=records(missed.head(200)), missed_total=len(missed),
                  period=period, years=years, levels=levels,
                  summary={lv: dict(summary.loc[lv]) for lv in summary.index} if not summary.empty else {})


def rating_lists(request: Request, level: str | None,
                 rating_year: dt.date | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decertification watch list (longest run below the minimum first) and the missed opportunities
    (most peers met first), for one level and rating year if given."""
    out = []
    for reader, order in ((read.attainment.watch_list, ["periods_below_minimum", "org_code"]),
                          (read.attainment.missed_opportunities, ["peers_met", "org_code"])):
        try:
            with results_cursor(request) as cur:
                frame = reader(cur, level=level or None, rating_year=rating_year or None)
        except UptakeError:
            frame = pd.DataFrame()
        if not frame.empty:
            frame = frame.sort_values(order, ascending=[False, True]).reset_index(drop=True)
        out.append(frame)
    return out[0], out[1]


@router.get("/ratings/{level}/{org_code}")
def rating_page(request: Request, level: str, org_code: str) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        published = ratings_table(session, level=level, org_code=org_code)
        drafts = pd.DataFrame()
        if who.role == "national-admin":
            try:
                with web_of(request).snapshots.cursor() as (_, shown):  # runs of unpublished publications: hidden
                    drafts = ratings_table(session, who, status="all", level=level, org_code=org_code,
                                           results=shown)
            except UptakeError:  # no rating run yet: there are no drafts to show
                drafts = pd.DataFrame()
        fresh = ratings_freshness(request, session)
    if published.empty and drafts.empty:
        raise HTTPException(404, f"no published rating for {level} {org_code}")
    return render(request, "mission/rating.html", level=level, org_code=org_code, freshness=fresh,
                  ratings=records(published.sort_values("period", ascending=False)),
                  drafts=records(drafts.loc[drafts["status"] != "published"]) if not drafts.empty else [])
