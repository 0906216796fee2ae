"""Opportunity tables: each organisation's opportunity (restricted to the rows the principal's role covers),
one organisation's opportunity on each indicator (restricted) and the national totals (public)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from uptake.models.outcomes.registry import model_for
from uptake.results import read
from uptake.results.schema import OPPORTUNITY_ROW
from uptake.web.formatting import (
    BENCHMARK_LABELS,
    counted,
    extra_heading,
    indicator_value,
    level_label,
    number,
    period_label,
    pounds,
    pounds_heading,
    pounds_meant,
    signed_pounds,
)
from uptake.web.params import date_param
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import org_link, synthetic_tag


def _opportunity_columns(ctx: Context, with_org: bool, ind=None) -> list[Column]:
    """With ``with_org``, one indicator's rows (``ind``): the headings say what its counts and pounds are.
    Otherwise one organisation's rows on every indicator: each cell says its own unit and what its pounds
    are."""
    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = []
    if with_org:
        columns.append(Column("org_name", "Organisation",
                              fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})", href=org_link))
    else:
        columns.append(Column("indicator", "Indicator",
                              fmt=lambda r: ind_of(r).title if ind_of(r) else r["indicator"]))
    columns += [
        Column("benchmark", "If it matched", fmt=lambda r: BENCHMARK_LABELS.get(r["benchmark"], r["benchmark"])),
        Column("value", "Value now", fmt=lambda r: indicator_value(ind_of(r), r["value"]), numeric=True),
        Column("benchmark_value", "Benchmark", fmt=lambda r: indicator_value(ind_of(r), r["benchmark_value"]),
               numeric=True),
    ]
    if with_org:  # one indicator: its units in the headings (no pounds column without a unit cost)
        columns.append(
            Column("extra_patients", extra_heading(ind), fmt=lambda r: number(r["extra_patients"]), numeric=True))
        if ind is not None and ind.unit_cost is not None:
            columns.append(Column("extra_pounds", pounds_heading(ind),
                                  fmt=lambda r: signed_pounds(ind, r["extra_pounds"]), numeric=True))
    else:  # every indicator: each cell says what it counts and what its pounds are
        columns += [
            Column("extra_patients", "Extra", fmt=lambda r: counted(ind_of(r), r["extra_patients"]), numeric=True),
            Column("extra_pounds", "Pounds", fmt=lambda r: pounds_meant(ind_of(r), r["extra_pounds"]),
                   numeric=True),
        ]
    columns.append(Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag))  # SYNTHETIC follows the data
    return columns


def _outcome_columns(ind, rows: list[dict], found: list[dict], key) -> tuple[list[Column], list[str]]:
    """The opportunity table's outcome columns (the indicator's outcome model: strokes, deaths, good outcomes,
    pounds ... avoided or gained if the gap closed, each with its 95% interval), filled into ``rows`` from the
    outcome rows ``found`` matched by ``key(row)``; and the raw column names they add to downloads."""
    model = model_for(ind.id) if ind is not None else None
    if model is None or not found:
        return [], []
    by_key = {(*key(r), r["outcome"]): r for r in found}
    raw: list[str] = []
    for outcome in model.outcomes:
        name = f"outcome_{outcome.key}"
        for row in rows:
            match = by_key.get((*key(row), outcome.key))
            for part in ("mean", "low", "high"):
                row[f"{name}_{part}"] = match[part] if match else None
        raw += [f"{name}_mean", f"{name}_low", f"{name}_high"]

    def fmt(r) -> str:
        parts = []
        for outcome in model.outcomes:
            name = f"outcome_{outcome.key}"
            mean, low, high = r[f"{name}_mean"], r[f"{name}_low"], r[f"{name}_high"]
            if mean is None:
                continue
            show = pounds if outcome.key.endswith("pounds") else (lambda v: number(v, 1))
            parts.append(f"{outcome.label} {show(mean)} ({show(low)} to {show(high)})")
        return "; ".join(parts) or "-"

    # one wrapping column (every outcome with its interval), so the table still fits the page
    columns = [Column("outcome_summary", "If the gap closed: outcomes (95% intervals)", fmt=fmt)]
    return columns, raw


def opportunity(ctx: Context, indicator: str, level: str, period: Any = None, benchmark: str | None = None,
                page: int = 1, per_page: int | None = None):
    """Each organisation's opportunity (restricted: only the rows the principal's role covers)."""
    ind = ctx.indicator(indicator)
    principal = ctx.principal
    if not principal.signed_in:
        raise HTTPException(403, "organisation opportunity figures are for signed-in NHS users")
    if not principal.may_see_innovation(ctx.innovation_of(indicator)):
        raise HTTPException(403, "this indicator belongs to another innovation")
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    visible = principal.visible_orgs()
    rows, total = read.opportunity.opportunity(
        ctx.cur, indicator=indicator, level=level, period=day, benchmark=benchmark,
        org_codes=None if visible is None else sorted(visible), limit=per_page,
        offset=(max(page, 1) - 1) * per_page if per_page else 0,
    )
    extra, raw = [], []
    if rows and model_for(indicator) is not None and "result_outcomes" in read.tables(ctx.cur):
        found, _ = read.outcomes.outcomes(ctx.cur, indicator=indicator, level=level, period=day,
                                          benchmark=benchmark, org_codes=sorted({r["org_code"] for r in rows}))
        extra, raw = _outcome_columns(ind, rows, found, lambda r: (r["org_code"], r["benchmark"]))
    columns = _opportunity_columns(ctx, True, ind)
    return DataTable(
        "opportunity", f"Opportunity by organisation: {level_label(level, plural=True)}",
        columns[:-1] + extra + columns[-1:], rows,
        {"indicator": indicator, "level": level, "period": day.isoformat() if day else None, "benchmark": benchmark},
        total, raw_columns=OPPORTUNITY_ROW.column_names + raw,
    )


def org_opportunity(ctx: Context, code: str):
    """One organisation's opportunity on each indicator its principal may see (restricted)."""
    org = ctx.organisation(code)
    allowed = [i for i in ctx.catalogue.indicators if ctx.principal.may_see_pack(code, ctx.innovation_of(i))]
    if not allowed:
        raise HTTPException(403, "this organisation's innovation pack is not available to you")
    rows, _ = read.opportunity.opportunity(ctx.cur, org_codes=[code], indicators=allowed)
    latest: dict[tuple, dict] = {}
    for row in rows:  # the latest period of each indicator and benchmark
        key = (row["indicator"], row["benchmark"])
        if key not in latest or row["period"] > latest[key]["period"]:
            latest[key] = row
    rows = sorted(latest.values(), key=lambda r: (r["indicator"], r["benchmark"]))
    return DataTable("org-opportunity", f"Opportunity for {org['name']}", _opportunity_columns(ctx, False), rows,
                     {"code": code}, raw_columns=OPPORTUNITY_ROW.column_names)


def opportunity_totals(ctx: Context, indicator: str):
    ind = ctx.indicator(indicator)
    rows = read.opportunity.latest_national_opportunity(ctx.cur, indicator)
    columns = [
        Column("level", "Organisations compared", fmt=lambda r: level_label(r["level"], plural=True)),
        Column("benchmark", "If every organisation below it matched",
               fmt=lambda r: BENCHMARK_LABELS.get(r["benchmark"], r["benchmark"])),
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("extra_patients", extra_heading(ind, " in England"), fmt=lambda r: number(r["extra_patients"]),
               numeric=True),
    ]
    if ind.unit_cost is not None:  # no pounds column without a unit cost (downloads keep extra_pounds)
        columns.append(Column("extra_pounds", pounds_heading(ind),
                              fmt=lambda r: signed_pounds(ind, r["extra_pounds"]), numeric=True))
    raw = None
    if rows and model_for(indicator) is not None and "result_outcomes" in read.tables(ctx.cur):
        found = read.outcomes.national_outcomes(ctx.cur, indicator, rows[0]["period"])
        extra, added = _outcome_columns(ind, rows, found, lambda r: (r["level"], r["benchmark"]))
        columns += extra
        raw = (list(rows[0].keys()) if rows else []) if added else None
    return DataTable("opportunity-totals", f"National opportunity: {ind.title}", columns, rows,
                     {"indicator": indicator}, raw_columns=raw)
