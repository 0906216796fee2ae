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
from uptake.cli.catalogue import app as catalogue_app
from uptake.cli.ingest import batches, ingest
from uptake.cli.orgs import app as orgs_app
from uptake.cli.compute import compute
from uptake.cli import mission as mission_cli
from uptake.cli.serve import serve, users_add
from uptake.demo import init_workspace
from uptake.demo import build_demo, print_summary
from uptake.cli.serve import serve_demo
import json
from rich.table import Table
from uptake.bench import run_benchmark

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
    app.add_typer(orgs_app, name="orgs", help="The NHS organisation hierarchy (regions, ICBs, ... practices).")
    app.add_typer(catalogue_app, name="catalogue", help="Innovations and indicators in the catalogue.")
    app.command("ingest")(ingest)
    app.command("batches")(batches)


    app.command("compute")(compute)


    app.add_typer(mission_cli.nsf_app, name="nsf", help="National Service Frameworks: list, show, load.")
    app.add_typer(mission_cli.ratings_app, name="ratings", help="Innovation ratings: compute, review, publish, list.")
    app.add_typer(mission_cli.plans_app, name="plans", help="Comply or justify: ICB plans and justifications.")
    app.add_typer(mission_cli.assessments_app, name="assessments", help="Value assessments and availability gaps.")
    app.command("export")(mission_cli.export_command)


    app.command("serve")(serve)
    users_app = typer.Typer(help="People who can sign in to the web app.", no_args_is_help=True)
    users_app.command("add")(users_add)
    app.add_typer(users_app, name="users")


@app.command()
def version() -> None:
    """Print the Uptake version."""
    console.print(f"uptake {__version__}")


@app.command()
def init(workspace: WorkspaceOption = None) -> None:
    """Create (or update) a workspace: workflow database migrated, organisations and catalogue loaded."""
    ws = init_workspace(workspace, console=console)
    console.print(f"Workspace ready at [bold]{ws.root}[/bold]")


@app.command()
def demo(
    workspace: WorkspaceOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build and print a summary; do not serve.")] = False,
) -> None:
    """Build a workspace from the bundled real NHS data (and labelled synthetic series) and summarise it."""
    ws, summary = build_demo(workspace, console=console)
    print_summary(summary, console=console)
    if not no_serve:
        serve_demo(ws, console)


bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks measured against named baselines in the same run.")
app.add_typer(bench_app, name="bench")


@bench_app.command("pipeline")
def bench_pipeline(
    indicators: Annotated[int, typer.Option(help="Synthetic practice-level monthly indicators.")] = 80,
    months: Annotated[int, typer.Option(help="Months per indicator.")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workdir: Annotated[Optional[Path], typer.Option(help="Keep the generated store here.")] = None,
) -> None:
    """Time the pipeline against pandas (b) and a one-pass DuckDB GROUP BY floor (c) at national scale.

    The defaults give about 30 million observation rows over the real GP practice list."""
    report = run_benchmark(indicators, months, workdir=workdir, console=None if as_json else console)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    table = Table("phase", "seconds", "peak memory (MiB)", "result rows",
                  title=f"{report['rows']:,} observation rows ({indicators} indicators x {months} months x "
                        f"{report['practices']:,} practices)")
    for name, phase in report["phases"].items():
        table.add_row(name, f"{phase['seconds']:.1f}", f"{phase['peak_rss_mib']:,.0f}",
                      f"{phase['detail'].get('result_rows', 0):,}")
    console.print(table)
    console.print(f"a/b (pipeline / pandas): {1 / report['pipeline_vs_pandas_speedup']:.3f} "
                  f"(pipeline is {report['pipeline_vs_pandas_speedup']:.1f}x faster than pandas)")
    console.print(f"a/c (pipeline / floor): {report['pipeline_over_floor']:.2f}")
    for target, met in report["targets"].items():
        console.print(f"  {target.replace('_', ' ')}: {'met' if met else 'NOT met'}")


def main() -> None:
    _mount()
    try:
        app()
    except UptakeError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
