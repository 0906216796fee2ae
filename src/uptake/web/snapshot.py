"""An in-memory snapshot of the analytics store for the web app.

The web app never holds the workspace's DuckDB file open: DuckDB lets one process write a file only
while no other process has it open, and `uptake compute` or `uptake ingest` must be able to run while
the site is up. So the app copies what the pages read (``uptake.results.schema.SNAPSHOT_TABLES``:
organisations, relationships, load batches, the pipeline's result tables and runs, and the mission's
attainment, missed opportunities and watch list: a few hundred thousand rows at national scale) into an
in-memory DuckDB database, and serves every request from that copy, the mission's pages and API included.

When the file changes (a new load, or a new publication of results: uptake.pipeline.publication), the next
request after ``RELOAD_CHECK_SECONDS`` starts a reload in the background; requests keep being served from
the old copy until the new one is complete, and then switch to it at once. If the file is busy (a writer
holds it: a compute holds it from start to publication), the reload is tried again later. A reload copies
every table in one read transaction of the file (and no writer can commit while it is open), so a snapshot
is one whole publication: its ``publication`` is that publication's id, and the result tables, the
mission's tables and ``pipeline_runs`` all belong to it. Each snapshot has a ``version`` that changes on
every reload (it names the publication): page caches and ETags include it, so nothing stale is served after
a reload. A writer that finds the file held by a reload waits for it (uptake.analytics.store), and a reload
takes only as long as the copy, so readers never make a compute or an ingest fail.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from uptake.results import read
from uptake.results.read._sql import MemoCursor

from uptake.results.schema import SNAPSHOT_TABLES

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 2.0


@dataclass
class Snapshot:
    """One immutable copy of the store. Use ``cursor()`` for each request (thread-safe)."""

    connection: duckdb.DuckDBPyConnection
    version: str
    tables: frozenset[str]
    loaded_at: float = field(default_factory=time.time)
    #: the publication the result tables belong to (None: nothing published, or a store from before publications)
    publication: int | None = None
    #: answers to the questions every page asks of a snapshot (latest periods, their batches, the pipeline's
    #: settings), kept for its life: a snapshot never changes
    memo: dict = field(default_factory=dict)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.connection.cursor()

    def has(self, table: str) -> bool:
        return table in self.tables


def _file_signature(path: Path) -> tuple:
    parts = []
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            stat = candidate.stat()
        except FileNotFoundError:
            parts.append(None)
            continue
        parts.append((stat.st_mtime_ns, stat.st_size))
    return tuple(parts)


def load_snapshot(path: Path) -> Snapshot:
    """Copy the store at ``path`` into a new in-memory database (an empty one if there is no file)."""
    memory = duckdb.connect(":memory:")
    memory.execute("SET threads = 2")
    tables: set[str] = set()
    if path.exists():
        literal = str(path).replace("'", "''")
        memory.execute(f"ATTACH '{literal}' AS store (READ_ONLY)")
        try:
            memory.execute("BEGIN TRANSACTION")  # one consistent read of the file: one publication
            present = {
                row[0]
                for row in memory.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'store' "
                    "AND table_schema = 'main'"
                ).fetchall()
            }
            for table in SNAPSHOT_TABLES:
                if table in present:
                    memory.execute(f"CREATE TABLE main.{table} AS SELECT * FROM store.main.{table}")
                    tables.add(table)
            memory.execute("COMMIT")
        except BaseException:
            try:
                memory.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        finally:
            memory.execute("DETACH store")
    publication = None
    if "publications" in tables:
        current = read.runs.publication(memory)
        publication = int(current["publication_id"]) if current else None
    signature = repr((_file_signature(path), publication)).encode()
    version = hashlib.sha256(signature + str(time.time_ns()).encode()).hexdigest()[:12]
    version = f"p{publication}-{version}" if publication is not None else version
    _add_indexes(memory, tables)
    snapshot = Snapshot(connection=memory, version=version, tables=frozenset(tables), publication=publication)
    _warm(snapshot)
    return snapshot


def _warm(snapshot: Snapshot) -> None:
    """Answer the snapshot-wide questions once, before the first request: each indicator's latest period at
    each level, the batches behind it, and the pipeline's settings."""
    cur = MemoCursor(snapshot.cursor(), snapshot.memo)
    try:
        if snapshot.has("result_values"):
            for row in read.values.indicator_levels(cur):
                indicator, level = row["indicator"], row["level"]
                latest = read.values.latest_period(cur, indicator, level)
                if snapshot.has("batches"):
                    read.runs.batches_for_period(cur, indicator, latest)
        if snapshot.has("pipeline_runs"):
            read.runs.pipeline_settings(cur)
    finally:
        cur.close()


def _add_indexes(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    # DuckDB's zone maps do most of the work; sorting the big tables by their usual filters keeps the
    # row groups each query reads few.
    if "result_values" in tables:
        con.execute(
            "CREATE OR REPLACE TABLE result_values AS "
            "SELECT * FROM result_values ORDER BY indicator, level, period, org_code"
        )


class SnapshotHolder:
    """Holds the current snapshot of one store file and reloads it when the file changes."""

    def __init__(self, path: Path, *, check_seconds: float = RELOAD_CHECK_SECONDS):
        self.path = Path(path)
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._reloading = False
        self._signature = _file_signature(self.path)
        self._snapshot = self._load_or_empty()
        self._checked_at = time.monotonic()

    def _load_or_empty(self) -> Snapshot:
        try:
            return load_snapshot(self.path)
        except duckdb.Error as exc:  # busy or damaged file: serve an empty snapshot, retry later
            log.warning("could not read the analytics store %s: %s", self.path, exc)
            self._signature = None
            return load_snapshot(Path("/nonexistent"))

    @property
    def current(self) -> Snapshot:
        now = time.monotonic()
        if now - self._checked_at >= self.check_seconds:
            self._checked_at = now
            if _file_signature(self.path) != self._signature:
                self._start_reload()
        return self._snapshot

    def reload(self) -> Snapshot:
        """Reload now, in this thread (tests and the command line use this)."""
        signature = _file_signature(self.path)
        snapshot = load_snapshot(self.path)
        with self._lock:
            self._snapshot, self._signature = snapshot, signature
        return snapshot

    def _start_reload(self) -> None:
        with self._lock:
            if self._reloading:
                return
            self._reloading = True
        threading.Thread(target=self._reload_in_background, name="uptake-snapshot", daemon=True).start()

    def _reload_in_background(self) -> None:
        try:
            self.reload()
            log.info("reloaded the analytics store snapshot from %s", self.path)
        except duckdb.Error as exc:
            log.info("analytics store busy (%s); will retry", exc)
        finally:
            with self._lock:
                self._reloading = False

    @contextmanager
    def cursor(self) -> Iterator[tuple[Snapshot, duckdb.DuckDBPyConnection]]:
        snapshot = self.current
        cur = snapshot.cursor()
        try:
            yield snapshot, MemoCursor(cur, snapshot.memo)
        finally:
            cur.close()
