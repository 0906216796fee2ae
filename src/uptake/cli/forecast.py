"""``uptake forecast``: the Bass diffusion forecasts (docs/forecasts.md).

    uptake forecast show --indicator doac-share [--level sub-icb] [--org 00L] [--format table|csv|json]
    uptake forecast targets [--framework F] [--commitment C] [--level L] [--org CODE] [--format ...]
    uptake forecast compute            # refit over the published results (uptake compute does it too)

(The out-of-sample checks on the real DOAC series: ``uptake bench forecasts``.)

``show`` lists each organisation's fitted curve (m, p, q with 95% intervals, pooling, fitted adoption and
adopter category), or with --org one organisation's trajectory with its 95% band; ``targets`` the time to each
commitment's target and the probability of meeting its deadline. Forecasts of synthetic data say SYNTHETIC.
An unknown level is a usage error (exit 2); a workspace without forecasts, or an unknown indicator, a user
error (exit 1).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import pandas as pd
import typer
from rich.table import Table

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import load_catalogue
from uptake.cli._common import WorkspaceOption, console, existing_workspace, sub_app, usage_error, user_error
from uptake.levels import Level
from uptake.models.forecasts import refresh_forecasts
from uptake.results import read

forecast_app = sub_app(help="Bass diffusion forecasts: fitted curves, time to target, probability of meeting "
                            "each deadline (docs/forecasts.md).", add_completion=False)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]


def _level(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return Level.parse(text).value
    except ValueError as exc:
        raise usage_error(f"--level: {exc}") from None


def _store(workspace: Path | None) -> AnalyticsStore:
    ws = existing_workspace(workspace)
    if not ws.analytics_path.exists():
        raise user_error(f"there is no analytics store at {ws.analytics_path}; run `uptake demo` or `uptake init` "
                         "first")
    return AnalyticsStore(ws.analytics_path, read_only=True)


def _no_forecasts(store: AnalyticsStore) -> typer.Exit:
    return user_error(f"the analytics store {store.path} has no forecasts; run `uptake compute` (or "
                      "`uptake forecast compute`) first")


def _emit(rows: list[dict[str, Any]], columns: list[str], fmt: OutputFormat, title: str) -> None:
    frame = pd.DataFrame(rows, columns=columns)
    if fmt == OutputFormat.CSV:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    if fmt == OutputFormat.JSON:
        typer.echo(json.dumps([{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()}
                               for r in frame.astype(object).where(frame.notna(), None).to_dict("records")],
                              indent=2))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for r in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in r))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value:%Y-%m-%d}"
    return str(value)


@forecast_app.command("show")
def show(
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator id (uptake catalogue list).")],
    level: Annotated[Optional[str], typer.Option("--level", help="Organisation level (default: every level).")] = None,
    org: Annotated[Optional[str], typer.Option("--org", help="One organisation's trajectory with its band.")] = None,
    output: FormatOption = OutputFormat.TABLE,
    workspace: WorkspaceOption = None,
) -> None:
    """Each organisation's fitted Bass curve (m, p and q per month with 95% intervals; pooling; fitted adoption
    and adopter category), or with --org its trajectory: observed, fitted and the 95% prediction band."""
    lv = _level(level)
    store = _store(workspace)
    catalogue = load_catalogue()
    if indicator not in catalogue.indicators:
        raise user_error(f"unknown indicator {indicator!r}; list them with `uptake catalogue list`")
    synthetic = catalogue.indicators[indicator].synthetic
    label = " (SYNTHETIC)" if synthetic else ""
    with store.connect() as con:
        if read.forecasts.missing_tables(con):
            raise _no_forecasts(store)
        if org:
            fits, _ = read.forecasts.fits(con, indicator=indicator, level=lv, org_codes=[org])
            if not fits:
                raise user_error(f"no forecast of {indicator} for {org!r}"
                                 + (f" at level {lv}" if lv else "") + "; check the code and --level")
            fit = fits[0]
            if fit["status"] != "fitted":
                raise user_error(f"{org} has no curve for {indicator}: {fit['status']} "
                                 f"({fit['points'] or 0} values; a Bass curve needs at least 6)")
            rows = read.forecasts.trajectory(con, indicator, fit["level"], org)
            _emit(rows, ["period", "observed", "fitted", "low", "high", "forecast", "synthetic"], output,
                  f"{indicator}: {org} ({fit['level']}), fitted Bass curve and 95% prediction band{label}")
            return
        rows, _ = read.forecasts.fits(con, indicator=indicator, level=lv)
    if not rows:
        raise user_error(f"no forecasts of {indicator}" + (f" at level {lv}" if lv else ""))
    columns = ["level", "org_code", "org_name", "status", "points", "m", "m_low", "m_high", "p", "p_low", "p_high",
               "q", "q_low", "q_high", "origin", "data_weight", "parent_code", "fitted_adoption", "category_fitted",
               "synthetic"]
    if output == OutputFormat.TABLE:  # what fits a terminal; csv and json carry every column
        columns = ["level", "org_code", "status", "points", "m", "m_low", "m_high", "p", "q", "data_weight",
                   "fitted_adoption", "category_fitted"]
    _emit(rows, columns, output, f"Bass fits of {indicator} (p, q per month; m on the 0-1 scale){label}")


@forecast_app.command("targets")
def targets(
    framework: Annotated[Optional[str], typer.Option("--framework", help="NSF id (uptake nsf list).")] = None,
    commitment: Annotated[Optional[str], typer.Option("--commitment", help="Commitment id.")] = None,
    level: Annotated[Optional[str], typer.Option("--level", help="Organisation level.")] = None,
    org: Annotated[Optional[str], typer.Option("--org", help="One organisation.")] = None,
    output: FormatOption = OutputFormat.TABLE,
    workspace: WorkspaceOption = None,
) -> None:
    """Per commitment and organisation: the forecast for the deadline's month (95% band), when the fitted
    curve reaches the target, and the probability of meeting the deadline."""
    lv = _level(level)
    store = _store(workspace)
    with store.connect() as con:
        if read.forecasts.missing_tables(con):
            raise _no_forecasts(store)
        rows, _ = read.forecasts.targets(con, framework=framework, commitment=commitment, level=lv,
                                         org_codes=[org] if org else None)
    if not rows:
        raise user_error("no commitment forecasts match; list frameworks with `uptake nsf list` (the forecasts "
                         "need NSF attainment: `uptake compute` with a workflow database)")
    columns = ["framework", "commitment", "level", "org_code", "org_name", "target", "deadline", "last_value",
               "value_at_deadline", "value_at_deadline_low", "value_at_deadline_high", "reach_date", "reach_low",
               "reach_high", "probability", "status", "synthetic"]
    if output == OutputFormat.TABLE:
        columns = ["commitment", "level", "org_code", "target", "deadline", "value_at_deadline", "reach_date",
                   "probability", "status"]
    _emit(rows, columns, output, "Time to target and probability of meeting the deadline")


@forecast_app.command("compute")
def compute(workspace: WorkspaceOption = None) -> None:
    """Refit every forecast over the results already published, as a publication of its own (`uptake
    compute` does this with every compute)."""
    ws = existing_workspace(workspace)
    if not ws.analytics_path.exists():
        raise user_error(f"there is no analytics store at {ws.analytics_path}; run `uptake demo` first")
    with AnalyticsStore.open(ws.analytics_path) as store, store.connect() as con:
        if "result_values" not in read.tables(con):
            raise user_error(f"the analytics store {ws.analytics_path} has no results yet; run `uptake compute` first")
    with AnalyticsStore.open(ws.analytics_path) as store:
        with console.status("Fitting the Bass diffusion forecasts"):
            written = refresh_forecasts(store)
    console.print(f"Bass forecasts: {written['result_forecast_fits']:,} series, "
                  f"{written['result_forecasts']:,} trajectory rows, "
                  f"{written['result_forecast_targets']:,} commitment forecasts.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``uptake forecast``."""
    app.add_typer(forecast_app, name="forecast", help="Bass diffusion forecasts: fits, time to target, probability.")
