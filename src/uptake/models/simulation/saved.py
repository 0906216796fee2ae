"""Saved scenarios (the workflow database's simulation_scenarios rows): what a finished run keeps, and a run
recorded in one step (the demo's example scenario; the web's background jobs write the same row in stages)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from uptake.models.simulation.model import SimulationInputs, SimulationResult, run_scenario
from uptake.models.simulation.levers import LeverParameters
from uptake.models.simulation.scenario import Scenario
from uptake.store.models import utcnow
from uptake.store.repository import record_audit
from uptake.store.scenario_models import SimulationScenario

__all__ = ["records", "result_json", "record_finished_run"]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-safe records: dates as ISO days, NumPy scalars as Python, infinities as None."""
    out = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        clean = {}
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                value = value.isoformat()[:10]
            elif hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                value = None
            clean[key] = value
        out.append(clean)
    return out


def result_json(result: SimulationResult) -> dict[str, Any]:
    """What the row keeps of a run: every table as records, the notes, the time origin and start."""
    return {**{name: records(frame) for name, frame in result.tables().items()}, "notes": result.notes,
            "start": result.inputs.start.isoformat(), "synthetic": bool(result.inputs.synthetic)}


def record_finished_run(session: Any, scenario: Scenario, inputs: SimulationInputs, params: LeverParameters,
                        actor: str, *, chunk: int = 250) -> int:
    """Run ``scenario`` now and save it as a finished scenario (audited); its id."""
    result = run_scenario(inputs, scenario, params, chunk=chunk)
    now = utcnow()
    row = SimulationScenario(name=scenario.name, indicator_id=scenario.indicator, level=scenario.level,
                             spec=scenario.as_dict(), status="done", progress=1.0, created_by=actor,
                             created_at=now, finished_at=now, result=result_json(result))
    session.add(row)
    session.flush()
    record_audit(session, actor, "scenario.run", "simulation_scenario", str(row.id),
                 {"name": scenario.name, "indicator": scenario.indicator, "level": scenario.level,
                  "runs": scenario.runs, "levers": len(scenario.levers)})
    return row.id
