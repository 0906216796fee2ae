"""``uptake adopters``: the adoption and adaptation log (``add``, ``log``), the case library (``cases``) and
who already does an innovation near an organisation (``near``); see docs/adopters.md. A date not written
YYYY-MM-DD or a --format outside its vocabulary is a usage error (exit 2); a field the log refuses, exit 1."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
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
from uptake.ecosystem.adopters import (
    case_library,
    choose_indicator,
    located,
    log_frame,
    near_me,
    record_adoption,
    risers,
)
from uptake.errors import UptakeError
from uptake.mission.results import open_store, reading
from uptake.results import read

adopters_app = sub_app(help="The adoption log, the case library and who already does an innovation near you.")


@adopters_app.command("add")
def adopters_add(
    org: Annotated[str, typer.Option("--org", help="the organisation's ODS code")],
    innovation: Annotated[str, typer.Option("--innovation", help="innovation id")],
    adopted_on: Annotated[str, typer.Option("--date", help="date adopted, e.g. 2024-04-01")],
    what: Annotated[str, typer.Option("--what", help="what was adopted")],
    adaptations: Annotated[str, typer.Option("--adaptations", help="what was changed to make it work locally")],
    contact_name: Annotated[str, typer.Option("--contact-name")],
    contact_email: Annotated[str, typer.Option("--contact-email")],
    cost: Annotated[Optional[float], typer.Option("--cost", help="pounds")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Record an adoption in the log."""
    day = option_date(adopted_on, "--date", example="2024-04-01")
    if cost is not None and cost < 0:
        raise usage_error(f"--cost must be 0 or more pounds (got {cost})")
    with workflow_session(workspace) as (_, session):
        row = record_adoption(session, who(session, as_user), {
            "org_code": org, "innovation": innovation, "adopted_on": day.isoformat(), "what": what,
            "adaptations": adaptations, "cost_pounds": "" if cost is None else str(cost), "contact_name": contact_name,
            "contact_email": contact_email})
        typer.echo(f"adoption {row.id}: {row.org_code} adopted {row.innovation_id} on {row.adopted_on}")


@adopters_app.command("log")
def adopters_log(innovation: Annotated[Optional[str], typer.Option("--innovation")] = None,
                 output: OutputOption = None, format: FormatOption = "csv", workspace: WorkspaceOption = None) -> None:
    """The adoption and adaptation log, newest first."""
    check_output_format(output, format)
    with workflow_session(workspace) as (_, session):
        frame = log_frame(session, innovation=innovation)
    emit_table(frame, output, format, "Adoption and adaptation log")


@adopters_app.command("cases")
def adopters_cases(innovation: Annotated[Optional[str], typer.Option("--innovation")] = None,
                   output: OutputOption = None, format: FormatOption = "csv", workspace: WorkspaceOption = None) -> None:
    """The case library: organisations that moved from the bottom to the top quartile, with what they changed."""
    check_output_format(output, format)
    catalogue = load_catalogue()
    if innovation and innovation not in catalogue.innovations:
        raise UptakeError(f"no innovation {innovation!r}; see `uptake catalogue list --kind innovations`")
    chosen = [i.id for i in catalogue.indicators.values() if innovation in (None, i.innovation)]
    with workflow_session(workspace) as (ws, session), reading(open_store(ws)) as cur:
        values = read.spread.quartile_ends_frame(cur, chosen)
        log = log_frame(session, innovation=innovation)
    polarity = {i.id: i.polarity.value for i in catalogue.indicators.values()}
    emit_table(case_library(risers(values, polarity), log, catalogue), output, format, "Case library")


@adopters_app.command("near")
def adopters_near(
    innovation: Annotated[str, typer.Option("--innovation")],
    org: Annotated[str, typer.Option("--org", help="your organisation's ODS code")],
    max_km: Annotated[Optional[float], typer.Option("--max-km")] = None,
    peers_only: Annotated[bool, typer.Option("--peers-only")] = False,
    output: OutputOption = None,
    format: FormatOption = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """Who already does an innovation near an organisation (results at the threshold, and the log)."""
    check_output_format(output, format)
    if max_km is not None and max_km <= 0:
        raise usage_error(f"--max-km must be more than 0 (got {max_km})")
    catalogue = load_catalogue()
    indicators = [i for i in catalogue.indicators.values() if i.innovation == innovation]
    if not indicators:
        raise UptakeError(f"no innovation {innovation!r} with an indicator; see `uptake catalogue list`")
    code = org.strip().upper()
    with workflow_session(workspace) as (ws, session), reading(open_store(ws)) as cur:
        found = read.organisations.organisation(cur, code)
        if found is None:
            raise UptakeError(f"unknown organisation code {code!r}")
        measured = {(r["indicator"], r["level"]) for r in read.values.indicator_levels(cur)}
        indicator, level = choose_indicator(indicators, found["level"], measured)
        values = read.spread.latest_values_frame(cur, [indicator.id], level)
        places = located(read.organisations.current_frame(cur, ("code", "level", "lat", "lon")),
                         read.organisations.current_links_frame(cur))
        peers = read.peers.peer_links_frame(cur)
        adoption = pd.DataFrame(read.adoption.adoption(cur, indicator=indicator.id, level=level)[0])
        log = log_frame(session, innovation=innovation)
    adoption = adoption if len(adoption) else pd.DataFrame(columns=["org_code", "first_adopted"])
    frame = near_me(code, indicator.id, level, values, log, places, peers.loc[peers["level"] == level], adoption,
                    threshold=indicator.adoption_threshold, polarity=indicator.polarity.value, innovation=innovation,
                    max_km=max_km, peers_only=peers_only)
    emit_table(frame, output, format, f"Who already does {innovation} near {code}")


def register(app: typer.Typer) -> None:
    """Add ``uptake adopters``."""
    app.add_typer(adopters_app, name="adopters", help="The adoption log, case library and who does it near you.")
