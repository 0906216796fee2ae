"""The stroke pathway page, its downloads and its API: the published scenario tables with intervals and how
they were calculated, SAMueL's figures beside them, per unit, CSV and Excel, and /api/v1/pathway."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from uptake.results.schema import PATHWAY_NATIONAL, PATHWAY_UNITS


def test_page_shows_scenarios_units_intervals_and_how(client):
    page = client.get("/models/stroke-pathway")
    assert page.status_code == 200
    html = page.text
    for words in ("Speed and onset known", "SAMueL published", "95% interval", "How were these scenario figures calculated?",
                  "How were the unit figures calculated?", "What one more patient thrombolysed is worth",
                  "Good outcomes added", "QALYs gained", "Show the", "Modelled, not measured"):
        assert words in html, words
    assert 'id="pathway-rate-chart"' in html and 'id="pathway-units-chart"' in html
    # the base sentence states the simulated rate with its interval and SAMueL's 11.6%
    sentence = re.search(r"thrombolysed \(95% interval ([\d.]+) to ([\d.]+)%\)", html)
    assert sentence and float(sentence.group(1)) < 11.6 + 0.6 and float(sentence.group(2)) > 11.6 - 0.6
    assert "SAMueL published 11.6% and 9.4" in html
    # the unit table: 132 units of the chosen scenario (speed + onset by default)
    assert html.count("AGNOF1041H") >= 1
    onset = client.get("/models/stroke-pathway", params={"scenario": "onset"})
    assert onset.status_code == 200 and "Onset known (%)" in onset.text


def test_unknown_scenario_is_a_404_naming_the_choices(client):
    answer = client.get("/models/stroke-pathway", params={"scenario": "benchmark"})
    assert answer.status_code == 404
    assert "speed_onset" in answer.text


def test_downloads_csv_and_excel(client):
    national = client.get("/download/pathway-national.csv")
    assert national.status_code == 200 and national.headers["content-type"].startswith("text/csv")
    lines = national.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:2] == ["scenario", "title"] and len(lines) == 5
    for column in ("thrombolysis_pct_low", "good_outcomes_per_1000_high", "samuel_thrombolysis_pct"):
        assert column in lines[0]
    units = client.get("/download/pathway-units.csv", params={"scenario": "speed"})
    rows = units.content.decode("utf-8-sig").splitlines()
    assert len(rows) == 133 and all(row.startswith("speed,") for row in rows[1:])
    book = load_workbook(io.BytesIO(client.get("/download/pathway-units.xlsx", params={"scenario": "onset"}).content))
    sheet = book.worksheets[0]
    assert sheet.max_row == 133
    assert client.get("/download/pathway-units.csv", params={"scenario": "nope"}).status_code == 404


def test_api_pathway_and_units(client):
    answer = client.get("/api/v1/pathway")
    assert answer.status_code == 200 and answer.headers.get("etag")
    body = answer.json()
    assert "270-minute" in body["method"] and "SAMueL" in body["source"]
    assert [r["scenario"] for r in body["items"]] == ["base", "speed", "onset", "speed_onset"]
    assert set(body["items"][0]) == set(PATHWAY_NATIONAL.column_names)
    base = body["items"][0]
    assert base["thrombolysis_pct_low"] <= base["thrombolysis_pct"] <= base["thrombolysis_pct_high"]
    units = client.get("/api/v1/pathway/units", params={"scenario": "speed", "per_page": 50}).json()
    assert units["total"] == 132 and len(units["items"]) == 50 and units["pages"] == 3
    assert set(units["items"][0]) == set(PATHWAY_UNITS.column_names)
    one = client.get("/api/v1/pathway/units", params={"stroke_team": "AGNOF1041H"}).json()
    assert [r["scenario"] for r in one["items"]] == ["base", "speed", "onset", "speed_onset"]
    assert client.get("/api/v1/pathway/units", params={"scenario": "benchmark"}).status_code == 422
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/pathway" in schema["paths"] and "/api/v1/pathway/units" in schema["paths"]
