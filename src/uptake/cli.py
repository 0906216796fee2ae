"""The `uptake` command line. Each command takes --workspace DIR (default ./uptake-workspace, or
UPTAKE_WORKSPACE when set). Subcommands live beside the code they drive; this file only mounts them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from uptake import __version__
from uptake.errors import UptakeError

app = typer.Typer(
    name="uptake",
    help="Uptake: measure how far proven innovations have spread across the NHS, and close the gap.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Wide enough for the summary tables when output goes to a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

WorkspaceOption = Annotated[
    Optional[Path],
    typer.Option("--workspace", "-w", help="Workspace directory (default ./uptake-workspace or $UPTAKE_WORKSPACE)."),
]


def _mount() -> None:
    from uptake.catalogue.cli import app as catalogue_app
    from uptake.ingest.cli import batches, ingest
    from uptake.reference.cli import app as orgs_app

    app.add_typer(orgs_app, name="orgs", help="The NHS organisation hierarchy (regions, ICBs, ... practices).")
    app.add_typer(catalogue_app, name="catalogue", help="Innovations and indicators in the catalogue.")
    app.command("ingest")(ingest)
    app.command("batches")(batches)


@app.command()
def version() -> None:
    """Print the Uptake version."""
    console.print(f"uptake {__version__}")


@app.command()
def init(workspace: WorkspaceOption = None) -> None:
    """Create (or update) a workspace: workflow database migrated, organisations and catalogue loaded."""
    from uptake.demo import init_workspace

    ws = init_workspace(workspace, console=console)
    console.print(f"Workspace ready at [bold]{ws.root}[/bold]")


@app.command()
def demo(
    workspace: WorkspaceOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build and print a summary; do not serve.")] = False,
) -> None:
    """Build a workspace from the bundled real NHS data (and labelled synthetic series) and summarise it."""
    from uptake.demo import build_demo, print_summary

    ws, summary = build_demo(workspace, console=console)
    print_summary(summary, console=console)
    if not no_serve:
        console.print(
            "[yellow]The web app is not built yet (see the web app issue); "
            "the workspace is ready for the CLI.[/yellow]"
        )


def main() -> None:
    _mount()
    try:
        app()
    except UptakeError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
