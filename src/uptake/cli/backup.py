"""``uptake backup DIR`` and ``uptake restore DIR``: a workspace's workflow database, analytics store and
web secret key, copied consistently while the app runs, and put back into a new or empty workspace (see
uptake.backup and docs/workflow-database.md, "Backup and restore")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from uptake.backup import DEFAULT_WAIT, create_backup, restore_backup
from uptake.cli._common import WorkspaceOption, console, err_console, existing_workspace
from uptake.workspace import Workspace


def _rows(tables: dict[str, int]) -> str:
    return f"{len(tables)} tables, {sum(tables.values()):,} rows"


def backup(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory to write the backup into.")],
    workspace: WorkspaceOption = None,
    wait: Annotated[float, typer.Option(
        "--wait", min=0, help="Seconds to wait for a running compute or ingest to finish (0: refuse at once).",
    )] = DEFAULT_WAIT,
) -> None:
    """Back up the workspace: workflow database, analytics store, secret key and a manifest of checksums.
    Safe while the web app runs; a compute or ingest running is waited for."""
    ws = existing_workspace(workspace)

    def waiting(who: str) -> None:
        err_console.print(f"Waiting up to {wait:g} s for {who} to finish before backing up...")

    manifest = create_backup(ws, directory, wait=wait, on_wait=waiting)
    workflow = manifest.workflow
    target = Path(directory).expanduser().resolve()
    console.print(f"Backed up [bold]{ws.root}[/bold] to [bold]{target}[/bold]")
    console.print(f"  workflow database ({workflow['backend']}, {workflow['method']}): revision "
                  f"{workflow['alembic_revision']}, {_rows(workflow['tables'])}")
    if manifest.analytics is None:
        console.print("  analytics store: none in this workspace")
    else:
        console.print(f"  analytics store (schema {manifest.analytics['schema_version']}): "
                      f"{_rows(manifest.analytics['tables'])}")
    console.print(f"  secret key: {'included' if manifest.secrets else 'none in this workspace'}")
    size = sum(entry["bytes"] for entry in manifest.files.values())
    holds = "password and token hashes" + (" and the session key" if manifest.secrets else "")
    console.print(f"  {len(manifest.files)} files, {size / 1e6:,.1f} MB; checksums in manifest.json. "
                  f"It holds {holds}: keep it private.")


def restore(
    directory: Annotated[Path, typer.Argument(help="A backup directory made by `uptake backup`.")],
    workspace: WorkspaceOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the workflow database, analytics store and secret key of a workspace (or "
                        "database) that already holds data.",
    )] = False,
) -> None:
    """Restore a backup into a new or empty workspace (the workflow database goes to UPTAKE_DATABASE_URL
    when set). Checksums are verified first; an older workflow database is migrated."""
    restored = restore_backup(directory, Workspace.resolve(workspace), force=force)
    manifest = restored.manifest
    console.print(f"Restored the backup of {manifest.created_at} (Uptake {manifest.uptake_version}) into "
                  f"[bold]{restored.workspace}[/bold]")
    migrated = (f", migrated from {restored.revision_from} to {restored.revision_to}"
                if restored.revision_from != restored.revision_to else f", revision {restored.revision_to}")
    console.print(f"  workflow database {restored.database}: {_rows(restored.workflow_tables)}{migrated}")
    if restored.analytics_tables is None:
        console.print("  analytics store: none in the backup")
    else:
        console.print(f"  analytics store: {_rows(restored.analytics_tables)}")
    console.print(f"  secret key: {'restored' if restored.secret else 'none in the backup (made on first start)'}")


def register(app: typer.Typer) -> None:
    """Add ``uptake backup`` and ``uptake restore``."""
    app.command("backup")(backup)
    app.command("restore")(restore)
