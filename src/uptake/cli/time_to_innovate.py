"""``uptake time-to-innovate``: ringfenced time to innovate (uptake.ecosystem.time; docs/frontline.md): record an
organisation's planned or used time, list every record with its cost, and show the report's national figure
worked out from its inputs. A --format outside csv, parquet, json or xlsx is a usage error (exit 2); a problem
with the record a user error (exit 1) naming each field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from uptake.cli._common import (
    AsOption,
    WorkspaceOption,
    check_output_format,
    sub_app,
    who,
    workflow_session,
    write_table,
)
from uptake.ecosystem import time as tti
from uptake.workspace import Workspace

time_app = sub_app(help="Ringfenced time to innovate: planned, used and its cost.")


@time_app.command("record")
def time_record(
    org: Annotated[str, typer.Option("--org", help="ODS code of the organisation")],
    year: Annotated[str, typer.Option("--year", help="1 April of the financial year, e.g. 2025-04-01")],
    staff: Annotated[str, typer.Option("--staff", help="staff FTE (NHS Workforce Statistics)")],
    staff_source: Annotated[str, typer.Option("--staff-source", help="e.g. NHS Workforce Statistics, June 2025")],
    planned_share: Annotated[str, typer.Option("--planned-share", help="per cent of staff given time")],
    planned_hours: Annotated[str, typer.Option("--planned-hours", help="hours a week each")],
    used_share: Annotated[Optional[str], typer.Option("--used-share", help="per cent who used it")] = None,
    used_hours: Annotated[Optional[str], typer.Option("--used-hours", help="hours a week each, used")] = None,
    pay: Annotated[Optional[str], typer.Option("--pay", help="mean annual pay per FTE (default AfC Band 6 mid)")] = None,
    pay_source: Annotated[Optional[str], typer.Option("--pay-source")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Record (or update) an organisation's time to innovate for a financial year."""
    with workflow_session(workspace) as (_, session):
        row = tti.record_time(session, who(session, as_user), {
            "org_code": org, "year_start": year, "staff_fte": staff, "staff_source": staff_source,
            "planned_share": planned_share, "planned_hours": planned_hours, "used_share": used_share or "",
            "used_hours": used_hours or "", "annual_pay": pay or "", "pay_source": pay_source or ""})
        planned = tti.cost(row.staff_fte, row.planned_share, row.planned_hours, row.annual_pay)
        typer.echo(f"{row.org_code} {row.year_start}: planned {row.planned_share:.0%} of staff, {row.planned_hours} h a "
                   f"week = £{planned:,.0f} a year")


@time_app.command("list")
def time_list(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the table to a file")] = None,
    format: Annotated[str, typer.Option("--format", help="csv, parquet, json or xlsx (with --output)")] = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """Every record with its planned and used cost (pounds a year)."""
    check_output_format(output, format)
    with workflow_session(workspace) as (_, session):
        frame = tti.time_frame(session)
    if write_table(frame, output, format, "Time to innovate"):
        return
    for r in frame.itertuples(index=False):
        used = "not reported" if r.used_cost_pounds is None or r.used_cost_pounds != r.used_cost_pounds \
            else f"£{r.used_cost_pounds:,.0f}"
        typer.echo(f"{r.org_code}\t{r.year_start}\tplanned £{r.planned_cost_pounds:,.0f}\tused {used}"
                   + ("\tSYNTHETIC" if r.synthetic else ""))
    if frame.empty:
        typer.echo("No time to innovate recorded.")


@time_app.command("national-cost")
def time_national_cost(workspace: WorkspaceOption = None) -> None:
    """The report's figure: one in five clinical staff a day a week, from its inputs; beside it, what the
    workspace's organisations have planned (when there is a workspace)."""
    figure = tti.ippr_national_cost()
    typer.echo(f"£{tti.NAO_CLINICAL_PAY_BILL / 1e9:.0f}bn clinical pay bill (NAO 2016) x {tti.IPPR_STAFF_SHARE:g} of "
               f"staff x {tti.IPPR_HOURS:g}/{tti.FULL_TIME_HOURS:g} hours = £{figure / 1e9:.2f}bn a year "
               f"(IPPR: about £{tti.IPPR_FIGURE / 1e9:.1f}bn)")
    if Workspace.resolve(workspace).root.exists():
        with workflow_session(workspace) as (_, session):
            frame = tti.time_frame(session)
        if not frame.empty:
            typer.echo(f"recorded in this workspace: {frame['org_code'].nunique()} organisations plan "
                       f"£{frame['planned_cost_pounds'].sum():,.0f} a year")


def register(app: typer.Typer) -> None:
    """Add ``uptake time-to-innovate``."""
    app.add_typer(time_app, name="time-to-innovate", help="Time to innovate.")
