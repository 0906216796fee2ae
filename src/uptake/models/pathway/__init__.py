"""The stroke thrombolysis pathway model (SAMueL-1's pathway simulation, vectorised): each stroke unit's
year of emergency admissions through onset-to-arrival, arrival-to-scan and scan-to-needle, its thrombolysis
rate and the good outcomes (mRS 0-1) thrombolysis adds, under the published what-if scenarios.

``model``: the scenarios, the draws and the vectorised simulation; ``reference``: the same draws walked
patient by patient in plain Python (the obviously-correct check and the benchmark's baseline).
"""

from uptake.models.pathway.model import (
    SCENARIOS,
    PathwayDraws,
    PathwayRun,
    Scenario,
    UnitParameters,
    apply_scenario,
    draw_pathway,
    run_scenarios,
    simulate,
    simulate_drawn,
)

__all__ = [
    "SCENARIOS",
    "PathwayDraws",
    "PathwayRun",
    "Scenario",
    "UnitParameters",
    "apply_scenario",
    "draw_pathway",
    "run_scenarios",
    "simulate",
    "simulate_drawn",
]
