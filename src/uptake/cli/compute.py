"""``uptake compute``: the pipeline, then the models' tables (the stroke pathway model) and the mission's
attainment and draft ratings from its results, all made visible at once (one publication: uptake.pipeline.publication).

An unknown --engine is a usage error (exit code 2); anything else refused is a user error (exit code 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from uptake.cli._common import WorkspaceOption, console, usage_checks, user_error
from uptake.workspace import Workspace

# The pipeline, the models and the databases are imported when the command runs, not for `uptake compute
# --help` (tests/test_cli_lazy.py).
if TYPE_CHECKING:
    from uptake.mission.ratings import RatingRunSummary
    from uptake.pipeline.publication import Publication
    from uptake.pipeline.run import PipelineRun
    from uptake.pipeline.settings import PipelineSettings

#: uptake.pipeline.settings.ENGINES, written out so the help needs no import (tests/test_cli_lazy.py checks)
ENGINE_NAMES = ("duckdb", "pyspark")


def compute(
    workspace: WorkspaceOption = None,
    engine: Annotated[
        Optional[str],
        typer.Option("--engine", help=f"Aggregation engine: {' or '.join(ENGINE_NAMES)} (default $UPTAKE_ENGINE or duckdb)."),
    ] = None,
    trend_length: Annotated[
        Optional[int],
        typer.Option("--trend-length", min=2, help="SPC trend and shift length: 7 (Making Data Count default) or 6."),
    ] = None,
    ratings: Annotated[
        bool,
        typer.Option("--ratings/--no-ratings",
                     help="Then recompute NSF attainment and a new draft rating run from the new results (default)."),
    ] = True,
    forecasts: Annotated[
        bool,
        typer.Option("--forecasts/--no-forecasts",
                     help="Then fit the Bass diffusion forecasts to the new results (default; docs/forecasts.md)."),
    ] = True,
) -> None:
    """Compute every result table (values, intervals, ranks, funnels, SPC, changes, peers, opportunity,
    adoption, equity) from the current observations, and the mission's attainment and draft ratings from them,
    replacing the previous results in one step: all of it becomes visible at once, or (if the run fails or is
    killed) none of it. Published ratings stay until the drafts are published."""
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.pipeline.engines import check_engine
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.pipeline.run import resolve_store
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.pipeline.settings import PipelineSettings

    if engine is not None:
        with usage_checks():
            check_engine(engine)
    ws = Workspace.resolve(workspace)
    store = resolve_store(ws)
    settings = PipelineSettings() if trend_length is None else PipelineSettings(spc_rule_length=trend_length)
    forecast_rows: list[dict[str, int]] = []
    modelled: dict[str, int] = {}
    with _mission_refresh(ws, ratings) as (refresh, rated):
        steps: list[tuple[str, Callable[[Publication], None]]] = [
            ("Outcome models and the stroke pathway model", _models_step(modelled))]
        if refresh is not None:
            steps.append(("Recomputing NSF attainment and draft ratings", refresh))
        if forecasts:  # after the mission's step: the forecasts read its targets and deadlines
            steps.append(("Fitting the Bass diffusion forecasts", _forecasts_step(forecast_rows)))
        run = _run_with_progress(store, engine, settings, steps)
    print_run(run)
    if modelled:
        console.print("Outcome models: " + ", ".join(f"{name} {rows:,} rows" for name, rows in modelled.items())
                      + " (docs/outcomes.md, docs/health-and-wealth.md).", highlight=False)
    if forecast_rows:
        written = forecast_rows[0]
        console.print(f"Bass forecasts: {written.get('result_forecast_fits', 0):,} series, "
                      f"{written.get('result_forecast_targets', 0):,} commitment forecasts "
                      "(`uptake forecast`; docs/forecasts.md).", highlight=False)
    summary = rated[0] if rated else None
    if summary is not None:
        console.print(
            f"NSF attainment recomputed ({summary.attainment_rows:,} rows); draft rating run {summary.run_id} "
            f"({summary.ratings:,} ratings) awaits `uptake ratings review` and `uptake ratings publish`. "
            "Published ratings are unchanged until then.", highlight=False)
    _alerts_after(ws)


def _alerts_after(ws: Workspace) -> None:
    """With UPTAKE_ALERTS_AFTER_COMPUTE set, send the new publication's alert digests (docs/alerts.md). A
    failure to send is reported (exit code 1) but the publication stands; `uptake alerts send` retries."""
    # deferred: read only when the command runs
    from uptake.settings import get_settings

    settings = get_settings()
    if not settings.alerts_after_compute:
        return
    if not ws.database_url_override and not (ws.root / "workflow.sqlite").exists():
        return
    # deferred: the alerts' mail and database code, only when digests are sent
    from uptake.cli.alerts import send_for
    # deferred: with the alerts
    from uptake.errors import UptakeError

    console.print("Sending alert digests (UPTAKE_ALERTS_AFTER_COMPUTE is set)", highlight=False)
    try:
        sent = send_for(ws, settings=settings)
    except UptakeError as error:
        raise user_error(f"the results are published but the alert digests were not sent: {error}") from None
    if sent.failed:
        raise user_error(f"the results are published but {len(sent.failed)} alert digest(s) could not be sent; "
                         "run `uptake alerts send` to retry")


@contextmanager
def _mission_refresh(ws: Workspace, wanted: bool) -> Iterator[tuple[Callable[[Publication], None] | None,
                                                                     list[RatingRunSummary | None]]]:
    """The step the publication runs before it commits: attainment and a draft rating run from the new
    results, when the workspace has a workflow database with published frameworks (None otherwise). The
    summary it made (None: no published framework) is put in the list yielded with it."""
    rated: list[RatingRunSummary | None] = []
    # deferred: not imported by `uptake --help` or this command's --help
    from sqlalchemy import inspect
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.mission.permissions import operator
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.mission.ratings import rate_in_publication
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.store.db import make_engine, session_scope

    if not wanted or (not ws.database_url_override and not (ws.root / "workflow.sqlite").exists()):
        yield None, rated  # no workflow database in this workspace: nothing to rate
        return
    engine = make_engine(ws.database_url)
    try:
        if "rating_runs" not in inspect(engine).get_table_names():
            yield None, rated
            return

        def refresh(pub: Publication) -> None:
            with session_scope(engine) as session:
                rated.append(rate_in_publication(pub, session, operator()))

        yield refresh, rated
    finally:
        engine.dispose()


def _models_step(modelled: dict[str, int]) -> Callable[[Publication], None]:
    """The models' tables inside the publication: the stroke pathway model's scenarios, the outcomes of each gap
    and the health and wealth impact (from the new results); rows written per table go into ``modelled``."""
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.models.pathway.results import publish_pathway
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.models.publish import write_model_tables

    def step(pub: Publication) -> None:
        publish_pathway(pub)
        written = write_model_tables(pub.con)
        pub.replaced(written, pub.pipeline_run)
        modelled.update(written)
    return step


def _forecasts_step(written: list[dict[str, int]]) -> Callable[[Publication], None]:
    """The step that fits the Bass forecasts (uptake.models.forecasts) inside the publication; the rows it
    wrote per table go into ``written``."""
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.models.forecasts import publish_forecasts

    def step(pub: Publication) -> None:
        written.append(publish_forecasts(pub))
    return step


def _run_with_progress(store, engine: str | None, settings: PipelineSettings,
                       publish_steps: list[tuple[str, Callable[[Publication], None]]] | None = None) -> PipelineRun:
    """Run the pipeline with a progress display; ``publish_steps`` (description, step) run in order inside
    its publication, once the new tables are in place."""
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.pipeline.run import STEPS, run_pipeline

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        overall = progress.add_task("Preparing", total=None)
        steps = progress.add_task("", total=len(STEPS), visible=False)
        state = {"indicator": None}

        def on_event(event: ProgressEvent) -> None:
            if event.indicator is None:
                progress.update(overall, description=f"{event.step.capitalize()}")
                return
            if progress.tasks[overall].total is None:
                progress.update(overall, total=event.total, completed=0)
            if event.indicator != state["indicator"]:
                if state["indicator"] is not None:
                    progress.advance(overall)
                state["indicator"] = event.indicator
                progress.reset(steps, total=len(STEPS), visible=True)
                progress.update(overall, description=f"Indicator {event.index + 1} of {event.total}")
            progress.update(steps, description=f"  {event.indicator}: {event.step}",
                            completed=STEPS.index(event.step))

        def in_publication(pub: Publication) -> None:
            for description, step in publish_steps or ():
                progress.update(overall, description=description)
                step(pub)

        run = run_pipeline(store, engine=engine, settings=settings, progress=on_event,
                           publish_with=in_publication if publish_steps else None)
        if state["indicator"] is not None:
            progress.update(overall, completed=progress.tasks[overall].total, description="Indicators")
            progress.update(steps, completed=len(STEPS), description="  done")
    return run


def print_run(run: PipelineRun) -> None:
    table = Table(title=f"Pipeline run {run.run_id} on {run.engine} ({run.elapsed:.1f} s)")
    table.add_column("result table")
    table.add_column("rows written", justify="right")
    for name, rows in run.row_counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(
        f"{len(run.indicators)} indicator(s) from {run.input_rows:,} observation rows "
        f"(batches {', '.join(map(str, run.input_batch_ids)) or 'none'})."
    )
    for indicator, why in run.skipped.items():
        console.print(f"[yellow]skipped {indicator}: {why}[/yellow]")
    for warning in run.warnings:
        if not any(warning.startswith(f"{i}:") and "skipped" in warning for i in run.skipped):
            console.print(f"[yellow]note: {warning}[/yellow]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``uptake compute``."""
    app.command("compute")(compute)
