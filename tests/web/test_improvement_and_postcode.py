"""The improvement ranking (innovation page, API, downloads) and find by postcode (organisations directory, API,
downloads), on the web tests' workspace; the figures checked against plain recomputations."""

from __future__ import annotations

import csv
import io
import math

import pytest

from uptake.reference import geo

import workspace_builder as wb


def _wilson(x, n, z=1.959964):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _values(client, indicator, level, period):
    rows = client.get(f"/api/v1/values?indicator={indicator}&level={level}&period={period}&per_page=1000").json()
    return {r["org_code"]: r for r in rows["items"]}


# ------------------------------------------------------------------------------------------ improvement
def test_improvement_api_ranks_by_change_with_newcombe_intervals(client):
    body = client.get("/api/v1/improvement?indicator=doac-share&level=sub-icb&per_page=1000").json()
    assert body["start"] == "2021-12-01" and body["end"] == "2022-12-01"  # a year before the latest period
    assert "Newcombe" in body["method"] and body["total"] == len(body["items"]) == 12
    start, end = _values(client, "doac-share", "sub-icb", body["start"]), _values(client, "doac-share", "sub-icb",
                                                                                  body["end"])
    changes = [r["change"] for r in body["items"]]
    assert changes == sorted(changes, reverse=True)  # high is good: the largest rise first
    assert [r["rank"] for r in body["items"]] == list(range(1, 13))
    for row in body["items"]:
        a, b = start[row["org_code"]], end[row["org_code"]]
        p1, p2 = a["numerator"] / a["denominator"], b["numerator"] / b["denominator"]
        l1, u1 = _wilson(a["numerator"], a["denominator"])
        l2, u2 = _wilson(b["numerator"], b["denominator"])
        assert row["change"] == pytest.approx(p2 - p1)
        assert row["change_low"] == pytest.approx(p2 - p1 - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2))
        assert row["change_high"] == pytest.approx(p2 - p1 + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))
        expected = ("clear improvement" if row["change_low"] > 0 else "clear decline" if row["change_high"] < 0
                    else "no clear change")
        assert row["verdict"] == expected


def test_improvement_low_is_good_ranks_the_largest_fall_first_and_bad_periods_are_refused(client):
    body = client.get("/api/v1/improvement?indicator=narcolepsy-newer-share&level=trust").json()
    changes = [r["change"] for r in body["items"]]
    assert changes == sorted(changes)
    bad = client.get("/api/v1/improvement?indicator=doac-share&level=sub-icb&start=2022-12-01&end=2021-01-01")
    assert bad.status_code == 422 and "before its end" in bad.json()["detail"]
    missing = client.get("/api/v1/improvement?indicator=doac-share&level=sub-icb&start=1999-01-01")
    assert missing.status_code == 422 and "1999-01-01" in missing.json()["detail"]
    assert client.get("/api/v1/improvement?indicator=nope&level=icb").status_code == 404


def test_innovation_page_has_the_ranking_with_a_period_chooser_and_download(client):
    page = client.get("/innovations/doacs?indicator=doac-share&level=sub-icb&since=2021-06-01")
    assert page.status_code == 200
    assert 'id="improvement-table"' in page.text and 'name="since"' in page.text
    assert '<option value="2021-06-01" selected>' in page.text
    assert "/download/improvement.csv?indicator=doac-share&amp;level=sub-icb&amp;start=2021-06-01" in page.text
    download = client.get("/download/improvement.csv?indicator=doac-share&level=sub-icb&start=2021-06-01"
                          "&end=2022-12-01")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    api = client.get("/api/v1/improvement?indicator=doac-share&level=sub-icb&start=2021-06-01").json()
    data = [r for r in rows if r.get("org_code")]
    assert [r["org_code"] for r in data] == [r["org_code"] for r in api["items"]]
    xlsx = client.get("/download/improvement.xlsx?indicator=doac-share&level=sub-icb")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


# ------------------------------------------------------------------------------------------ find by postcode
def _trust_point(code):
    orgs, _ = wb.reference()
    row = orgs[orgs["code"] == code].iloc[0]
    return float(row["lat"]), float(row["lon"])


def test_nearest_to_an_exact_postcode_starts_with_its_own_trust_at_zero_km(client):
    body = client.get("/api/v1/nearest?q=nw32qg&count=50").json()
    assert body["location"]["precision"] == "exact" and body["location"]["postcode"] == "NW3 2QG"
    first = body["organisations"][0]
    assert (first["code"], first["distance_km"]) == ("RAL", 0.0)
    lat, lon = _trust_point("RAL")
    orgs, _ = wb.reference()
    listed = orgs[orgs["level"].isin(geo.NEAREST_LEVELS)]
    for row in body["organisations"]:  # plain haversine, written out
        other = listed[listed["code"] == row["code"]].iloc[0]
        p1, p2 = math.radians(lat), math.radians(other["lat"])
        a = (math.sin((p2 - p1) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(math.radians(other["lon"] - lon) / 2) ** 2)
        assert row["distance_km"] == pytest.approx(2 * 6371 * math.asin(math.sqrt(a)), abs=0.006)
    assert [r["distance_km"] for r in body["organisations"]] == sorted(r["distance_km"] for r in body["organisations"])
    assert len(body["organisations"]) == len(listed)  # every trust and sub-ICB location (no stroke units here)
    assert {p["code"] for p in body["practices_in_district"]} == {
        c for c in orgs[orgs["level"] == "practice"]["code"] if c.startswith("PMJ")}


def _centre(prefix_of, wanted):
    orgs, _ = wb.reference()
    placed = orgs.dropna(subset=["postcode", "lat", "lon"])
    chosen = placed[[prefix_of(p) == wanted for p in placed["postcode"]]]
    assert len(chosen)
    return float(chosen["lat"].mean()), float(chosen["lon"].mean())


def test_a_postcode_not_bundled_uses_its_district_then_its_area_and_an_unknown_one_says_why(client):
    district = client.get("/api/v1/nearest?q=BS10 9ZZ").json()["location"]
    assert district["precision"] == "district"
    assert (district["lat"], district["lon"]) == pytest.approx(_centre(lambda p: p.split()[0], "BS10"))
    area = client.get("/api/v1/nearest?q=BS99 1AA").json()["location"]
    assert area["precision"] == "area" and "rough" in area["description"]
    assert (area["lat"], area["lon"]) == pytest.approx(_centre(lambda p: p[:2], "BS"))
    unknown = client.get("/api/v1/nearest?q=ZZ9 9ZZ")
    assert unknown.status_code == 404 and "cannot place ZZ9 9ZZ" in unknown.json()["detail"]
    place = client.get("/api/v1/nearest?q=somerset&level=trust").json()
    assert place["location"]["precision"] == "place" and place["organisations"][0]["code"] == "RH5"
    assert {r["level"] for r in place["organisations"]} == {"trust"}


def test_directory_page_finds_by_postcode_and_shows_errors_in_the_form(client):
    page = client.get("/organisations?near=SE1+7EH")
    assert page.status_code == 200 and 'id="nearest-table"' in page.text
    assert "the postcode of Guy&#39;s and St Thomas&#39; NHS Foundation Trust" in page.text
    assert 'id="district-practices-table"' in page.text and "PKK00" in page.text
    assert "/download/nearest.csv?near=SE1+7EH" in page.text
    bad = client.get("/organisations?near=ZZ9+9ZZ")
    assert bad.status_code == 200 and 'id="near-error"' in bad.text and "cannot place ZZ9 9ZZ" in bad.text
    assert 'id="nearest-table"' not in bad.text
    rows = list(csv.DictReader(io.StringIO(client.get("/download/nearest.csv?near=SE1 7EH").content.decode("utf-8-sig"))))
    assert rows[0]["code"] == "RJ1" and float(rows[0]["distance_km"]) == 0.0
