"""A workspace: the directory that holds one Uptake installation's data.

Layout::

    WORKSPACE/
      workflow.sqlite          workflow database (unless UPTAKE_DATABASE_URL points elsewhere)
      analytics/uptake.duckdb  analytics store: organisations, observations, load batches, results
      web-secret.key           the web app's session-signing key (made on first start)
      staging/                 observation files prepared by `uptake demo` before they are ingested
      exports/                 files written by `uptake export`
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from uptake.settings import get_settings


@dataclass(frozen=True)
class Workspace:
    root: Path
    database_url_override: str | None = None

    @classmethod
    def resolve(cls, path: Path | str | None = None) -> "Workspace":
        """The workspace named by --workspace, else UPTAKE_WORKSPACE, else ./uptake-workspace."""
        settings = get_settings()
        root = Path(path) if path is not None else settings.workspace
        return cls(root=root.resolve(), database_url_override=settings.database_url)

    @property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite:///{self.root / 'workflow.sqlite'}"

    @property
    def analytics_path(self) -> Path:
        return self.root / "analytics" / "uptake.duckdb"

    @property
    def web_secret_path(self) -> Path:
        return self.root / "web-secret.key"

    @property
    def staging_dir(self) -> Path:
        return self.root / "staging"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def snapshot_dir(self) -> Path:
        """The web app's copies of the published results (uptake.web.snapshot), one file per server process."""
        return self.root / "web-snapshots"

    def ensure(self) -> "Workspace":
        for directory in (self.root, self.analytics_path.parent, self.staging_dir, self.exports_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self
