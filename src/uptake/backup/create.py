"""`uptake backup DIR`: a consistent copy of a workspace while it is in use.

The analytics store's write lock is taken first and held to the end, so no compute or ingest runs while
both stores are copied (the workflow database and the analytics store then agree: a compute's draft
ratings and the results they were drawn from are both in, or both out). Readers, the web app's included,
are not disturbed. Everything is written to a hidden directory beside DIR, the manifest last, then renamed
to DIR: an interrupted backup leaves no DIR behind, and a DIR with a manifest is complete.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from uptake import __version__
from uptake.analytics.backup import export_store, writers_held_off
from uptake.backup.manifest import ANALYTICS_DIR, SECRET_FILE, WORKFLOW_FILE, Manifest, checksums
from uptake.errors import UptakeError
from uptake.store.backup import dump
from uptake.workspace import Workspace

#: How long `uptake backup` waits for a running compute or ingest to finish, by default (seconds).
DEFAULT_WAIT = 600.0


def create_backup(
    workspace: Workspace,
    directory: Path | str,
    *,
    wait: float = DEFAULT_WAIT,
    on_wait: Callable[[str], None] | None = None,
) -> Manifest:
    """Back up ``workspace`` (workflow database, analytics store, secret key) into the new or empty
    ``directory``. A compute or ingest that is running is waited for up to ``wait`` seconds (``on_wait`` is
    told who it is), then the backup is refused."""
    directory = Path(directory).expanduser().resolve()
    if not workspace.root.is_dir():
        raise UptakeError(f"there is no workspace at {workspace.root}; run `uptake init` or `uptake demo` first")
    if directory == workspace.root or directory in workspace.root.parents:
        raise UptakeError(f"cannot back up the workspace {workspace.root} into {directory}: choose a directory "
                          "outside it")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UptakeError(f"{directory} already exists and is not empty; back up into a new directory")
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = directory.with_name(f".{directory.name}.partial-{secrets.token_hex(4)}")
    partial.mkdir(mode=0o700)
    try:
        started = time.monotonic()
        with writers_held_off(workspace.analytics_path, wait=wait, on_wait=on_wait):
            workflow = dump(workspace.database_url, partial / WORKFLOW_FILE)
            analytics = None
            if workspace.analytics_path.is_file():
                left = max(0.0, wait - (time.monotonic() - started))
                analytics = export_store(workspace.analytics_path, partial / ANALYTICS_DIR, wait=left)
        held = []
        if workspace.web_secret_path.is_file():
            shutil.copyfile(workspace.web_secret_path, partial / SECRET_FILE)
            os.chmod(partial / SECRET_FILE, 0o600)
            held.append(SECRET_FILE)
        manifest = Manifest(
            created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            uptake_version=__version__,
            workspace=str(workspace.root),
            workflow={"backend": workflow.backend, "method": workflow.method, "file": WORKFLOW_FILE,
                      "alembic_revision": workflow.revision, "tables": workflow.tables},
            analytics=None if analytics is None else {
                "directory": ANALYTICS_DIR, "method": "duckdb-export-parquet",
                "schema_version": analytics.schema_version, "duckdb_version": analytics.duckdb_version,
                "tables": analytics.tables,
            },
            secrets=held,
            files=checksums(partial),
        )
        manifest.write(partial)
        if directory.exists():
            directory.rmdir()  # empty (checked above)
        partial.rename(directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest
