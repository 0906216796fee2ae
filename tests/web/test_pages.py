"""Every page renders with data, NHS.UK furniture, SYNTHETIC labels, "how was this calculated" and
downloads; HTMX filters return fragments; nothing is loaded from another site."""

from __future__ import annotations

import re

import pytest

PAGES = [
    "/",
    "/innovations/doacs",
    "/innovations/doacs?indicator=doac-share&level=icb",
    "/innovations/dementia-diagnosis",
    "/innovations/narcolepsy-medicines",
    "/organisations",
    "/organisations?q=somerset&level=sub-icb",
    "/organisations/MJ0",
    "/organisations/QMJ",
    "/organisations/RAL?indicator=narcolepsy-newer-share",
    "/organisations/PMJ00",
    "/compare?codes=QMJ,QKK,QSL",
    "/data",
    "/about",
    "/sign-in",
]


@pytest.mark.parametrize("url", PAGES)
def test_page_renders_in_nhsuk_style(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert 'class="nhsuk-header' in html and 'class="nhsuk-footer' in html
    assert "Open Government Licence" in html
    # every script and stylesheet is served by the app itself
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        if ref.startswith(("http://", "https://", "//")):
            assert "nationalarchives.gov.uk" in ref or "service-manual.nhs.uk" in ref, ref
    for ref in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/"), ref


def test_breadcrumbs_on_inner_pages(client):
    for url in ("/innovations/doacs", "/organisations/MJ0", "/compare", "/data", "/about"):
        assert "nhsuk-breadcrumb" in client.get(url).text, url


def test_home_shows_latest_spread_and_opportunity(client):
    html = client.get("/").text
    assert "DOAC share of anticoagulant items" in html
    assert "10th percentile" in html and "90th percentile" in html
    assert "more prescription items" in html and "extra drug cost" in html


def test_synthetic_labelled_wherever_shown(client):
    assert "SYNTHETIC" in client.get("/").text
    page = client.get("/innovations/dementia-diagnosis").text
    assert page.count("SYNTHETIC") >= 4  # heading tags, indicator, tables
    assert "SYNTHETIC" in client.get("/data").text
    assert "SYNTHETIC" in client.get("/about").text
    assert "SYNTHETIC" in client.get("/organisations/PMJ00").text
    assert "SYNTHETIC" not in client.get("/innovations/doacs").text.replace("(SYNTHETIC)", "")


def test_innovation_page_has_every_figure_with_its_method(client):
    html = client.get("/innovations/doacs").text
    for marker in ('id="s-curve"', 'id="map"', 'id="funnel"', 'id="league-table"', 'id="adoption"'):
        assert marker in html, marker
    assert html.count("How was this") >= 5
    assert "Load batch" in html and "doac-share.csv" in html  # the source batch of the figures
    assert "/download/league.csv?" in html and "/download/league.xlsx?" in html


def test_every_table_has_csv_and_excel_downloads(client):
    for url in ("/innovations/doacs", "/organisations/MJ0", "/compare?codes=QMJ,QKK", "/data", "/organisations"):
        html = client.get(url).text
        tables = html.count("<table")
        assert tables >= 1
        assert html.count(".csv") >= tables and html.count(".xlsx") >= tables, url


def test_htmx_filter_returns_a_fragment(client):
    full = client.get("/innovations/doacs?indicator=doac-share&level=icb")
    fragment = client.get("/innovations/doacs?indicator=doac-share&level=icb", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="results"')
    assert "<html" not in fragment.text and "<html" in full.text
    assert "ICBs" in fragment.text


def test_level_change_keeps_a_valid_period(client):
    response = client.get("/innovations/doacs?indicator=doac-share&level=icb&period=2021-06-01",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'value="2021-06-01" selected' in response.text


def test_league_table_pagination(client):
    page2 = client.get("/innovations/dementia-diagnosis?level=practice&page=2")
    assert page2.status_code == 200
    assert ">26<" in page2.text  # ranks continue on page 2


def test_organisation_page_shows_position_and_spc(client):
    html = client.get("/organisations/MJ0?indicator=doac-share").text
    assert "Position on every indicator" in html
    assert 'id="spc"' in html and "Variation:" in html
    assert "NHS North Central London ICB" in html  # parent link


def test_organisation_indicator_fragment(client):
    response = client.get("/organisations/MJ0?indicator=doac-share", headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<div id="organisation-indicator"')


def test_compare_reports_unknown_codes(client):
    html = client.get("/compare?codes=QMJ,NOPE").text
    assert "No organisation has code NOPE" in html
    assert "NHS North Central London ICB" in html


def test_data_page_has_provenance_of_every_load(client):
    html = client.get("/data").text
    for name in ("doac-share.csv", "dementia-diagnosis-rate.csv", "narcolepsy-newer-share.csv"):
        assert name in html
    assert "tester" in html  # loaded_by


@pytest.mark.parametrize("url,status", [
    ("/innovations/nope", 404),
    ("/organisations/NOPE", 404),
    ("/innovations/doacs?indicator=nope", 404),
    ("/innovations/doacs?level=stroke-unit", 404),
    ("/innovations/doacs?period=not-a-date", 422),
])
def test_errors_are_nhsuk_pages(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert "nhsuk-header" in response.text


def test_public_pages_are_cached_with_etags(client):
    first = client.get("/innovations/doacs")
    etag = first.headers["etag"]
    again = client.get("/innovations/doacs", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_static_assets_served_locally_and_compressed(client):
    css = client.get("/static/vendor/nhsuk-frontend.min.css")
    if css.status_code == 404:
        pytest.skip("node_modules is not installed (run npm ci)")
    assert "assets.nhs.uk" not in css.text  # remote fonts removed
    js = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200 and js.headers["content-encoding"] == "gzip"
    assert client.get("/static/vendor/plotly.min.js", headers={"If-None-Match": js.headers["etag"]}).status_code == 304
    assert client.get("/static/vendor/htmx.min.js").status_code == 200
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    assert client.get("/assets/images/nhsuk-icon-180.png").status_code == 200
    assert client.get("/static/../../etc/passwd").status_code == 404


def test_boundaries(client):
    geo = client.get("/geo/sub-icb.json").json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 12
    assert client.get("/geo/practice.json").status_code == 404


def test_api_docs_are_local(client):
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Uptake API"


def test_pages_lead_to_the_frontline_and_the_models(client):
    """An organisation's page leads to its people (leads, time, award, networks, barriers); the DOAC
    page to the model that values it; each link answers."""
    import re

    org = client.get("/organisations/QMJ").text
    links = re.search(r'id="frontline-links">(.*?)</p>', org, re.S)
    assert links, "no frontline links on the organisation page"
    hrefs = re.findall(r'href="([^"]+)"', links.group(1))
    assert hrefs == ["/leads", "/time-to-innovate", "/award", "/networks", "/barriers"]
    assert 'href="/value-across-organisations"' in client.get("/innovations/doacs").text
    for href in hrefs + ["/value-across-organisations"]:
        assert client.get(href).status_code == 200, href
