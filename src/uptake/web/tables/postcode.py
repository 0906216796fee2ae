"""Find by postcode or place (public): the organisations nearest to a postcode, a postcode district or a place,
with distances, and the GP practices in the postcode's district (practices have no coordinates in the bundle);
shared by the organisations directory, its downloads and /api/v1/nearest."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from uptake.errors import UptakeError
from uptake.reference import geo
from uptake.results import read
from uptake.web.formatting import level_label, number
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import org_link

#: how many organisations the nearest list gives
NEAREST_COUNT = 20


def find(ctx: Context, near: str, level: str | None = None, count: int = NEAREST_COUNT) -> dict[str, Any]:
    """The location of ``near`` and the nearest organisations (of ``level``, or of every level listed by
    distance). 404 with the reason when the query cannot be placed; 422 for a level not listed by distance."""
    if level and level not in geo.NEAREST_LEVELS:
        raise HTTPException(422, f"level {level!r} is not listed by distance: choose one of "
                                 f"{', '.join(geo.NEAREST_LEVELS)} (GP practices are listed by postcode district)")
    gazetteer = read.organisations.located(ctx.cur)
    try:
        location = geo.locate(near, gazetteer)
    except UptakeError as exc:
        raise HTTPException(404, str(exc)) from None
    points = gazetteer[gazetteer["level"].isin([level] if level else list(geo.NEAREST_LEVELS))]
    found = geo.nearest(location, points, count)
    rows = [{"code": r.code, "level": r.level, "name": r.name, "postcode": r.postcode if isinstance(r.postcode, str)
             else None, "distance_km": round(float(r.distance_km), 2)} for r in found.itertuples()]
    practices = read.organisations.practices_in_district(ctx.cur, location.district) if location.district else []
    return {"location": location, "organisations": rows, "practices": practices}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def nearest(ctx: Context, near: str, level: str | None = None) -> DataTable:
    found = find(ctx, near, level)
    location = found["location"]
    columns = [
        Column("distance_km", "Distance (km)", fmt=lambda r: number(r["distance_km"], 1), numeric=True),
        Column("name", "Organisation", fmt=lambda r: f"{r['name']} ({r['code']})",
               href=lambda r: org_link(r, "code")),
        Column("level", "Type", fmt=lambda r: _sentence(level_label(r["level"]))),
        Column("postcode", "Postcode"),
    ]
    return DataTable("nearest", f"Nearest {level_label(level, plural=True) if level else 'organisations'} to "
                     f"{location.postcode or near}", columns, found["organisations"],
                     params={"near": near, "level": level}, note=location.description,
                     raw_columns=["code", "level", "name", "postcode", "distance_km"])


def district_practices(ctx: Context, near: str) -> DataTable:
    found = find(ctx, near)
    district = found["location"].district
    columns = [
        Column("name", "GP practice", fmt=lambda r: f"{r['name']} ({r['code']})", href=lambda r: org_link(r, "code")),
        Column("postcode", "Postcode"),
    ]
    return DataTable("district-practices", f"GP practices in postcode district {district}" if district else
                     "GP practices: enter a postcode to list those in its district", columns, found["practices"],
                     params={"near": near},
                     note="Practices have postcodes but no coordinates in the bundled data, so they are listed by "
                          "postcode district, not by distance.",
                     raw_columns=["code", "name", "postcode"])
