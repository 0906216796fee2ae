"""``uptake simulate``: the policy simulator (docs/simulator.md). Each scenario file (YAML: indicator, level,
months, runs, seed, levers) runs beside the base with the same seed; the command prints the comparison (time
to each NSF target, chance of meeting its deadline, lives, pounds, cost per life saved) and with --output
writes every table as CSV and one Excel workbook per scenario.

    uptake simulate scenarios/doac-fund.yaml scenarios/doac-mission.yaml --output out/

Anchor partnerships are read from the workspace's workflow database (the newest anchor round), when it has
one. A bad scenario (unknown lever or organisation, negative amount, fund money over the fund, overlapping
levers, a period outside the simulated NSF window) or a run too large for the memory is a user error
(exit 1) and nothing runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from uptake.analytics.store import AnalyticsStore
from uptake.cli._common import WorkspaceOption, console, existing_workspace
from uptake.ecosystem.anchors import partnership_pairs
from uptake.errors import UptakeError
from uptake.models.simulation import CALIBRATION_NOTE, build_inputs, load_scenario, run_scenario
from uptake.store import make_engine, session_scope


def _partnerships(ws) -> list[tuple[str, str]]:
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            return partnership_pairs(session)
    except SQLAlchemyError:
        return []            # a workflow database without the ecosystem's tables: no partnerships yet
    finally:
        engine.dispose()


def _fmt(value, digits: int = 0, scale: float = 1.0) -> str:
    if value is None or (isinstance(value, float) and not pd.notna(value)):
        return "-"
    if isinstance(value, float) and value == float("inf"):
        return "not within the horizon"
    return f"{value * scale:,.{digits}f}"


def write_tables(result, folder: Path) -> list[Path]:
    """Every table of ``result`` as CSV and all of them in one Excel workbook, named after the scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^a-z0-9]+", "-", result.scenario.name.lower()).strip("-") or "scenario"
    written = []
    for name, frame in result.tables().items():
        path = folder / f"{stem}-{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    book = folder / f"{stem}.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        for name, frame in result.tables().items():
            frame.to_excel(writer, sheet_name=name, index=False)
    written.append(book)
    return written


def simulate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s) (docs/simulator.md).")],
    workspace: WorkspaceOption = None,
    runs: Annotated[Optional[int], typer.Option("--runs", min=1, max=100_000,
                                                help="Override every scenario's runs.")] = None,
    chunk: Annotated[int, typer.Option("--chunk", min=1, max=100_000,
                                       help="Runs simulated at once (memory: organisations x chunk).")] = 250,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Folder for CSV and Excel tables.")] = None,
) -> None:
    """Run each scenario beside the base (no lever) and compare: national value with its 95% band at the end,
    time to each NSF target, chance of meeting its deadline, lives saved, cost and cost per life saved."""
    loaded = [load_scenario(path) for path in scenarios]       # every file is checked before anything runs
    if runs is not None:
        loaded = [type(s)(**{**s.__dict__, "runs": runs}) for s in loaded]
    ws = existing_workspace(workspace)
    if not ws.analytics_path.exists():
        raise UptakeError(f"there is no analytics store at {ws.analytics_path}; run `uptake demo` or `uptake compute`")
    partners = _partnerships(ws)
    store = AnalyticsStore(ws.analytics_path, read_only=True)
    with store.connect() as con:
        inputs = {(s.indicator, s.level): build_inputs(con, s.indicator, s.level, partners) for s in loaded}
    for scenario in loaded:
        result = run_scenario(inputs[(scenario.indicator, scenario.level)], scenario, chunk=chunk)
        s = result.summary.iloc[0]
        flag = " SYNTHETIC" if s["synthetic"] else ""
        table = Table(title=f"{scenario.name}{flag}: {scenario.indicator}, {s['organisations']:,} {scenario.level} "
                            f"organisations, {scenario.runs:,} runs x {scenario.months} months (seed {scenario.seed})")
        for heading in ("", "base", "scenario"):
            table.add_column(heading, justify="left" if not heading else "right")
        band = result.trajectories[result.trajectories["month"] == result.trajectories["month"].max()].set_index("arm")
        table.add_row("national value at the end (median, 95% band)",
                      *[f"{band.loc[a, 'median']:.3f} ({band.loc[a, 'low95']:.3f}-{band.loc[a, 'high95']:.3f})"
                        for a in ("base", "scenario")])
        for target, part in result.targets.groupby("target", sort=False):
            rows = part.set_index("arm")
            table.add_row(f"{target}: months to {rows['target_value'].iloc[0]:.3f} (median)",
                          *[_fmt(rows.loc[a, "months_to_target_median"]) for a in ("base", "scenario")])
            table.add_row(f"  chance of meeting the deadline {rows['deadline'].iloc[0]:%Y-%m-%d}",
                          *[f"{rows.loc[a, 'probability_meeting_deadline']:.0%}" for a in ("base", "scenario")])
        table.add_row("extra units x years vs base (mean, 95%)", "-",
                      f"{_fmt(s['extra_unit_years_mean'])} ({_fmt(s['extra_unit_years_low'])} to "
                      f"{_fmt(s['extra_unit_years_high'])})")
        table.add_row("lives saved vs base (deaths avoided, mean, 95%)", "-",
                      f"{_fmt(s['lives_mean'], 1)} ({_fmt(s['lives_low'], 1)} to {_fmt(s['lives_high'], 1)})")
        table.add_row("cost, pounds (mean)", "-", _fmt(s["cost_pounds_mean"]))
        table.add_row("cost per life saved, pounds", "-", _fmt(s["cost_per_life_pounds"]))
        console.print(table)
        for note in result.notes:
            console.print(f"Note: {note}", highlight=False)
        if output is not None:
            paths = write_tables(result, output)
            console.print(f"Wrote {len(paths)} files to {output}", highlight=False)
    console.print(CALIBRATION_NOTE, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``uptake simulate``."""
    app.command("simulate")(simulate)
