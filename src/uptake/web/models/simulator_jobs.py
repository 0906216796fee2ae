"""The policy simulator's background jobs: a scenario is checked (every check of uptake.models.simulation,
memory included) before it is saved; saved, it is queued in the workflow database (simulation_scenarios: the
job table) and run by a one-thread pool, which writes its progress and then its result (or its error) back
to the row. Pages and the API only read the row, so no request waits for a simulation.

Inputs (every organisation of the level, its curve and ties) come from the web's in-memory snapshot of the
results, with the newest anchor round's partnerships from the workflow database; they are built once per
snapshot, indicator and level."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from uptake.ecosystem.anchors import partnership_pairs
from uptake.errors import UptakeError
from uptake.models.simulation import (
    SimulationInputs,
    SimulationResult,
    build_inputs,
    check_memory,
    compile_levers,
    load_levers,
    parse_scenario,
    run_scenario,
)
from uptake.models.simulation.saved import result_json
from uptake.models.simulation.scenario import Scenario
from uptake.store.db import session_scope
from uptake.store.models import utcnow
from uptake.store.repository import record_audit
from uptake.store.scenario_models import SimulationScenario

__all__ = ["SimulatorJobs", "jobs_of", "result_json", "CHUNK"]

log = logging.getLogger(__name__)
CHUNK = 250
_LOCK = threading.Lock()


class SimulatorJobs:
    def __init__(self, web: Any):
        self.web = web
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uptake-simulator")
        self._inputs: dict[tuple, SimulationInputs] = {}
        self.params = load_levers()
        self.recover()

    def recover(self) -> int:
        """Scenarios left queued or running by a server that stopped are queued again (their runs are seeded, so
        the result is the one they would have given); how many."""
        try:
            with session_scope(self.web.engine, write=True) as session:
                stale = session.scalars(select(SimulationScenario).where(
                    SimulationScenario.status.in_(("queued", "running")))).all()
                ids = [row.id for row in stale]
                for row in stale:
                    row.status, row.progress = "queued", 0.0
                    row.message = "queued again: the server stopped while it was waiting or running"
        except SQLAlchemyError:
            return 0
        for scenario_id in ids:
            self.pool.submit(self._run, scenario_id)
        return len(ids)

    # --- inputs and checks -------------------------------------------------------------------------------
    def partnerships(self) -> list[tuple[str, str]]:
        try:
            with session_scope(self.web.engine) as session:
                return partnership_pairs(session)
        except SQLAlchemyError:
            return []

    def inputs(self, indicator: str, level: str) -> SimulationInputs:
        path = self.web.workspace.analytics_path
        if not path.exists():
            raise UptakeError(f"there is no analytics store at {path}; run `uptake compute` first")
        with self.web.snapshots.cursor() as (snapshot, cur):
            key = (snapshot.version, indicator, level)
            if key not in self._inputs:
                built = build_inputs(cur, indicator, level, self.partnerships())
                self._inputs = {k: v for k, v in self._inputs.items() if k[0] == snapshot.version}
                self._inputs[key] = built
            return self._inputs[key]

    def check(self, data: dict[str, Any], source: str = "scenario") -> tuple[Scenario, SimulationInputs]:
        """The scenario and its inputs, or an UptakeError saying what is wrong (nothing is saved or run)."""
        scenario = parse_scenario(data, source)
        inputs = self.inputs(scenario.indicator, scenario.level)
        compile_levers(scenario, inputs.network, inputs.start, self.params)
        check_memory(inputs.network.size, scenario.runs, scenario.months, CHUNK)
        return scenario, inputs

    # --- jobs ------------------------------------------------------------------------------------------------
    def submit(self, data: dict[str, Any], actor: str, source: str = "scenario") -> int:
        scenario, _ = self.check(data, source)
        with session_scope(self.web.engine, write=True) as session:
            row = SimulationScenario(name=scenario.name, indicator_id=scenario.indicator, level=scenario.level,
                                     spec=scenario.as_dict(), status="queued", progress=0.0, created_by=actor,
                                     created_at=utcnow())
            session.add(row)
            session.flush()
            scenario_id = row.id
            record_audit(session, actor, "scenario.run", "simulation_scenario", str(scenario_id),
                         {"name": scenario.name, "indicator": scenario.indicator, "level": scenario.level,
                          "runs": scenario.runs, "levers": len(scenario.levers)})
        self.pool.submit(self._run, scenario_id)
        return scenario_id

    def _update(self, scenario_id: int, **values: Any) -> None:
        with session_scope(self.web.engine, write=True) as session:
            row = session.get(SimulationScenario, scenario_id)
            for key, value in values.items():
                setattr(row, key, value)

    def _run(self, scenario_id: int) -> None:
        try:
            with session_scope(self.web.engine, write=True) as session:
                claimed = session.execute(
                    update(SimulationScenario)
                    .where(SimulationScenario.id == scenario_id, SimulationScenario.status == "queued")
                    .values(status="running", progress=0.0)).rowcount
                if not claimed:
                    return  # another server process has taken it
                spec = dict(session.get(SimulationScenario, scenario_id).spec)
            scenario, inputs = self.check(spec, f"scenario {scenario_id}")
            last = [time.monotonic(), 0.0]

            def progress(fraction: float) -> None:
                now = time.monotonic()
                if now - last[0] >= 0.5 and fraction - last[1] >= 0.01:
                    last[:] = [now, fraction]
                    self._update(scenario_id, progress=min(max(fraction, 0.0), 0.99))

            result = run_scenario(inputs, scenario, self.params, progress=progress, chunk=CHUNK)
            self._update(scenario_id, status="done", progress=1.0, result=result_json(result), finished_at=utcnow())
        except UptakeError as exc:
            self._update(scenario_id, status="failed", message=str(exc), finished_at=utcnow())
        except Exception as exc:  # noqa: BLE001 - a job must record why it failed, whatever it was
            log.exception("simulation %s failed", scenario_id)
            self._update(scenario_id, status="failed", message=f"the simulation failed: {exc}", finished_at=utcnow())

    def rows(self) -> list[SimulationScenario]:
        with session_scope(self.web.engine) as session:
            found = session.scalars(select(SimulationScenario).order_by(SimulationScenario.id.desc())).all()
            session.expunge_all()
            return list(found)

    def get(self, scenario_id: int) -> SimulationScenario | None:
        with session_scope(self.web.engine) as session:
            row = session.get(SimulationScenario, scenario_id)
            if row is not None:
                session.expunge(row)
            return row


def jobs_of(web: Any) -> SimulatorJobs:
    with _LOCK:
        jobs = getattr(web, "simulator_jobs", None)
        if jobs is None:
            jobs = SimulatorJobs(web)
            web.simulator_jobs = jobs
        return jobs
