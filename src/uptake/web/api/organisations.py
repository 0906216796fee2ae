"""Organisations: found by level or name, and one organisation with its parents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.results import read
from uptake.web.api.common import LevelParam, Page, PageParam, PerPageParam, need, paged, respond, web_of
from uptake.web.api.errors import responses

router = APIRouter(prefix="/api/v1", tags=["results"])


class Organisation(BaseModel):
    code: str
    level: str
    name: str | None = None
    ons_code: str | None = None
    imd_quintile: int | None = None
    population: float | None = None
    trust_type: str | None = None


class OrganisationDetail(Organisation):
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    imd_score: float | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    parents: list[dict[str, Any]] = []


@router.get("/organisations", response_model=Page[Organisation], summary="Organisations, by level or name",
            responses=responses(404))
async def organisations(
    request: Request,
    level: LevelParam | None = None,
    q_: Annotated[str | None, Query(alias="q", max_length=100, description="Part of a name or code.")] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "organisations")
            rows, total = read.organisations.search_organisations(
                cur, q_, level.value if level else None, per_page, (page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)


@router.get("/organisations/{code}", response_model=OrganisationDetail, summary="One organisation and its parents",
            responses=responses(404))
async def organisation(request: Request, code: str) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "organisations")
            org = read.organisations.organisation(cur, code)
            if org is None:
                raise HTTPException(404, f"unknown organisation {code!r}")
            org["parents"] = read.organisations.parents(cur, code) if snapshot.has("relationships") else []
        return org, {}

    return await respond(request, build)
