"""``uptake leads``: innovation leads and their contributions (uptake.ecosystem.leads; docs/frontline.md): name a
lead, record a contribution, list leads, and write a lead's portfolio for appraisal (CSV, Excel, JSON, Parquet;
the PDF is on the web page). A --format outside those is a usage error (exit 2); a problem with the record a user
error (exit 1) naming each field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from uptake.cli._common import AsOption, WorkspaceOption, sub_app, usage_checks, who, workflow_session, write_table
from uptake.cli.export_files import check_format
from uptake.ecosystem.leads import add_contribution, add_lead, leads_frame, portfolio
from uptake.mission.results import open_store, reading

leads_app = sub_app(help="Innovation leads, their contributions and portfolios.")


@leads_app.command("add")
def leads_add(
    org: Annotated[str, typer.Option("--org", help="ODS code of the organisation")],
    name: Annotated[str, typer.Option("--name")],
    job_title: Annotated[str, typer.Option("--job-title")],
    started_on: Annotated[str, typer.Option("--since", help="date they became lead, YYYY-MM-DD")],
    email: Annotated[Optional[str], typer.Option("--email")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Name an innovation lead of an organisation."""
    with workflow_session(workspace) as (_, session):
        lead = add_lead(session, who(session, as_user), {"org_code": org, "name": name, "job_title": job_title,
                                                         "started_on": started_on, "email": email or ""})
        typer.echo(f"lead {lead.id}: {lead.name}, {lead.job_title}, {lead.org_code}")


@leads_app.command("contribute")
def leads_contribute(
    lead_id: Annotated[int, typer.Argument(help="the lead's id (uptake leads list)")],
    kind: Annotated[str, typer.Option("--kind", help="adopted, adapted or taught")],
    innovation: Annotated[str, typer.Option("--innovation", help="innovation id")],
    description: Annotated[str, typer.Option("--description")],
    occurred_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    commitment: Annotated[Optional[str], typer.Option("--commitment", help="framework/commitment")] = None,
    peer: Annotated[Optional[str], typer.Option("--peer", help="ODS code of the peer taught")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Record a lead's contribution to spread."""
    with workflow_session(workspace) as (_, session):
        row = add_contribution(session, who(session, as_user), lead_id, {
            "kind": kind, "innovation": innovation, "description": description, "occurred_on": occurred_on,
            "commitment": commitment or "", "peer_org_code": peer or ""})
        typer.echo(f"contribution {row.id}: {row.kind} {row.innovation_id}; evidences {', '.join(row.competencies)}")


@leads_app.command("list")
def leads_list(workspace: WorkspaceOption = None) -> None:
    """Every innovation lead."""
    with workflow_session(workspace) as (_, session):
        frame = leads_frame(session)
    for r in frame.itertuples(index=False):
        typer.echo(f"{r.id}\t{r.org_code}\t{r.name}\t{r.job_title}\tsince {r.started_on}\t{r.contributions} "
                   "contributions" + ("\tSYNTHETIC" if r.synthetic else ""))
    if frame.empty:
        typer.echo("No innovation leads.")


@leads_app.command("portfolio")
def leads_portfolio(
    lead_id: Annotated[int, typer.Argument(help="the lead's id")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the file to write")],
    format: Annotated[str, typer.Option("--format", help="csv, parquet, json or xlsx")] = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """Write a lead's portfolio (contributions, linked results, competencies evidenced) for appraisal."""
    with usage_checks():
        check_format(format)
    with workflow_session(workspace) as (ws, session):
        path = ws.analytics_path
        if path.exists():
            with reading(open_store(ws)) as cur:
                folio = portfolio(session, cur, lead_id)
        else:
            folio = portfolio(session, None, lead_id)
        frame = folio.frame()
        title = f"Innovation portfolio of {folio.lead.name}"
    write_table(frame, output, format, title)


def register(app: typer.Typer) -> None:
    """Add ``uptake leads``."""
    app.add_typer(leads_app, name="leads", help="Innovation leads and portfolios.")
