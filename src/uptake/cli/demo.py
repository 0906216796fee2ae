"""``uptake init`` and ``uptake demo``: a workspace, empty or built from the bundled data."""

from __future__ import annotations

from typing import Annotated

import typer

from uptake.cli._common import WorkspaceOption, console
from uptake.cli.serve import serve_demo
from uptake.demo import build_demo, init_workspace, print_summary


def init(workspace: WorkspaceOption = None) -> None:
    """Create (or update) a workspace: workflow database migrated, organisations and catalogue loaded."""
    ws = init_workspace(workspace, console=console)
    console.print(f"Workspace ready at [bold]{ws.root}[/bold]")


def demo(
    workspace: WorkspaceOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build and print a summary; do not serve.")] = False,
) -> None:
    """Build a workspace from the bundled real NHS data (and labelled synthetic series) and summarise it."""
    ws, summary = build_demo(workspace, console=console)
    print_summary(summary, console=console)
    if not no_serve:
        serve_demo(ws, console)


def register(app: typer.Typer) -> None:
    """Add ``uptake init`` and ``uptake demo``."""
    app.command("init")(init)
    app.command("demo")(demo)
