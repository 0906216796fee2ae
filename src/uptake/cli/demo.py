"""``uptake init`` and ``uptake demo``: a workspace, empty or built from the bundled data."""

from __future__ import annotations

from typing import Annotated

import typer

from uptake.cli._common import WorkspaceOption, console
from uptake.cli.serve import HostOption, PortOption, check_port, create_demo_users, print_sign_ins, run_server
from uptake.demo import build_demo, init_workspace, print_summary, seed_demo_group
from uptake.workspace import Workspace


def init(workspace: WorkspaceOption = None) -> None:
    """Create (or update) a workspace: workflow database migrated, organisations and catalogue loaded."""
    ws = init_workspace(workspace, console=console)
    console.print(f"Workspace ready at [bold]{ws.root}[/bold]")


def demo(
    workspace: WorkspaceOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build, create the demo sign-ins and print them; "
                                                               "do not serve (serve later with `uptake serve`).")] = False,
    with_practice_series: Annotated[bool, typer.Option(
        "--with-practice-series",
        help="Also load the practice-level monthly series 2018-2023 (DOAC share, CGM sensors; published as values "
             "only, about 380,000 rows each): the build takes about 3 times as long.")] = False,
) -> None:
    """Build a workspace from the bundled real NHS data (and labelled synthetic series), create one demo sign-in
    per role, and serve it (unless --no-serve)."""
    if not no_serve:
        check_port(host, port)  # a busy port is refused at once, not after the minutes of building
    ws, summary = build_demo(workspace, console=console, with_practice_series=with_practice_series)
    print_summary(summary, console=console)
    users = create_demo_users(ws)  # new passwords on every run, printed below
    icb = next((u.scope_org_code for u in users if u.role == "icb-analyst" and u.scope_org_code), None)
    analyst = next((u.email for u in users if u.role == "icb-analyst"), None)
    if analyst:  # one saved custom group, labelled DEMO, to see on /groups and to compare with
        console.print("  " + seed_demo_group(ws, analyst, icb))
    if icb:
        console.print(f"The demo ICB's area profile is at /organisations/{icb}/profile; its board pack (PDF): "
                      f"[bold]uptake pack {icb}{_workspace_option(ws)}[/bold]")
    if no_serve:
        print_sign_ins(users, console)
        console.print(f"Serve it with [bold]uptake serve{_workspace_option(ws)}[/bold] and sign in with one of "
                      "these (`uptake demo` again gives new passwords).")
        return
    run_server(ws, host, port, sign_ins=users, out=console)


def _workspace_option(ws: Workspace) -> str:
    return "" if ws.root == Workspace.resolve().root else f" --workspace {ws.root}"


def register(app: typer.Typer) -> None:
    """Add ``uptake init`` and ``uptake demo``."""
    app.command("init")(init)
    app.command("demo")(demo)
