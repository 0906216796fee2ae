"""A backup's manifest (``manifest.json``): what the backup holds, made by which Uptake, at which schema
versions, and the SHA-256 of every file, checked before anything is restored.

Layout of a backup directory::

    DIR/
      manifest.json      this manifest (written last: a directory without it is not a finished backup)
      workflow.sqlite    the workflow database, as a SQLite file whatever the backend
      analytics/         the analytics store: DuckDB EXPORT DATABASE (schema.sql, load.sql, *.parquet)
      web-secret.key     the web app's session-signing key (when the workspace has one)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from uptake.errors import UptakeError

FORMAT = "uptake-backup"
#: The layout and manifest version this Uptake writes; it restores this one and every older one.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WORKFLOW_FILE = "workflow.sqlite"
ANALYTICS_DIR = "analytics"
SECRET_FILE = "web-secret.key"


@dataclass
class Manifest:
    created_at: str
    uptake_version: str
    workspace: str
    #: backend, method, alembic_revision, tables (rows per table)
    workflow: dict[str, Any]
    #: schema_version, duckdb_version, method, tables; None when the workspace had no analytics store
    analytics: dict[str, Any] | None
    #: the secret files held (relative paths)
    secrets: list[str]
    #: relative path -> {"sha256": ..., "bytes": ...}, every file but the manifest
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def write(self, directory: Path) -> Path:
        path = directory / MANIFEST
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, directory: Path) -> "Manifest":
        """The manifest of the backup in ``directory``; an UptakeError saying what is wrong otherwise."""
        if not directory.exists():
            raise UptakeError(f"there is no backup at {directory}")
        if not directory.is_dir():
            raise UptakeError(f"{directory} is not a backup directory (made by `uptake backup DIR`)")
        path = directory / MANIFEST
        if not path.is_file():
            raise UptakeError(f"{directory} is not an Uptake backup: it has no {MANIFEST} "
                              "(an unfinished or damaged backup, or another directory)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UptakeError(f"the backup's {MANIFEST} in {directory} cannot be read: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UptakeError(f"{path} is not an Uptake backup manifest")
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise UptakeError(
                f"the backup in {directory} has format version {version}, newer than this Uptake's "
                f"({FORMAT_VERSION}): it was made by Uptake {data.get('uptake_version', '?')}. "
                "Upgrade Uptake, then restore."
            )
        try:
            manifest = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise UptakeError(f"{path} is missing entries: {exc}") from None
        if not isinstance(manifest.workflow, dict) or not isinstance(manifest.files, dict):
            raise UptakeError(f"{path} is damaged: workflow and files must be objects")
        return manifest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(directory: Path) -> dict[str, dict[str, Any]]:
    """SHA-256 and size of every file under ``directory`` but the manifest, by relative path."""
    found = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative != MANIFEST:
            found[relative] = {"sha256": sha256_of(path), "bytes": path.stat().st_size}
    return found


def verify(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is there, with its size and SHA-256; an UptakeError naming every one
    that is not (nothing has been restored when this raises)."""
    problems = []
    root = directory.resolve()
    for relative, expected in sorted(manifest.files.items()):
        path = (directory / relative).resolve()
        if root not in path.parents:
            problems.append(f"{relative}: outside the backup directory")
            continue
        if not path.is_file():
            problems.append(f"{relative}: missing")
            continue
        if path.stat().st_size != expected.get("bytes") or sha256_of(path) != expected.get("sha256"):
            problems.append(f"{relative}: checksum mismatch (changed or damaged since the backup was made)")
    if manifest.workflow.get("file", WORKFLOW_FILE) not in manifest.files:
        problems.append(f"{WORKFLOW_FILE}: not listed in the manifest")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise UptakeError(f"the backup in {directory} is damaged, nothing was restored: {shown}")
