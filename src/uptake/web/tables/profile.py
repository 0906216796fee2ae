"""The area profile's tables: an organisation on every indicator against a benchmark with a spine chart and
its trend (``profile``), the tartan rug of an area's organisations on every indicator (``rug``), and an
organisation over the deciles of its level (``org_deciles``). All public (published results)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException
from markupsafe import Markup

from uptake.catalogue.schemas import Indicator, Polarity
from uptake.results import benchmark as bm
from uptake.results import read
from uptake.web import svg
from uptake.web.benchmarks import choose, parse
from uptake.web.formatting import (
    COMPARISON_LABELS,
    indicator_value,
    interval,
    level_label,
    missing,
    number,
    period_label,
)
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import comparison_tag, innovation_href, org_link

ENGLAND = read.profile.ENGLAND
#: the benchmarks a profile can be compared with (uptake.results.benchmark; group:<id> for a saved group)
BENCHMARKS = bm.KINDS
#: arrows and tag colours of a trend (the SPC chart's latest special cause: uptake.results.read.profile)
TREND_TAGS = {"improving": "green", "getting worse": "red", "changing": "blue", "no significant change": "grey"}
ARROWS = {"up": "\u2191", "down": "\u2193", None: "\u2192"}
RUG_CLASSES = {"better": "better", "best": "better", "worse": "worse", "worst": "worse", "similar": "similar",
               "higher": "higher", "lower": "lower"}


def benchmark_of(ctx: Context, code: str, benchmark: str | bm.Benchmark | None) -> bm.Benchmark:
    """The resolved benchmark of organisation ``code`` (422 when the choice is not offered or not available)."""
    if isinstance(benchmark, bm.Benchmark):
        return benchmark
    return choose(ctx.cur, ctx.engine, ctx.principal, ctx.organisation(code), benchmark,
                  any_owner=ctx.any_group)


def check_benchmark(benchmark: str | None) -> str:
    """The benchmark's kind key (``england`` ... ``group:12``), or 422 when it is not one offered."""
    return parse(benchmark).key


def trend_text(row: dict) -> str:
    """'↑ improving', '↓ getting worse', '→ no significant change', or '-' (too few points)."""
    trend = row.get("trend")
    if not trend:
        return "-"
    arrow = ARROWS.get(row.get("trend_direction")) if trend != "no significant change" else ARROWS[None]
    return f"{arrow} {trend}"


def trend_tag(row: dict) -> tuple[str, str] | None:
    trend = row.get("trend")
    return (trend_text(row), TREND_TAGS.get(trend, "grey")) if trend else None


def _ends(ind: Indicator | None) -> tuple[str, str]:
    """The words for the two ends of the spread: (left, right) as the spine draws them."""
    if ind is not None and ind.polarity == Polarity.LOW_IS_GOOD:
        return "worst", "best"
    if ind is not None and ind.polarity == Polarity.HIGH_IS_GOOD:
        return "worst", "best"
    return "lowest", "highest"


def _end_value(ind: Indicator | None, row: dict, which: str) -> Any:
    """The worst or best (or lowest or highest) value of the spread."""
    low_is_good = ind is not None and ind.polarity == Polarity.LOW_IS_GOOD
    if which == "left":
        return row.get("highest") if low_is_good else row.get("lowest")
    return row.get("lowest") if low_is_good else row.get("highest")


def profile_rows(ctx: Context, code: str, benchmark: str | bm.Benchmark | None = None, *,
                 trends: bool = True) -> list[dict]:
    """The profile's rows against the benchmark (uptake.results.benchmark.profile) with each indicator's
    title, in the catalogue's order of innovations, then by title."""
    org = ctx.organisation(code)
    bench = benchmark_of(ctx, code, benchmark)
    polarities = {i.id: i.polarity.value for i in ctx.catalogue.indicators.values()}
    measures = {i.id: i.measure.value for i in ctx.catalogue.indicators.values()}
    found = bm.profile(ctx.cur, code, org["level"], bench, polarities=polarities, measures=measures,
                       trends=trends)
    order = {iid: n for n, iid in enumerate(ctx.catalogue.indicators)}
    for row in found:
        ind = ctx.catalogue.indicators.get(row["indicator"])
        row["indicator_title"] = ind.title if ind else row["indicator"]
        row["innovation"] = ind.innovation if ind else None
        row["polarity"] = ind.polarity.value if ind else None
        row["worst_or_lowest"] = _end_value(ind, row, "left")
        row["best_or_highest"] = _end_value(ind, row, "right")
    found.sort(key=lambda r: (order.get(r["indicator"], 10_000), r["indicator_title"]))
    return found


def profile(ctx: Context, code: str, benchmark: str | bm.Benchmark | None = None, *, trends: bool = True,
            rows: list[dict] | None = None) -> DataTable:
    """The area profile: every indicator's latest value against the benchmark, with the spine chart."""
    org = ctx.organisation(code)
    bench = benchmark_of(ctx, code, benchmark)
    rows = rows if rows is not None else profile_rows(ctx, code, bench, trends=trends)
    bench_name = bench.label

    def ind_of(r) -> Indicator | None:
        return ctx.catalogue.indicators.get(r["indicator"])

    def spine_cell(r):
        ind = ind_of(r)
        return svg.spine(ind, r) if ind is not None else ""

    def compared(r) -> tuple[str, str] | None:
        if r["worse_and_getting_worse"]:  # Fingertips' "worse and getting worse", highlighted in its row
            return f"Worse than {bench_name} and getting worse", "red"
        return comparison_tag(r, words=bench_name)

    columns = [
        Column("indicator_title", "Indicator", href=lambda r: innovation_href(ctx, r["indicator"]),
               fmt=lambda r: r["indicator_title"] + (" (SYNTHETIC)" if r.get("synthetic")
                                                      and "SYNTHETIC" not in r["indicator_title"] else "")),
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind_of(r))),
        Column("value", "Value (95% interval)", numeric=True, fmt=lambda r: Markup(
            "{}<br><span class=\"uptake-interval\">{}</span>").format(
                indicator_value(ind_of(r), r["value"]),
                "" if missing(r["ci95_low"]) else interval(ind_of(r), r["ci95_low"], r["ci95_high"]))),
        Column("benchmark_value", f"Benchmark: {bench_name} (95% interval)", fmt=lambda r: Markup(
            "{}<br><span class=\"uptake-interval\">{}</span>").format(
                indicator_value(ind_of(r), r["benchmark_value"]),
                "" if missing(r.get("benchmark_ci95_low")) else interval(ind_of(r), r["benchmark_ci95_low"],
                                                                        r["benchmark_ci95_high"])),
               numeric=True),
        Column("worst_or_lowest", "Worst (or lowest)",
               fmt=lambda r: indicator_value(ind_of(r), r["worst_or_lowest"]), numeric=True),
        Column("spine", "Spine chart (key below)", fmt=spine_cell),
        Column("best_or_highest", "Best (or highest)",
               fmt=lambda r: indicator_value(ind_of(r), r["best_or_highest"]), numeric=True),
        Column("comparison", f"Compared with {bench_name}", fmt=lambda r: "", tag=compared),
        Column("trend", "Recent trend", fmt=lambda r: "" if r.get("trend") else "-", tag=trend_tag),
    ]
    raw = ["indicator", "indicator_title", "level", "org_code", "org_name", "period", "numerator", "denominator",
           "value", "ci95_low", "ci95_high", "ci998_low", "ci998_high", "decile", "comparison", "comparison_method",
           "benchmark_key", "benchmark_label",
           "benchmark_value", "benchmark_ci95_low", "benchmark_ci95_high", "organisations", "lowest", "q25", "median", "q75", "highest", "polarity",
           "variation_icon", "spc_basis", "trend", "trend_direction", "worse_and_getting_worse", "synthetic"]
    whose = (f"the {bench_name}'s organisations pooled (their values' spread)" if bench.pooled else
             f"all {level_label(org['level'], True)} in {bench_name}")
    note = (f"Each number is {bench.compared_with}. Each organisation's latest period. The spread is that of "
            f"{whose} that period: better to the right (higher to the right where the indicator has no "
            "better direction). The trend is the latest special cause of the organisation's SPC chart.")
    return DataTable("profile", f"{org['name']}: area profile against {bench_name}", columns, rows,
                     {"code": code, "benchmark": None if bench.is_england else bench.key}, note=note,
                     raw_columns=raw)


@dataclass
class Rug:
    """A tartan rug: the organisations of one level in an area (rows) by indicator (columns). Each row is
    (code or None, name, cells); each cell a dict with its ``text`` (the value), ``css`` (the colour class)
    and ``words`` (the comparison, for screen readers and the key)."""

    area: dict
    level: str
    levels: list[dict]
    indicators: list[Indicator]
    periods: list[str] = field(default_factory=list)
    #: England's row and the area's own row
    head: list[tuple[str | None, str, list[dict]]] = field(default_factory=list)
    rows: list[tuple[str | None, str, list[dict]]] = field(default_factory=list)
    table: DataTable | None = None


def rug_cell(ind: Indicator, row: dict | None, *, judged: bool = True) -> dict:
    """One cell of the rug: its text, its colour class and its comparison in words."""
    if row is None or missing(row.get("value")):
        return {"text": "-", "css": "uptake-rug__cell--none", "words": "no value"}
    comparison = row.get("comparison") or "not compared"
    css = "uptake-rug__cell--" + (RUG_CLASSES.get(comparison, "none") if judged else "benchmark")
    return {"text": indicator_value(ind, row["value"]), "css": css,
            "words": COMPARISON_LABELS.get(comparison, comparison) if judged else "the benchmark"}


#: the levels a rug shows by default, nearest first
RUG_ORDER = ("region", "icb", "sub-icb", "pcn", "practice", "trust", "stroke-unit", "isdn")


def _nearness(level: str) -> int:
    return RUG_ORDER.index(level) if level in RUG_ORDER else len(RUG_ORDER)


def rug(ctx: Context, code: str, level: str | None = None, benchmark: str | None = None) -> DataTable:
    """The tartan rug as a download: one row per organisation and indicator (long form)."""
    found = rug_of(ctx, code, level, benchmark)
    if found is None:
        raise HTTPException(404, f"{code} has no organisations with results under it")
    return found.table


def rug_of(ctx: Context, code: str, level: str | None = None, benchmark: str | None = None) -> Rug | None:
    """The tartan rug of ``code``'s organisations of ``level`` (default: the level of its members with most
    indicators, then fewest organisations: sub-ICB locations before practices). None when nothing under it
    has results."""
    area = ctx.organisation(code)
    benchmark = check_benchmark(benchmark)
    if benchmark != "england":
        raise HTTPException(422, "the tartan rug colours each organisation by its comparison with England, as the "
                                 "pipeline computed it: it is shown against England only (the area's own row is "
                                 "beside it); use the area profile for the other benchmarks")
    levels = read.profile.rug_levels(ctx.cur, code)
    if not levels:
        return None
    names = [lv["level"] for lv in levels]
    if level is None:  # the most indicators, then the nearest level below (sub-ICB locations before practices)
        level = sorted(levels, key=lambda lv: (-lv["indicators"], _nearness(lv["level"])))[0]["level"]
    elif level not in names:
        raise HTTPException(422, f"{area['name']} has no {level_label(level, True)} with results: choose one of "
                                 + ", ".join(names))
    found = read.profile.rug(ctx.cur, code, level)
    ids = sorted({r["indicator"] for r in found if r["role"] == "member"},
                 key=lambda i: list(ctx.catalogue.indicators).index(i) if i in ctx.catalogue.indicators else 10_000)
    indicators = [ctx.catalogue.indicators[i] for i in ids if i in ctx.catalogue.indicators]
    out = Rug(area=area, level=level, levels=levels, indicators=indicators)
    by_org: dict[str, tuple[str, dict[str, dict]]] = {}
    benchmark_rows: dict[str, dict] = {}
    own: dict[str, dict] = {}
    periods: dict[str, Any] = {}
    long_rows = []
    for r in found:
        if r["indicator"] not in ids:
            continue
        periods[r["indicator"]] = r["period"]
        if r["role"] == "benchmark":
            benchmark_rows[r["indicator"]] = r
        elif r["role"] == "area":
            own[r["indicator"]] = r
        else:
            by_org.setdefault(r["org_code"], (r["org_name"] or r["org_code"], {}))[1][r["indicator"]] = r
        ind = ctx.catalogue.indicators.get(r["indicator"])
        long_rows.append({**r, "indicator_title": ind.title if ind else r["indicator"]})
    out.periods = [period_label(periods.get(i.id), i) for i in indicators]
    out.head = [(ENGLAND, "England", [rug_cell(i, benchmark_rows.get(i.id), judged=False) for i in indicators]),
                (area["code"], area["name"], [rug_cell(i, own.get(i.id)) for i in indicators])]
    out.rows = sorted(((c, n, [rug_cell(i, cells.get(i.id)) for i in indicators])
                       for c, (n, cells) in by_org.items()), key=lambda m: (m[1], m[0]))

    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=org_link),
        Column("indicator_title", "Indicator"),
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind_of(r))),
        Column("value", "Value", fmt=lambda r: indicator_value(ind_of(r), r["value"]), numeric=True),
        Column("comparison", "Compared with England", fmt=lambda r: "", tag=comparison_tag),
    ]
    out.table = DataTable(
        "rug", f"{area['name']}: {level_label(level, True)} on every indicator (tartan rug)", columns, long_rows,
        {"code": code, "level": level},
        raw_columns=["role", "indicator", "indicator_title", "level", "org_code", "org_name", "period", "numerator",
                     "denominator", "value", "ci95_low", "ci95_high", "decile", "comparison", "synthetic"])
    return out


def with_benchmark_series(ctx: Context, ind: Indicator, rows: list[dict], bench: bm.Benchmark) -> list[dict]:
    """The deciles chart's rows with the benchmark's value each period (uptake.results.benchmark.series)."""
    found = bm.series(ctx.cur, bench, ind.id, ind.measure.value, [r["period"] for r in rows])
    out = []
    for r in rows:
        b = found.get(r["period"])
        out.append({**r, "benchmark_value": b.value if b else None, "benchmark_ci95_low": b.ci95_low if b else None,
                    "benchmark_ci95_high": b.ci95_high if b else None})
    return out


def org_deciles(ctx: Context, code: str, indicator: str, rows: list[dict] | None = None,
                benchmark: str | bm.Benchmark | None = None) -> DataTable:
    """An organisation's value each period beside the deciles of its level: the deciles chart as a table; a
    benchmark other than England adds its value each period (``benchmark_value``)."""
    org = ctx.organisation(code)
    ind = ctx.indicator(indicator)
    bench = benchmark_of(ctx, code, benchmark)
    if rows is None:
        rows = read.profile.org_deciles(ctx.cur, code, org["level"], indicator)
    label = None if bench.is_england else bench.label
    if label and rows and "benchmark_value" not in rows[0]:
        rows = with_benchmark_series(ctx, ind, rows, bench)
    columns = [
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("value", "Its value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("decile", "Its decile", fmt=lambda r: number(r["decile"]), numeric=True),
    ] + ([Column("benchmark_value", f"Benchmark: {label}", numeric=True,
                 fmt=lambda r: indicator_value(ind, r.get("benchmark_value")))] if label else []) + [
        Column(f"p{k}", f"{k}th", fmt=lambda r, k=k: indicator_value(ind, r[f"p{k}"]), numeric=True)
        for k in svg.DECILE_LINES]
    if label:
        for r in rows:
            r["benchmark_key"], r["benchmark_label"] = bench.key, label
    return DataTable(
        "org-deciles", f"Deciles chart of {ind.title}: {org['name']} and the deciles of "
        f"{level_label(org['level'], True)}", columns, rows,
        {"code": code, "indicator": indicator, "benchmark": None if bench.is_england else bench.key},
        note=(f"10th ... 90th: the percentiles of every {level_label(org['level'])} in England with a value that "
              "period; decile 10 holds the highest values."
              + (f" Benchmark: {bench.compared_with}, each period." if label else "")),
        raw_columns=["indicator", "period", "value", "ci95_low", "ci95_high", "decile", "organisations",
                     *(["benchmark_key", "benchmark_label", "benchmark_value", "benchmark_ci95_low",
                        "benchmark_ci95_high"] if label else []),
                     *(f"p{k}" for k in svg.DECILE_LINES)])
