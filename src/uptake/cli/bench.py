"""``uptake bench pipeline``: the pipeline timed against named baselines in the same run.
``uptake bench forecasts``: the Bass forecasts' out-of-sample errors on the bundled real DOAC series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from uptake.bench import run_benchmark
from uptake.cli._common import console, sub_app
from uptake.models.forecasts.checks import run_checks

bench_app = sub_app(help="Benchmarks measured against named baselines in the same run.")


@bench_app.command("pipeline")
def bench_pipeline(
    indicators: Annotated[int, typer.Option(help="Synthetic practice-level monthly indicators.")] = 80,
    months: Annotated[int, typer.Option(help="Months per indicator.")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workdir: Annotated[Optional[Path], typer.Option(help="Keep the generated store here.")] = None,
    repeats: Annotated[int, typer.Option(min=1, max=20, help="Rounds of a, b, c (alternating); medians reported.")] = 3,
    skip_pandas: Annotated[bool, typer.Option("--skip-pandas", help="Time (a) and (c) only.")] = False,
) -> None:
    """Time the pipeline against pandas (b) and a one-pass DuckDB GROUP BY floor (c) at national scale.

    The defaults give about 30 million observation rows over the real GP practice list. The phases alternate
    (a, b, c, a, b, c, ...), each in its own process; medians of wall and CPU time are reported."""
    phases = ("pipeline", "floor") if skip_pandas else ("pipeline", "pandas", "floor")
    report = run_benchmark(indicators, months, workdir=workdir, console=None if as_json else console,
                           repeats=repeats, phases=phases)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    table = Table("phase", "median seconds", "median CPU seconds", "peak memory (MiB)", "result rows",
                  title=f"{report['rows']:,} observation rows ({indicators} indicators x {months} months x "
                        f"{report['practices']:,} practices), {repeats} alternating rounds")
    for name, phase in report["summary"].items():
        table.add_row(name, f"{phase['median_seconds']:.1f}", f"{phase['median_cpu_seconds']:.1f}",
                      f"{phase['peak_rss_mib']:,.0f}", f"{phase['result_rows']:,}")
    console.print(table)
    if report["pipeline_vs_pandas_speedup"]:
        console.print(f"pipeline is {report['pipeline_vs_pandas_speedup']:.1f}x faster than pandas "
                      f"({report['pipeline_vs_pandas_speedup_cpu']:.1f}x in CPU time)")
    console.print(f"a/c (pipeline / floor): {report['pipeline_over_floor']:.2f} "
                  f"({report['pipeline_over_floor_cpu']:.2f} in CPU time)")
    for target, met in report.get("targets", {}).items():
        console.print(f"  {target.replace('_', ' ')}: {'met' if met else 'NOT met'}")


@bench_app.command("forecasts")
def bench_forecasts(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """The Bass forecasts checked out of sample on real data (docs/forecasts.md): fitted to the months before
    each cut-off, forecast for the next ones; the error of the forecast (MAPE) and the share of values inside
    its 95% band, per level."""
    rows = run_checks()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table("series", "cut-off", "months ahead", "level", "values", "MAPE (%)", "coverage of the 95% band",
                  title="Out-of-sample forecast errors (real data)")
    for r in rows:
        table.add_row(r["series"], str(r["cutoff"]), str(r["months"]), r["level"], f"{r['points']:,}",
                      f"{r['mape_percent']:.1f}", f"{100 * r['coverage_95']:.0f}%")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``uptake bench``."""
    app.add_typer(bench_app, name="bench")
