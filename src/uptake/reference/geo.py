"""Find by postcode or place, offline: where a postcode or a place name is, from the bundled organisations'
postcodes and coordinates only (nothing is fetched), and which organisations are nearest.

The gazetteer is every current organisation with both a postcode and coordinates (trusts and stroke units in
the bundled hierarchy: a few hundred postcodes). A query is placed, in this order:

1. a full postcode that one of them has: that organisation's point ("exact");
2. a full postcode not among them, or an outward code ("LS1"): the centre (mean latitude and longitude) of
   the gazetteer's postcodes in that postcode district ("district");
3. a postcode whose district has none: the centre of those in its postcode area, the letters ("LS"): a rough
   place, tens of kilometres across, and said so ("area");
4. anything else is taken as a place name and matched against the names of the organisations with coordinates
   (a name starting with the words first); the best match's point ("place").

Otherwise :class:`uptake.errors.UptakeError` says what could not be placed and what to try. Distances are
great-circle kilometres (haversine, Earth radius 6,371 km). GP practices have postcodes but no coordinates in
the bundle, so they are never placed by distance: the practices in the query's postcode district are listed
instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from uptake.errors import UptakeError

EARTH_RADIUS_KM = 6371.0
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_AREA = re.compile(r"^([A-Z]{1,2})[0-9]")
#: the levels listed by distance (an ICB's or region's point is only a label position inside it, so they are
#: found by their boundaries instead)
NEAREST_LEVELS = ("trust", "stroke-unit", "sub-icb")
#: the columns of a gazetteer or points frame
POINT_COLUMNS = ("code", "level", "name", "postcode", "lat", "lon")


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    #: exact | district | area | place
    precision: str
    #: how the query was placed, in words, for the page
    description: str
    #: the postcode as written normally ("LS1 3EX"), or the outward code, or None for a place
    postcode: str | None
    #: the outward code (postcode district) of the query, when it is a postcode
    district: str | None


def normalise_postcode(text: str) -> str | None:
    """'ls13ex' -> 'LS1 3EX'; an outward code alone ('ls1') -> 'LS1'; None if it is neither."""
    compact = re.sub(r"\s+", "", str(text).upper())
    full = _POSTCODE.match(compact)
    if full:
        return f"{full.group(1)} {full.group(2)}"
    return compact if _OUTWARD.match(compact) else None


def outward(postcode: str) -> str:
    return postcode.split(" ")[0]


def area(postcode: str) -> str | None:
    found = _AREA.match(postcode)
    return found.group(1) if found else None


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(np.asarray(lats, dtype=float))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lons, dtype=float) - lon)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def locate(query: str, gazetteer: pd.DataFrame) -> Location:
    """Place ``query`` (a postcode, an outward code or a place name) with ``gazetteer`` (POINT_COLUMNS: the
    organisations with a postcode and coordinates). Raises UptakeError when it cannot."""
    text = " ".join(str(query or "").split())
    if not text:
        raise UptakeError("enter a postcode (e.g. LS1 3EX), a postcode district (LS1) or a place name")
    if len(text) > 100:
        raise UptakeError("a postcode or place name is at most 100 characters")
    points = gazetteer.dropna(subset=["lat", "lon"])
    coded = points.dropna(subset=["postcode"])
    codes = coded["postcode"].astype(str).str.upper().str.replace(r"\s+", " ", regex=True)
    postcode = normalise_postcode(text)
    if postcode is not None:
        district = outward(postcode)
        full = " " in postcode
        if full:
            same = coded[codes == postcode]
            if len(same):
                first = same.iloc[0]
                return Location(float(first["lat"]), float(first["lon"]), "exact",
                                f"{postcode}: the postcode of {first['name']}", postcode, district)
        in_district = coded[codes.str.split(" ").str[0] == district]
        if len(in_district):
            return Location(float(in_district["lat"].mean()), float(in_district["lon"].mean()), "district",
                            f"{postcode}{' is not one of the bundled postcodes;' if full else ':'} placed at the "
                            f"centre of the {len(in_district)} bundled postcode(s) in district {district} "
                            "(approximate: a district is a few kilometres across)", postcode, district)
        letters = area(postcode)
        in_area = coded[codes.str.extract(r"^([A-Z]{1,2})[0-9]", expand=False) == letters]
        if len(in_area):
            return Location(float(in_area["lat"].mean()), float(in_area["lon"].mean()), "area",
                            f"{postcode}: no bundled organisation with coordinates has a postcode in district "
                            f"{district}; placed roughly at the "
                            f"centre of the {len(in_area)} bundled postcode(s) in postcode area {letters} (an area "
                            "is tens of kilometres across, so the distances are rough)", postcode, district)
        raise UptakeError(f"cannot place {postcode} offline: no bundled organisation with coordinates has a postcode "
                          f"in its district {district} or its area {letters}; check the postcode, or try a nearby "
                          "town's or hospital's name")
    words = text.lower()
    names = points["name"].astype(str).str.lower()
    matches = points[names.str.contains(re.escape(words), regex=True)]
    if matches.empty:
        raise UptakeError(f"no postcode or place matches {text!r}: enter a full postcode (LS1 3EX), a postcode "
                          "district (LS1), or a town or hospital name")
    starts = matches[matches["name"].astype(str).str.lower().str.startswith(words)]
    best = (starts if len(starts) else matches).sort_values(["name", "code"]).iloc[0]
    return Location(float(best["lat"]), float(best["lon"]), "place",
                    f"{text}: placed at {best['name']} ({best['code']}), the first of {len(matches)} "
                    "organisation(s) whose name contains it", None, None)


def nearest(location: Location, points: pd.DataFrame, count: int = 20) -> pd.DataFrame:
    """The ``count`` organisations of ``points`` (POINT_COLUMNS) nearest to ``location``, with distance_km,
    nearest first (ties by code)."""
    placed = points.dropna(subset=["lat", "lon"]).copy()
    placed["distance_km"] = haversine_km(location.lat, location.lon, placed["lat"].to_numpy(),
                                         placed["lon"].to_numpy())
    return placed.sort_values(["distance_km", "code"]).head(count).reset_index(drop=True)


def containing(location: Location, collection: dict | None) -> dict | None:
    """The properties of the first feature of a GeoJSON FeatureCollection (Polygon or MultiPolygon, lon/lat)
    that contains the location (ray casting; holes honoured), or None."""
    if not collection:
        return None
    x, y = location.lon, location.lat
    for feature in collection.get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = ([geometry["coordinates"]] if geometry.get("type") == "Polygon"
                    else geometry.get("coordinates", []) if geometry.get("type") == "MultiPolygon" else [])
        for rings in polygons:
            if rings and _in_ring(x, y, rings[0]) and not any(_in_ring(x, y, hole) for hole in rings[1:]):
                return feature.get("properties") or {}
    return None


def _in_ring(x: float, y: float, ring: list) -> bool:
    xs = np.asarray([p[0] for p in ring], dtype=float)
    ys = np.asarray([p[1] for p in ring], dtype=float)
    x2, y2 = np.roll(xs, -1), np.roll(ys, -1)
    crosses = (ys > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = xs + (y - ys) * (x2 - xs) / (y2 - ys)
    return bool(np.count_nonzero(crosses & (x < at)) % 2)
