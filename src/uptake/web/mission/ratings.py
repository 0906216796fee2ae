"""Innovation ratings: /ratings (published ratings, 50 a page, searchable by organisation name or code and
filtered by level, rating year and rating, with the decertification watch list and the missed opportunities)
and /ratings/{level}/{code} (one organisation's ratings explained, and a national admin's drafts). Both are
served from the response cache to visitors who are not signed in."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from uptake.errors import UptakeError
from uptake.mission.ratings import ratings_table
from uptake.results import read
from uptake.store.db import session_scope
from uptake.store.mission_models import RATINGS
from uptake.web.mission.common import cached, ratings_freshness, records, render, results_cursor, web_of, who_of
from uptake.web.params import date_param

router = APIRouter(tags=["mission pages"], include_in_schema=False)


#: Ratings on a page of /ratings (the download has every rating of the selection); rows of the watch list
#: and of the missed opportunities shown (their downloads have them all).
PER_PAGE = 50
LIST_ROWS = 50


@router.get("/ratings")
async def ratings_page(
    request: Request,
    level: str | None = None,
    period: str | None = None,
    rating: str | None = None,
    q_: Annotated[str | None, Query(alias="q", max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return await cached(request, lambda: _ratings_page(request, level, period, rating, q_, page))


def check_rating(rating: str | None) -> str | None:
    """The rating filter (None: every rating); 422 naming the ratings for anything else."""
    if not rating:
        return None
    if rating not in RATINGS:
        raise HTTPException(422, f"rating {rating!r} is not one of {', '.join(RATINGS)}")
    return rating


def filter_ratings(frame: pd.DataFrame, *, level: str | None = None, period: dt.date | None = None,
                   rating: str | None = None, q: str | None = None) -> pd.DataFrame:
    """Ratings of one level, rating year and rating, whose organisation's name or code contains ``q``
    (case-insensitive); each filter only when given."""
    if frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    if level:
        keep &= frame["level"] == level
    if period:
        keep &= frame["period"] == period
    if rating:
        keep &= frame["rating"] == rating
    if q and q.strip():
        text = q.strip().lower()
        keep &= (frame["org_code"].str.lower().str.contains(text, regex=False)
                 | frame["org_name"].fillna("").str.lower().str.contains(text, regex=False))
    return frame.loc[keep]


def _ratings_page(request: Request, level: str | None, period: str | None, rating: str | None, q: str | None,
                  page: int) -> Response:
    chosen = date_param(period)
    rating = check_rating(rating)
    q = (q or "").strip()
    with session_scope(web_of(request).engine) as session:
        all_published = ratings_table(session, with_trace=False)
        fresh = ratings_freshness(request, session)
    frame = filter_ratings(all_published, level=level or None, period=chosen, rating=rating, q=q)
    years = sorted({p for p in all_published["period"]}, reverse=True) if not all_published.empty else []
    levels = sorted(set(all_published["level"])) if not all_published.empty else []
    summary = (frame.groupby(["level", "rating"]).size().unstack(fill_value=0) if not frame.empty else pd.DataFrame())
    pages = max(1, math.ceil(len(frame) / PER_PAGE))
    page = min(page, pages)
    shown = frame.drop(columns=["trace", "explanation"]) if not frame.empty else frame
    shown = shown.iloc[(page - 1) * PER_PAGE:page * PER_PAGE]
    watch, missed = rating_lists(request, level or None, chosen)
    watch, missed = (matching(watch, q), matching(missed, q))
    filters = {"level": level or "", "period": period or "", "rating": rating or "", "q": q}
    return render(request, "mission/ratings.html", rows=records(shown), total=len(frame), level=level,
                  freshness=fresh, watch=records(watch.head(LIST_ROWS)), watch_total=len(watch),
                  missed=records(missed.head(LIST_ROWS)), missed_total=len(missed),
                  period=period, years=years, levels=levels, rating=rating or "", q=q, ratings=RATINGS,
                  page=page, pages=pages, per_page=PER_PAGE, first=(page - 1) * PER_PAGE + 1,
                  query=urlencode(filters), filtered=bool(level or period or rating or q),
                  summary={lv: dict(summary.loc[lv]) for lv in summary.index} if not summary.empty else {})


def matching(frame: pd.DataFrame, q: str | None) -> pd.DataFrame:
    """Rows of the watch list or the missed opportunities whose organisation's name or code contains ``q``."""
    if frame.empty or not q or not q.strip():
        return frame
    text = q.strip().lower()
    names = frame["org_name"].fillna("") if "org_name" in frame.columns else pd.Series("", index=frame.index)
    return frame.loc[frame["org_code"].str.lower().str.contains(text, regex=False)
                     | names.str.lower().str.contains(text, regex=False)]


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
async def rating_page(request: Request, level: str, org_code: str) -> Response:
    return await cached(request, lambda: _rating_page(request, level, org_code))


def _rating_page(request: Request, level: str, org_code: str) -> Response:
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
