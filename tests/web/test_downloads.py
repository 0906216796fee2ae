"""CSV and Excel downloads: raw values, the same rows as the page, the same access rules."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_league_csv_has_raw_values(client):
    response = client.get("/download/league.csv?indicator=doac-share&level=sub-icb")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv(response)
    assert len(rows) == 12
    assert {"org_code", "value", "ci95_low", "ci95_high", "decile", "comparison"} <= set(rows[0])
    assert 0 <= float(rows[0]["value"]) <= 1  # a fraction, not a percentage
    assert [int(r["rank"]) for r in rows] == list(range(1, 13))


def test_excel_download(client):
    response = client.get("/download/league.xlsx?indicator=dementia-diagnosis-rate&level=practice")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = book["league"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "rank" and len(rows) == 37
    header = list(rows[0])
    assert all(row[header.index("synthetic")] is True for row in rows[1:])
    about = [r[0] for r in book["About"].iter_rows(values_only=True)]
    assert any("Open Government Licence" in (text or "") for text in about)


@pytest.mark.parametrize("url", [
    "/download/organisations.csv?level=icb",
    "/download/organisation.csv?code=MJ0",
    "/download/adoption.csv?indicator=doac-share&level=sub-icb",
    "/download/deciles.csv?indicator=doac-share&level=sub-icb",
    "/download/funnel.csv?indicator=doac-share&level=sub-icb",
    "/download/spc.csv?code=MJ0&indicator=doac-share",
    "/download/compare.csv?codes=QMJ,QKK",
    "/download/batches.csv",
    "/download/indicators.csv",
    "/download/opportunity-totals.csv?indicator=doac-share",
])
def test_public_downloads(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert len(_csv(response)) >= 1


def test_unknown_download(client):
    assert client.get("/download/nope.csv").status_code == 404
    assert client.get("/download/league.pdf?indicator=doac-share&level=icb").status_code == 404
