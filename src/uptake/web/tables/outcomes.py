"""Outcome tables: what closing each gap is worth (result_outcomes: England's, public; each organisation's and
one organisation's, restricted like the opportunity they come from), "if everyone matched the best"
(result_impact, public), and the health and wealth model's tables (the report's figures beside the model's,
and the Monte Carlo intervals: computed from uptake.models.wealth, no results needed)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import HTTPException

from uptake.models import wealth
from uptake.models.outcomes.registry import model_for
from uptake.results import read
from uptake.web.formatting import BENCHMARK_LABELS, level_label, missing, number, period_label, pounds
from uptake.web.params import date_param
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import org_link, synthetic_tag

#: Monte Carlo draws of the health and wealth model shown on the page (and their seed)
WEALTH_DRAWS = 100_000
WEALTH_SEED = 20200701


def with_interval(mean: Any, low: Any, high: Any, digits: int = 1, money: bool = False) -> str:
    """'12.3 (8.1 to 16.9)' (the heading says it is a 95% interval); pounds when ``money``."""
    if missing(mean):
        return "-"
    fmt = pounds if money else (lambda v: number(v, digits))
    if missing(low) or missing(high):
        return fmt(mean)
    return f"{fmt(mean)} ({fmt(low)} to {fmt(high)})"


def _money(r: dict) -> bool:
    return str(r.get("outcome") or r.get("measure") or "").endswith("pounds")


def _outcome_cell(r: dict) -> str:
    return with_interval(r["mean"], r["low"], r["high"], 1, money=_money(r))


def _per_unit(r: dict) -> str:
    return (f"{with_interval(r['per_unit_mean'] * 1000, r['per_unit_low'] * 1000, r['per_unit_high'] * 1000, 2, money=_money(r))}"
            " per 1,000")


def _gap_columns(ind) -> list[Column]:
    """The gap in the indicator's own unit, and, where the model converts it (items to patient-years), the
    converted figure under a heading that says so."""
    columns = [Column("extra_units", f"Extra {ind.count_unit.plural}", fmt=lambda r: number(r["extra_units"]),
                      numeric=True)]
    model = model_for(ind.id)
    if model is not None and model.patients_per_unit is not None:
        columns.append(Column("extra_patients", "Patient-years of treatment (converted from the gap)",
                              fmt=lambda r: number(r["extra_patients"]), numeric=True))
    return columns


def _gap_text(ctx: Context, r: dict) -> str:
    ind = ctx.catalogue.indicators.get(r["indicator"])
    unit = ind.count_unit.plural if ind is not None else "units"
    return f"{number(r['extra_units'])} {unit}"


def national_outcomes(ctx: Context, indicator: str, benchmark: str | None = None) -> DataTable:
    """England's outcomes of closing the gap (public, like the national opportunity totals), latest complete
    period; one benchmark's, or every benchmark's."""
    ind = ctx.indicator(indicator)
    provisional = read.runs.provisional_periods(ctx.cur, indicator)
    rows = [r for r in read.outcomes.national_outcomes(ctx.cur, indicator, exclude_periods=provisional)
            if benchmark is None or r["benchmark"] == benchmark]
    columns = [Column("level", "Organisations compared", fmt=lambda r: level_label(r["level"], plural=True))]
    if benchmark is None:
        columns.append(Column("benchmark", "If every organisation below it matched",
                              fmt=lambda r: BENCHMARK_LABELS.get(r["benchmark"], r["benchmark"])))
    columns += [
        *_gap_columns(ind),
        Column("outcome_label", "Outcome"),
        Column("mean", "In England: mean (95% interval)", fmt=_outcome_cell),
        Column("per_unit_mean", f"Per 1,000 extra {ind.count_unit.plural}", fmt=_per_unit),
        Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag),
    ]
    period = rows[0]["period"] if rows else None
    if benchmark is not None:
        title = (f"What closing the gap is worth in England, if every organisation below "
                 f"{BENCHMARK_LABELS.get(benchmark, benchmark)} matched it ({period_label(period, ind)})")
    else:
        title = f"What closing the gap is worth in England ({period_label(period, ind)})"
    return DataTable("outcomes-totals", title, columns, rows, {"indicator": indicator, "benchmark": benchmark})


def outcomes(ctx: Context, indicator: str, level: str, period: Any = None, benchmark: str | None = "top-decile",
             outcome: str | None = None, page: int = 1, per_page: int | None = None) -> DataTable:
    """Each organisation's outcomes (restricted: only the organisations the principal's role covers)."""
    ind = ctx.indicator(indicator)
    principal = ctx.principal
    if not principal.signed_in:
        raise HTTPException(403, "organisation outcome figures are for signed-in NHS users")
    if not principal.may_see_innovation(ctx.innovation_of(indicator)):
        raise HTTPException(403, "this indicator belongs to another innovation")
    day = date_param(period) if period else read.values.latest_period(ctx.cur, indicator, level)
    visible = principal.visible_orgs()
    codes = None if visible is None else sorted(c for c in visible if c != read.outcomes.NATIONAL)
    rows, total = read.outcomes.outcomes(
        ctx.cur, indicator=indicator, level=level, period=day, benchmark=benchmark, outcome=outcome,
        org_codes=codes, limit=per_page, offset=(max(page, 1) - 1) * per_page if per_page else 0)
    rows = [r for r in rows if r["org_code"] != read.outcomes.NATIONAL]
    columns = [
        Column("org_code", "Organisation", fmt=lambda r: r["org_code"], href=org_link),
        Column("benchmark", "If it matched", fmt=lambda r: BENCHMARK_LABELS.get(r["benchmark"], r["benchmark"])),
        *_gap_columns(ind),
        Column("outcome_label", "Outcome"),
        Column("mean", "Mean (95% interval)", fmt=_outcome_cell),
        Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag),
    ]
    return DataTable("outcomes", f"Outcomes of closing the gap by organisation: {level_label(level, plural=True)}",
                     columns, rows, {"indicator": indicator, "level": level,
                                     "period": day.isoformat() if day else None, "benchmark": benchmark},
                     total)


def org_outcomes(ctx: Context, code: str) -> DataTable:
    """One organisation's outcomes on each indicator its principal may see (restricted), latest period, the
    top-decile benchmark, with its share of England's."""
    org = ctx.organisation(code)
    allowed = [i for i in ctx.catalogue.indicators if ctx.principal.may_see_pack(code, ctx.innovation_of(i))]
    if not allowed:
        raise HTTPException(403, "this organisation's innovation pack is not available to you")
    rows = read.outcomes.org_outcomes(ctx.cur, code, allowed, "top-decile")

    def title(r):
        ind = ctx.catalogue.indicators.get(r["indicator"])
        return ind.title if ind else r["indicator"]

    columns = [
        Column("indicator", "Indicator", fmt=title),
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ctx.catalogue.indicators.get(r["indicator"]))),
        Column("extra_units", "Its gap (if it matched the top decile)", fmt=lambda r: _gap_text(ctx, r),
               numeric=True),
        Column("outcome_label", "Outcome"),
        Column("mean", "Mean (95% interval)", fmt=_outcome_cell),
        Column("share", "Share of England's",
               fmt=lambda r: "-" if missing(r["share"]) else f"{100 * r['share']:.1f}%", numeric=True),
        Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag),
    ]
    return DataTable("org-outcomes", f"What closing the gap is worth for {org['name']}", columns, rows,
                     {"code": code})


# ------------------------------------------------------------------------------------ health and wealth

def impact(ctx: Context, indicator: str | None = None) -> DataTable:
    """Uptake's measured gaps valued with the health and wealth model (result_impact): every indicator's, or
    one's."""
    rows = [r for r in read.outcomes.impact(ctx.cur) if indicator is None or r["indicator"] == indicator]

    def title(r):
        ind = ctx.catalogue.indicators.get(r["indicator"])
        return ind.title if ind else r["indicator"]

    columns = [
        Column("condition", "Condition", fmt=lambda r: wealth.CONDITION_LABELS.get(r["condition"], r["condition"])),
        Column("indicator", "Indicator", fmt=title),
        Column("extra_units", "England's gap to the top decile",
               fmt=lambda r: f"{number(r['extra_units'])} {r['unit']}"),
        Column("label", "Measure"),
        Column("mean", "Mean (95% interval)",
               fmt=lambda r: (with_interval(r["mean"], r["low"], r["high"], money=_money(r))
                              if not missing(r["mean"]) else "not modelled")),
        Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag),
    ]
    return DataTable("impact", "If every organisation matched the best: Uptake's measured gaps", columns, rows,
                     {"indicator": indicator})


@lru_cache(maxsize=1)
def wealth_summaries() -> dict:
    draws = wealth.monte_carlo(WEALTH_DRAWS, WEALTH_SEED)
    return wealth.summaries(draws)


def _cells_for(table: str) -> list[dict]:
    out = []
    for c in wealth.report_cells():
        if c.table != table:
            continue
        out.append(dict(table=c.table, row=c.row, condition=wealth.CONDITION_LABELS.get(c.condition, "Total"),
                        printed=c.printed, model=c.model, from_printed_cells=c.step, status=c.status, note=c.note,
                        decimals=c.decimals, figure=c.figure, key=f"{c.figure}.{c.condition}"))
    return out


def _fmt(value: Any, decimals: int) -> str:
    return "-" if missing(value) else f"{value:,.{max(decimals, 0)}f}"


def wealth_table(ctx: Context, table: str = "2.1") -> DataTable:
    """One of the report's tables (2.1, 2.2, 2.3, figure 2.1): each printed cell beside the model's figure, the
    figure from the printed cell before it, the Monte Carlo interval and whether it is reproduced."""
    if table not in ("2.1", "2.2", "2.3", "figure 2.1"):
        raise HTTPException(404, f"no table {table!r}: 2.1, 2.2, 2.3 or figure 2.1")
    summaries = wealth_summaries()
    rows = _cells_for(table)
    for r in rows:
        s = summaries.get(r["key"])
        r["mc_mean"], r["mc_low"], r["mc_high"] = (s.mean, s.low, s.high) if s else (None, None, None)
    columns = [
        Column("row", "Row"),
        Column("condition", "Condition"),
        Column("printed", "Report", fmt=lambda r: _fmt(r["printed"], r["decimals"]), numeric=True),
        Column("model", "Model (stated inputs)", fmt=lambda r: _fmt(r["model"], r["decimals"] + 1), numeric=True),
        Column("from_printed_cells", "From the printed cells before it",
               fmt=lambda r: _fmt(r["from_printed_cells"], r["decimals"] + 1), numeric=True),
        Column("mc_mean", "Monte Carlo mean (95% interval)",
               fmt=lambda r: "-" if r["mc_mean"] is None else
               f"{_fmt(r['mc_mean'], r['decimals'])} ({_fmt(r['mc_low'], r['decimals'])} to {_fmt(r['mc_high'], r['decimals'])})",
               numeric=True),
        Column("status", "Reproduced?"),
        Column("note", "Note"),
    ]
    return DataTable("wealth-table", f"IPPR {'table ' if not table.startswith('figure') else ''}{table}: the report "
                     "beside the model", columns, rows, {"table": table},
                     raw_columns=["table", "row", "condition", "printed", "model", "from_printed_cells", "mc_mean",
                                  "mc_low", "mc_high", "status", "note"])


def wealth_totals(ctx: Context) -> DataTable:
    """The model's totals over the three conditions with their 95% intervals (100,000 draws)."""
    summaries = wealth_summaries()
    central = wealth.evaluate_one(wealth.central_inputs())
    rows = []
    for key in wealth.TOTALS:
        s = summaries[f"{key}.total"]
        rows.append(dict(figure=key, counts=wealth.FIGURES[key], central=central[f"{key}.total"], mean=s.mean,
                         low=s.low, high=s.high))
    columns = [
        Column("counts", "Total over CVD, cancer and dementia"),
        Column("central", "At the stated inputs", fmt=lambda r: number(r["central"], 1), numeric=True),
        Column("mean", f"Mean of {WEALTH_DRAWS:,} draws (95% interval)",
               fmt=lambda r: with_interval(r["mean"], r["low"], r["high"], 1), numeric=True),
    ]
    return DataTable("wealth-totals", "The model's totals with their uncertainty", columns, rows)


def wealth_claims(ctx: Context) -> DataTable:
    rows = [dict(where=c.where, text=c.text, printed=c.printed, tables_give=c.tables_give, model_gives=c.model_gives,
                 holds="yes" if c.holds else "no", note=c.note) for c in wealth.claims()]
    columns = [
        Column("where", "Where"), Column("text", "The report says"),
        Column("tables_give", "Its tables add to", fmt=lambda r: number(r["tables_give"], 1), numeric=True),
        Column("model_gives", "The model gives", fmt=lambda r: number(r["model_gives"], 1), numeric=True),
        Column("holds", "Holds?"), Column("note", "Note"),
    ]
    return DataTable("wealth-claims", "The report's headline figures against its own tables", columns, rows)


def wealth_inputs(ctx: Context) -> DataTable:
    """Every input of the model with its source (params/wealth.yaml)."""
    p = wealth.parameters()
    rows = [dict(key=q.key, value=q.value, low=q.low, high=q.high, distribution=q.distribution, kind=q.kind,
                 source=q.source) for q in p.every()]
    columns = [
        Column("key", "Input", breakable=True), Column("value", "Value", fmt=lambda r: f"{r['value']:,.6g}", numeric=True),
        Column("low", "95% interval", fmt=lambda r: "exact" if r["low"] is None else
               f"{r['low']:,.6g} to {r['high']:,.6g} ({r['distribution']})"),
        Column("source", "Source"),
    ]
    return DataTable("wealth-inputs", f"The model's inputs (params/wealth.yaml, version {p.version})", columns, rows)
