"""``uptake export TABLE``: a pipeline result table for an indicator and level, or ``ratings`` (innovation
ratings with their traces), as CSV, Parquet, JSON or an Excel workbook.

The command line is checked before the workspace is opened: a missing --level (pipeline tables), an
unknown table, level or format, a --period not written YYYY-MM-DD, a table that needs --indicator without
one, a --period for a table without periods, or Parquet or Excel to standard output is a usage error (exit
code 2). A selection with no rows (a period without results, a level the indicator has no results at, no
published ratings) is a user error (exit code 1) that says why and what there is; nothing is written.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import load_catalogue
from uptake.cli._common import (
    AsOption,
    WorkspaceOption,
    err_console,
    option_date,
    usage_checks,
    usage_error,
    who,
    workflow_session,
)
from uptake.cli.export_files import BINARY_FORMATS, FORMATS, write_frame
from uptake.cli.export_files import check_format as check_file_format
from uptake.cli.ratings import StatusOption, check_status, published_results, rating_year
from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.mission.permissions import Who
from uptake.mission.ratings import ratings_table
from uptake.pipeline.export import check_level, check_table, render, select
from uptake.pipeline.run import resolve_store
from uptake.results.schema import ResultTable
from uptake.workspace import Workspace


def export_command(
    table: Annotated[str, typer.Argument(help="Result table: values, deciles, funnel, spc, peers, opportunity, "
                                              "adoption, equity, or ratings (innovation ratings with traces).")],
    indicator: Annotated[Optional[str], typer.Option("--indicator", help="Indicator id (not for peers, ratings).")] = None,
    level: Annotated[str, typer.Option("--level", help="Organisation level, e.g. sub-icb (optional for ratings).")] = "",
    period: Annotated[Optional[str], typer.Option("--period", help="One period (ratings: a rating year start), "
                                                                   "YYYY-MM-DD.")] = None,
    format: Annotated[str, typer.Option("--format", help="csv, parquet, json or xlsx (Excel).")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write.")] = None,
    status: StatusOption = "published",
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Export a result table (csv, parquet, json or xlsx): a pipeline table for an indicator and level, or
    `ratings` (innovation ratings with their traces; published ones unless --status says otherwise). A
    selection with no rows is refused with the reason (exit 1) and writes nothing."""
    if table == "ratings":
        export_ratings(format, output, status, level or None, period, workspace, as_user)
    else:
        export_results(table, indicator, level, period, format, output, workspace)


def check_format(fmt: str) -> str:
    key = fmt.strip().lower()
    if key not in FORMATS:
        raise UptakeError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return key


def export_results(table: str, indicator: str | None, level: str, period: str | None, format: str,
                   output: Path | None, workspace: Path | None) -> None:
    """One pipeline result table for an indicator and level: CSV or JSON to standard output unless
    --output is given; Parquet and Excel to a file (default: the workspace's exports folder)."""
    if not level:
        raise usage_error("give --level LEVEL, e.g. --level sub-icb")
    day = option_date(period, "--period")
    with usage_checks():
        fmt = check_format(format)
        spec = check_table(table)
        level = check_level(level)
    if "indicator" in spec.column_names and not indicator:
        raise usage_error(f"exporting {table} needs --indicator ID")
    if day is not None and "period" not in spec.column_names:
        raise usage_error(f"the {table} table has no periods; leave out --period")
    if output is not None and str(output) == "-":  # standard output, as for ratings
        if fmt in BINARY_FORMATS:
            raise usage_error(f"{'Parquet' if fmt == 'parquet' else 'Excel'} cannot go to standard output; "
                              "give --output FILE")
        output = None
    ws = Workspace.resolve(workspace)
    store = resolve_store(ws)
    spec, data = select(store, table, indicator=indicator, level=level, period=day, known_indicators=_catalogue_ids())
    if data.num_rows == 0:
        raise UptakeError(why_empty(store, table, spec, indicator, level, day))
    if output is None and fmt in BINARY_FORMATS:
        parts = [table, indicator or "", level, day.isoformat() if day else ""]
        output = ws.exports_dir / ("-".join(p for p in parts if p) + f".{fmt}")
    if output is None:
        sys.stdout.write(render(data, fmt).decode("utf-8"))
        sys.stdout.flush()
        return
    _write_results(data, output, fmt, title=f"{table} {indicator or ''} {level} {day or ''}".strip())
    err_console.print(f"Wrote {data.num_rows:,} rows of {table} to {output}")


def _write_results(data: pa.Table, path: Path, fmt: str, title: str) -> None:
    if fmt == "xlsx":
        write_frame(data.to_pandas(), path, "xlsx", title=" ".join(title.split()))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if fmt == "parquet":
        pq.write_table(data, temporary)
    else:
        temporary.write_bytes(render(data, fmt))
    os.replace(temporary, path)


def why_empty(store: AnalyticsStore, table: str, spec: ResultTable, indicator: str | None, level: str,
              period: dt.date | None) -> str:
    """Why a selection of a result table has no rows, and what there is instead."""
    subject = f"{table} results for {indicator}" if "indicator" in spec.column_names else f"{table} results"
    where, params = [], []
    if "indicator" in spec.column_names:
        where.append("indicator = ?")
        params.append(indicator)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with AnalyticsStore(store.path, read_only=True).connect() as con:
        found = {r[0] for r in con.execute(f'SELECT DISTINCT level FROM "{spec.name}" {clause}', params).fetchall()}
        periods = None
        if period is not None and level in found:
            periods = con.execute(
                f'SELECT min(period), max(period), count(DISTINCT period) FROM "{spec.name}" '
                f"WHERE level = ? {'AND ' + ' AND '.join(where) if where else ''}", [level, *params]).fetchone()
    levels = [lv.value for lv in Level if lv.value in found]
    if not levels:
        return (f"there are no {subject} at any level, so there is nothing to export; `uptake compute` makes "
                "them from the loaded observations")
    if level not in found:
        return (f"there are no {subject} at level {level}, so there is nothing to export; levels with "
                f"results: {', '.join(levels)} (choose one with --level)")
    if periods is not None:
        first, last, count = (_day(periods[0]), _day(periods[1]), periods[2])
        return (f"there are no {subject} at level {level} for the period {period.isoformat()}, so there is "
                f"nothing to export; its {count} period{'s' if count != 1 else ''} run from {first} to {last} "
                f"(e.g. --period {last}, or leave --period out for all)")
    return f"there are no {subject} at level {level}, so there is nothing to export"


def _day(value: object) -> str:
    return value.date().isoformat() if isinstance(value, dt.datetime) else str(value)


def _catalogue_ids() -> tuple[str, ...]:
    try:
        return tuple(load_catalogue().indicators)
    except UptakeError:
        return ()


def export_ratings(format: str, output: Path | None, status: str, level: str | None, period: str | None,
                   workspace: Path | None, as_user: str | None) -> None:
    """Ratings with org_code, org_name, level, period, rating, status, rule set, explanation and trace
    (published ones unless --status says otherwise), to --output (``-``: standard output) or the
    workspace's exports folder."""
    check_status(status)
    year = rating_year(period)
    with usage_checks():
        check_file_format(format)
    to_stdout = output is not None and str(output) == "-"
    if to_stdout and format in BINARY_FORMATS:
        raise usage_error(f"{'Parquet' if format == 'parquet' else 'Excel'} cannot go to standard output; "
                          "give --output FILE")
    with workflow_session(workspace) as (ws, session):
        acting = who(session, as_user)
        results = published_results(ws)
        frame = ratings_table(session, acting, status=status, level=level, period=year, results=results)
        if frame.empty:
            raise UptakeError(_why_no_ratings(session, acting, status, level, year, results))
    if to_stdout:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_frame(frame, Path(tmp) / f"ratings.{format}", format)
            typer.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    path = output or ws.exports_dir / f"ratings.{format}"
    write_frame(frame, path, format, title="Innovation ratings")
    typer.echo(f"Wrote {len(frame):,} ratings to {path}")


def _why_no_ratings(session, acting: Who, status: str, level: str | None, year: dt.date | None,
                    results) -> str:
    """Why a selection of ratings is empty, and which levels and rating years have some."""
    kind = "ratings" if status == "all" else f"{status} ratings"
    every = ratings_table(session, acting, status=status, with_trace=False, results=results)
    if every.empty:
        then = ("compute them with `uptake ratings compute` (or `uptake compute`), then `uptake ratings review` "
                "and `uptake ratings publish`" if status == "published"
                else "`uptake ratings compute` (or `uptake compute`) makes a new run of drafts")
        return f"there are no {kind}, so there is nothing to export; {then}"
    levels = [lv.value for lv in Level if lv.value in set(every["level"])]
    if level and level not in levels:
        return (f"there are no {kind} at level {level}, so there is nothing to export; levels with {kind}: "
                f"{', '.join(levels)}")
    chosen = every.loc[every["level"] == level] if level else every
    years = sorted({pd.Timestamp(p).date().isoformat() for p in chosen["period"]})
    where = f" at level {level}" if level else ""
    return (f"there are no {kind}{where} for the rating year starting {year.isoformat() if year else '?'}, so "
            f"there is nothing to export; rating years with {kind}{where}: {', '.join(years)} "
            "(--period takes the year's first day)")


def register(app: typer.Typer) -> None:
    """Add ``uptake export``."""
    app.command("export")(export_command)
