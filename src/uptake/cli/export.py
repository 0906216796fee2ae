"""``uptake export TABLE``: a pipeline result table for an indicator and level, or ``ratings`` (innovation
ratings with their traces).

The command line is checked before the workspace is opened: a missing --level (pipeline tables), an
unknown table, level or format, a --period not written YYYY-MM-DD, a table that needs --indicator without
one, a --period for a table without periods, or Parquet to standard output is a usage error (exit code 2).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

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
from uptake.cli.export_files import check_format as check_file_format
from uptake.cli.export_files import write_frame
from uptake.cli.ratings import StatusOption, check_status, published_results, rating_year
from uptake.errors import UptakeError
from uptake.mission.ratings import ratings_table
from uptake.pipeline.export import check_format, check_level, check_table, export_table
from uptake.pipeline.run import resolve_store
from uptake.workspace import Workspace


def export_command(
    table: Annotated[str, typer.Argument(help="Result table: values, deciles, funnel, spc, peers, opportunity, "
                                              "adoption, equity, or ratings (innovation ratings with traces).")],
    indicator: Annotated[Optional[str], typer.Option("--indicator", help="Indicator id (not for peers, ratings).")] = None,
    level: Annotated[str, typer.Option("--level", help="Organisation level, e.g. sub-icb (optional for ratings).")] = "",
    period: Annotated[Optional[str], typer.Option("--period", help="One period (ratings: a rating year start), "
                                                                   "YYYY-MM-DD.")] = None,
    format: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write.")] = None,
    status: StatusOption = "published",
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Export a result table (csv, parquet or json): a pipeline table for an indicator and level, or `ratings`
    (innovation ratings with their traces; published ones unless --status says otherwise)."""
    if table == "ratings":
        export_ratings(format, output, status, level or None, period, workspace, as_user)
    else:
        export_results(table, indicator, level, period, format, output, workspace)


def export_results(table: str, indicator: str | None, level: str, period: str | None, format: str,
                   output: Path | None, workspace: Path | None) -> None:
    """One pipeline result table for an indicator and level: CSV or JSON to standard output unless
    --output is given; Parquet to a file (default: the workspace's exports folder)."""
    if not level:
        raise usage_error("give --level LEVEL, e.g. --level sub-icb")
    day = option_date(period, "--period")
    with usage_checks():
        check_format(format)
        spec = check_table(table)
        check_level(level)
    if "indicator" in spec.column_names and not indicator:
        raise usage_error(f"exporting {table} needs --indicator ID")
    if day is not None and "period" not in spec.column_names:
        raise usage_error(f"the {table} table has no periods; leave out --period")
    ws = Workspace.resolve(workspace)
    store = resolve_store(ws)
    result = export_table(
        store, table, indicator=indicator, level=level, period=day, fmt=format, output=output,
        default_dir=ws.exports_dir, known_indicators=_catalogue_ids(),
    )
    if result.text is not None:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    else:
        err_console.print(f"Wrote {result.rows:,} rows of {result.table} to {result.path}")


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
    if to_stdout and format == "parquet":
        raise usage_error("Parquet cannot go to standard output; give --output FILE")
    with workflow_session(workspace) as (ws, session):
        frame = ratings_table(session, who(session, as_user), status=status, level=level, period=year,
                              results=published_results(ws))
    if to_stdout:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_frame(frame, Path(tmp) / f"ratings.{format}", format)
            typer.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    path = output or ws.exports_dir / f"ratings.{format}"
    write_frame(frame, path, format)
    typer.echo(f"Wrote {len(frame):,} ratings to {path}")


def register(app: typer.Typer) -> None:
    """Add ``uptake export``."""
    app.command("export")(export_command)
