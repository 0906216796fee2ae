"""The analytics store (DuckDB): reference organisations, versioned observations, load provenance."""

from uptake.analytics.lock import StoreBusy
from uptake.analytics.store import (
    OBSERVATION_COLUMNS,
    SCHEMA_VERSION,
    AnalyticsStore,
    Batch,
    LoadOutcome,
)

__all__ = ["OBSERVATION_COLUMNS", "SCHEMA_VERSION", "AnalyticsStore", "Batch", "LoadOutcome", "StoreBusy"]
