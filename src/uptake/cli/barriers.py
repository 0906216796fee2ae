"""``uptake barriers``: barrier assessments per organisation and innovation (the IPPR's three barriers and the
NASSS domains; see docs/barriers.md). ``add`` records one (refused, exit 1, for an innovation the organisation
does not use, with the field and the reason), ``list`` every assessment, ``association`` the trends and the
association with uptake. A level outside its vocabulary or a date not written YYYY-MM-DD is a usage error
(exit 2)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from uptake.catalogue import load_catalogue
from uptake.cli._common import (
    AsOption,
    FormatOption,
    OutputOption,
    WorkspaceOption,
    check_output_format,
    emit_table,
    option_date,
    sub_app,
    usage_error,
    who,
    workflow_session,
)
from uptake.ecosystem.barriers import SCALES, assessments_frame, association, record_assessment, trends, uptake_percentiles, with_uptake
from uptake.mission.results import open_store, reading
from uptake.results import read

barriers_app = sub_app(help="Barriers to spread: the IPPR's three barriers and the NASSS domains.")
Barrier = Annotated[str, typer.Option(help="absent, present or major")]
Nasss = Annotated[str, typer.Option(help="simple, complicated or complex")]


@barriers_app.command("add")
def barriers_add(
    org: Annotated[str, typer.Option("--org", help="the organisation's ODS code")],
    innovation: Annotated[str, typer.Option("--innovation", help="innovation id")],
    assessed_on: Annotated[str, typer.Option("--date", help="date assessed, e.g. 2025-03-31")],
    risk_averse_culture: Barrier,
    complexity_not_invented_here: Barrier,
    lack_of_resource: Barrier,
    nasss_condition: Nasss,
    nasss_technology: Nasss,
    nasss_value_proposition: Nasss,
    nasss_adopters: Nasss,
    nasss_organisation: Nasss,
    nasss_wider_system: Nasss,
    nasss_embedding: Nasss,
    notes: Annotated[Optional[str], typer.Option("--notes")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Record a barrier assessment of an innovation the organisation uses."""
    given = dict(risk_averse_culture=risk_averse_culture, complexity_not_invented_here=complexity_not_invented_here,
                 lack_of_resource=lack_of_resource, nasss_condition=nasss_condition, nasss_technology=nasss_technology,
                 nasss_value_proposition=nasss_value_proposition, nasss_adopters=nasss_adopters,
                 nasss_organisation=nasss_organisation, nasss_wider_system=nasss_wider_system,
                 nasss_embedding=nasss_embedding)
    for key, value in given.items():
        if value not in SCALES[key]:
            raise usage_error(f"--{key.replace('_', '-')} must be {', '.join(SCALES[key])} (got {value!r})")
    day = option_date(assessed_on, "--date", example="2025-03-31")
    catalogue = load_catalogue()
    with workflow_session(workspace) as (ws, session), reading(open_store(ws)) as cur:
        row = record_assessment(session, who(session, as_user), cur, catalogue,
                                {"org_code": org, "innovation": innovation, "assessed_on": day.isoformat(),
                                 "notes": notes, **given})
        typer.echo(f"barrier assessment {row.id}: {row.org_code} {row.innovation_id} on {row.assessed_on}")


@barriers_app.command("list")
def barriers_list(output: OutputOption = None, format: FormatOption = "csv", workspace: WorkspaceOption = None) -> None:
    """Every barrier assessment."""
    check_output_format(output, format)
    with workflow_session(workspace) as (_, session):
        frame = assessments_frame(session)
    emit_table(frame, output, format, "Barrier assessments")


@barriers_app.command("association")
def barriers_association(output: OutputOption = None, format: FormatOption = "csv",
                         trend: Annotated[bool, typer.Option("--trends", help="the trends instead")] = False,
                         workspace: WorkspaceOption = None) -> None:
    """The association of each barrier with uptake (an association, not an effect), or --trends."""
    check_output_format(output, format)
    catalogue = load_catalogue()
    with workflow_session(workspace) as (ws, session):
        frame = assessments_frame(session)
        if trend:
            table = trends(frame)
        else:
            with reading(open_store(ws)) as cur:
                wanted = [i.id for i in catalogue.indicators.values() if i.innovation in set(frame["innovation"])]
                values = read.spread.latest_values_frame(cur, wanted)
            polarity = {i.id: i.polarity.value for i in catalogue.indicators.values()}
            table = association(with_uptake(frame, uptake_percentiles(values, polarity), catalogue))
    emit_table(table, output, format, "Barriers: association with uptake (not an effect)")
    if not trend:
        typer.echo("An association, not an effect: organisations that find a barrier major may differ in other ways.")


def register(app: typer.Typer) -> None:
    """Add ``uptake barriers``."""
    app.add_typer(barriers_app, name="barriers", help="Barriers to spread and their association with uptake.")
