"""``uptake ingest`` and ``uptake batches``.

Both print a readable message (``Error: ...``) on any UptakeError and exit with code 1; an ``--map`` that is
not COLUMN=FIELD with a known FIELD is a usage error (the same message, exit code 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue.loader import load_catalogue
from uptake.cli._common import USAGE_ERROR, USER_ERROR, console
from uptake.errors import UptakeError
from uptake.ingest.problems import RULES, IngestRejected, Problems
from uptake.ingest.service import ingest_file
from uptake.ingest.validate import parse_mapping
from uptake.workspace import Workspace

#: Problems shown per rule in the printed table (all are counted, and all go to --report).
SHOWN_PER_RULE = 20

_STAGES = {"checksum": "Checksum", "read": "Reading", "validate": "Validating", "load": "Loading"}


def _refuse(error: UptakeError, code: int = USER_ERROR) -> typer.Exit:
    console.print(Text(f"Error: {error}", style="bold red"))
    return typer.Exit(code=code)


class _RichProgress:
    """Adapts the ingest progress callback (stage, done, total) to a Rich progress bar."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: float, total: float | None) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.progress.add_task(_STAGES.get(stage, stage.capitalize()), total=total)
            self.tasks[stage] = task
        self.progress.update(task, completed=done, total=total)


def _open_store(workspace: Path | None) -> AnalyticsStore:
    space = Workspace.resolve(workspace)
    store = AnalyticsStore(space.analytics_path)
    if not store.has_organisations():
        raise UptakeError(
            f"the workspace {space.root} has no analytics store with organisations yet; "
            "run `uptake init` or `uptake demo` first"
        )
    return store


def print_problems(problems: Problems, out: Console, *, per_rule: int = SHOWN_PER_RULE) -> None:
    """A table of problems (at most ``per_rule`` of each rule) and a count of every rule."""
    shown = problems.sample(per_rule)
    table = Table(title="Problems found", show_lines=False, header_style="bold")
    table.add_column("Row", justify="right", no_wrap=True)
    table.add_column("Column")
    table.add_column("Value")
    table.add_column("Problem")
    table.add_column("What to do")
    for problem in shown:
        table.add_row(
            "-" if problem.row is None else str(problem.row),
            Text(problem.column or "-"),
            Text("" if problem.value is None else str(problem.value)),
            Text(problem.reason),
            Text(problem.action),
        )
    out.print(table)
    counts = problems.counts()
    summary = Table(title="Problems by rule", header_style="bold")
    summary.add_column("Rule")
    summary.add_column("What it means")
    summary.add_column("Rows", justify="right")
    summary.add_column("Shown", justify="right")
    for rule, count in counts.items():
        summary.add_row(rule, RULES.get(rule, ""), f"{count:,}", f"{min(count, per_rule):,}")
    out.print(summary)


def ingest(
    file: Annotated[Path, typer.Argument(help="Observations: CSV (UTF-8), Excel .xlsx or Parquet.")],
    indicator: Annotated[str, typer.Option("--indicator", "-i", help="Indicator id from the catalogue.")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="Where the data came from (default: the indicator's source)."),
    ] = None,
    map: Annotated[  # noqa: A002 - the option is --map
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=FIELD: read FIELD (org_code, period, numerator, denominator, indicator) from the "
            "file's COLUMN. Repeat for each column.",
        ),
    ] = None,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace directory (default UPTAKE_WORKSPACE).")
    ] = None,
    loaded_by: Annotated[
        str | None, typer.Option("--loaded-by", help="Who is loading (default: your user name).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write every problem found to this CSV file.")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet name or number (default: the first sheet).")
    ] = None,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Load periods that miss organisations the indicator expects, marked "
                     "provisional: kept off the headline figures until a complete file replaces them."),
    ] = False,
    allow_jumps: Annotated[
        bool,
        typer.Option("--allow-jumps", help="Load values that jump away from the organisation's recent ones "
                     "(checked to be real); each is listed with the batch."),
    ] = False,
) -> None:
    """Validate a file of observations for one indicator and load it as a new batch.

    Every problem is reported by row and column; if there is any, nothing is loaded. Besides each row's
    own rules, the values must be plausible for the indicator (its catalogue's plausibility bounds) and
    each period complete (or loaded with --partial).
    """
    try:
        parse_mapping(map)
    except UptakeError as error:
        raise _refuse(error, USAGE_ERROR) from None
    try:
        store = _open_store(workspace)
        catalogue = load_catalogue()
        with Progress(
            TextColumn("{task.description:<11}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            result = ingest_file(
                store, catalogue, file, indicator, source=source, mapping=map or None, loaded_by=loaded_by,
                sheet=sheet, progress=_RichProgress(bar), partial=partial, allow_jumps=allow_jumps,
            )
    except IngestRejected as rejected:
        problems = rejected.problems
        console.print(Text(f"{file}: {len(problems):,} problem(s) found.", style="bold red"))
        print_problems(problems, console)
        if report is not None:
            problems.to_csv(report)
            console.print(Text(f"Every problem is listed in {report}."))
        elif any(count > SHOWN_PER_RULE for count in problems.counts().values()):
            console.print(Text(f"Add --report problems.csv to list all {len(problems):,} problems."))
        console.print(Text("Nothing was loaded.", style="bold"))
        raise typer.Exit(code=USER_ERROR) from None
    except UptakeError as error:
        raise _refuse(error) from None
    if report is not None:
        Problems().to_csv(report)
    if result.no_op:
        console.print(
            Text(f"Already loaded as batch {result.batch_id}: ", style="bold") + Text(result.message)
        )
        return
    console.print(Text(f"Loaded batch {result.batch_id}", style="bold green"))
    details = Table(show_header=False, box=None)
    details.add_row("indicator", result.indicator)
    details.add_row("rows", f"{result.rows:,}")
    details.add_row("periods", _periods_text(result.periods))
    details.add_row(
        "replaced periods",
        ", ".join(f"{p.isoformat()} (was batch {b})" for p, b in result.replaced_periods.items()) or "none",
    )
    details.add_row("source", Text(result.source))
    details.add_row("sha256", result.file_sha256)
    details.add_row("loaded by", Text(result.loaded_by))
    if result.same_as_batch:
        details.add_row("note", f"same content as batch {result.same_as_batch}, which had been superseded")
    if result.provisional:
        details.add_row("provisional", "yes (--partial): kept off the headline figures until a complete file "
                        "replaces these periods")
    if result.jumps_allowed:
        details.add_row("jumps allowed", f"{result.jumps_allowed:,} (--allow-jumps; listed with the batch)")
    console.print(details)


def _periods_text(periods) -> str:
    if not periods:
        return "none"
    if len(periods) <= 3:
        return ", ".join(p.isoformat() for p in periods)
    return f"{len(periods)} ({periods[0].isoformat()} to {periods[-1].isoformat()})"


def _checks_text(batch) -> str:
    """What a batch was let through: provisional (--partial), jumps allowed (--allow-jumps)."""
    parts = []
    if batch.provisional:
        parts.append("provisional (loaded with --partial; kept off the headline figures)")
    if batch.checks.get("allow_jumps"):
        parts.append(f"{batch.checks.get('jumps_allowed_count', 0):,} jump(s) allowed (--allow-jumps)")
    return "; ".join(parts)


def batches(
    indicator: Annotated[str | None, typer.Option("--indicator", "-i", help="Only this indicator.")] = None,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace directory (default UPTAKE_WORKSPACE).")
    ] = None,
) -> None:
    """List the batches loaded into the analytics store: what, from where, by whom, when."""
    try:
        store = AnalyticsStore(Workspace.resolve(workspace).analytics_path)
        found = store.batches(indicator)
        current = store.current_period_counts() if found else {}
    except UptakeError as error:
        raise _refuse(error) from None
    if not found:
        console.print("No batches loaded" + (f" for {indicator}." if indicator else "."))
        return
    table = Table(title="Batches", header_style="bold")
    for name, justify in (
        ("Batch", "right"), ("Indicator", "left"), ("Loaded (UTC)", "left"), ("By", "left"),
        ("Source", "left"), ("File", "left"), ("Rows", "right"), ("Periods", "left"),
        ("Current", "right"), ("sha256", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for batch in found:
        table.add_row(
            str(batch.batch_id), batch.indicator, batch.loaded_at.strftime("%Y-%m-%d %H:%M:%S"),
            Text(batch.loaded_by), Text(batch.source), Text(batch.file_name), f"{batch.row_count:,}",
            _periods_text(batch.periods), f"{current.get(batch.batch_id, 0)}/{len(batch.periods)}",
            batch.file_sha256[:12],
        )
    console.print(table)
    for batch in found:
        if _checks_text(batch):
            console.print(Text(f"Batch {batch.batch_id}: {_checks_text(batch)}."))


def register(app: typer.Typer) -> None:
    """Add ``uptake ingest`` and ``uptake batches``."""
    app.command("ingest")(ingest)
    app.command("batches")(batches)
