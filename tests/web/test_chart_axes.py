"""Every chart over periods works for one period, two periods, gaps and flat series (issue 11 item 4): its x
axis is a date axis whose range is the periods plus half a period either side and whose ticks are the periods
as the pages write them - never plotly's own range around a single date, which labels it "23:59:59.999 Mar 31
2021" - a line of one point gets a marker, and a missing period breaks the line. Percentiles are never "0th"."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import reference_pipeline as ref
from uptake.catalogue.schemas import Period
from uptake.levels import Level
from uptake.web import charts
from uptake.web.formatting import percentile, spc_basis_text

MONTHLY = ref.indicator("monthly", Level.SUB_ICB)
YEARLY = MONTHLY.model_copy(update={"id": "yearly", "period": Period.YEAR, "year_start_month": 4,
                                    "first_period": dt.date(2019, 4, 1)})

CASES = {  # name: (indicator, periods, values)
    "one period": (YEARLY, [dt.date(2021, 4, 1)], [0.9]),
    "two periods": (MONTHLY, [dt.date(2021, 1, 1), dt.date(2021, 2, 1)], [0.4, 0.5]),
    "a gap": (MONTHLY, [dt.date(2021, 1, 1), dt.date(2021, 2, 1), dt.date(2021, 5, 1), dt.date(2021, 6, 1)],
              [0.4, 0.5, 0.6, 0.6]),
    "flat": (MONTHLY, ref.months(dt.date(2020, 1, 1), 30), [1.0] * 30),
}


def value_rows(periods, values, **extra):
    return [{"period": p, "value": v, "org_code": "X", "org_name": "Area X", "ci95_low": v - 0.05,
             "ci95_high": min(1.0, v + 0.05), **extra} for p, v in zip(periods, values)]


def every_chart(indicator, periods, values):
    rows = value_rows(periods, values)
    deciles = [{"period": p, "p10": v - 0.1, "p50": v, "p90": v + 0.05} for p, v in zip(periods, values)]
    spc_rows = [{"period": p, "value": v, "centre": v, "lower": v - 0.1, "upper": v + 0.1, "special_cause":
                 "common-cause", "rule": "", "basis": "value", "england_value": None} for p, v in zip(periods, values)]
    change = [{"period": p, "percentile": 50.0, "alert": ""} for p in periods]
    curve = [{"period": p, "cumulative": i + 1} for i, p in enumerate(periods)]
    equity = [{"period": p, "sii": 0.1, "sii_ci95_low": 0.05, "sii_ci95_high": 0.15} for p in periods]
    return {
        "s_curve": charts.s_curve(indicator, rows, [{**r, "org_name": "Region"} for r in rows], deciles, "sub-icb"),
        "compare": charts.compare(indicator, {"Area X": rows}, rows),
        "spc": charts.spc(indicator, "Area X", spc_rows),
        "changes": charts.change_series(indicator, "Area X", "sub-icb", change, []),
        "adoption": charts.adoption_curve(indicator, "sub-icb", curve, len(periods)),
        "equity_trend": charts.equity_trend(indicator, "sub-icb", equity),
    }


@pytest.mark.parametrize("case", list(CASES))
def test_every_time_chart_has_a_sensible_date_axis(case) -> None:
    indicator, periods, values = CASES[case]
    for name, spec in every_chart(indicator, periods, values).items():
        axis = spec["layout"]["xaxis"]
        assert axis["type"] == "date", name
        low, high = (dt.date.fromisoformat(d) for d in axis["range"])
        half = dt.timedelta(days=180 if indicator.period == Period.YEAR else 15)
        assert low == periods[0] - half and high == periods[-1] + half, (name, axis["range"])
        assert axis["tickmode"] == "array" and 1 <= len(axis["tickvals"]) <= charts.MAX_TICKS, name
        ticks = [dt.date.fromisoformat(t) for t in axis["tickvals"]]  # periods (a gap's months included)
        assert all(t.day == 1 and periods[0] <= t <= periods[-1] for t in ticks), name
        for text in axis["ticktext"]:  # a period as the pages write it: no time of day, no bare day
            assert not re.search(r"\d\d:\d\d", text), (name, text)
            assert re.fullmatch(r"[A-Z][a-z]{2} \d{4}|\d{4}/\d\d", text), (name, text)
        for trace in spec["data"]:
            shown = [y for y in trace.get("y") or [] if y is not None]
            if len(shown) == 1 and trace.get("fill") is None and trace.get("mode", "").startswith("lines"):
                assert "markers" in trace["mode"], (name, trace.get("name"))


def test_one_yearly_period_is_labelled_as_its_year() -> None:
    """The case of the issue: one QOF-style year drew a time axis labelled "23:59:59.999 Mar 31 2021"."""
    spec = every_chart(*CASES["one period"])["s_curve"]
    assert spec["layout"]["xaxis"]["tickvals"] == ["2021-04-01"]
    assert spec["layout"]["xaxis"]["ticktext"] == ["2021/22"]
    england = next(t for t in spec["data"] if t["name"] == "England")
    assert england["mode"] == "lines+markers" and england["y"] == [90.0]


def test_a_missing_period_breaks_the_line() -> None:
    indicator, periods, values = CASES["a gap"]
    spec = every_chart(indicator, periods, values)
    for name in ("s_curve", "compare"):
        england = next(t for t in spec[name]["data"] if t["name"] == "England")
        assert england["x"] == ["2021-01-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-06-01"], name
        assert england["y"] == [40.0, 50.0, None, 60.0, 60.0], name


def test_long_monthly_series_get_quarterly_or_half_yearly_ticks() -> None:
    indicator, periods, values = CASES["flat"]  # 30 months: a tick each quarter
    axis = every_chart(indicator, periods, values)["spc"]["layout"]["xaxis"]
    assert axis["ticktext"][:5] == ["Jan 2020", "Apr 2020", "Jul 2020", "Oct 2020", "Jan 2021"]
    assert len(axis["tickvals"]) == 10
    five_years = ref.months(dt.date(2017, 10, 1), 60)  # the DOAC series: January and July
    axis = every_chart(MONTHLY, five_years, [0.5] * 60)["s_curve"]["layout"]["xaxis"]
    assert axis["ticktext"][:3] == ["Jan 2018", "Jul 2018", "Jan 2019"] and len(axis["tickvals"]) == 10


def test_a_spread_curve_spc_chart_shows_the_difference_from_england() -> None:
    periods = ref.months(dt.date(2021, 1, 1), 3)
    rows = [{"period": p, "value": v, "england_value": e, "centre": e + 0.05, "lower": e + 0.02, "upper": e + 0.08,
             "special_cause": "common-cause", "rule": "", "basis": "difference from England"}
            for p, v, e in zip(periods, [0.55, 0.6, 0.66], [0.5, 0.55, 0.6])]
    spec = charts.spc(MONTHLY, "Area X", rows)
    assert spec["layout"]["title"]["text"] == "SPC chart: Area X, difference from England"
    assert spec["layout"]["yaxis"]["title"]["text"] == "Difference from England (percentage points)"
    points = spec["data"][-1]
    assert points["y"] == pytest.approx([5.0, 5.0, 6.0])
    mean = next(t for t in spec["data"] if t["name"] == "Mean")
    assert mean["y"] == pytest.approx([5.0, 5.0, 5.0]) and mean["line"]["shape"] == "hv"
    assert next(t for t in spec["data"] if t["name"] == "England")["y"] == [0.0, 0.0]
    assert "England 50.0%" in points["text"][0]
    assert "difference from England" in spc_basis_text("difference from England")
    assert spc_basis_text("value") and spc_basis_text(None) == ""


@pytest.mark.parametrize("value, words", [
    (0.0, "lowest"), (0.3, "1st"), (0.5, "1st"), (1.0, "1st"), (2.0, "2nd"), (3.4, "3rd"), (11.0, "11th"),
    (12.0, "12th"), (13.0, "13th"), (21.0, "21st"), (22.0, "22nd"), (50.0, "50th"), (99.4, "99th"),
    (99.7, "99th"), (100.0, "highest"), (None, "-"), (float("nan"), "-"),
])
def test_a_percentile_is_never_0th(value, words) -> None:
    """Convention (docs/methods.md): 0 is 'lowest', 100 'highest', everything between the nearest whole
    ordinal kept within 1st..99th."""
    assert percentile(value) == words


def test_the_change_chart_hover_uses_the_percentile_words() -> None:
    rows = [{"period": dt.date(2021, 1, 1), "percentile": 0.0, "alert": ""},
            {"period": dt.date(2021, 2, 1), "percentile": 2.0, "alert": ""}]
    line = charts.change_series(MONTHLY, "Area X", "sub-icb", rows, [])["data"][0]
    assert line["text"] == ["lowest", "2nd"]
    assert "th percentile" not in line["hovertemplate"]


def test_the_organisation_page_says_what_its_spc_chart_plots() -> None:
    """The SPC section's text comes from the stored basis (result_spc_series.basis, read with the points)."""
    from types import SimpleNamespace

    from uptake.catalogue import load_catalogue
    from uptake.web.state import Web

    web = Web(None, load_catalogue(), None, None, SimpleNamespace(url=lambda path: path), None)  # type: ignore[arg-type]
    template = web.templates.get_template("partials/organisation_indicator.html")
    doacs = load_catalogue().indicators["doac-share"]
    page = {"indicator": doacs, "org": {"name": "Area X", "level": "sub-icb", "code": "X"},
            "spc": {"data": [], "layout": {}}, "pack": {},
            "how_spc": {"methods": [], "inputs": {}, "indicator": doacs, "batches": []},
            "spc_table": SimpleNamespace(download_url=lambda kind: f"/download/spc.{kind}", title="SPC")}
    for basis, words in (("difference from England", "Charted on its difference from England"),
                         ("value", "Charted on its values over the whole series")):
        html = template.render(**page, spc_icons={"basis": basis, "variation_icon": None, "assurance_icon": None})
        assert 'id="spc-basis"' in html and words in html, basis
    html = template.render(**page, spc_icons={"basis": None})
    assert 'id="spc-basis"' not in html


def test_the_changes_table_never_says_0th() -> None:
    from uptake.web.tables.cells import ordinal

    assert [ordinal(v) for v in (0, 0.3, 12.2, 99.7, 100, None)] == ["lowest", "1st", "12th", "99th", "highest", "-"]
