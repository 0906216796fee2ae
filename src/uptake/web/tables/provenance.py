"""The tables of the Data and methods page: the indicators in the catalogue, every load into the analytics
store and the pipeline runs (public)."""

from __future__ import annotations

from uptake.results import read
from uptake.web.formatting import number
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import synthetic_tag


def batches(ctx: Context, indicator: str | None = None):
    rows = read.runs.batches(ctx.cur, indicator)
    columns = [
        Column("batch_id", "Batch", numeric=True),
        Column("indicator", "Indicator"),
        Column("source", "Source", breakable=True),
        Column("file_name", "File", breakable=True),
        Column("file_sha256", "SHA-256", fmt=lambda r: (r["file_sha256"] or "")[:12] + "…"),
        Column("row_count", "Rows", fmt=lambda r: number(r["row_count"]), numeric=True),
        Column("first_period", "Periods", fmt=lambda r: f"{r['first_period']} to {r['last_period']}"),
        Column("loaded_at", "Loaded (UTC)", fmt=lambda r: f"{r['loaded_at']:%Y-%m-%d %H:%M}"),
        Column("loaded_by", "Loaded by"),
    ]
    return DataTable("batches", "Every load into the analytics store", columns, rows, {"indicator": indicator})


def runs(ctx: Context):
    rows = read.runs.pipeline_runs(ctx.cur, limit=50)
    columns = [
        Column("run_id", "Run", numeric=True),
        Column("engine", "Engine"),
        Column("started_at", "Started (UTC)", fmt=lambda r: f"{r['started_at']:%Y-%m-%d %H:%M}"),
        Column("finished_at", "Finished (UTC)",
               fmt=lambda r: f"{r['finished_at']:%Y-%m-%d %H:%M}" if r["finished_at"] else "-"),
        Column("input_rows", "Observations read", fmt=lambda r: number(r["input_rows"]), numeric=True),
        Column("indicators", "Indicators", numeric=True),
        Column("uptake_version", "Uptake version"),
    ]
    return DataTable("runs", "Pipeline runs (uptake compute)", columns, rows)


def indicators(ctx: Context):
    rows = []
    for ind in ctx.catalogue.indicators.values():
        rows.append({
            "id": ind.id, "title": ind.title, "innovation": ind.innovation, "numerator": ind.numerator,
            "denominator": ind.denominator, "measure": ind.measure.value, "unit": ind.unit,
            "polarity": ind.polarity.value, "levels": ", ".join(lv.value for lv in ind.levels),
            "period": ind.period.value, "adoption_threshold": ind.adoption_threshold, "unit_cost": ind.unit_cost,
            "source": ind.source.name, "publisher": ind.source.publisher, "licence": ind.source.licence,
            "synthetic": ind.synthetic, "authored_by": ind.authored_by, "checked_by": ind.checked_by,
            "next_review": ind.next_review,
        })
    columns = [
        Column("title", "Indicator", href=lambda r: f"/data#{r['id']}"),
        Column("numerator", "Numerator"),
        Column("denominator", "Denominator"),
        Column("levels", "Collected at"),
        Column("period", "Period"),
        Column("source", "Source", breakable=True),
        Column("synthetic", "Data", fmt=lambda r: "" if r["synthetic"] else "Real", tag=synthetic_tag),
    ]
    return DataTable("indicators", "Indicators", columns, rows)
