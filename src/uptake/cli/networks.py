"""``uptake networks``: clinical networks per NSF priority and the Health Innovation Challenge (see
docs/networks.md). ``list`` (priorities, or one priority's networks), ``members`` (one network's members and
results), ``challenge`` (run a round: designate anchors, match partners, fund pilots; a national admin),
``rounds``, ``partnerships`` (a round's pairs, explained) and ``designations`` (with their facts). A --capacity
below 1 or a --format outside its vocabulary is a usage error (exit 2); an unknown priority or round exit 1."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from uptake.cli._common import (
    AsOption,
    FormatOption,
    OutputOption,
    WorkspaceOption,
    check_output_format,
    emit_table,
    sub_app,
    usage_error,
    who,
    workflow_session,
)
from uptake.catalogue import load_catalogue
from uptake.ecosystem.anchors import designations_frame, partnerships_frame, rounds
from uptake.ecosystem.networks import network, priorities, run_round
from uptake.errors import UptakeError
from uptake.mission.results import open_store, reading

networks_app = sub_app(help="Clinical networks per NSF priority and the Health Innovation Challenge.")



@networks_app.command("list")
def networks_list(
    priority: Annotated[Optional[str], typer.Option("--priority", help="framework/commitment or indicator id")] = None,
    output: OutputOption = None,
    format: FormatOption = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """The NSF priorities; with --priority, its networks and their members' results."""
    check_output_format(output, format)
    catalogue = load_catalogue()
    with workflow_session(workspace) as (ws, session):
        if priority is None:
            for p in priorities(session, catalogue):
                typer.echo(f"{p.key}\t{p.indicator}\t{p.level}\tnetworks: {p.footprint_level}\t{p.title}"
                           + ("\tSYNTHETIC" if p.synthetic else ""))
            return
        with reading(open_store(ws)) as cur:
            net = network(session, cur, catalogue, priority)
    emit_table(net.summary.assign(priority=net.priority.key, synthetic=bool(net.indicator.synthetic)), output, format,
          f"Networks of {net.priority.title}")


@networks_app.command("members")
def networks_members(
    footprint: Annotated[str, typer.Argument(help="the network's code, e.g. ISDN-LONDON or QMJ")],
    priority: Annotated[Optional[str], typer.Option("--priority", help="framework/commitment or indicator id")] = None,
    output: OutputOption = None,
    format: FormatOption = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """One network's members with their latest results."""
    check_output_format(output, format)
    catalogue = load_catalogue()
    with workflow_session(workspace) as (ws, session), reading(open_store(ws)) as cur:
        net = network(session, cur, catalogue, priority)
    rows = net.results.loc[net.results["footprint_code"] == footprint]
    if rows.empty:
        raise UptakeError(f"there is no network {footprint!r} for {net.priority.title}")
    emit_table(rows, output, format, f"Members of {footprint}")


@networks_app.command("challenge")
def networks_challenge(
    title: Annotated[str, typer.Option("--title", help="the round's title")],
    priority: Annotated[str, typer.Option("--priority", help="framework/commitment or indicator id")],
    capacity: Annotated[int, typer.Option("--capacity", help="partners per anchor (at least 1)")] = 3,
    funding: Annotated[float, typer.Option("--funding", help="pilot funding per partnership, pounds")] = 25000.0,
    weight_distance: Annotated[float, typer.Option("--weight-distance")] = 1.0,
    weight_dissimilarity: Annotated[float, typer.Option("--weight-dissimilarity")] = 1.0,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Run a Health Innovation Challenge round: designate anchors, match partners, fund pilots."""
    if capacity < 1:
        raise usage_error(f"--capacity must be at least 1 partner per anchor (got {capacity})")
    if funding < 0:
        raise usage_error(f"--funding must be 0 or more pounds (got {funding})")
    catalogue = load_catalogue()
    with workflow_session(workspace) as (ws, session), reading(open_store(ws)) as cur:
        r = run_round(session, cur, catalogue, who(session, as_user), title=title, priority_key=priority,
                      capacity=capacity, funding=funding, weight_distance=weight_distance,
                      weight_dissimilarity=weight_dissimilarity)
        anchors = sum(d.designated for d in r.designations)
        typer.echo(f"round {r.id}: {anchors} anchors ({r.rule_id} v{r.rule_version}), {len(r.partnerships)} "
                   f"partnerships, pilot funding {r.funding_per_partnership * len(r.partnerships):,.0f} pounds")


@networks_app.command("rounds")
def networks_rounds(workspace: WorkspaceOption = None) -> None:
    """Every Health Innovation Challenge round."""
    with workflow_session(workspace) as (_, session):
        for r in rounds(session):
            typer.echo(f"{r.id}\t{r.indicator_id}\t{r.period}\t{r.rule_id} v{r.rule_version}\tcapacity {r.capacity}\t"
                       f"{len(r.partnerships)} partnerships\t{r.title}" + ("\tDEMO" if r.synthetic else ""))


@networks_app.command("partnerships")
def networks_partnerships(
    round_id: Annotated[int, typer.Argument(help="the round's id")],
    output: OutputOption = None,
    format: FormatOption = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """A round's partnerships, each explained, with its pilot funding."""
    check_output_format(output, format)
    with workflow_session(workspace) as (_, session):
        frame = partnerships_frame(session, round_id)
    emit_table(frame, output, format, f"Round {round_id} partnerships")


@networks_app.command("designations")
def networks_designations(
    round_id: Annotated[int, typer.Argument(help="the round's id")],
    output: OutputOption = None,
    format: FormatOption = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """A round's designations, with each organisation's facts and the rule that decided."""
    check_output_format(output, format)
    with workflow_session(workspace) as (_, session):
        frame = designations_frame(session, round_id)
    emit_table(frame, output, format, f"Round {round_id} designations")


def register(app: typer.Typer) -> None:
    """Add ``uptake networks``."""
    app.add_typer(networks_app, name="networks", help="Clinical networks and the Health Innovation Challenge.")
