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


def get_settings() -> Settings:
    return Settings()
