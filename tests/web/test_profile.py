"""The area profile (spine chart, trends, "worse and getting worse", tartan rug) and the deciles chart: the
readers against slow, obviously correct pandas references over the same snapshot, the SVG charts, the pages,
their downloads and the API."""

from __future__ import annotations

import csv
import io
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from uptake.catalogue.schemas import Polarity
from uptake.results import read
from uptake.web import svg
from uptake.web.pages.sections.changes import changes_of
from uptake.web.tables.profile import rug_cell

ORGS = ["QMJ", "QSL", "MJ0", "SL2", "PMJ00", "PKK12", "RAL", "Y56"]


@pytest.fixture(scope="module")
def con(demo):
    connection = duckdb.connect(str(demo.workspace.analytics_path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def values(con) -> pd.DataFrame:
    return con.execute("SELECT * FROM result_values").df()


def _level(values: pd.DataFrame, code: str) -> str:
    return values.loc[values["org_code"] == code, "level"].iloc[0]


def _interval_judgement(polarity: str, row, bench: float) -> str:
    """The interval rule, written out (docs/methods.md): the slow reference for non-England benchmarks."""
    if pd.isna(row["value"]) or pd.isna(bench) or pd.isna(row["ci95_low"]):
        return "not compared"
    above95, below95 = row["ci95_low"] > bench, row["ci95_high"] < bench
    above998, below998 = row["ci998_low"] > bench, row["ci998_high"] < bench
    if polarity == "high-is-good":
        return "best" if above998 else "better" if above95 else "worst" if below998 else "worse" if below95 else "similar"
    if polarity == "low-is-good":
        return "best" if below998 else "better" if below95 else "worst" if above998 else "worse" if above95 else "similar"
    return "higher" if above95 else "lower" if below95 else "similar"


@pytest.mark.parametrize("code", ORGS)
def test_the_profile_matches_a_pandas_reference(con, values, demo, code) -> None:
    level = _level(values, code)
    spc = con.execute("SELECT indicator, level, org_code, variation_icon FROM result_spc_series").df()
    got = {r["indicator"]: r for r in read.profile.profile(con, code, level)}
    mine = values[(values["org_code"] == code) & (values["level"] == level)]
    assert set(got) == set(mine["indicator"]), "one row per indicator the organisation has results for"
    for indicator, rows in mine.groupby("indicator"):
        latest = rows.sort_values("period").iloc[-1]
        row = got[indicator]
        assert row["period"] == latest["period"].date()
        assert row["value"] == pytest.approx(latest["value"])
        assert row["comparison"] == latest["comparison"]
        peers = values[(values["indicator"] == indicator) & (values["level"] == level)
                       & (values["period"] == latest["period"]) & values["value"].notna()]
        assert row["organisations"] == len(peers)
        for key, q in (("lowest", 0.0), ("q25", 0.25), ("median", 0.5), ("q75", 0.75), ("highest", 1.0)):
            assert row[key] == pytest.approx(float(np.quantile(peers["value"], q))), key
        england = values[(values["indicator"] == indicator) & (values["org_code"] == "ENG")
                         & (values["period"] == latest["period"])]["value"]
        assert row["benchmark_value"] == pytest.approx(float(england.iloc[0]))
        icon = spc[(spc["indicator"] == indicator) & (spc["level"] == level) & (spc["org_code"] == code)]
        icon = icon["variation_icon"].iloc[0] if len(icon) else None
        expected = (None if icon is None or pd.isna(icon) else "no significant change" if icon == "common-cause"
                    else "improving" if icon.startswith("improvement") else "getting worse"
                    if icon.startswith("concern") else "changing")
        assert row["trend"] == expected
        assert row["worse_and_getting_worse"] == (latest["comparison"] in ("worse", "worst")
                                                  and expected == "getting worse")


@pytest.mark.parametrize("code", ["MJ0", "KK1", "PSL20", "RA7"])
def test_against_a_region_the_profile_judges_by_the_interval_rule_among_the_regions_organisations(
        con, values, demo, code) -> None:
    level = _level(values, code)
    links = con.execute("SELECT child_code, parent_code FROM relationships WHERE parent_level = 'region'").df()
    region = links.loc[links["child_code"] == code, "parent_code"].iloc[0]
    members = set(links.loc[links["parent_code"] == region, "child_code"])
    polarities = {i.id: i.polarity.value for i in demo.built.catalogue.indicators.values()}
    got = read.profile.profile(con, code, level, benchmark=region, polarities=polarities)
    assert got
    for row in got:
        period = pd.Timestamp(row["period"])
        mine = values[(values["org_code"] == code) & (values["indicator"] == row["indicator"])
                      & (values["period"] == period)].iloc[0]
        bench = values[(values["org_code"] == region) & (values["indicator"] == row["indicator"])
                       & (values["period"] == period)]["value"].iloc[0]
        assert row["benchmark_value"] == pytest.approx(bench)
        assert row["comparison"] == _interval_judgement(polarities[row["indicator"]], mine, bench)
        assert row["comparison_method"] == "interval"
        peers = values[(values["indicator"] == row["indicator"]) & (values["level"] == level)
                       & (values["period"] == period) & values["org_code"].isin(members)]
        assert row["organisations"] == len(peers) < (values[(values["indicator"] == row["indicator"])
                                                            & (values["level"] == level)
                                                            & (values["period"] == period)].shape[0])
        assert row["highest"] == pytest.approx(peers["value"].max())


def test_a_benchmark_other_than_england_needs_the_polarities(con) -> None:
    with pytest.raises(ValueError, match="polarities"):
        read.profile.profile(con, "MJ0", "sub-icb", benchmark="Y56")


@pytest.mark.parametrize("area, level", [("QMJ", "sub-icb"), ("QMJ", "practice"), ("QMJ", "trust"),
                                         ("Y58", "icb"), ("Y58", "practice")])
def test_the_rug_holds_each_member_in_each_indicators_latest_period(con, values, area, level) -> None:
    links = con.execute("SELECT child_code FROM relationships WHERE parent_code = ? AND child_level = ?",
                        [area, level]).df()
    found = read.profile.rug(con, area, level)
    members = [r for r in found if r["role"] == "member"]
    at_level = values[values["level"] == level]
    expected = set()
    for indicator, rows in at_level.groupby("indicator"):
        latest = rows["period"].max()
        here = rows[(rows["period"] == latest) & rows["org_code"].isin(links["child_code"])]
        expected |= {(indicator, c) for c in here["org_code"]}
    assert {(r["indicator"], r["org_code"]) for r in members} == expected
    for r in found:
        if r["role"] != "member":
            assert r["org_code"] in (area, "ENG")
            assert r["indicator"] in {i for i, _ in expected}
    levels = {r["level"]: r for r in read.profile.rug_levels(con, area)}
    assert levels[level]["organisations"] == len({c for _, c in expected})


@pytest.mark.parametrize("code, indicator", [("MJ0", "doac-share"), ("PMJ00", "dementia-diagnosis-rate"),
                                             ("QMJ", "narcolepsy-newer-share"), ("RAL", "narcolepsy-newer-share")])
def test_the_deciles_chart_rows_are_the_deciles_beside_the_organisations_value(con, values, code, indicator) -> None:
    level = _level(values, code)
    deciles = con.execute("SELECT * FROM result_deciles WHERE indicator = ? AND level = ? ORDER BY period",
                          [indicator, level]).df()
    got = read.profile.org_deciles(con, code, level, indicator, with_changes=True)
    assert [r["period"] for r in got] == [p.date() for p in deciles["period"]]
    mine = values[(values["org_code"] == code) & (values["indicator"] == indicator)].set_index("period")["value"]
    for r, (_, d) in zip(got, deciles.iterrows(), strict=True):
        assert r["p50"] == pytest.approx(d["p50"]) and r["p90"] == pytest.approx(d["p90"])
        expected = mine.get(pd.Timestamp(r["period"]))
        assert (r["value"] is None) == (expected is None) and (expected is None or r["value"] == pytest.approx(expected))
    if level != "england":  # the changes chart's rows, read with the deciles', are the changes reader's own
        assert changes_of(got) == read.changes.change_series(con, indicator, level, code)


def test_the_spine_puts_better_to_the_right_whatever_the_polarity(demo) -> None:
    high = demo.built.catalogue.indicators["doac-share"]
    low = demo.built.catalogue.indicators["narcolepsy-newer-share"]
    assert high.polarity == Polarity.HIGH_IS_GOOD and low.polarity == Polarity.LOW_IS_GOOD
    assert svg.spine_position(high, 0.5, 0.5, 0.2) == 0.5
    assert svg.spine_position(high, 0.7, 0.5, 0.2) == pytest.approx(1.0)
    assert svg.spine_position(high, 0.3, 0.5, 0.2) == pytest.approx(0.0)
    assert svg.spine_position(low, 0.3, 0.5, 0.2) == pytest.approx(1.0)
    assert svg.spine_position(low, 0.6, 0.5, 0.2) == pytest.approx(0.25)
    assert svg.spine_position(high, None, 0.5, 0.2) is None
    row = {"value": 0.7, "comparison": "better", "benchmark_value": 0.5, "lowest": 0.4, "q25": 0.45, "q75": 0.6,
           "highest": 0.7}
    drawn = str(svg.spine(high, row))
    assert drawn.count("<rect") == 2 and "<circle" in drawn and 'aria-hidden="true"' in drawn
    assert str(svg.spine(high, {**row, "benchmark_value": None})) == ""
    # a worse value is a red diamond: the marker does not rest on colour alone
    assert "<polygon" in str(svg.spine(high, {**row, "value": 0.4, "comparison": "worse"}))


def test_the_deciles_chart_is_accessible_svg_with_a_line_per_decile(demo) -> None:
    import datetime as dt

    ind = demo.built.catalogue.indicators["doac-share"]
    rows = [{"period": dt.date(2021, m, 1), **{f"p{k}": k / 100 + m / 100 for k in svg.DECILE_LINES},
             "value": 0.5 if m != 2 else None} for m in range(1, 5)]
    drawn = str(svg.deciles_chart(ind, "Test & Co", "sub-icb", rows, chart_id="t"))
    assert drawn.startswith("<svg") and 'role="img"' in drawn and 'aria-labelledby="t-title t-desc"' in drawn
    assert "<title id=\"t-title\">Deciles chart: DOAC share of anticoagulant items, Test &amp; Co</title>" in drawn
    assert drawn.count("<path") == 10  # nine deciles and the organisation
    org_path = re.findall(r'<path d="([^"]+)" fill="none" stroke="#d5281b"', drawn)[0]
    assert org_path.count("M") == 2, "the organisation's line breaks where it has no value"
    assert str(svg.deciles_chart(ind, "X", "sub-icb", [])) == ""


def test_a_rug_cell_says_its_value_and_its_comparison(demo) -> None:
    ind = demo.built.catalogue.indicators["doac-share"]
    assert rug_cell(ind, {"value": 0.5, "comparison": "worse"}) == {
        "text": "50.0%", "css": "uptake-rug__cell--worse", "words": "Worse than England"}
    assert rug_cell(ind, None)["text"] == "-"
    assert rug_cell(ind, {"value": 0.5, "comparison": "not compared"}, judged=False)["css"].endswith("benchmark")


# ---------------------------------------------------------------------------------------------- pages
def test_the_profile_page_shows_the_spine_chart_trends_and_the_rug(client: TestClient) -> None:
    page = client.get("/organisations/QMJ/profile")
    assert page.status_code == 200, page.text[:400]
    html = page.text
    assert "Area profile: NHS North Central London ICB" in html
    assert html.count('class="uptake-spine"') == 3  # one spine per indicator
    assert "Worse than England and getting worse" in html and 'id="worse-and-getting-worse"' in html
    assert "Tartan rug: sub-ICB locations in NHS North Central London ICB" in html
    for code in ("MJ0", "MJ1", "MJ2"):
        assert f'href="/organisations/{code}/profile"' in html
    assert "uptake-rug__cell--" in html and "How was this profile calculated?" in html
    assert "/download/profile.csv?code=QMJ" in html and "/download/rug.xlsx?code=QMJ" in html
    assert 'href="/organisations/QMJ/pack.pdf"' in html
    practices = client.get("/organisations/QMJ/profile?level=practice").text
    assert "Tartan rug: GP practices in NHS North Central London ICB" in practices
    assert practices.count('href="/organisations/PMJ') >= 9


def test_a_practices_profile_has_no_rug(client: TestClient) -> None:
    html = client.get("/organisations/PMJ00/profile").text
    assert "Area profile: Practice PMJ00" in html and 'id="tartan-rug"' not in html


@pytest.mark.parametrize("url, status, words", [
    ("/organisations/QMJ/profile?level=pcn", 422, "has no"),
    ("/organisations/QMJ/profile?benchmark=Y56", 422, "not offered"),
    ("/organisations/NOPE/profile", 404, "Organisation not found"),
    ("/api/v1/organisations/QMJ/profile?benchmark=Y56", 422, "not offered"),
    ("/api/v1/organisations/NOPE/profile", 404, "unknown organisation"),
    ("/api/v1/organisations/QMJ/deciles?indicator=nope", 404, "unknown indicator"),
])
def test_bad_profile_requests_say_what_is_wrong(client: TestClient, url, status, words) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert words in response.text


def test_the_profile_downloads_hold_the_raw_figures(client: TestClient, con) -> None:
    response = client.get("/download/profile.csv?code=QMJ")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    expected = {r["indicator"]: r for r in read.profile.profile(con, "QMJ", "icb")}
    assert {r["indicator"] for r in rows} == set(expected)
    for r in rows:
        assert float(r["q75"]) == pytest.approx(expected[r["indicator"]]["q75"])
        assert r["worse_and_getting_worse"] in ("True", "False")
    rug = list(csv.DictReader(io.StringIO(client.get("/download/rug.csv?code=QMJ&level=sub-icb")
                                          .content.decode("utf-8-sig"))))
    assert {r["org_code"] for r in rug if r["role"] == "member"} == {"MJ0", "MJ1", "MJ2"}
    xlsx = client.get("/download/org-deciles.xlsx?code=MJ0&indicator=doac-share")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_organisation_page_draws_the_deciles_chart_with_its_table(client: TestClient) -> None:
    html = client.get("/organisations/MJ0?indicator=doac-share").text
    assert 'id="deciles-figure"' in html and "<svg" in html and "Deciles chart: DOAC share of anticoagulant items" in html
    assert 'id="deciles-table"' in html and "/download/org-deciles.csv?code=MJ0&amp;indicator=doac-share" in html
    assert 'href="/organisations/MJ0/profile"' in html and 'href="/organisations/MJ0/pack.pdf"' in html
    england = client.get("/organisations/ENG?indicator=doac-share").text
    assert 'id="deciles-figure"' not in england


def test_the_api_answers_the_profile_rug_and_deciles(client: TestClient, con) -> None:
    body = client.get("/api/v1/organisations/MJ0/profile").json()
    assert body["benchmark"] == "england" and body["benchmark_label"] == "England" and body["level"] == "sub-icb"
    expected = read.profile.profile(con, "MJ0", "sub-icb")
    assert [r["indicator"] for r in body["rows"]] == [r["indicator"] for r in expected]
    assert body["rows"][0]["median"] == pytest.approx(expected[0]["median"])
    rug = client.get("/api/v1/organisations/QMJ/rug?level=practice").json()
    assert rug["level"] == "practice" and {c["org_code"] for c in rug["cells"] if c["role"] == "member"} == {
        f"PMJ{s}{p}" for s in range(3) for p in range(3)}
    assert client.get("/api/v1/organisations/PMJ00/rug").json()["cells"] == []
    deciles = client.get("/api/v1/organisations/MJ0/deciles?indicator=doac-share").json()
    assert len(deciles["points"]) == 24 and deciles["points"][-1]["value"] is not None
