"""The analytics store's part of `uptake backup` and `uptake restore` (``uptake.backup`` puts the parts
together).

A backup is DuckDB's ``EXPORT DATABASE`` of the store: ``schema.sql`` (the tables and views), ``load.sql``
and one Parquet file per table. Parquet, not a copy of the DuckDB file, so a backup can be restored by a
later DuckDB, whose file format may differ.

Consistency: the copy is taken while the store's write lock is held (``writers_held_off``: every writer,
`uptake compute` and `uptake ingest` included, takes it first, so none can start meanwhile; one that is
running is waited for, or the backup is refused when the wait runs out), through a read-only attachment
of the file, which the web app's own read-only snapshots share. So the web app keeps serving during a
backup; a compute or ingest started during one is refused at once with "another load is running on the
analytics store (backing up the workspace, process ...)".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from uptake.analytics.lock import StoreBusy, WriteLock, describe_holder
from uptake.analytics.schema import SCHEMA_VERSION, stored_version
from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError

#: What the write lock says while a backup holds it (a writer refused meanwhile names it).
PURPOSE = "backing up the workspace (uptake backup)"


@dataclass(frozen=True)
class StoreCopy:
    """What an export or import did: the store's schema version, rows per table, the DuckDB version."""

    schema_version: int | None
    tables: dict[str, int] = field(default_factory=dict)
    duckdb_version: str = duckdb.__version__


@contextmanager
def writers_held_off(path: Path, *, wait: float = 0.0,
                     on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the write lock of the store at ``path`` for the block, so no writer starts. A writer already
    running is waited for, up to ``wait`` seconds (``on_wait`` is told who it is, once), then refused."""
    store = AnalyticsStore(path)
    if not store.lock_path.parent.is_dir():  # no store yet, and nothing can be writing one
        yield
        return
    lock = WriteLock(store.lock_path, store.path)
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            lock.acquire(PURPOSE)
            break
        except StoreBusy as busy:
            left = deadline - time.monotonic()
            who = describe_holder(busy.holder).strip(" ()") or "another process"
            if left <= 0:
                raise UptakeError(
                    f"cannot back up while the analytics store is being written ({who}); try again when it "
                    f"has finished, or give --wait SECONDS to wait for it"
                    + (f" (waited {wait:g} s)" if wait else "")
                ) from None
            if not told and on_wait is not None:
                on_wait(who)
                told = True
            time.sleep(min(0.5, left))
    try:
        yield
    finally:
        lock.release()


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_store(path: Path, directory: Path, *, wait: float = 0.0) -> StoreCopy:
    """``EXPORT DATABASE`` of the store at ``path`` into the new ``directory`` (Parquet, zstd), through a
    read-only attachment. Hold ``writers_held_off`` around it for a copy no writer can disturb. A process
    holding the file open read-write without the write lock is waited for, up to ``wait`` seconds."""
    memory = duckdb.connect(":memory:")
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                memory.execute(f"ATTACH {_literal(path)} AS store (READ_ONLY)")
                break
            except duckdb.Error as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise UptakeError(f"cannot read the analytics store {path}: {exc}") from None
                time.sleep(0.5)
        memory.execute("USE store")
        version = stored_version(memory)
        tables = _row_counts(memory, "store")
        memory.execute(f"EXPORT DATABASE store TO {_literal(directory)} (FORMAT parquet, COMPRESSION zstd)")
        memory.execute("USE memory")
        memory.execute("DETACH store")
    finally:
        memory.close()
    return StoreCopy(version, tables)


def import_store(directory: Path, path: Path) -> StoreCopy:
    """``IMPORT DATABASE`` of an export into a new store at ``path``, then its schema brought up to this
    Uptake's (``AnalyticsStore.open``). Refuses an export of a newer schema before writing anything."""
    if path.exists():
        raise UptakeError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(f"IMPORT DATABASE {_literal(directory)}")
        version = stored_version(con)
        if version is not None and version > SCHEMA_VERSION:
            raise UptakeError(
                f"the backup's analytics store has schema version {version}, newer than this Uptake's "
                f"({SCHEMA_VERSION}): it was made by a newer Uptake. Upgrade Uptake, then restore."
            )
        tables = _row_counts(con, None)
    except duckdb.Error as exc:
        raise UptakeError(f"cannot import the analytics store from {directory}: {exc}") from None
    finally:
        con.close()
    AnalyticsStore.open(path)  # creates what an older schema lacks (under the write lock), records the version
    return StoreCopy(version, tables)


def _row_counts(con: duckdb.DuckDBPyConnection, database: str | None) -> dict[str, int]:
    where = "database_name = ?" if database else "database_name = current_database()"
    names = con.execute(
        f"SELECT schema_name, table_name FROM duckdb_tables() WHERE {where} AND NOT internal "
        "ORDER BY schema_name, table_name", [database] if database else [],
    ).fetchall()
    counts = {}
    for schema, table in names:
        qualified = f'"{schema}"."{table}"'
        counts[table if schema == "main" else f"{schema}.{table}"] = con.execute(
            f"SELECT count(*) FROM {qualified}").fetchone()[0]
    return counts


def table_rows(path: Path) -> dict[str, int]:
    """Rows per table of the store at ``path`` (read-only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return _row_counts(con, None)
    finally:
        con.close()
