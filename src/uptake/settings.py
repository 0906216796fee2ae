"""Settings: one place, read from UPTAKE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UPTAKE_", extra="ignore")

    #: The workspace directory (workflow database, analytics store, exports).
    workspace: Path = Path("uptake-workspace")
    #: SQLAlchemy URL of the workflow database; default is a SQLite file inside the workspace.
    database_url: str | None = None
    #: Analytics engine for the pipeline: "duckdb" (embedded default) or "pyspark".
    engine: str = "duckdb"
    #: Seconds a writer (ingest, compute) waits for readers of the analytics store file (the web's snapshot
    #: copy, a command reading results) to let go of it before giving up.
    store_wait_seconds: float = 60.0


def get_settings() -> Settings:
    return Settings()
