"""Find by postcode or place: the organisations nearest to a postcode, a postcode district or a place name,
with distances, worked out offline from the bundled postcodes and coordinates (uptake.reference.geo)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.reference.geo import NEAREST_LEVELS
from uptake.web.api.common import need, respond, web_of
from uptake.web.api.errors import responses
from uptake.web.tables.base import Context
from uptake.web.tables.postcode import find


class LocationOut(BaseModel):
    lat: float
    lon: float
    #: exact (a bundled organisation's postcode), district (centre of the bundled postcodes in the postcode
    #: district), area (centre of those in the postcode area: rough) or place (a name matched)
    precision: str
    description: str
    postcode: str | None = None
    district: str | None = None


class NearOrganisation(BaseModel):
    code: str
    level: str
    name: str | None = None
    postcode: str | None = None
    distance_km: float


class DistrictPractice(BaseModel):
    code: str
    name: str | None = None
    postcode: str | None = None


class NearestOut(BaseModel):
    query: str
    location: LocationOut
    organisations: list[NearOrganisation]
    #: GP practices in the query's postcode district (practices have no coordinates: listed without distance)
    practices_in_district: list[DistrictPractice]


router = APIRouter(prefix="/api/v1", tags=["results"])


@router.get("/nearest", response_model=NearestOut,
            summary="Find by postcode or place: the nearest trusts, stroke units and sub-ICB locations, offline",
            responses=responses(404, d404="The postcode or place cannot be placed with the bundled data (the "
                                          "message says why and what to try)"))
async def nearest(
    request: Request,
    q_: Annotated[str, Query(alias="q", min_length=1, max_length=100,
                             description="A postcode (LS1 3EX), a postcode district (LS1) or a place name.")],
    level: Annotated[str | None, Query(pattern="^(" + "|".join(NEAREST_LEVELS) + ")$",
                                       description="Only this level (trust, stroke-unit or sub-icb).")] = None,
    count: Annotated[int, Query(ge=1, le=100, description="How many organisations (at most 100).")] = 20,
) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "organisations")
            found = find(Context(cur, web.catalogue, principal), q_, level, count)
        location = found["location"]
        return {"query": q_, "location": {k: getattr(location, k) for k in LocationOut.model_fields},
                "organisations": found["organisations"], "practices_in_district": found["practices"]}, {}

    return await respond(request, build)
