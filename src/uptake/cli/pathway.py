"""``uptake pathway``: the stroke thrombolysis pathway model (SAMueL-1) on the bundled 132 units, run now:
every scenario nationally with 95% intervals beside SAMueL's published figures, and per unit on request.

The defaults (100 simulated years per scenario, seed 2022) are ``uptake compute``'s, so the figures are the
ones the web page and /api/v1/pathway show. An unknown scenario is a usage error (exit 2); an unknown unit a
user error (exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from uptake.cli._common import console, usage_error
from uptake.errors import UptakeError
from uptake.models.pathway.model import SCENARIOS
from uptake.models.pathway.summary import DEFAULT_SEED, DEFAULT_TRIALS, compute_pathway


def _interval(row, key: str, digits: int) -> str:
    return f"{row[key]:.{digits}f} ({row[key + '_low']:.{digits}f} to {row[key + '_high']:.{digits}f})"


def pathway(
    scenario: Annotated[
        Optional[str],
        typer.Option("--scenario", help=f"Also list each unit under this scenario: {', '.join(SCENARIOS)}."),
    ] = None,
    unit: Annotated[
        Optional[str], typer.Option("--unit", help="Also list this unit (a SAMueL code) under every scenario.")
    ] = None,
    trials: Annotated[int, typer.Option("--trials", min=1, max=10_000, help="Simulated years per scenario.")] = (
        DEFAULT_TRIALS
    ),
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (the default is uptake compute's).")] = (
        DEFAULT_SEED
    ),
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="Write the table(s) as CSV: the units listed, else the national table."),
    ] = None,
) -> None:
    """Run the stroke pathway model: national thrombolysis (% of admissions) and good outcomes (mRS 0-1) added
    per 1,000 admissions in each scenario (base, speed, onset known, both), with 95% intervals over the
    simulated years, beside SAMueL-1's published figures; per unit with --scenario or --unit."""
    if scenario is not None and scenario not in SCENARIOS:
        raise usage_error(f"--scenario: unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    tables = compute_pathway(trials, seed)
    units = tables.units
    if unit is not None:
        if unit not in set(units["stroke_team"]):
            raise UptakeError(f"unknown unit {unit!r}; the units are SAMueL's codes, e.g. {units['stroke_team'].iloc[0]}")
        units = units[units["stroke_team"] == unit]
    if scenario is not None:
        units = units[units["scenario"] == scenario]

    table = Table(title=f"Stroke pathway model: 132 units, {trials} simulated years per scenario (seed {seed}), "
                        f"{tables.seconds:.1f} s")
    for heading in ("scenario", "thrombolysed % of admissions (95% interval)", "SAMueL %",
                    "good outcomes per 1,000 admissions (95% interval)", "SAMueL per 1,000",
                    "good outcomes a year vs base (95% interval)"):
        table.add_column(heading, justify="left" if heading == "scenario" else "right")
    for row in tables.national.to_dict("records"):
        table.add_row(
            row["title"], _interval(row, "thrombolysis_pct", 2),
            "-" if row["samuel_thrombolysis_pct"] is None else f"{row['samuel_thrombolysis_pct']:.2f}",
            _interval(row, "good_outcomes_per_1000", 2),
            "-" if row["samuel_good_outcomes_per_1000"] is None else f"{row['samuel_good_outcomes_per_1000']:.2f}",
            _interval(row, "extra_good_outcomes_per_year_vs_base", 0),
        )
    console.print(table)
    console.print("Good outcomes: patients with mRS 0-1 at 3 months because of thrombolysis (SAMueL clinical outcome "
                  "model, with Emberson 2014's stated uncertainty). Method: docs/outcomes-stroke.md.", highlight=False)
    listed = scenario is not None or unit is not None
    if listed:
        per_unit = Table(title="Each unit")
        for heading in ("scenario", "unit", "admissions a year", "recorded %", "thrombolysed % (95% interval)",
                        "good outcomes per 1,000 (95% interval)"):
            per_unit.add_column(heading, justify="left" if heading in ("scenario", "unit") else "right")
        for row in units.to_dict("records"):
            per_unit.add_row(row["scenario"], row["stroke_team"], f"{row['admissions_per_year']:.0f}",
                             f"{row['recorded_thrombolysis_pct']:.1f}", _interval(row, "thrombolysis_pct", 1),
                             _interval(row, "good_outcomes_per_1000", 1))
        console.print(per_unit)
    if output is not None:
        frame = units if listed else tables.national
        frame.to_csv(output, index=False)
        console.print(f"Wrote {len(frame):,} rows to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``uptake pathway``."""
    app.command("pathway")(pathway)
