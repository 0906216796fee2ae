"""Numbers the web can be trusted with: a non-finite value already in a results store never makes a page or
the API answer 500 (the page says "not available" and why, the API answers null); and the home page's
headline figures never come from a provisional (partial) period."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import duckdb
import pytest
from fastapi.testclient import TestClient

import workspace_builder
from web_support import make_app

from uptake.analytics.store import AnalyticsStore
from uptake.web.formatting import number

NON_FINITE = {"inf": "'inf'::DOUBLE", "nan": "'nan'::DOUBLE", "-inf": "'-inf'::DOUBLE"}


def _client(built) -> TestClient:
    app = make_app(SimpleNamespace(built=built, workspace=built.workspace))
    return TestClient(app, raise_server_exceptions=False)


def _double_columns(con, table: str) -> list[str]:
    return [name for name, kind in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall() if kind == "DOUBLE"]


@pytest.fixture(scope="module", params=sorted(NON_FINITE))
def non_finite(request, tmp_path_factory):
    """The web tests' workspace with every DOUBLE of doac-share's results at ICB and England level (and of
    the ICB QMJ at any level) set to inf, -inf or NaN, written straight into the results store."""
    built = workspace_builder.build(tmp_path_factory.mktemp("non-finite") / "workspace")
    con = duckdb.connect(str(built.workspace.analytics_path))
    try:
        tables = [name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'result_%'").fetchall()]
        for table in tables:
            columns = {name for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
            doubles = _double_columns(con, table)
            if "indicator" not in columns or not doubles:
                continue
            where = "indicator = 'doac-share'"
            if {"level", "org_code"} <= columns:
                where += " AND (level IN ('icb', 'england') OR org_code = 'QMJ')"
            assignments = ", ".join(f"{c} = {NON_FINITE[request.param]}" for c in doubles)
            con.execute(f"UPDATE {table} SET {assignments} WHERE {where}")
        stored = con.execute("SELECT value FROM result_values WHERE indicator = 'doac-share' AND level = 'icb' "
                             "AND org_code = 'QMJ' LIMIT 1").fetchone()[0]
    finally:
        con.close()
    assert stored != stored or stored in (float("inf"), float("-inf"))  # really non-finite in the store
    return _client(built)


@pytest.mark.parametrize("url", [
    "/innovations/doacs?level=icb", "/innovations/doacs", "/innovations/doacs?level=sub-icb", "/",
    "/organisations/QMJ?indicator=doac-share",
])
def test_pages_show_not_available_and_why_instead_of_answering_500(non_finite, url):
    page = non_finite.get(url)
    assert page.status_code == 200, page.text[:500]
    assert "not available (not a finite number" in page.text


def test_the_league_table_says_not_available_for_the_icb(non_finite):
    page = non_finite.get("/innovations/doacs?level=icb")
    assert page.status_code == 200
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*?/organisations/QMJ(?:(?!</tr>).)*</tr>", page.text, re.S)
    assert row and "not available (not a finite number: the data behind it need checking)" in row.group(0)


API = ["/api/v1/values?indicator=doac-share&level=icb", "/api/v1/funnel?indicator=doac-share&level=icb",
       "/api/v1/opportunity/totals?indicator=doac-share", "/api/v1/spc?indicator=doac-share&org_code=QMJ"]


def test_the_innovation_page_and_the_api_answer_without_500(non_finite):
    """The page of the issue (/innovations/doacs?level=icb answered 500, "Out of range float") and the API's
    answers over the same rows: JSON has no infinity or NaN, so the API answers null."""
    assert non_finite.get("/innovations/doacs?level=icb").status_code == 200
    for url in API:
        answer = non_finite.get(url)
        assert answer.status_code == 200, (url, answer.text[:500])
        assert "Infinity" not in answer.text and "NaN" not in answer.text, url
    body = json.loads(non_finite.get(API[0]).text)
    qmj = [item for item in body["items"] if item["org_code"] == "QMJ"]
    assert qmj and all(item["value"] is None for item in qmj)


# ------------------------------------------------------------------------------------------ provisional
@pytest.fixture(scope="module")
def provisional(tmp_path_factory):
    """The web tests' workspace after doac-share's latest month was reloaded with only 3 of its locations
    as a provisional batch (``uptake ingest --partial``); the results still hold that month."""
    built = workspace_builder.build(tmp_path_factory.mktemp("provisional") / "workspace")
    store = AnalyticsStore(built.workspace.analytics_path)
    current = store.observations_current("doac-share")
    latest = current["period"].max()
    part = current[current["period"] == latest][["org_code", "period", "numerator", "denominator"]].head(3)
    store.load_observations(part, indicator="doac-share", source="partial", file_name="partial.csv",
                            file_sha256="0" * 64, loaded_by="tester", provisional=True)
    con = duckdb.connect(str(built.workspace.analytics_path), read_only=True)
    try:
        england = con.execute("SELECT period, value FROM result_values WHERE indicator = 'doac-share' "
                              "AND level = 'england' ORDER BY period DESC LIMIT 2").fetchall()
        opportunity = con.execute("SELECT gap_patients FROM result_opportunity_totals WHERE indicator = "
                                  "'doac-share' AND area_level = 'england' AND period = ?",
                                  [england[0][0]]).fetchall()
    finally:
        con.close()
    return _client(built), built, england, [row[0] for row in opportunity]


def _doac_card(html: str) -> str:
    start = html.index("?indicator=doac-share")
    return html[start:html.index("</li>", start)]


def test_the_home_page_headlines_the_latest_complete_period_and_says_a_newer_one_is_provisional(provisional):
    client, built, england, partial_opportunity = provisional
    (latest, _), (complete, complete_value) = england
    ind = built.catalogue.indicators["doac-share"]
    page = client.get("/")
    assert page.status_code == 200
    card = _doac_card(page.text)
    assert f"England, {complete:%B %Y}" in card
    assert ind.format_value(complete_value) in card
    assert f"England, {latest:%B %Y}" not in card
    assert f"A newer period, {latest:%B %Y}, is provisional" in card
    # the opportunity total of the provisional month is not a headline
    assert partial_opportunity and all(f"{number(v)} more " not in card for v in partial_opportunity)


def test_the_batches_api_says_which_batch_is_provisional(provisional):
    client = provisional[0]
    answer = client.get("/api/v1/batches?indicator=doac-share")
    assert answer.status_code == 200
    items = json.loads(answer.text)
    items = items["items"] if isinstance(items, dict) else items
    assert [b["provisional"] for b in items][-1] is True and not any(b["provisional"] for b in items[:-1])
