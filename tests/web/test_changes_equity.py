"""Changes detected by CUSUM and equity by deprivation (slope index of inequality), on the innovation and
organisation pages, in the downloads and in the API.

Every expected figure is worked out here from the stored result tables (read straight from the
workspace's DuckDB file), independently of the web app's SQL: alert runs by walking each organisation's
series in Python, the quintiles' population shares from the values and the organisations' quintiles."""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import json
import math
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

DIRECTION = {"increase": "up", "decrease": "down", "both": "both"}
INNOVATION_OF = {"doac-share": "doacs", "dementia-diagnosis-rate": "dementia-diagnosis",
                 "narcolepsy-newer-share": "narcolepsy-medicines"}


# ---------------------------------------------------------------------- the stored results
@pytest.fixture(scope="module")
def stored(demo) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(demo.workspace.analytics_path), read_only=True)
    try:
        return {name: con.execute(f"SELECT * FROM {name}").fetchdf() for name in (
            "result_changes", "result_equity", "result_values", "organisations")}
    finally:
        con.close()


def _day(value) -> dt.date:
    return pd.Timestamp(value).date()


def _none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else value


def expected_changes(stored, indicator=None, level=None, org_code=None, period=None, latest_only=True) -> list[dict]:
    """Alert runs, walked organisation by organisation (the definition in docs/web.md, written out)."""
    changes = stored["result_changes"].copy()
    changes["period"] = changes["period"].map(_day)
    if indicator:
        changes = changes[changes["indicator"] == indicator]
    if level:
        changes = changes[changes["level"] == level]
    if period:
        changes = changes[changes["period"] <= period]
    latest = changes.groupby(["indicator", "level"])["period"].max().to_dict()
    values = stored["result_values"]
    value_of = {(r.indicator, r.level, r.org_code, _day(r.period)): _none(r.value) for r in values.itertuples()}
    orgs = stored["organisations"]
    names = dict(zip(orgs[orgs["valid_to"].isna()]["code"], orgs[orgs["valid_to"].isna()]["name"], strict=True))
    out = []
    for (ind, lv, code), series in changes.groupby(["indicator", "level", "org_code"]):
        if org_code and code != org_code:
            continue
        series = series.sort_values("period").reset_index(drop=True)
        alerts = [a or "" for a in series["alert"].fillna("")]
        runs, i = [], 0
        while i < len(alerts):
            if not alerts[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(alerts) and alerts[j + 1] == alerts[i]:
                j += 1
            side = series["cusum_decrease"] if alerts[i] == "decrease" else series["cusum_increase"]
            zero = max(k for k in range(i) if pd.isna(side[k]) or side[k] == 0)
            before = _none(series["percentile"][zero])
            last = _none(series["percentile"][j])
            runs.append({
                "indicator": ind, "level": lv, "org_code": code, "org_name": names.get(code),
                "direction": DIRECTION[alerts[i]], "change_started": series["period"][zero + 1],
                "first_alert": series["period"][i], "last_alert": series["period"][j], "alert_periods": j - i + 1,
                "period_before": series["period"][zero], "percentile_before": before, "percentile_latest": last,
                "percentile_change": None if before is None or last is None else last - before,
                "value_before": value_of.get((ind, lv, code, series["period"][zero])),
                "value_latest": value_of.get((ind, lv, code, series["period"][j])),
                "ongoing": series["period"][j] == latest[(ind, lv)],
            })
            i = j + 1
        out += runs[-1:] if latest_only else runs
    return out


def _key(row: dict) -> tuple:
    return row["indicator"], row["level"], row["org_code"], str(row["first_alert"])


def _same(actual: dict, expected: dict) -> None:
    for name, want in expected.items():
        got = actual[name]
        if isinstance(want, dt.date):
            assert str(got) == want.isoformat(), (name, got, want)
        elif isinstance(want, float):
            assert got is not None and math.isclose(float(got), want, rel_tol=1e-12, abs_tol=1e-12), (name, got, want)
        elif isinstance(want, (bool, np.bool_)):
            assert got is bool(want), (name, got, want)
        elif isinstance(want, (int, np.integer)):
            assert float(got) == want, (name, got, want)
        elif want is None:
            assert got in (None, ""), (name, got)
        else:
            assert str(got) == str(want), (name, got, want)


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.text[:300]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _csv_value(text: str):
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return float(text)
    except ValueError:
        return text


def _section(html: str, start: str, end: str = "</table>") -> str:
    at = html.index(start)
    return html[at:html.index(end, at)]


def _chart(html: str, chart_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html, re.S)
    assert match, f"no chart {chart_id}"
    return json.loads(match.group(1))


def _latest_period(stored, indicator, level) -> dt.date:
    values = stored["result_values"]
    return _day(values[(values["indicator"] == indicator) & (values["level"] == level)]["period"].max())


def _levels_with_changes(stored) -> list[tuple[str, str]]:
    changes = stored["result_changes"]
    return sorted({(r.indicator, r.level) for r in changes[["indicator", "level"]].drop_duplicates().itertuples()})


def _month(day: dt.date) -> str:
    return f"{day:%B %Y}"


# ---------------------------------------------------------------------- changes: API
def test_the_workspace_has_changes_and_levels_without(stored):
    # the fixtures these tests rely on: some alerts, and some levels with none
    alerts = stored["result_changes"]
    alerts = alerts[alerts["alert"].fillna("") != ""]
    assert len(alerts) > 0
    with_alerts = {(r.indicator, r.level) for r in alerts.itertuples()}
    assert set(_levels_with_changes(stored)) - with_alerts


@pytest.mark.parametrize("history", [False, True])
def test_api_changes_equal_the_stored_alert_runs(client, stored, history):
    for indicator, level in _levels_with_changes(stored):
        body = client.get("/api/v1/changes", params={"indicator": indicator, "level": level, "per_page": 1000,
                                                      "history": str(history).lower()}).json()
        expected = expected_changes(stored, indicator, level, latest_only=not history)
        assert body["total"] == len(expected), (indicator, level)
        got = {_key(r): r for r in body["items"]}
        assert set(got) == {_key(r) for r in expected}
        for row in expected:
            _same(got[_key(row)], row)
        lasts = [r["last_alert"] for r in body["items"]]
        assert lasts == sorted(lasts, reverse=True)  # newest first


def test_api_changes_as_at_a_period_and_by_direction(client, stored):
    indicator, level = "doac-share", "sub-icb"
    period = _latest_period(stored, indicator, level) - dt.timedelta(days=150)
    period = period.replace(day=1)
    body = client.get("/api/v1/changes", params={"indicator": indicator, "level": level,
                                                  "period": period.isoformat(), "per_page": 1000}).json()
    expected = expected_changes(stored, indicator, level, period=period)
    assert {_key(r) for r in body["items"]} == {_key(r) for r in expected}
    for row in expected:
        _same({_key(r): r for r in body["items"]}[_key(row)], row)
    assert all(r["last_alert"] <= period.isoformat() for r in body["items"])
    for direction in ("up", "down"):
        only = client.get("/api/v1/changes", params={"indicator": indicator, "level": level,
                                                      "direction": direction, "per_page": 1000}).json()
        assert only["total"] == sum(1 for r in expected_changes(stored, indicator, level)
                                    if r["direction"] == direction)
        assert {r["direction"] for r in only["items"]} <= {direction}


def test_api_changes_of_one_organisation_and_pagination(client, stored):
    expected = expected_changes(stored, org_code="MJ0", latest_only=False)
    assert expected, "MJ0 should have had a change in the test workspace"
    body = client.get("/api/v1/changes?org_code=MJ0&history=true").json()
    assert {_key(r) for r in body["items"]} == {_key(r) for r in expected}
    everyone = expected_changes(stored, "doac-share", "sub-icb")
    first = client.get("/api/v1/changes?indicator=doac-share&level=sub-icb&per_page=5")
    page = first.json()
    assert page["total"] == len(everyone) and page["pages"] == math.ceil(len(everyone) / 5)
    assert len(page["items"]) == min(5, len(everyone))
    assert 'rel="next"' in first.headers["link"]
    seen = [r["org_code"] for p in range(1, page["pages"] + 1) for r in client.get(
        f"/api/v1/changes?indicator=doac-share&level=sub-icb&per_page=5&page={p}").json()["items"]]
    assert sorted(seen) == sorted(r["org_code"] for r in everyone)
    again = client.get("/api/v1/changes?indicator=doac-share&level=sub-icb&per_page=5",
                       headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("url,status", [
    ("/api/v1/changes?indicator=nope", 404),
    ("/api/v1/changes?level=nowhere", 422),
    ("/api/v1/changes?period=2022-13", 422),
    ("/api/v1/changes?direction=sideways", 422),
    ("/api/v1/changes?per_page=5000", 422),
    ("/api/v1/equity", 422),
    ("/api/v1/equity?indicator=nope", 404),
    ("/api/v1/equity?indicator=doac-share&level=nowhere", 422),
    ("/api/v1/equity?indicator=doac-share&period=2022", 422),
])
def test_api_errors(client, url, status):
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"


# ---------------------------------------------------------------------- changes: pages and downloads
@pytest.mark.parametrize("indicator,level", [
    ("doac-share", "sub-icb"), ("doac-share", "icb"), ("doac-share", "region"),
    ("dementia-diagnosis-rate", "practice"), ("dementia-diagnosis-rate", "icb"),
    ("narcolepsy-newer-share", "trust"),
])
def test_innovation_page_lists_the_latest_changes(client, stored, indicator, level):
    day = _latest_period(stored, indicator, level)
    html = client.get(f"/innovations/{INNOVATION_OF[indicator]}?indicator={indicator}&level={level}").text
    assert 'id="changes"' in html and "How was this list of changes calculated?" in html
    expected = expected_changes(stored, indicator, level, period=day)
    summary = html_lib.unescape(re.sub(r"\s+", " ", _section(html, 'id="changes-summary"', "</p>")))
    if not expected:
        assert "No changes have been detected" in summary and _month(day) in summary
        assert 'id="changes-table"' not in html
        return
    up = sum(r["direction"] == "up" for r in expected)
    down = sum(r["direction"] == "down" for r in expected)
    ongoing = sum(r["ongoing"] for r in expected)
    assert f"Up to {_month(day)}, {len(expected)} " in summary
    assert f"{up} up and {down} down" in summary
    assert (f"{ongoing} are ongoing" in summary or f"{ongoing} is ongoing" in summary) if ongoing else \
        "None is ongoing" in summary
    table = _section(html, 'id="changes-table"')
    rows = table.split('<tr class="nhsuk-table__row">')[2:]
    order = sorted(expected, key=lambda r: (-r["last_alert"].toordinal(), -abs(r["percentile_change"] or 0),
                                            r["org_code"]))
    assert len(rows) == min(25, len(expected))
    for cells, row in zip(rows, order, strict=False):
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", cells))
        assert f"({row['org_code']})" in text
        assert {"up": "Up", "down": "Down", "both": "Up and down"}[row["direction"]] in text
        assert _month(row["change_started"]) in text and _month(row["last_alert"]) in text
        assert ("Ongoing" in text) == bool(row["ongoing"])
        change = row["percentile_change"]
        assert (("+" if change > 0 else "\u2212") if round(change, 1) else "") + f"{abs(change):.1f}" in text
    assert "/download/changes.csv?" in html and "/download/changes.xlsx?" in html


def test_changes_csv_equals_the_stored_runs(client, stored):
    for indicator, level in _levels_with_changes(stored):
        day = _latest_period(stored, indicator, level)
        rows = _csv(client.get(f"/download/changes.csv?indicator={indicator}&level={level}&period={day}"))
        expected = expected_changes(stored, indicator, level, period=day)
        assert len(rows) == len(expected), (indicator, level)
        got = {_key(r): r for r in rows}
        for row in expected:
            _same({k: _csv_value(v) for k, v in got[_key(row)].items()}, row)


def test_organisation_page_lists_its_changes(client, stored):
    for code in ("MJ0", "QMJ", "KK1"):
        html = client.get(f"/organisations/{code}?indicator=doac-share").text
        expected = expected_changes(stored, org_code=code, latest_only=False)
        assert 'id="changes"' in html and "How was this list of changes calculated?" in html
        if not expected:
            assert 'id="org-changes-empty"' in html
            continue
        table = _section(html, 'id="org-changes-table"')
        assert table.count('<tr class="nhsuk-table__row">') == len(expected) + 1, code
        rows = _csv(client.get(f"/download/org-changes.csv?code={code}"))
        assert {_key(r) for r in rows} == {_key(r) for r in expected}
        for row in expected:
            _same({k: _csv_value(v) for k, v in {_key(r): r for r in rows}[_key(row)].items()}, row)


def test_organisation_without_changes_and_england(client, stored):
    expected = expected_changes(stored, org_code="PMJ00", latest_only=False)
    assert not expected  # dementia has 12 months: shorter than the CUSUM's reference window
    html = client.get("/organisations/PMJ00").text
    assert 'id="org-changes-empty"' in html and "No changes have been detected for Practice PMJ00" in html
    assert 'id="changes"' not in client.get("/organisations/ENG").text  # England is not ranked


def test_organisation_change_chart_marks_each_alert(client, stored):
    html = client.get("/organisations/MJ0?indicator=doac-share").text
    spec = _chart(html, "changes-chart")
    changes = stored["result_changes"]
    mine = changes[(changes["org_code"] == "MJ0") & (changes["indicator"] == "doac-share")].sort_values("period")
    line = spec["data"][0]
    assert line["x"] == [_day(p).isoformat() for p in mine["period"]]
    assert line["y"] == pytest.approx(mine["percentile"].tolist())
    for alert, name in (("increase", "Alert: up"), ("decrease", "Alert: down")):
        trace = next((t for t in spec["data"] if t.get("name") == name), None)
        flagged = [_day(p).isoformat() for p, a in zip(mine["period"], mine["alert"].fillna(""), strict=True)
                   if a in (alert, "both")]
        assert (trace["x"] if trace else []) == flagged
    runs = expected_changes(stored, "doac-share", "sub-icb", org_code="MJ0", latest_only=False)
    assert sorted((s["x0"], s["x1"]) for s in spec["layout"]["shapes"]) == sorted(
        (r["change_started"].isoformat(), r["last_alert"].isoformat()) for r in runs)
    rows = _csv(client.get("/download/change-series.csv?code=MJ0&indicator=doac-share"))
    assert [r["alert"] for r in rows] == mine["alert"].fillna("").tolist()


# ---------------------------------------------------------------------- equity
def _equity_rows(stored, indicator=None, level=None) -> pd.DataFrame:
    eq = stored["result_equity"]
    if indicator:
        eq = eq[eq["indicator"] == indicator]
    if level:
        eq = eq[eq["level"] == level]
    return eq.sort_values(["indicator", "level", "period"])


def _quintile_shares(stored, indicator, level, period) -> pd.DataFrame:
    """Each quintile's population (summed denominators) from the values and organisations' quintiles."""
    values = stored["result_values"]
    values = values[(values["indicator"] == indicator) & (values["level"] == level)
                    & (values["period"].map(_day) == period) & (values["denominator"] > 0) & values["value"].notna()]
    orgs = stored["organisations"]
    orgs = orgs[orgs["valid_to"].isna()][["code", "imd_quintile"]]
    merged = values.merge(orgs, left_on="org_code", right_on="code").dropna(subset=["imd_quintile"])
    groups = merged.groupby("imd_quintile").agg(population=("denominator", "sum"), organisations=("code", "count"))
    groups["share"] = groups["population"] / groups["population"].sum()
    groups["ridit"] = groups["share"].cumsum() - groups["share"] / 2
    return groups


def test_api_equity_equals_the_stored_table(client, stored):
    eq = stored["result_equity"]
    assert len(eq) > 0
    assert {"sii_ci95_low", "sii_ci95_high", "rii_ci95_low", "rii_ci95_high"} <= set(eq.columns)
    assert eq["sii_ci95_low"].notna().sum() == eq["sii"].notna().sum()  # every fitted SII has its interval
    for (indicator, level), rows in eq.groupby(["indicator", "level"]):
        body = client.get(f"/api/v1/equity?indicator={indicator}&level={level}&per_page=1000").json()
        assert body["total"] == len(rows)
        rows = rows.sort_values("period")
        for item, row in zip(body["items"], rows.to_dict("records"), strict=True):
            for name, want in row.items():
                want = _day(want).isoformat() if name == "period" else _none(want)
                if isinstance(want, float):
                    assert item[name] == pytest.approx(want, rel=1e-12), name
                else:
                    assert item[name] == want, name
    one = rows.iloc[-1]
    body = client.get(f"/api/v1/equity?indicator={one['indicator']}&level={one['level']}"
                      f"&period={_day(one['period'])}").json()
    assert body["total"] == 1 and body["items"][0]["period"] == _day(one["period"]).isoformat()


def _signed(x: float) -> str:
    text = f"{abs(x):,.1f}"
    return text if round(x, 1) == 0 else ("+" if x > 0 else "\u2212") + text


def _check_interval(html: str, row) -> None:
    """The page shows the stored 95% interval of the SII, and says whether the gap may be chance."""
    low, high = row["sii_ci95_low"], row["sii_ci95_high"]
    assert low <= row["sii"] <= high
    shown = html_lib.unescape(_section(html, 'id="equity-sii-interval"', "</p>"))
    assert f"95% interval {_signed(low * 100)} to {_signed(high * 100)} percentage points" in shown
    assert ("may be chance" in shown) == (low <= 0 <= high)


@pytest.mark.parametrize("indicator,level", [
    ("doac-share", "sub-icb"), ("doac-share", "icb"), ("dementia-diagnosis-rate", "practice"),
    ("dementia-diagnosis-rate", "icb"), ("narcolepsy-newer-share", "icb"), ("narcolepsy-newer-share", "trust"),
    ("doac-share", "region"), ("narcolepsy-newer-share", "region"),
])
def test_equity_section_for_every_level(client, stored, indicator, level):
    html = client.get(f"/innovations/{INNOVATION_OF[indicator]}?indicator={indicator}&level={level}").text
    assert 'id="equity"' in html
    rows = _equity_rows(stored, indicator, level)
    if rows.empty:  # regions carry no deprivation quintile: say where to look instead
        empty = _section(html, 'id="equity-empty"', "</p>")
        for other in sorted(set(_equity_rows(stored, indicator)["level"])):
            assert f"level={other}" in empty
        assert 'id="equity-chart"' not in html
        return
    row = rows.iloc[-1]
    assert _day(row["period"]) == _latest_period(stored, indicator, level)
    sentence = html_lib.unescape(_section(html, 'id="equity-sentence"', "</p>"))
    if pd.isna(row["sii"]):
        assert "all in one deprivation quintile" in sentence
        assert 'id="equity-sii"' not in html
    else:
        sii = row["sii"] * 100
        big = html_lib.unescape(_section(html, 'id="equity-sii"', "</p>"))
        assert f"{_signed(sii)} percentage points" in big
        assert f"the gap between the most and the least deprived areas is {abs(sii):.1f} percentage points" \
            in sentence.lower()
        assert ("higher in less deprived" in sentence) == (row["sii"] > 0)
        assert "How was this slope index of inequality calculated?" in html
        _check_interval(html, row)
    assert "/download/equity-quintiles.csv?" in html and "/download/equity.csv?" in html


@pytest.mark.parametrize("indicator,level", [("doac-share", "sub-icb"), ("dementia-diagnosis-rate", "practice"),
                                             ("narcolepsy-newer-share", "icb")])
def test_equity_chart_places_quintiles_by_population(client, stored, indicator, level):
    row = _equity_rows(stored, indicator, level).iloc[-1]
    period = _day(row["period"])
    html = client.get(f"/innovations/{INNOVATION_OF[indicator]}?indicator={indicator}&level={level}"
                      f"&period={period}").text
    spec = _chart(html, "equity-chart")
    groups = _quintile_shares(stored, indicator, level, period)
    points = next(t for t in spec["data"] if t["mode"] == "markers")
    stored_values = [row[f"value_q{int(k)}"] * 100 for k in groups.index]
    assert points["x"] == pytest.approx(groups["ridit"].tolist(), rel=1e-9)
    assert points["y"] == pytest.approx(stored_values, rel=1e-12)
    assert points["error_x"]["array"] == pytest.approx((groups["share"] / 2).tolist(), rel=1e-9)
    line = next(t for t in spec["data"] if t["mode"] == "lines")
    assert line["x"] == [0, 1]
    assert line["y"] == pytest.approx([row["intercept"] * 100, (row["intercept"] + row["sii"]) * 100], rel=1e-12)
    # the positions are the ones the slope was fitted on: weighted least squares gives back the stored SII
    a, x, y = groups["share"].to_numpy(), groups["ridit"].to_numpy(), np.array(stored_values) / 100
    xbar, ybar = np.sum(a * x), np.sum(a * y)
    assert np.sum(a * (x - xbar) * (y - ybar)) / np.sum(a * (x - xbar) ** 2) == pytest.approx(row["sii"], rel=1e-9)


def test_equity_downloads_equal_the_stored_results(client, stored):
    for (indicator, level), rows in stored["result_equity"].groupby(["indicator", "level"]):
        got = _csv(client.get(f"/download/equity.csv?indicator={indicator}&level={level}"))
        assert len(got) == len(rows)
        by_period = {r["period"]: r for r in got}
        for row in rows.to_dict("records"):
            line = by_period[_day(row["period"]).isoformat()]
            for name in ("sii", "rii", "intercept", "sii_ci95_low", "sii_ci95_high", "rii_ci95_low",
                         "rii_ci95_high", "value_q1", "value_q2", "value_q3", "value_q4", "value_q5",
                         "organisations", "quintiles"):
                want = _none(row[name])
                assert (line[name] == "") if want is None else float(line[name]) == pytest.approx(want, rel=1e-12)
        latest = rows.sort_values("period").iloc[-1]
        period = _day(latest["period"])
        quintiles = _csv(client.get(f"/download/equity-quintiles.csv?indicator={indicator}&level={level}"
                                    f"&period={period}"))
        groups = _quintile_shares(stored, indicator, level, period)
        assert [int(q["quintile"]) for q in quintiles] == [int(k) for k in groups.index]
        for q, (k, g) in zip(quintiles, groups.iterrows(), strict=True):
            assert float(q["value"]) == pytest.approx(latest[f"value_q{int(k)}"], rel=1e-12)
            assert float(q["denominator"]) == g["population"] and int(q["organisations"]) == g["organisations"]
            assert float(q["population_share"]) == pytest.approx(g["share"], rel=1e-9)
            if pd.isna(latest["sii"]):
                assert q["fitted_value"] == ""
            else:
                assert float(q["fitted_value"]) == pytest.approx(latest["intercept"] + latest["sii"] * g["ridit"],
                                                                 rel=1e-9)


def test_equity_of_an_earlier_period(client, stored):
    rows = _equity_rows(stored, "doac-share", "icb")
    row = rows.iloc[len(rows) // 2]
    period = _day(row["period"])
    html = client.get(f"/innovations/doacs?indicator=doac-share&level=icb&period={period}").text
    big = html_lib.unescape(_section(html, 'id="equity-sii"', "</p>"))
    assert f"{_signed(row['sii'] * 100)} percentage points" in big
    assert _month(period) in html_lib.unescape(_section(html, 'id="equity-sii"', 'id="equity-sentence"'))
    _check_interval(html, row)
    every = html_lib.unescape(_section(html, 'id="equity-periods-table"'))
    assert f"{_signed(row['sii_ci95_low'] * 100)} to {_signed(row['sii_ci95_high'] * 100)}" in every
    trend = _chart(html, "equity-trend")["data"][0]
    assert trend["y"] == pytest.approx((rows["sii"] * 100).tolist(), rel=1e-12)
    fitted = rows[rows["sii"].notna()]
    above, below = (fitted["sii_ci95_high"] - fitted["sii"]) * 100, (fitted["sii"] - fitted["sii_ci95_low"]) * 100
    assert trend["error_y"]["array"] == pytest.approx(above.tolist(), rel=1e-9)
    assert trend["error_y"]["arrayminus"] == pytest.approx(below.tolist(), rel=1e-9)


# ---------------------------------------------------------------------- the rest
def test_how_it_was_calculated_names_the_runs_settings(client, demo):
    con = duckdb.connect(str(demo.workspace.analytics_path), read_only=True)
    try:
        settings = json.loads(con.execute("SELECT settings FROM pipeline_runs ORDER BY run_id DESC LIMIT 1")
                              .fetchone()[0])
    finally:
        con.close()
    html = html_lib.unescape(client.get("/innovations/doacs?indicator=doac-share&level=sub-icb").text)
    how = _section(html, "How was this list of changes calculated?", "</details>")
    assert f"{settings['cusum_window']} periods" in how
    assert f"{settings['cusum_sensitivity']:g} standard deviations" in how
    assert "Walker" in how and "doac-share.csv" in how  # the method's source and the load batch
    how = _section(html, "How was this slope index of inequality calculated?", "</details>")
    assert "Low and Low" in how and "quintiles" in how


@pytest.mark.parametrize("url", [
    "/download/changes.xlsx?indicator=doac-share&level=sub-icb",
    "/download/org-changes.xlsx?code=MJ0",
    "/download/equity.xlsx?indicator=doac-share&level=icb",
    "/download/equity-quintiles.xlsx?indicator=doac-share&level=icb",
    "/download/change-series.xlsx?code=MJ0&indicator=doac-share",
])
def test_excel_downloads(client, url):
    from openpyxl import load_workbook

    response = client.get(url)
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) >= 2 and "About" in book.sheetnames


def test_workspace_without_these_results(demo, tmp_path):
    """A store computed before changes and equity existed: the sections are left out, the API says why."""
    import shutil

    from fastapi.testclient import TestClient
    from web_support import make_app

    from uptake.web.snapshot import SnapshotHolder

    path = tmp_path / "uptake.duckdb"
    shutil.copy(demo.workspace.analytics_path, path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE result_changes")
    con.execute("DROP TABLE result_equity")
    con.close()
    app = make_app(demo)
    app.state.web.snapshots = SnapshotHolder(path)
    with TestClient(app) as c:
        html = c.get("/innovations/doacs?indicator=doac-share&level=icb").text
        assert 'id="league-table"' in html
        assert 'id="changes"' not in html and 'id="equity"' not in html
        org = c.get("/organisations/MJ0?indicator=doac-share")
        assert org.status_code == 200 and 'id="changes"' not in org.text and 'id="changes-chart"' not in org.text
        for url in ("/api/v1/changes?indicator=doac-share", "/api/v1/equity?indicator=doac-share"):
            response = c.get(url)
            assert response.status_code == 404 and "uptake compute" in response.json()["detail"]
        assert c.get("/download/changes.csv?indicator=doac-share&level=icb").status_code == 404
        assert c.get("/download/equity.csv?indicator=doac-share&level=icb").status_code == 404


def test_equity_computed_before_the_intervals(demo, tmp_path):
    """A store whose result_equity predates the interval columns: the page and API work, without them."""
    import shutil

    from fastapi.testclient import TestClient
    from web_support import make_app

    from uptake.web.snapshot import SnapshotHolder

    path = tmp_path / "uptake.duckdb"
    shutil.copy(demo.workspace.analytics_path, path)
    con = duckdb.connect(str(path))
    for name in ("sii_ci95_low", "sii_ci95_high", "rii_ci95_low", "rii_ci95_high"):
        con.execute(f"ALTER TABLE result_equity DROP COLUMN {name}")
    con.close()
    app = make_app(demo)
    app.state.web.snapshots = SnapshotHolder(path)
    with TestClient(app) as c:
        html = c.get("/innovations/doacs?indicator=doac-share&level=icb").text
        assert 'id="equity-sii"' in html and 'id="equity-sii-interval"' not in html
        item = c.get("/api/v1/equity?indicator=doac-share&level=icb").json()["items"][0]
        assert item["sii"] is not None and item["sii_ci95_low"] is None
