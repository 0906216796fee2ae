"""The models on the web: the innovation and organisation pages' outcome columns, /health-and-wealth, the
API's /outcomes, /outcomes/totals and /impact, and their downloads."""

from __future__ import annotations

import csv
import io

import pytest

from uptake.models import wealth


def test_health_and_wealth_page_shows_the_report_beside_the_model(client) -> None:
    page = client.get("/health-and-wealth")
    assert page.status_code == 200
    html = page.text
    for heading in ("Table 2.1", "Table 2.2", "Table 2.3", "Figure 2.1", "If every organisation matched the best"):
        assert heading in html
    # a reproduced cell and a contradicted one, with the figure the stated inputs give
    assert "250.28" in html and "6,414" in html and "differs" in html and "not determined" in html
    assert "95% interval" in html and "How was this table calculated?" in html
    assert "Ruff et al., Lancet 2014" in html or "DOAC" in html


def test_impact_api_carries_every_cell_totals_with_intervals_and_measured_gaps(client) -> None:
    answer = client.get("/api/v1/impact")
    assert answer.status_code == 200 and answer.headers["etag"]
    body = answer.json()
    assert body["draws"] == 100_000
    assert len(body["cells"]) == len(wealth.report_cells())
    total = next(t for t in body["totals"] if t["figure"] == "f21_contribution_bn")
    assert total["low"] < total["central"] < total["high"]
    doac = [m for m in body["measured"] if m["indicator"] == "doac-share"]
    assert {m["measure"] for m in doac} >= {"deaths_avoided", "economic_value_pounds"}
    assert all(m["low"] <= m["mean"] <= m["high"] for m in doac)
    dementia = [m for m in body["measured"] if m["indicator"] == "dementia-diagnosis-rate"]
    assert dementia and dementia[0]["mean"] is None and dementia[0]["synthetic"] is True


def test_outcome_totals_are_public_and_by_organisation_needs_sign_in(client, signed_in) -> None:
    totals = client.get("/api/v1/outcomes/totals", params={"indicator": "doac-share"}).json()["items"]
    assert totals and {r["org_code"] for r in totals} == {"ENG"}
    deaths = next(r for r in totals if r["outcome"] == "deaths_avoided" and r["benchmark"] == "top-decile")
    assert deaths["low"] <= deaths["mean"] <= deaths["high"] and deaths["extra_patients"] < deaths["extra_units"]
    assert client.get("/api/v1/outcomes", params={"indicator": "doac-share"}).status_code == 403
    admin = signed_in("national-admin")
    rows = admin.get("/api/v1/outcomes", params={"indicator": "doac-share", "per_page": 1000}).json()["items"]
    orgs = [r for r in rows if r["org_code"] != "ENG" and r["benchmark"] == "top-decile"
            and r["outcome"] == "deaths_avoided" and r["period"] == deaths["period"] and r["level"] == deaths["level"]]
    # England's is the sum over the organisations of the same level (the totals are of the positive gaps)
    assert sum(r["mean"] for r in orgs) == pytest.approx(deaths["mean"], rel=1e-6)


def test_innovation_page_has_the_outcome_columns_and_how(client) -> None:
    html = client.get("/innovations/doacs").text
    assert "What closing the gap is worth" in html
    assert "Strokes avoided" in html and "Deaths avoided" in html and "95% interval" in html
    assert "How was this outcome calculated?" in html and "13.04" in html and "patient-years" in html
    assert "Valued with the health and wealth model" in html and "Economic value of the deaths avoided" in html


def test_organisation_page_shows_its_outcomes_and_share_to_whom_may_see_its_pack(signed_in) -> None:
    admin = signed_in("national-admin")
    html = admin.get("/organisations/MJ0", params={"indicator": "doac-share"}).text
    assert "What closing its gap is worth" in html and "Share of England" in html


def test_downloads_of_the_wealth_tables_and_outcomes(client) -> None:
    answer = client.get("/download/wealth-table.csv", params={"table": "2.1"})
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert any(r.get("printed") in ("6346", "6346.0") for r in rows)
    assert client.get("/download/impact.xlsx").status_code == 200
    assert client.get("/download/outcomes-totals.csv", params={"indicator": "doac-share"}).status_code == 200
    assert client.get("/download/outcomes.csv", params={"indicator": "doac-share", "level": "sub-icb"}).status_code == 403


def test_the_opportunity_tables_gain_outcome_columns_beside_the_gap(client, signed_in) -> None:
    """The national opportunity table and each organisation's carry the outcome model's columns, each with
    its interval, and their downloads carry mean, low and high."""
    html = client.get("/innovations/doacs").text
    table = html[html.index("National opportunity: "):]
    table = table[:table.index("</table>")]
    assert "If the gap closed: outcomes (95% intervals)" in table
    assert "Deaths avoided" in table and "Strokes avoided" in table
    download = client.get("/download/opportunity-totals.csv", params={"indicator": "doac-share"}).text
    header = download.splitlines()[0] if not download.startswith("#") else next(
        line for line in download.splitlines() if line.startswith("indicator"))
    assert "outcome_deaths_avoided_low" in header
    admin = signed_in("national-admin")
    page = admin.get("/innovations/doacs").text
    by_org = page[page.index("Largest opportunities among the organisations you can see"):]
    assert "Brain bleeds avoided" in by_org[:by_org.index("</table>")]
