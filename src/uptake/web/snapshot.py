"""A snapshot of the analytics store for the web app: one published version, read only by the web.

The web app never holds the workspace's DuckDB file open: DuckDB lets one process write a file only
while no other process has it open, and `uptake compute` or `uptake ingest` must be able to run while
the site is up. So the app serves every request (the mission's pages and API included) from its own copy
of one published version of the store, and never materialises the wide views over ``result_points``: at
national scale (30 million observation rows, about 43 million points) they would be tens of GiB.

- The web app's holder has a directory (``Workspace.snapshot_dir``): a snapshot is a byte copy of the store
  file made while holding the file read-only (no writer can change it meanwhile), opened read-only. Its
  views are the store's own; DuckDB pages it through a buffer pool of ``MEMORY_LIMIT``. A national store
  (4 GB) copies in seconds with almost no CPU.
- Without a directory (the command line, tests): the tables the readers read (``SNAPSHOT_TABLES``: the thin
  ``result_points``, the small result tables, the store's organisations, relationships and batches, the
  runs, publications and the mission's tables) are copied into memory and the wide views made again over
  the copy (``SNAPSHOT_VIEWS``, with the store's own SQL where it has them, so a store computed by an
  earlier version keeps views that match its tables).

When the file changes (a new load, or a new publication of results: uptake.pipeline.publication), the next
request after ``RELOAD_CHECK_SECONDS`` starts a reload in the background; requests keep being served from
the old copy until the new one is complete, and then switch to it at once. If the file is busy (a writer
holds it: a compute holds it from start to publication), the reload is tried again later. A reload first
reads, in one read transaction of the file, the *content key* of what it would copy (the current
publication, the row count of every table and a hash of the store's own small tables): if it is the
snapshot's own, nothing is copied and the snapshot (and every page cached for it) stays - a compute's
staging writes change the file many times before its publication changes what readers see. Otherwise it
copies every table in that same read transaction (and no writer can commit while it is open), so a
snapshot is one whole publication: its ``publication`` is that publication's id, and the result tables,
the mission's tables and ``pipeline_runs`` all belong to it. Each snapshot's ``version`` is made from its
content key (and names the publication): page caches and ETags include it, so nothing stale is served
after a reload, and a reload that finds the same content keeps the same version. A writer that finds the
file held by a reload waits for it (uptake.analytics.store), and a reload takes only as long as the copy,
so readers never make a compute or an ingest fail.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from uptake.results import read
from uptake.results.read._sql import MemoCursor

from uptake.results.schema import SNAPSHOT_TABLES, SNAPSHOT_VIEWS

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 2.0

#: the snapshot this context reads instead of the current one: set while the pages of a new snapshot are built
#: before the switch to it (``SnapshotHolder.serving``); None everywhere else
_SERVING: ContextVar["Snapshot | None"] = ContextVar("uptake_snapshot_serving", default=None)


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
    #: the content key of the store it was copied from (``_content_key``)
    key: str = ""
    #: its file (None: in memory)
    file: Path | None = None

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


#: DuckDB's buffer pool for a file-backed snapshot (pages beyond it are read from the file as needed)
MEMORY_LIMIT = "2GB"
#: the store's own tables whose every row goes into the content key (small; changed by ingest, not by publications)
_HASHED = ("organisations", "relationships", "batches")
_counter = itertools.count(1)


def _content_key(con: duckdb.DuckDBPyConnection, schema: str, present: set[str]) -> str:
    """What a snapshot of these tables would hold, in a few cheap queries (inside the caller's transaction)."""
    parts: list[object] = []
    if "publications" in present:
        parts.append(con.execute(
            f"SELECT max(publication_id) FROM {schema}.publications WHERE state = 'published'").fetchone()[0])
    for table in _copied(present):
        if table in _HASHED:
            parts.append((table, *con.execute(f"SELECT count(*), sum(hash(t)) FROM {schema}.{table} AS t").fetchone()))
        else:
            parts.append((table, con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def _copied(present: set[str]) -> list[str]:
    """The tables to copy: SNAPSHOT_TABLES, and a wide result table where a store keeps it as a table rather
    than a view (stores written by hand, as some tests' are)."""
    views = [v.name for v in SNAPSHOT_VIEWS if v.name in present]
    return [t for t in (*SNAPSHOT_TABLES, *views) if t in present]


def _present(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    return {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main' "
        "AND table_type = 'BASE TABLE'", [catalog]).fetchall()}


def read_content_key(path: Path) -> str | None:
    """The content key of the store at ``path`` (None: no file), read in one read-only transaction."""
    if not path.exists():
        return None
    con = duckdb.connect(":memory:")
    try:
        literal = str(path).replace("'", "''")
        con.execute(f"ATTACH '{literal}' AS store (READ_ONLY)")
        con.execute("BEGIN TRANSACTION")
        key = _content_key(con, "store.main", _present(con, "store"))
        con.execute("COMMIT")
        return key
    finally:
        con.close()


def load_snapshot(path: Path, directory: Path | None = None) -> Snapshot:
    """A snapshot of the store at ``path`` (an empty one if there is no file): with a ``directory``, a byte copy
    of the file there, opened read-only; without, the tables copied into memory and the views made again."""
    if directory is not None and path.exists():
        return _file_snapshot(path, directory)
    memory = duckdb.connect(":memory:")
    memory.execute("SET threads = 2")
    tables: set[str] = set()
    own: dict[str, str] = {}
    key = ""
    if path.exists():
        literal = str(path).replace("'", "''")
        memory.execute(f"ATTACH '{literal}' AS store (READ_ONLY)")
        try:
            memory.execute("BEGIN TRANSACTION")  # one consistent read of the file: one publication
            present = _present(memory, "store")
            key = _content_key(memory, "store.main", present)
            for table in _copied(present):
                memory.execute(f"CREATE TABLE main.{table} AS SELECT * FROM store.main.{table}")
                tables.add(table)
            # the store's own view SQL: a store computed by an earlier version keeps the views that match its
            # tables (result_points was thinned by issue 17.2) until the next compute replaces both
            own = dict(memory.execute(
                "SELECT view_name, sql FROM duckdb_views() WHERE database_name = 'store' AND schema_name = 'main' "
                "AND NOT internal").fetchall())
            memory.execute("COMMIT")
        except BaseException:
            try:
                memory.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        finally:
            memory.execute("DETACH store")
    for view in SNAPSHOT_VIEWS:  # the wide views, over the copy (never copied)
        if view.name in tables:
            continue
        try:
            memory.execute(own.get(view.name) or f'CREATE VIEW "{view.name}" AS {view.view}')
            tables.add(view.name)
        except duckdb.CatalogException:  # a store without the tables it reads (nothing computed yet)
            pass
    return _snapshot(memory, tables, key, None)


def _file_snapshot(path: Path, directory: Path) -> Snapshot:
    """Copy the store's file (and its write-ahead log, if a writer left one) byte for byte while holding it
    read-only, so no writer can change it meanwhile and the copy is one publication; then open the copy
    read-only. Copying bytes costs the kernel a few seconds for a national store (4 GB) and almost no CPU,
    where copying its 43 million points table by table costs minutes of CPU."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"snapshot-{os.getpid()}-{next(_counter)}-{time.time_ns()}.duckdb"
    holder = duckdb.connect(":memory:")
    try:
        literal = str(path).replace("'", "''")
        holder.execute(f"ATTACH '{literal}' AS store (READ_ONLY)")  # no writer can open the file from here on
        holder.execute("BEGIN TRANSACTION")
        key = _content_key(holder, "store.main", _present(holder, "store"))
        shutil.copyfile(path, target)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
        holder.execute("COMMIT")
    except BaseException:
        _remove(target)
        raise
    finally:
        holder.close()
    try:
        con = duckdb.connect(str(target), read_only=True,
                             config={"threads": 2, "memory_limit": MEMORY_LIMIT})
    except BaseException:
        _remove(target)
        raise
    everything = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    wanted = {*SNAPSHOT_TABLES, *(v.name for v in SNAPSHOT_VIEWS)}
    return _snapshot(con, everything & wanted, key, target)


def _snapshot(con: duckdb.DuckDBPyConnection, tables: set[str], key: str, file: Path | None) -> Snapshot:
    publication = None
    if "publications" in tables:
        current = read.runs.publication(con)
        publication = int(current["publication_id"]) if current else None
    version = f"p{publication}-{key}" if publication is not None else (key or "empty")
    snapshot = Snapshot(connection=con, version=version, tables=frozenset(tables), publication=publication,
                        key=key, file=file)
    _warm(snapshot)
    return snapshot


def _remove(file: Path | None) -> None:
    """Delete a snapshot's file (its open connections keep reading it until they close: POSIX unlink)."""
    if file is None:
        return
    for candidate in (file, file.with_name(file.name + ".wal")):
        try:
            candidate.unlink()
        except FileNotFoundError:
            pass


def remove_snapshot_file(snapshot: Snapshot) -> None:
    """Delete a snapshot's file (nothing for one in memory); its connection should be closed first."""
    _remove(snapshot.file)


def remove_stale_files(directory: Path) -> None:
    """Delete snapshot files left by processes that no longer run (a server killed without cleaning up)."""
    if not directory.is_dir():
        return
    for file in directory.glob("snapshot-*.duckdb*"):
        try:
            pid = int(file.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            file.unlink(missing_ok=True)
        except PermissionError:
            pass


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


class SnapshotHolder:
    """Holds the current snapshot of one store file and reloads it when the file changes. With a
    ``directory`` the snapshots are files there (deleted when replaced, and at exit); without, in memory."""

    def __init__(self, path: Path, *, check_seconds: float = RELOAD_CHECK_SECONDS, directory: Path | None = None):
        self.path = Path(path)
        self.directory = Path(directory) if directory is not None else None
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._reloading = False
        if self.directory is not None:
            remove_stale_files(self.directory)
            atexit.register(self._remove_current)
        self._signature = _file_signature(self.path)
        self._snapshot = self._load_or_empty()
        self._checked_at = time.monotonic()
        #: called with a newly loaded snapshot in the background reload, before readers are switched to it
        #: (the web builds the new snapshot's most requested pages there: ``Web.prerender``)
        self.before_switch: Callable[[Snapshot], None] | None = None

    def _remove_current(self) -> None:
        _remove(self._snapshot.file)

    def _load_or_empty(self) -> Snapshot:
        try:
            return load_snapshot(self.path, self.directory)
        except duckdb.Error as exc:  # busy or damaged file: serve an empty snapshot, retry later
            log.warning("could not read the analytics store %s: %s", self.path, exc)
            self._signature = None
            return load_snapshot(Path("/nonexistent"))

    @property
    def current(self) -> Snapshot:
        """The snapshot readers see: the published one, or in a context under ``serving``, that one."""
        serving = _SERVING.get()
        if serving is not None:
            return serving
        return self.published

    @property
    def published(self) -> Snapshot:
        """The snapshot every reader is switched to (a reload is started when the store file has changed)."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_seconds:
            self._checked_at = now
            if _file_signature(self.path) != self._signature:
                self._start_reload()
        return self._snapshot

    @property
    def ahead(self) -> bool:
        """Whether this context serves a snapshot ahead of the switch to it (``serving``: a prerender)."""
        return _SERVING.get() is not None

    @contextmanager
    def serving(self, snapshot: Snapshot) -> Iterator[Snapshot]:
        """Within this context (and the threads it starts with a copy of it), ``current`` is ``snapshot``."""
        token = _SERVING.set(snapshot)
        try:
            yield snapshot
        finally:
            _SERVING.reset(token)

    def reload(self, prepare: bool = False) -> Snapshot:
        """Reload now, in this thread (tests and the command line use this). When the store's content key is
        the current snapshot's (the file changed, what readers see did not: a compute's staging writes),
        the current snapshot stays, with its version and its cached pages. With ``prepare``, a new snapshot
        is given to ``before_switch`` before readers are switched to it (a failure there is logged, and
        the switch happens anyway)."""
        signature = _file_signature(self.path)
        key = read_content_key(self.path)
        with self._lock:
            current = self._snapshot
        if key is not None and key == current.key:
            with self._lock:
                self._signature = signature
            return current
        snapshot = load_snapshot(self.path, self.directory)
        if prepare and self.before_switch is not None:
            try:
                self.before_switch(snapshot)
            except Exception:  # the switch must not wait on, or fail with, the pages built ahead of it
                log.exception("building pages of the new snapshot ahead of the switch failed")
        with self._lock:
            old, self._snapshot, self._signature = self._snapshot, snapshot, signature
        if old is not snapshot:
            _remove(old.file)  # requests still reading it keep their connection to it until they finish
        return snapshot

    def _start_reload(self) -> None:
        with self._lock:
            if self._reloading:
                return
            self._reloading = True
        threading.Thread(target=self._reload_in_background, name="uptake-snapshot", daemon=True).start()

    def _reload_in_background(self) -> None:
        try:
            before = self._snapshot
            if self.reload(prepare=True) is not before:
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
