"""Plotly figure specifications (plain dicts: data + layout), drawn in the browser by static/app.js with
the plotly.js that ships in the Python wheel. Building dicts directly, rather than through
plotly.graph_objects, keeps a page's server time in single milliseconds.

Maps are drawn from the bundled boundaries as filled polygons (no map tiles, no base map fetched from
anywhere): the page carries only the values, and app.js fetches the boundaries once from /geo/LEVEL.json.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator, Period, Polarity
from uptake.web.formatting import (
    ADOPTER_LABELS,
    band_label,
    indicator_value,
    level_label,
    missing,
    percentile,
    period_label,
    scaled,
)
from uptake.web.tables.changes import change_colour

NHS_BLUE = "#005eb8"
NHS_DARK_BLUE = "#003087"
NHS_LIGHT_BLUE = "#41b6e6"
NHS_PALE_BLUE = "#c8e3f5"
NHS_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#e8edee"
NHS_ORANGE = "#ed8b00"
NHS_RED = "#da291c"
NHS_GREEN = "#007f3b"
NHS_AQUA = "#00a499"
NHS_PURPLE = "#330072"
NHS_YELLOW = "#ffb81c"

REGION_COLOURS = [NHS_AQUA, NHS_PURPLE, NHS_ORANGE, NHS_GREEN, "#ae2573", NHS_GREY, "#8a1538", NHS_LIGHT_BLUE]
BAND_COLOURS = {
    ("within 95%", ""): NHS_MID_GREY,
    ("between 95% and 99.8%", "high"): NHS_LIGHT_BLUE,
    ("between 95% and 99.8%", "low"): NHS_YELLOW,
    ("beyond 99.8%", "high"): NHS_DARK_BLUE,
    ("beyond 99.8%", "low"): NHS_ORANGE,
    ("not compared", ""): NHS_PALE_GREY,
}
# Making Data Count colours: blue improvement, orange concern, purple neither, grey common cause.
SPC_COLOURS = {"improvement": "#41b6e6", "concern": NHS_ORANGE, "neutral": "#7c2855", "common-cause": NHS_MID_GREY}


def _axis_suffix(indicator: Indicator) -> str:
    return "%" if indicator.unit == "%" else ""


def _layout(indicator: Indicator | None, title: str, *, x_title: str = "", y_title: str | None = None, **extra):
    y_title = y_title if y_title is not None else (f"Value ({indicator.unit})" if indicator else "")
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 16}, "x": 0, "xanchor": "left"},
        "font": {"family": "Arial, sans-serif", "size": 13, "color": "#212b32"},
        "margin": {"l": 64, "r": 16, "t": 48, "b": 56},
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": {"title": {"text": x_title}, "gridcolor": NHS_PALE_GREY, "zeroline": False},
        "yaxis": {"title": {"text": y_title}, "gridcolor": NHS_PALE_GREY, "zeroline": False},
        "legend": {"orientation": "h", "y": -0.2},
        "height": 420,
    }
    if indicator is not None and _axis_suffix(indicator):
        layout["yaxis"]["ticksuffix"] = "%"
    layout.update(extra)
    return layout


def _dates(rows: list[dict], key: str = "period") -> list[str]:
    return [row[key].isoformat() if isinstance(row[key], dt.date) else str(row[key]) for row in rows]


# ---------------------------------------------------------------------- time axes that work for any series
_PERIOD_MONTHS = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}
#: explicit ticks (each labelled as the pages write the period) up to this many periods; thinned beyond
MAX_TICKS = 12


def _months(indicator: Indicator | None) -> int:
    return _PERIOD_MONTHS.get(indicator.period, 1) if indicator is not None else 1


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _gapped(rows: list[dict], indicator: Indicator | None, key: str = "period") -> list[dict]:
    """Rows in period order with an empty row (the period, every other field None) wherever periods are
    missing between two rows, so a line breaks at a gap instead of joining across it."""
    if len(rows) < 2:
        return rows
    step = _months(indicator)
    out = [rows[0]]
    blank = dict.fromkeys(rows[0])
    for row in rows[1:]:
        last, here = _day(out[-1][key]), _day(row[key])
        if last is not None and here is not None and _add_months(last, step) < here:
            out.append({**blank, key: _add_months(last, step)})
        out.append(row)
    return out


def _tick_label(day: dt.date, indicator: Indicator | None) -> str:
    if indicator is None or indicator.period == Period.MONTH:
        return f"{day:%b %Y}"
    return period_label(day, indicator)


def _time_axis(indicator: Indicator | None, spec: dict) -> dict:
    """Make the x axis of a chart over periods right for any number of periods: a date axis whose range is
    the periods plus half a period either side (plotly's own range around a single date is a millisecond,
    which labels it "23:59:59.999 Mar 31 2021"), ticks at the periods labelled as the pages write them (a
    month as "Mar 2021", a year as "2021/22"; thinned to at most MAX_TICKS), and a line of a single point
    drawn as a marker (a line needs two)."""
    days = sorted({d for trace in spec["data"] for d in map(_day, trace.get("x") or []) if d is not None})
    axis = spec["layout"].setdefault("xaxis", {})
    axis["type"] = "date"
    if not days:
        return spec
    step = _months(indicator)
    half = dt.timedelta(days=15 * step)
    axis["range"] = [(days[0] - half).isoformat(), (days[-1] + half).isoformat()]
    every = -(-len(days) // MAX_TICKS)  # ceiling division
    if every > 1 and step == 1:  # months: whole years apart, or quarters, from the first January
        months = next(m for m in (3, 6, 12, 24, 60, 120) if len(days) / m <= MAX_TICKS)
        ticks = [d for d in days if (d.year * 12 + d.month - 1) % months == 0] or days[::every]
    else:
        ticks = days[::every]
    axis["tickmode"] = "array"
    axis["tickvals"] = [d.isoformat() for d in ticks]
    axis["ticktext"] = [_tick_label(d, indicator) for d in ticks]
    axis["hoverformat"] = "%Y" if step == 12 else "%b %Y"
    for trace in spec["data"]:
        ys = [y for y in trace.get("y") or [] if y is not None]
        if trace.get("mode") == "lines" and len(ys) == 1 and trace.get("fill") is None:
            trace["mode"] = "lines+markers"
    return spec


def s_curve(
    indicator: Indicator,
    england: list[dict],
    regions: list[dict],
    deciles: list[dict],
    decile_level: str | None,
) -> dict:
    """England's value over time with the 10th-90th percentile band of organisations and each region."""
    data: list[dict] = []
    deciles, england = _gapped(deciles, indicator), _gapped(england, indicator)
    if deciles:
        x = _dates(deciles)
        data.append({
            "type": "scatter", "mode": "lines", "x": x, "y": [scaled(indicator, r["p10"]) for r in deciles],
            "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False, "name": "10th percentile",
        })
        data.append({
            "type": "scatter", "mode": "lines", "x": x, "y": [scaled(indicator, r["p90"]) for r in deciles],
            "fill": "tonexty", "fillcolor": "rgba(65,182,230,0.25)", "line": {"width": 0},
            "name": f"10th to 90th percentile of {level_label(decile_level or '', plural=True)}",
            "hovertemplate": "90th percentile %{y:.1f}<extra></extra>",
        })
        data.append({
            "type": "scatter", "mode": "lines", "x": x, "y": [scaled(indicator, r["p50"]) for r in deciles],
            "line": {"color": NHS_LIGHT_BLUE, "dash": "dot", "width": 2},
            "name": f"Median {level_label(decile_level or '')}",
        })
    by_region: dict[str, list[dict]] = {}
    for row in regions:
        by_region.setdefault(row["org_name"] or row["org_code"], []).append(row)
    for i, (name, rows) in enumerate(sorted(by_region.items())):
        rows = _gapped(rows, indicator)
        data.append({
            "type": "scatter", "mode": "lines", "x": _dates(rows), "y": [scaled(indicator, r["value"]) for r in rows],
            "name": name, "line": {"width": 1.5, "color": REGION_COLOURS[i % len(REGION_COLOURS)]},
            "visible": "legendonly" if len(by_region) > 8 else True,
        })
    if england:
        data.append({
            "type": "scatter", "mode": "lines+markers", "x": _dates(england),
            "y": [scaled(indicator, r["value"]) for r in england],
            "name": "England", "line": {"width": 4, "color": NHS_BLUE}, "marker": {"size": 5},
        })
    return _time_axis(indicator, {
        "data": data, "layout": _layout(indicator, f"{indicator.title}: England and NHS regions over time")})


def funnel(indicator: Indicator, level: str, period: dt.date, points: list[dict], curve: list[dict],
           centre: float | None) -> dict:
    """A funnel plot: each organisation's value against its denominator, with 95% and 99.8% limits."""
    data: list[dict] = []
    if curve:
        x = [r["denominator"] for r in curve]
        for key, name, dash in (
            ("upper998", "99.8% limits", "solid"), ("lower998", None, "solid"),
            ("upper95", "95% limits", "dash"), ("lower95", None, "dash"),
        ):
            data.append({
                "type": "scatter", "mode": "lines", "x": x, "y": [scaled(indicator, r[key]) for r in curve],
                "line": {"color": NHS_GREY, "dash": dash, "width": 1.5}, "hoverinfo": "skip",
                "name": name or key, "showlegend": name is not None,
                "legendgroup": "998" if "998" in key else "95",
            })
        if centre is not None:
            data.append({
                "type": "scatter", "mode": "lines", "x": [x[0], x[-1]], "y": [scaled(indicator, centre)] * 2,
                "line": {"color": NHS_BLUE, "width": 2}, "name": "England", "hoverinfo": "skip",
            })
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in points:
        key = (row.get("band") or "not compared", row.get("side") or "")
        groups.setdefault(key if key in BAND_COLOURS else ("within 95%", ""), []).append(row)
    for key, colour in BAND_COLOURS.items():
        rows = groups.get(key)
        if not rows:
            continue
        data.append({
            "type": "scatter", "mode": "markers", "x": [r["denominator"] for r in rows],
            "y": [scaled(indicator, r["value"]) for r in rows],
            "text": [f"{r['org_name'] or r['org_code']} ({r['org_code']})<br>"
                     f"{indicator_value(indicator, r['value'])} of {r['denominator']:,.0f}" for r in rows],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"size": 8 if len(points) < 500 else 5, "color": colour,
                       "line": {"width": 0.5, "color": NHS_GREY}},
            "name": band_label(*key),
        })
    layout = _layout(
        indicator, f"Funnel plot: {level_label(level, plural=True)}, {period_label(period, indicator)}",
        x_title=(f"Denominator ({indicator.counts.denominator_unit.plural})" if indicator.counts else  # its unit
                 "Denominator (" + (indicator.denominator if len(indicator.denominator) <= 60
                                    else indicator.denominator[:57].rstrip() + "...") + ")"),
    )
    denominators = [r["denominator"] for r in points if r["denominator"]]
    if denominators and max(denominators) > 50 * max(1.0, min(denominators)):
        layout["xaxis"]["type"] = "log"
    return {"data": data, "layout": layout}


def spc(indicator: Indicator, org_name: str, rows: list[dict]) -> dict:
    """An XmR chart in the Making Data Count style: mean, process limits, special-cause points coloured.

    Rows carry the series' ``basis`` (result_spc.basis). On the basis ``difference from England`` (indicators
    whose national series is a spreading S-curve, docs/methods.md) the chart shows what was charted: the
    organisation's value minus England's in each period, in percentage points for a percentage, around a line
    at zero for England; the mean and limits are those of the difference (result_spc stores them on the value
    scale, England's value added back). Limits are drawn as steps, so a new period of limits starts cleanly."""
    difference = any((r.get("basis") or "value") != "value" for r in rows)

    def charted(row: dict, key: str) -> float | None:
        value = row.get(key)
        if missing(value):
            return None
        if difference:
            england = row.get("england_value")
            return None if missing(england) else scaled(indicator, value - england)
        return scaled(indicator, value)

    x = _dates(rows)
    step = {"color": NHS_GREY, "dash": "dash", "width": 1.5, "shape": "hv"}
    data: list[dict] = [
        {"type": "scatter", "mode": "lines", "x": x, "y": [charted(r, "upper") for r in rows],
         "line": step, "name": "Process limits", "legendgroup": "limits"},
        {"type": "scatter", "mode": "lines", "x": x, "y": [charted(r, "lower") for r in rows],
         "line": step, "showlegend": False, "legendgroup": "limits", "name": "Lower process limit"},
        {"type": "scatter", "mode": "lines", "x": x, "y": [charted(r, "centre") for r in rows],
         "line": {"color": "#212b32", "width": 1.5, "shape": "hv"}, "name": "Mean"},
    ]
    if difference and x:
        data.append({"type": "scatter", "mode": "lines", "x": [x[0], x[-1]], "y": [0.0, 0.0],
                     "line": {"color": NHS_BLUE, "width": 2}, "name": "England", "hoverinfo": "skip"})
    if any(not missing(r.get("target")) for r in rows):
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": [charted(r, "target") for r in rows],
                     "line": {"color": NHS_RED, "dash": "dot", "width": 2}, "name": "Target"})
    causes = [("Special cause: " + r["special_cause"] + (f" ({r['rule']})" if r.get("rule") else ""))
              if r.get("special_cause") not in (None, "common-cause") else "Common cause" for r in rows]
    if difference:
        causes = [f"{indicator_value(indicator, r.get('value'))}, England "
                  f"{indicator_value(indicator, r.get('england_value'))}<br>{c}" for r, c in zip(rows, causes)]
    data.append({
        "type": "scatter", "mode": "lines+markers", "x": x, "y": [charted(r, "value") for r in rows],
        "line": {"color": NHS_MID_GREY, "width": 1.5},
        "marker": {"size": 8, "color": [SPC_COLOURS.get(r.get("special_cause") or "common-cause", NHS_MID_GREY)
                                        for r in rows]},
        "text": causes,
        "hovertemplate": "%{x|%b %Y}: %{y:.1f}<br>%{text}<extra></extra>", "name": org_name,
    })
    if difference:
        unit = "percentage points" if indicator.unit == "%" else indicator.unit
        layout = _layout(None, f"SPC chart: {org_name}, difference from England",
                         y_title=f"Difference from England ({unit})")
        layout["yaxis"].update({"zeroline": False, "ticksuffix": ""})
    else:
        layout = _layout(indicator, f"SPC chart: {org_name}")
    return _time_axis(indicator, {"data": data, "layout": layout})


def adoption(indicator: Indicator, level: str, categories: list[dict], curve: list[dict]) -> dict:
    order = list(ADOPTER_LABELS)
    counts = {row["category"]: row["n"] for row in categories if row["category"]}
    names = [c for c in order if c in counts] + sorted(set(counts) - set(order))
    data = [{
        "type": "bar", "x": [ADOPTER_LABELS.get(n, n) for n in names], "y": [counts[n] for n in names],
        "marker": {"color": [NHS_GREY if n in ("not yet", "unclassified") else NHS_BLUE for n in names]},
        "name": "Organisations", "hovertemplate": "%{x}: %{y}<extra></extra>",
    }]
    layout = _layout(None, f"Adopter categories of {level_label(level, plural=True)}",
                     y_title=f"Number of {level_label(level, plural=True)}", showlegend=False, height=360)
    return {"data": data, "layout": layout}


def adoption_curve(indicator: Indicator, level: str, curve: list[dict], total: int) -> dict:
    data = [{
        "type": "scatter", "mode": "lines", "x": _dates(curve),
        "y": [100 * r["cumulative"] / total if total else None for r in curve],
        "line": {"shape": "hv", "color": NHS_BLUE, "width": 3}, "name": "Adopters",
        "hovertemplate": "%{x|%b %Y}: %{y:.0f}% adopted<extra></extra>",
    }]
    layout = _layout(None, f"Share of {level_label(level, plural=True)} that have adopted",
                     y_title="Organisations that have adopted (%)", showlegend=False, height=360)
    layout["yaxis"].update({"range": [0, 100], "ticksuffix": "%"})
    return _time_axis(indicator, {"data": data, "layout": layout})


def compare(indicator: Indicator, series: dict[str, list[dict]], england: list[dict]) -> dict:
    data = []
    england = _gapped(england, indicator)
    for i, (name, rows) in enumerate(series.items()):
        rows = _gapped(rows, indicator)
        data.append({
            "type": "scatter", "mode": "lines+markers", "x": _dates(rows),
            "y": [scaled(indicator, r["value"]) for r in rows], "name": name,
            "line": {"color": REGION_COLOURS[i % len(REGION_COLOURS)], "width": 2},
            "error_y": {
                "type": "data", "symmetric": False, "visible": len(rows) <= 24,
                "array": [None if missing(r["ci95_high"]) else scaled(indicator, r["ci95_high"] - r["value"]) for r in rows],
                "arrayminus": [None if missing(r["ci95_low"]) else scaled(indicator, r["value"] - r["ci95_low"]) for r in rows],
                "thickness": 1,
            },
        })
    if england:
        data.append({"type": "scatter", "mode": "lines", "x": _dates(england),
                     "y": [scaled(indicator, r["value"]) for r in england], "name": "England",
                     "line": {"color": NHS_BLUE, "width": 4}})
    return _time_axis(indicator, {"data": data, "layout": _layout(indicator, f"{indicator.title}: chosen organisations")})


def map_spec(indicator: Indicator, level: str, period: dt.date, rows: list[dict]) -> dict:
    """What static/app.js needs to draw a choropleth from /geo/LEVEL.json."""
    values = {
        r["org_code"]: {
            "v": scaled(indicator, r["value"]),
            "label": indicator_value(indicator, r["value"]),
            "name": r["org_name"] or r["org_code"],
            "comparison": r.get("comparison"),
        }
        for r in rows
        if not missing(r["value"])
    }
    return {
        "geo": f"/geo/{level}.json",
        "values": values,
        "title": f"{indicator.title}: {level_label(level, plural=True)}, {period_label(period, indicator)}",
        # darker is better: reverse the scale when low is good
        "reverse": indicator.polarity == Polarity.LOW_IS_GOOD,
        "suffix": _axis_suffix(indicator),
        "link": "/organisations/",
    }


def equity(indicator: Indicator, level: str, period: dt.date, row: dict, quintiles: list[dict], placed: bool) -> dict:
    """The slope index of inequality drawn as Fingertips draws it: each deprivation quintile's value at the
    middle of its share of the population (ranked from most to least deprived; the horizontal bar spans the
    share), and the fitted line from the most deprived end (0) to the least deprived end (1)."""
    data: list[dict] = []
    suffix = "%" if _axis_suffix(indicator) else ""
    text = [f"Quintile {q['quintile_label']}<br>{indicator_value(indicator, q['value'])}"
            + (f"<br>{100 * q['population_share']:.0f}% of the denominator" if q["population_share"] is not None
               else "") + (f"<br>{q['organisations']:,} organisations" if q["organisations"] is not None else "")
            for q in quintiles]
    if placed:
        if not missing(row.get("sii")) and not missing(row.get("intercept")):
            data.append({
                "type": "scatter", "mode": "lines", "x": [0, 1],
                "y": [scaled(indicator, row["intercept"]), scaled(indicator, row["intercept"] + row["sii"])],
                "line": {"color": NHS_DARK_BLUE, "width": 2, "dash": "dash"}, "name": "Fitted slope (SII)",
                "hovertemplate": "Fitted: %{y:.1f}" + suffix + "<extra></extra>",
            })
        data.append({
            "type": "scatter", "mode": "markers", "x": [q["ridit"] for q in quintiles],
            "y": [scaled(indicator, q["value"]) for q in quintiles], "text": text,
            "hovertemplate": "%{text}<extra></extra>", "name": "Value of each deprivation quintile",
            "marker": {"size": 12, "color": NHS_BLUE, "line": {"width": 1, "color": "#ffffff"}},
            "error_x": {"type": "data", "symmetric": True, "array": [q["population_share"] / 2 for q in quintiles],
                        "color": NHS_BLUE, "thickness": 3, "width": 0},
        })
        layout = _layout(
            indicator, f"Value by deprivation: {level_label(level, plural=True)}, {period_label(period, indicator)}",
            x_title="Population ranked by deprivation, from most deprived (0%) to least deprived (100%)",
        )
        layout["xaxis"].update({"range": [-0.02, 1.02], "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1],
                                "ticktext": ["0%", "20%", "40%", "60%", "80%", "100%"]})
    else:  # the quintiles could not be placed on the population axis: values only, no line
        data.append({
            "type": "scatter", "mode": "markers", "x": [f"Quintile {q['quintile_label']}" for q in quintiles],
            "y": [scaled(indicator, q["value"]) for q in quintiles], "text": text,
            "hovertemplate": "%{text}<extra></extra>", "name": "Value of each deprivation quintile",
            "marker": {"size": 12, "color": NHS_BLUE},
        })
        layout = _layout(
            indicator, f"Value by deprivation: {level_label(level, plural=True)}, {period_label(period, indicator)}",
            x_title="Deprivation quintile (IMD)",
        )
    layout["height"] = 430
    layout["margin"] = {**layout["margin"], "b": 96}
    layout["legend"] = {"orientation": "h", "y": -0.3}
    return {"data": data, "layout": layout}


def equity_trend(indicator: Indicator, level: str, rows: list[dict]) -> dict:
    """The slope index of inequality over time (in the indicator's display units), with zero marked and
    each period's simulated 95% interval as an error bar (where stored)."""
    rows = [r for r in rows if not missing(r.get("sii"))]
    unit = "percentage points" if indicator.unit == "%" else indicator.unit
    data = [{
        "type": "scatter", "mode": "lines+markers" if len(rows) <= 36 else "lines", "x": _dates(rows),
        "y": [scaled(indicator, r["sii"]) for r in rows], "name": "Slope index of inequality",
        "line": {"color": NHS_BLUE, "width": 2}, "marker": {"size": 5},
        "hovertemplate": "%{x|%b %Y}: %{y:+.1f} " + unit + "<extra></extra>",
    }]
    if rows and all(not missing(r.get("sii_ci95_low")) and not missing(r.get("sii_ci95_high")) for r in rows):
        data[0]["error_y"] = {
            "type": "data", "symmetric": False, "color": NHS_GREY, "thickness": 1, "width": 0,
            "array": [scaled(indicator, r["sii_ci95_high"] - r["sii"]) for r in rows],
            "arrayminus": [scaled(indicator, r["sii"] - r["sii_ci95_low"]) for r in rows],
        }
    layout = _layout(None, f"Slope index of inequality over time: {level_label(level, plural=True)} "
                           "(least deprived minus most deprived)",
                     y_title=f"SII ({unit})", showlegend=False, height=420)
    layout["yaxis"].update({"zeroline": True, "zerolinecolor": NHS_GREY, "zerolinewidth": 1.5})
    layout["margin"] = {**layout["margin"], "b": 40}
    return _time_axis(indicator, {"data": data, "layout": layout})


def change_series(indicator: Indicator, org_name: str, level: str, rows: list[dict], changes: list[dict]) -> dict:
    """The organisation's percentile among its level over time (OpenPrescribing's view of a measure), with
    each detected change shaded from when it started to its latest alert and each alert marked."""
    x = _dates(rows)
    data: list[dict] = [{
        "type": "scatter", "mode": "lines", "x": x, "y": [r["percentile"] for r in rows],
        "line": {"color": NHS_GREY, "width": 2}, "name": "Percentile",
        "text": [percentile(r["percentile"]) for r in rows],
        "hovertemplate": "%{x|%b %Y}: %{text} percentile<extra></extra>", "connectgaps": False,
    }]
    for direction, label in (("up", "Alert: up"), ("down", "Alert: down")):
        alert = "increase" if direction == "up" else "decrease"
        points = [r for r in rows if r["alert"] in (alert, "both")]
        if points:
            colour = {"blue": SPC_COLOURS["improvement"], "orange": NHS_ORANGE}.get(
                change_colour(indicator, direction), SPC_COLOURS["neutral"])
            data.append({
                "type": "scatter", "mode": "markers", "x": _dates(points), "y": [r["percentile"] for r in points],
                "marker": {"size": 9, "color": colour, "symbol": "triangle-up" if direction == "up" else
                           "triangle-down"},
                "name": label, "hovertemplate": "%{x|%b %Y}: " + label.lower() + "<extra></extra>",
            })
    shapes = []
    for change in changes:
        if change.get("change_started") is None:
            continue
        colour = {"blue": "rgba(65,182,230,0.15)", "orange": "rgba(237,139,0,0.15)"}.get(
            change_colour(indicator, change["direction"]), "rgba(124,40,85,0.12)")
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": change["change_started"].isoformat(),
                       "x1": change["last_alert"].isoformat(), "y0": 0, "y1": 1, "fillcolor": colour,
                       "line": {"width": 0}, "layer": "below"})
    layout = _layout(None, f"Percentile among {level_label(level, plural=True)}: {org_name}",
                     y_title="Percentile (100 = highest value)", shapes=shapes, height=380)
    layout["legend"] = {"orientation": "h", "y": -0.15}
    layout["yaxis"].update({"range": [-2, 102]})
    return _time_axis(indicator, {"data": data, "layout": layout})


def forecast(indicator: Indicator, title: str, rows: list[dict], target: float | None = None,
             deadline: dt.date | None = None) -> dict:
    """A Bass forecast: the observed values, the fitted curve (solid over the data, dashed beyond it) and
    its 95% prediction band, with a commitment's target by its deadline if given."""
    if not rows:
        return {"data": [], "layout": _layout(indicator, title)}
    x = _dates(rows)
    low = [scaled(indicator, r["low"]) for r in rows]
    high = [scaled(indicator, r["high"]) for r in rows]
    fitted = [scaled(indicator, r["fitted"]) for r in rows]
    past = [f if not r["forecast"] else None for f, r in zip(fitted, rows)]
    # the dashed part starts at the last fitted month, so the two lines join
    last_fit = max((i for i, r in enumerate(rows) if not r["forecast"]), default=-1)
    ahead = [f if (r["forecast"] or i == last_fit) else None for i, (f, r) in enumerate(zip(fitted, rows))]
    synthetic = " (SYNTHETIC)" if any(r.get("synthetic") for r in rows) else ""
    data: list[dict] = [
        {"type": "scatter", "mode": "lines", "x": x, "y": low, "line": {"width": 0}, "hoverinfo": "skip",
         "showlegend": False, "name": "95% band (lower)"},
        {"type": "scatter", "mode": "lines", "x": x, "y": high, "fill": "tonexty",
         "fillcolor": "rgba(65,182,230,0.25)", "line": {"width": 0}, "name": "95% prediction band",
         "hovertemplate": "upper %{y:.1f}<extra></extra>"},
        {"type": "scatter", "mode": "lines", "x": x, "y": past, "line": {"color": NHS_BLUE, "width": 2},
         "name": "Fitted Bass curve"},
        {"type": "scatter", "mode": "lines", "x": x, "y": ahead,
         "line": {"color": NHS_BLUE, "width": 2, "dash": "dash"}, "name": "Forecast"},
        {"type": "scatter", "mode": "markers", "x": x, "y": [scaled(indicator, r["observed"]) for r in rows],
         "marker": {"color": NHS_DARK_BLUE, "size": 4}, "name": "Observed"},
    ]
    if target is not None:
        end = (deadline or _day(x[-1])).isoformat()
        data.append({"type": "scatter", "mode": "lines+markers", "x": [x[0], end],
                     "y": [scaled(indicator, target)] * 2, "line": {"color": NHS_GREEN, "dash": "dot"},
                     "marker": {"size": [0, 9], "symbol": "diamond"}, "name": "Target by the deadline"})
    spec = {"data": data, "layout": _layout(indicator, f"{title}{synthetic}", height=380)}
    return _time_axis(indicator, spec)
