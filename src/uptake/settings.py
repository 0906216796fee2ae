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
    #: The site's address as a reader's browser reaches it: the links in alert emails start with it.
    public_url: str = "http://localhost:8000"
    #: SMTP server alert digests are sent through (docs/alerts.md); unset: `uptake alerts send` refuses.
    smtp_host: str | None = None
    smtp_port: int = 25
    #: the From address of alert emails
    smtp_from: str = "Uptake alerts <alerts@localhost>"
    #: upgrade the connection with STARTTLS before sending (and before logging in)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    #: seconds to wait for the SMTP server
    smtp_timeout: float = 30.0
    #: send the digests right after `uptake compute` publishes new results
    alerts_after_compute: bool = False


def get_settings() -> Settings:
    return Settings()
