"""The stroke pathway model's tables (/models/stroke-pathway and its downloads): per scenario nationally,
and per unit for one scenario beside the base. Read from the published result tables
(uptake.results.read.pathway); every figure with its 95% interval."""

from __future__ import annotations

from fastapi import HTTPException

from uptake.models.pathway.model import SCENARIOS
from uptake.results import read
from uptake.stats.intervals import wilson
from uptake.web.formatting import number
from uptake.web.tables.base import Column, Context, DataTable

NATIONAL_NOTE = (
    "Simulated: SAMueL-1's pathway model on 132 anonymised stroke units (SSNAP 2016-2018). Intervals: 2.5th to "
    "97.5th percentile over the simulated years; good outcomes include the outcome model's stated uncertainty. "
    "Good outcomes are patients with mRS 0-1 at 3 months because of thrombolysis, not admissions or patients "
    "treated."
)


def _with_interval(key: str, digits: int, suffix: str = "", sep: str = " to ") -> callable:
    def fmt(row: dict) -> str:
        return (f"{number(row[key], digits)}{suffix} ({number(row[key + '_low'], digits)}{sep}"
                f"{number(row[key + '_high'], digits)})")

    return fmt


def check_scenario(scenario: str | None) -> str:
    scenario = scenario or "speed_onset"
    if scenario not in SCENARIOS:
        raise HTTPException(404, f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    return scenario


def pathway_national(ctx: Context) -> DataTable:
    rows = read.pathway.national(ctx.cur)
    columns = [
        Column("title", "Scenario"),
        Column("thrombolysis_pct", "Thrombolysed (% of admissions, 95% interval)",
               fmt=_with_interval("thrombolysis_pct", 1, "%"), numeric=True),
        Column("samuel_thrombolysis_pct", "SAMueL published (%)",
               fmt=lambda r: number(r["samuel_thrombolysis_pct"], 2), numeric=True),
        Column("good_outcomes_per_1000", "Good outcomes added per 1,000 admissions (95% interval)",
               fmt=_with_interval("good_outcomes_per_1000", 1), numeric=True),
        Column("samuel_good_outcomes_per_1000", "SAMueL published (per 1,000)",
               fmt=lambda r: number(r["samuel_good_outcomes_per_1000"], 2), numeric=True),
        Column("thrombolysed_per_year", "Patients thrombolysed a year", fmt=lambda r: number(r["thrombolysed_per_year"]),
               numeric=True),
        Column("extra_good_outcomes_per_year_vs_base", "Good outcomes a year more than base (95% interval)",
               fmt=_with_interval("extra_good_outcomes_per_year_vs_base", 0), numeric=True),
    ]
    return DataTable("pathway-national", "Stroke pathway scenarios, 132 units (England and Wales)", columns, rows,
                     note=NATIONAL_NOTE)


def pathway_units(ctx: Context, scenario: str | None = None) -> DataTable:
    scenario = check_scenario(scenario)
    base = {r["stroke_team"]: r for r in read.pathway.units(ctx.cur, scenario="base")}
    rows = []
    for row in read.pathway.units(ctx.cur, scenario=scenario):
        b = base.get(row["stroke_team"], {})
        # the recorded rate is over SAMueL's three years (2016-2018) of the unit's admissions: Wilson 95%
        n = 3 * row["admissions_per_year"]
        low, high = wilson(row["recorded_thrombolysis_pct"] / 100 * n, n)
        rows.append({
            **row,
            "recorded_thrombolysis_pct_low": 100 * float(low),
            "recorded_thrombolysis_pct_high": 100 * float(high),
            "base_thrombolysis_pct": b.get("thrombolysis_pct"),
            "base_thrombolysis_pct_low": b.get("thrombolysis_pct_low"),
            "base_thrombolysis_pct_high": b.get("thrombolysis_pct_high"),
            "base_good_outcomes_per_1000": b.get("good_outcomes_per_1000"),
            "base_good_outcomes_per_1000_low": b.get("good_outcomes_per_1000_low"),
            "base_good_outcomes_per_1000_high": b.get("good_outcomes_per_1000_high"),
        })
    title = SCENARIOS[scenario].title
    columns = [
        Column("stroke_team", "Unit (SAMueL code)"),
        Column("admissions_per_year", "Admissions a year", fmt=lambda r: number(r["admissions_per_year"]), numeric=True),
        Column("recorded_thrombolysis_pct", "Recorded, 2016-2018 (%)",
               fmt=_with_interval("recorded_thrombolysis_pct", 1, sep="–"), numeric=True),
        Column("base_thrombolysis_pct", "Base (%)", fmt=_with_interval("base_thrombolysis_pct", 1, sep="–"),
               numeric=True),
        Column("thrombolysis_pct", f"{title} (%)", fmt=_with_interval("thrombolysis_pct", 1, sep="–"),
               numeric=True),
        Column("good_outcomes_per_1000", f"{title}: good outcomes per 1,000",
               fmt=_with_interval("good_outcomes_per_1000", 1, sep="–"), numeric=True),
        Column("change_good_outcomes_per_1000_vs_base", "Change from base, per 1,000",
               fmt=lambda r: (f"{r['change_good_outcomes_per_1000_vs_base']:+.1f} "
                              f"({r['change_good_outcomes_per_1000_vs_base_low']:+.1f} to "
                              f"{r['change_good_outcomes_per_1000_vs_base_high']:+.1f})"), numeric=True),
    ]
    return DataTable("pathway-units", f"Each unit: base and {title.lower()} (every figure: mean and 95% interval)",
                     columns, rows, {"scenario": scenario}, note=NATIONAL_NOTE)
