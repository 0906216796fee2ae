"""``uptake assessments``: value assessments, duplicated local assessments and availability gaps (see
docs/mission.md). A --scope, --decision or --format outside its vocabulary, a --date not written YYYY-MM-DD,
or a local assessment without --org (a national one with it) is a usage error (exit code 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from uptake.cli._common import (
    AsOption,
    WorkspaceOption,
    check_output_format,
    option_date,
    sub_app,
    usage_error,
    who,
    workflow_session,
    write_table,
)
from uptake.mission.assessments import (
    add_assessment,
    assessments_frame,
    availability_gap_report,
    due_date,
    duplicates,
)
from uptake.mission.results import open_store
from uptake.store.mission_models import ASSESSMENT_DECISIONS, ASSESSMENT_SCOPES

assessments_app = sub_app(help="Value assessments, availability gaps, duplicates.")


def _check_assessment_options(scope: str, decision: str, org: str | None) -> None:
    if scope not in ASSESSMENT_SCOPES:
        raise usage_error(f"scope must be national or local, not {scope!r}")
    if decision not in ASSESSMENT_DECISIONS:
        raise usage_error(f"decision must be one of {', '.join(ASSESSMENT_DECISIONS)}, not {decision!r}")
    if scope == "local" and not org:
        raise usage_error("a local assessment needs the organisation that made it (org_code)")
    if scope == "national" and org:
        raise usage_error("a national assessment has no organisation code")


@assessments_app.command("add")
def assessments_add(
    innovation: Annotated[str, typer.Option("--innovation", help="innovation id")],
    body: Annotated[str, typer.Option("--body", help="assessing body, e.g. NICE")],
    decision: Annotated[str, typer.Option("--decision", help="recommended, optimised, not-recommended, "
                                                             "only-in-research or terminated")],
    decided_on: Annotated[str, typer.Option("--date", help="date of the decision, e.g. 2012-09-26")],
    scope: Annotated[str, typer.Option("--scope", help="national or local")] = "national",
    org: Annotated[Optional[str], typer.Option("--org", help="the organisation of a local assessment")] = None,
    icer: Annotated[Optional[float], typer.Option("--icer", help="pounds per QALY")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="pounds per QALY")] = None,
    conditions: Annotated[Optional[str], typer.Option("--conditions")] = None,
    reference: Annotated[Optional[str], typer.Option("--reference", help="e.g. TA264")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Record a value assessment. A local one of an innovation assessed nationally is flagged as a duplicate."""
    _check_assessment_options(scope, decision, org)
    day = option_date(decided_on, "--date", example="2012-09-26")
    with workflow_session(workspace) as (_, session):
        added = add_assessment(
            session, who(session, as_user), innovation_id=innovation, body=body, scope=scope, decision=decision,
            decided_on=day, icer=icer, threshold=threshold, conditions=conditions, reference=reference,
            org_code=org,
        )
        a = added.assessment
        typer.echo(f"assessment {a.id}: {a.scope} {a.innovation_id} {a.decision} on {a.decided_on}")
        if scope == "national" and decision in ("recommended", "optimised"):
            typer.echo(f"due everywhere by {due_date(a.decided_on)}")
        if added.duplicate_of is not None:
            d = added.duplicate_of
            typer.echo(f"DUPLICATE: {innovation} was assessed nationally by {d.body} ({d.reference or 'no reference'}) "
                       f"on {d.decided_on}")
        for local in added.flagged:
            typer.echo(f"flagged local assessment {local.id} ({local.body}, {local.decided_on}) as a duplicate")


@assessments_app.command("list")
def assessments_list(workspace: WorkspaceOption = None) -> None:
    """Every value assessment, with due dates and duplicates."""
    with workflow_session(workspace) as (_, session):
        frame = assessments_frame(session)
    for a in frame.itertuples(index=False):
        due = f"due {a.due_date}" if _given(a.due_date) else ""
        dup = f"DUPLICATE of {int(a.duplicate_of)}" if _given(a.duplicate_of) else ""
        icer = f"ICER {a.icer:,.0f}/QALY" if _given(a.icer) else ""
        typer.echo("\t".join(_text(x) for x in (a.id, a.scope, a.org_code, a.innovation, a.body, a.reference,
                                                a.decision, a.decided_on, icer, due, dup)))


def _given(value) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


def _text(value) -> str:
    return str(value) if _given(value) else ""


@assessments_app.command("duplicates")
def assessments_duplicates(workspace: WorkspaceOption = None) -> None:
    """Local assessments of innovations already assessed nationally."""
    with workflow_session(workspace) as (_, session):
        frame = duplicates(session)
    for a in frame.itertuples(index=False):
        typer.echo(f"{a.id}\t{a.org_code}\t{a.innovation}\t{a.body}, {a.decided_on}\tduplicates {a.national_body} "
                   f"{_text(a.national_reference)} of {a.national_decided_on}")
    if frame.empty:
        typer.echo("No duplicate local assessments.")


@assessments_app.command("gaps")
def assessments_gaps(
    include_caught_up: Annotated[bool, typer.Option("--all", help="also organisations that caught up")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the report to a file")] = None,
    format: Annotated[str, typer.Option("--format", help="csv, parquet, json or xlsx (with --output)")] = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """The availability-gap report: organisations with no or low uptake after an innovation became due."""
    check_output_format(output, format)
    with workflow_session(workspace) as (ws, session):
        frame = availability_gap_report(session, open_store(ws), include_caught_up=include_caught_up)
    if write_table(frame, output, format):
        return
    for r in frame.itertuples(index=False):
        value = f"{r.latest_value:.1%} ({r.latest_period})" if _given(r.latest_value) else "no result after the due date"
        typer.echo(f"{r.innovation}\t{r.indicator}\t{r.org_code}\t{r.gap}\t{value}\t"
                   f"due {r.due_date} ({_text(r.reference) or r.body})\t{r.org_name}"
                   + ("\tSYNTHETIC" if r.synthetic else ""))
    typer.echo(f"{len(frame):,} organisations")


def register(app: typer.Typer) -> None:
    """Add ``uptake assessments``."""
    app.add_typer(assessments_app, name="assessments", help="Value assessments and availability gaps.")
