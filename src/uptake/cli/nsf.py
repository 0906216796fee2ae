"""``uptake nsf``: list, show and load the National Service Frameworks (see docs/mission.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from uptake.catalogue import load_catalogue
from uptake.cli._common import AsOption, WorkspaceOption, console, sub_app, who, workflow_session
from uptake.mission.framework_files import describe_diff, read_frameworks
from uptake.mission.framework_repository import (
    framework_history,
    framework_version,
    list_frameworks,
    load_frameworks,
)
from uptake.mission.permissions import may_manage_frameworks, require

nsf_app = sub_app(help="National Service Frameworks: list, show, load.")


@nsf_app.command("list")
def nsf_list(workspace: WorkspaceOption = None) -> None:
    """One line per framework: id, title, current version and status."""
    with workflow_session(workspace) as (_, session):
        summaries = list_frameworks(session)
    if not summaries:
        console.print("No frameworks loaded; run `uptake nsf load`.")
        return
    for item in summaries:
        typer.echo(f"{item.id}\t{item.title}\tv{item.version}\t{item.status}")


@nsf_app.command("show")
def nsf_show(
    framework_id: Annotated[str, typer.Argument(help="framework id, e.g. stroke")],
    version: Annotated[Optional[int], typer.Option("--version", help="a version (default: current)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the stored definition as JSON")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """A framework version in full: its commitments, standards, targets, deadlines, milestones and history."""
    catalogue = load_catalogue()
    with workflow_session(workspace) as (_, session):
        row = framework_version(session, framework_id, version)
        history = framework_history(session, framework_id)
        if as_json:
            typer.echo(json.dumps(row.definition, indent=2))
            return
        d = row.definition
        console.print(f"[bold]{d['title']}[/bold] ({d['id']} v{d['version']}, {d['status']})")
        console.print(f"{d['condition']}; {d['start']} to {d['end']}; owner: {d['owner']}")
        console.print(d["summary"])
        table = Table("commitment", "indicator", "scope", "minimum", "target", "deadline", "milestones")
        for c in d["commitments"]:
            ind = catalogue.indicators.get(c["indicator"])
            fmt = ind.format_value if ind else str
            table.add_row(
                f"{c['id']}\n{c['title']}", c["indicator"] + (" (SYNTHETIC data)" if ind and ind.synthetic else ""),
                ", ".join(c["scope"]["levels"]), fmt(c["minimum_standard"]), fmt(c["target"]), c["deadline"],
                "\n".join(f"{m['date']}: {fmt(m['value'])}" for m in c["milestones"]) or "-",
            )
        console.print(table)
        for c in d["commitments"]:
            console.print(f"[bold]{c['id']}[/bold]: {c['rationale']}")
            for e in c["evidence"]:
                console.print(f"  - {e['claim']}: {e['source']}" + (f" <{e['url']}>" if e.get("url") else ""))
        console.print("[bold]History[/bold]")
        for v in history:
            console.print(f"  v{v.version} {v.status}, loaded {v.loaded_at:%Y-%m-%d %H:%M} UTC by {v.loaded_by}: "
                          + "; ".join(describe_diff(v.changes)))


@nsf_app.command("load")
def nsf_load(
    directory: Annotated[Optional[Path], typer.Argument(help="a directory of <id>-v<version>.yaml files "
                                                             "(default: the bundled frameworks)")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Check and load framework files; all or nothing. A new version records what changed."""
    frameworks = read_frameworks(directory)
    with workflow_session(workspace) as (_, session):
        actor = who(session, as_user)
        require(may_manage_frameworks(actor), actor, "load National Service Frameworks")
        results = load_frameworks(session, frameworks, actor=actor.actor)
    for result in results:
        typer.echo(result.describe())


def register(app: typer.Typer) -> None:
    """Add ``uptake nsf``."""
    app.add_typer(nsf_app, name="nsf", help="National Service Frameworks: list, show, load.")
