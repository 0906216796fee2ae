"""`uptake restore DIR --workspace NEW`: a backup made by `uptake backup`, restored into a new or empty
workspace (or, with ``force``, over an existing one).

Nothing is changed until the backup has been checked: its manifest read, every file's SHA-256 compared,
its schema versions compared with this Uptake's (a backup from a newer Uptake is refused; an older
workflow database is migrated, an older analytics store upgraded). The new files are then built in a
hidden directory inside the workspace and moved into place only when all of them are ready; a PostgreSQL
workflow database is written in one transaction just before. A failure anywhere leaves the workspace and
the database as they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from uptake.analytics.backup import import_store
from uptake.analytics.schema import SCHEMA_VERSION
from uptake.backup.manifest import ANALYTICS_DIR, SECRET_FILE, WORKFLOW_FILE, Manifest, verify
from uptake.errors import UptakeError
from uptake.store.backup import (
    WorkflowCopy,
    backend_of,
    check_revision,
    describe_file,
    restore_postgresql,
    restore_sqlite,
    sqlite_path,
    uptake_tables_in,
)
from uptake.store.db import normalise_url
from uptake.store.migrate import current_revision
from uptake.workspace import Workspace

#: SQLite's files beside a database, moved aside with it when it is replaced.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Restored:
    """What `uptake restore` did."""

    workspace: Path
    manifest: Manifest
    #: where the workflow database went (a URL, password hidden)
    database: str
    #: the backup's revision and the revision after migrating
    revision_from: str
    revision_to: str
    workflow_tables: dict[str, int]
    analytics_tables: dict[str, int] | None
    secret: bool


def restore_backup(source: Path | str, workspace: Workspace, *, force: bool = False) -> Restored:
    """Restore the backup in ``source`` into ``workspace`` (and its workflow database: the workspace's
    SQLite file, or UPTAKE_DATABASE_URL's database). Refuses a workspace or database that already holds
    data unless ``force``; then the workflow database, analytics store and secret key are replaced and
    anything else in the workspace (exports, staging) is kept."""
    source = Path(source).expanduser().resolve()
    manifest = Manifest.read(source)
    verify(source, manifest)
    revision = _check_versions(source, manifest)

    root = workspace.root
    url = workspace.database_url
    backend = backend_of(url)
    if root.exists() and not root.is_dir():
        raise UptakeError(f"{root} is a file, not a workspace directory")
    if not force and _has_files(root):
        raise UptakeError(f"the workspace {root} is not empty; restore into a new or empty directory, or pass "
                          "--force to replace its workflow database, analytics store and secret key")
    database_file = None
    if backend == "postgresql":
        present = uptake_tables_in(url)
        if present and not force:
            raise UptakeError(f"the workflow database {_shown(url)} already has Uptake tables "
                              f"({', '.join(present)}); restore into an empty database or schema, or pass --force")
    else:
        database_file = sqlite_path(url)
        if not force and database_file.exists():
            raise UptakeError(f"the workflow database {database_file} already exists; pass --force to replace it")
    replaced = workspace.analytics_path.parent
    if source == replaced or replaced in source.parents:
        raise UptakeError(f"cannot restore the backup {source} from inside the analytics folder it would "
                          "replace; move it elsewhere first")

    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".uptake-restore-", dir=root))
    try:
        placed: dict[Path, Path | None] = {}  # final location -> the new file or directory (None: none)
        if database_file is not None:
            restore_sqlite(source / WORKFLOW_FILE, staging / WORKFLOW_FILE)
            placed[database_file] = staging / WORKFLOW_FILE
        analytics_tables = None
        if manifest.analytics is not None:
            analytics = import_store(source / ANALYTICS_DIR, staging / ANALYTICS_DIR / workspace.analytics_path.name)
            _same_rows("analytics store", manifest.analytics.get("tables", {}), analytics.tables)
            analytics_tables = analytics.tables
        placed[workspace.analytics_path.parent] = staging / ANALYTICS_DIR if manifest.analytics else None
        secret = SECRET_FILE in manifest.secrets
        if secret:
            shutil.copyfile(source / SECRET_FILE, staging / SECRET_FILE)
            os.chmod(staging / SECRET_FILE, 0o600)
        placed[workspace.web_secret_path] = staging / SECRET_FILE if secret else None
        if backend == "postgresql":  # one transaction: in whole, or not at all
            copy: WorkflowCopy = restore_postgresql(source / WORKFLOW_FILE, url, force=force)
            _same_rows("workflow database", manifest.workflow.get("tables", {}), copy.tables)
        _swap(placed, staging / ".replaced", databases={database_file})
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(root, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    Workspace(root=root).ensure()
    return Restored(
        workspace=root, manifest=manifest, database=_shown(url), revision_from=revision,
        revision_to=current_revision(url) or "", workflow_tables=dict(manifest.workflow.get("tables", {})),
        analytics_tables=analytics_tables, secret=secret,
    )


def _check_versions(source: Path, manifest: Manifest) -> str:
    """The backup's workflow revision, after refusing a backup from a newer Uptake or one whose files
    disagree with its manifest."""
    revision = manifest.workflow.get("alembic_revision")
    if not isinstance(revision, str):
        raise UptakeError(f"the backup in {source} does not say its workflow database's revision")
    check_revision(revision, f"the backup's workflow database (made by Uptake {manifest.uptake_version})")
    if manifest.analytics is not None:
        version = manifest.analytics.get("schema_version")
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise UptakeError(
                f"the backup's analytics store has schema version {version}, newer than this Uptake's "
                f"({SCHEMA_VERSION}): it was made by Uptake {manifest.uptake_version}. Upgrade Uptake, then restore."
            )
    found, tables = describe_file(source / WORKFLOW_FILE)
    if found != revision:
        raise UptakeError(f"the backup in {source} is damaged: its workflow database is at revision {found}, "
                          f"its manifest says {revision}")
    _same_rows("workflow database", manifest.workflow.get("tables", {}), tables)
    return revision


def _same_rows(what: str, expected: dict[str, int], found: dict[str, int]) -> None:
    wrong = [f"{name}: {expected.get(name)} in the manifest, {found.get(name)} restored"
             for name in sorted(set(expected) | set(found)) if expected.get(name) != found.get(name)]
    if wrong:
        raise UptakeError(f"the backup's {what} does not match its manifest, nothing was restored: "
                          + "; ".join(wrong[:10]))


def _has_files(root: Path) -> bool:
    """Whether anything but empty directories is under ``root`` (an `uptake init`-style skeleton of empty
    folders counts as empty)."""
    if not root.exists():
        return False
    return any(not path.is_dir() or path.is_symlink() for path in root.rglob("*"))


def _shown(url: str) -> str:
    return normalise_url(url).render_as_string(hide_password=True)


def _swap(placed: dict[Path, Path | None], trash: Path, databases: set[Path | None]) -> None:
    """Move each new file or directory to its final place, moving what was there (and, for the SQLite
    ``databases``, their -wal/-shm/-journal files) into ``trash`` first; if any move fails, put everything
    back."""
    trash.mkdir()
    undo: list[tuple[Path, Path]] = []  # (moved from, moved to), to reverse
    try:
        for index, (final, new) in enumerate(placed.items()):
            olds = [final]
            if final in databases:
                olds += [final.with_name(final.name + suffix) for suffix in SQLITE_COMPANIONS]
            for number, old in enumerate(olds):
                if old.exists() or old.is_symlink():
                    aside = trash / f"{index}-{number}-{old.name}"
                    shutil.move(old, aside)
                    undo.append((old, aside))
            if new is not None:
                final.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(new, final)
                undo.append((new, final))
    except BaseException:
        for origin, moved in reversed(undo):
            if moved.exists() or moved.is_symlink():
                shutil.move(moved, origin)
        raise
