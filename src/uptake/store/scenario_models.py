"""Workflow table of the policy simulator (uptake.models.simulation): saved scenarios, each with its job (status,
progress, the error message if it failed) and its result (the comparison tables, as JSON). The web's
/simulator page and /api/v1/scenarios write it; a background job runner fills in progress and results.

On the shared `Base`, like uptake.store.mission_models; migration 0009 creates it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Double, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from uptake.store.models import EMAIL, SLUG, Base, UTCDateTime, utcnow

#: a scenario job's states, in order
SCENARIO_STATUSES = ("queued", "running", "done", "failed")


class SimulationScenario(Base):
    """A scenario (its spec: uptake.models.simulation.Scenario.as_dict) and its run."""

    __tablename__ = "simulation_scenarios"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    indicator_id: Mapped[str] = mapped_column(String(SLUG))
    level: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Double, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
