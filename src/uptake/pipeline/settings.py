"""Pipeline settings: one place, read from UPTAKE_* environment variables (or given in code).

=================================  =========================================================  =========
environment variable               meaning                                                    default
=================================  =========================================================  =========
UPTAKE_ENGINE                      ``duckdb`` or ``pyspark`` (uptake.settings)                duckdb
UPTAKE_SPC_RULE_LENGTH             points in an SPC trend or shift (Making Data Count: 7; 6)  7
UPTAKE_SPC_BASELINE                fix each chart's limits on its first N points (>= 2)       none
UPTAKE_SPC_REBASE_DATES            JSON list of dates where new SPC limits start              []
UPTAKE_SPC_SCREEN_MOVING_RANGES    drop moving ranges >= 3.267 mR-bar before the limits       false
UPTAKE_SPC_BASIS                   ``auto``: spread-curve indicators on the difference from   auto
                                   England; ``value``: every series on its values
UPTAKE_CUSUM_WINDOW                months in the CUSUM reference period                       12
UPTAKE_CUSUM_SENSITIVITY           CUSUM threshold in reference SDs                           5
UPTAKE_PEER_COUNT                  similar organisations per organisation (RightCare)         10
UPTAKE_PEER_BEST                   best peers averaged for the peer benchmark                 5
UPTAKE_FUNNEL_POINTS               denominators in each smooth funnel curve                   100
UPTAKE_TARGETS                     JSON object: indicator id -> target value (a fraction)     {}
UPTAKE_SPARK_MASTER                Spark master when the pipeline starts its own session      local[2]
UPTAKE_NUMBA                       0: SPC rules and CUSUM in NumPy, not numba                 1
=================================  =========================================================  =========
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Engine = Literal["duckdb", "pyspark"]
ENGINES: tuple[str, ...] = ("duckdb", "pyspark")


class PipelineSettings(BaseSettings):
    """How the pipeline computes its results. Construct with keywords to override the environment."""

    model_config = SettingsConfigDict(env_prefix="UPTAKE_", extra="ignore", frozen=True)

    spc_rule_length: int = Field(default=7, ge=2)
    spc_baseline: int | None = Field(default=None, ge=2)
    spc_rebase_dates: tuple[dt.date, ...] = ()
    spc_screen_moving_ranges: bool = False
    #: "auto": indicators with spread_curve chart each organisation's difference from England; "value": every
    #: series on its own values (the whole-series chart)
    spc_basis: Literal["auto", "value"] = "auto"
    cusum_window: int = Field(default=12, ge=2)
    cusum_sensitivity: float = Field(default=5.0, gt=0)
    peer_count: int = Field(default=10, ge=1)
    peer_best: int = Field(default=5, ge=1)
    funnel_points: int = Field(default=100, ge=2)
    targets: dict[str, float] = Field(default_factory=dict)
    spark_master: str = "local[2]"

    @field_validator("spc_rebase_dates", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else [v for v in value.split(",") if v]
        return tuple(sorted(value)) if value is not None else ()

    def as_record(self) -> dict[str, Any]:
        """The settings as JSON-ready data, for the pipeline_runs row."""
        return json.loads(self.model_dump_json(exclude={"spark_master"}))
