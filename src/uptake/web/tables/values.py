"""Tables of values (result_values): the league table of a level, one organisation's position on every
indicator, and chosen organisations side by side (public)."""

from __future__ import annotations

from typing import Any

from uptake.catalogue.schemas import Polarity
from uptake.results import benchmark as bm
from uptake.results import read
from uptake.results.schema import VALUE_ROW
from uptake.web.formatting import indicator_value, interval, level_label, number, period_label
from uptake.web.params import date_param
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.profile import benchmark_of
from uptake.web.tables.cells import comparison_tag, innovation_href, org_link, synthetic_tag


def league(ctx: Context, indicator: str, level: str, period: Any = None, page: int = 1, per_page: int | None = None):
    ind = ctx.indicator(indicator)
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    order = "value-asc" if ind.polarity == Polarity.LOW_IS_GOOD else "value-desc"
    limit = per_page
    offset = (max(page, 1) - 1) * per_page if per_page else 0
    rows, total = read.values.values(ctx.cur, indicator=indicator, level=level, period=day, limit=limit,
                                     offset=offset, order=order)
    for i, row in enumerate(rows):
        row["rank"] = offset + i + 1
    columns = [
        Column("rank", "Rank", numeric=True),
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=org_link),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("ci95", "95% interval", fmt=lambda r: interval(ind, r["ci95_low"], r["ci95_high"])),
        Column("numerator", "Numerator", fmt=lambda r: number(r["numerator"]), numeric=True),
        Column("denominator", "Denominator", fmt=lambda r: number(r["denominator"]), numeric=True),
        Column("decile", "Decile", fmt=lambda r: number(r["decile"]), numeric=True),
        Column("comparison", "Compared with England", fmt=lambda r: "", tag=comparison_tag),
    ]
    if ind.synthetic:
        columns.append(Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag))
    return DataTable(
        name="league", title=f"League table: {level_label(level, plural=True)}, {period_label(day, ind)}",
        columns=columns, rows=rows, total=total,
        params={"indicator": indicator, "level": level, "period": day.isoformat() if day else None},
        note=("Ranked so that the best value comes first ("
              + ("lowest" if ind.polarity == Polarity.LOW_IS_GOOD else "highest") + "); decile 10 is the top 10%."),
        raw_columns=["rank", *VALUE_ROW.column_names],
    )


def org_position(ctx: Context, code: str, benchmark: Any = None):
    """The organisation's latest value on every indicator, against England and, when another benchmark is
    chosen (uptake.results.benchmark: the region, the ICB, the peers or a group, pooled), against it too, by
    the interval rule (public; a group is the asker's own)."""
    org = ctx.organisation(code)
    rows = read.values.organisation_latest_values(ctx.cur, code)
    bench = benchmark_of(ctx, code, benchmark)
    for row in rows:
        ind = ctx.catalogue.indicators.get(row["indicator"])
        row["indicator_title"] = ind.title if ind else row["indicator"]
    if not bench.is_england:
        measures = {i.id: i.measure.value for i in ctx.catalogue.indicators.values()}
        found = bm.values(ctx.cur, bench, {r["indicator"]: r["period"] for r in rows}, measures)
        for row in rows:
            b = found.get(row["indicator"])
            ind = ctx.catalogue.indicators.get(row["indicator"])
            row["benchmark_value"] = b.value if b else None
            row["benchmark_ci95_low"] = b.ci95_low if b else None
            row["benchmark_ci95_high"] = b.ci95_high if b else None
            row["benchmark_comparison"] = bm.judge(ind.polarity.value if ind else None, row,
                                                   b.value if b else None)
    bm.label_rows(rows, bench)

    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [
        Column("indicator_title", "Indicator", href=lambda r: innovation_href(ctx, r["indicator"])),
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind_of(r))),
        Column("value", "Value", fmt=lambda r: indicator_value(ind_of(r), r["value"]), numeric=True),
        Column("ci95", "95% interval", fmt=lambda r: interval(ind_of(r), r["ci95_low"], r["ci95_high"])),
        Column("england_value", "England", fmt=lambda r: indicator_value(ind_of(r), r["england_value"]), numeric=True),
        Column("decile", "Decile", fmt=lambda r: number(r["decile"]), numeric=True),
        Column("comparison", "Compared with England", fmt=lambda r: "", tag=comparison_tag),
    ]
    raw = [*VALUE_ROW.column_names, "england_value", "england_numerator", "england_denominator", "benchmark_key",
           "benchmark_label"]
    if not bench.is_england:
        columns += [
            Column("benchmark_value", f"Benchmark: {bench.label}", numeric=True,
                   fmt=lambda r: indicator_value(ind_of(r), r["benchmark_value"])),
            Column("benchmark_ci95", "Benchmark's 95% interval", fmt=lambda r: "" if r["benchmark_ci95_low"] is None
                   else interval(ind_of(r), r["benchmark_ci95_low"], r["benchmark_ci95_high"])),
            Column("benchmark_comparison", f"Compared with {bench.label}", fmt=lambda r: "",
                   tag=lambda r: comparison_tag({"comparison": r["benchmark_comparison"]}, words=bench.label)),
        ]
        raw += ["benchmark_value", "benchmark_ci95_low", "benchmark_ci95_high", "benchmark_comparison"]
    columns.append(Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag))
    return DataTable("organisation", f"{org['name']}: position on every indicator", columns, rows,
                     {"code": code, "benchmark": None if bench.is_england else bench.key},
                     note=None if bench.is_england else f"The last columns are {bench.compared_with} "
                     "(by the interval rule: docs/profile.md).", raw_columns=raw)


def compare(ctx: Context, codes: list[str], indicator: str | None = None):
    """Chosen organisations side by side: the latest value of each indicator."""
    orgs = [ctx.organisation(code) for code in codes]
    by_indicator: dict[str, dict] = {}
    for org in orgs:
        for row in read.values.organisation_latest_values(ctx.cur, org["code"]):
            if indicator and row["indicator"] != indicator:
                continue
            entry = by_indicator.setdefault(row["indicator"], {"indicator": row["indicator"],
                                                               "england_value": row["england_value"]})
            entry[org["code"]] = row["value"]
            entry[f"{org['code']}_comparison"] = row["comparison"]
    rows = sorted(by_indicator.values(), key=lambda r: r["indicator"])

    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [Column("indicator", "Indicator", fmt=lambda r: ind_of(r).title if ind_of(r) else r["indicator"])]
    for org in orgs:
        columns.append(Column(org["code"], f"{org['name']} ({org['code']})",
                              fmt=lambda r, c=org["code"]: indicator_value(ind_of(r), r.get(c)), numeric=True))
    columns.append(Column("england_value", "England", fmt=lambda r: indicator_value(ind_of(r), r["england_value"]),
                          numeric=True))
    raw = ["indicator"] + [o["code"] for o in orgs] + ["england_value"]
    return DataTable("compare", "Comparison", columns, rows, {"codes": ",".join(codes), "indicator": indicator},
                     raw_columns=raw)

