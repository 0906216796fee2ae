"""The analytics store: one DuckDB file holding the organisations, every version of every observation
ever loaded, the load batches (provenance) and which batch is current for each indicator and period.

This module is the store's connections and locking; each concern has its own module:

* ``schema``: the tables (listed there), their types, creating and upgrading them;
* ``reference``: the organisations and relationships (replaced as a whole by ``sync_reference``);
* ``loading``: loading a batch of observations in one transaction;
* ``batches``: the batches and period versions;
* ``observations``: reading observations back (current, as of a batch or moment), fingerprint, export.

A load for an indicator replaces, as a whole, every period it contains: the current view shows only the
new batch's rows for those periods (an organisation absent from the correction is absent from the view),
while the earlier batch's rows stay in ``observations`` and can be read with ``observations_as_of``.

Concurrency: DuckDB allows one read-write process per file. Writers additionally take an exclusive lock
file beside the database (``uptake.duckdb.lock``) so a second load fails at once with a clear message.
Readers never make a writer fail: a writer (holding that lock) that finds the file open in another process -
which can only be a reader, such as the web's snapshot copying the tables or a command reading results -
waits for it to close, up to ``UPTAKE_STORE_WAIT_SECONDS`` (default 60), trying again every 50-200 ms.
Connections are short-lived (opened for one operation and closed, so the file is free between
operations) unless the store is used as a context manager (``with AnalyticsStore.open(path) as store``):
then one connection stays open until the block ends, every operation runs on a cursor of it, and
``store.connection`` gives it to callers for their own queries.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import pandas as pd
import pyarrow as pa

from uptake.analytics import batches as _batches
from uptake.analytics import observations as _observations
from uptake.analytics import reference as _reference
from uptake.analytics.batches import Batch, LoadOutcome
from uptake.analytics.loading import (
    PAUSE_ENV,
    PAUSE_POINT_ENV,
    PAUSE_SIGNAL_ENV,
    ProgressCallback,
    insert_batch,
    observation_table,
)
from uptake.analytics.lock import StoreBusy, WriteLock, describe_holder, read_holder
from uptake.analytics.schema import (
    OBSERVATION_COLUMNS,
    OBSERVATION_SCHEMA,
    ORG_REQUIRED,
    ORG_TYPES,
    REL_REQUIRED,
    REL_TYPES,
    SCHEMA_VERSION,
    create_or_upgrade,
    stored_version,
)
from uptake.analytics.sql import utcnow
from uptake.errors import UptakeError
from uptake.settings import get_settings

__all__ = [
    "OBSERVATION_COLUMNS",
    "OBSERVATION_SCHEMA",
    "ORG_REQUIRED",
    "ORG_TYPES",
    "PAUSE_ENV",
    "PAUSE_POINT_ENV",
    "PAUSE_SIGNAL_ENV",
    "REL_REQUIRED",
    "REL_TYPES",
    "SCHEMA_VERSION",
    "AnalyticsStore",
    "Batch",
    "LoadOutcome",
    "ProgressCallback",
    "StoreBusy",
    "utcnow",
]


class AnalyticsStore:
    """The DuckDB analytics store at ``path`` (normally ``Workspace.analytics_path``)."""

    def __init__(self, path: Path | str, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock = WriteLock(self.lock_path, self.path)
        self._schema_checked = False
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._sessions = 0

    def __repr__(self) -> str:
        return f"AnalyticsStore({str(self.path)!r})"

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False) -> "AnalyticsStore":
        """The store at ``path``, with its schema created or checked (unless read-only). Use it as a
        context manager to keep one connection open for a series of operations."""
        store = cls(path, read_only=read_only)
        if not read_only and store.schema_version() != SCHEMA_VERSION:
            store.ensure_schema()
        return store

    def __enter__(self) -> "AnalyticsStore":
        if self._sessions == 0:
            self._connection = self._open_connection()
        self._sessions += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sessions -= 1
        if self._sessions == 0:
            self.close()

    def close(self) -> None:
        """Close the connection kept open by ``with store:`` / ``store.connection`` (if any)."""
        connection, self._connection = self._connection, None
        self._sessions = 0
        if connection is not None:
            connection.close()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """A connection kept open until ``close()`` (or the end of the ``with`` block), for callers' own
        read queries. Holding it keeps the DuckDB file open: other processes cannot write meanwhile."""
        if self._connection is None:
            self._connection = self._open_connection()
        return self._connection

    # ------------------------------------------------------------------ connections and locking
    def exists(self) -> bool:
        return self.path.exists()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation: a cursor of the open connection if there is one, else a
        short-lived connection (read-only if the store was opened read-only)."""
        if self._connection is not None:
            cursor = self._connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            return
        con = self._open_connection()
        try:
            yield con
        finally:
            con.close()

    def _open_connection(self) -> duckdb.DuckDBPyConnection:
        if self.read_only and not self.path.exists():
            raise UptakeError(
                f"there is no analytics store at {self.path}; run `uptake init` or `uptake demo` first"
            )
        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline: float | None = None
        pause = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=self.read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or self.read_only or not self._lock.held:
                    self._refuse(exc)
                # We hold the write lock, so whoever has the file open is a reader (the web's snapshot
                # copying it, a command reading results): wait for it rather than fail.
                if deadline is None:
                    deadline = time.monotonic() + get_settings().store_wait_seconds
                if time.monotonic() >= deadline:
                    self._refuse(exc)
                time.sleep(pause)
                pause = min(pause * 1.5, 0.2)

    def _refuse(self, exc: duckdb.IOException) -> NoReturn:
        if "lock" in str(exc).lower():
            holder = None if self._lock.held else read_holder(self.lock_path)
            if holder:
                raise StoreBusy(self.path, holder) from None
            raise UptakeError(
                f"the analytics store {self.path} is open in another process; "
                f"close it (or wait for it to finish) and try again ({exc})"
            ) from None
        raise UptakeError(f"cannot open the analytics store {self.path}: {exc}") from None

    @contextmanager
    def writing(self, purpose: str = "writing") -> Iterator["AnalyticsStore"]:
        """Hold the exclusive write lock (reentrant within this object); creates the schema if needed."""
        if self.read_only:
            raise UptakeError(f"the analytics store {self.path} was opened read-only")
        self._lock.acquire(purpose)
        try:
            if not self._schema_checked:
                self._ensure_schema_locked()
            yield self
        finally:
            self._lock.release()

    def lock_holder(self) -> str:
        """Who holds the write lock, for messages ('' if nobody or unknown)."""
        return describe_holder(read_holder(self.lock_path) or {})

    # ------------------------------------------------------------------ schema
    def ensure_schema(self) -> None:
        """Create the tables and views if they are missing (idempotent); check the schema version."""
        with self.writing("creating the analytics schema"):
            pass

    def _ensure_schema_locked(self) -> None:
        with self.connect() as con:
            create_or_upgrade(con, self.path)
        self._schema_checked = True

    def schema_version(self) -> int | None:
        if not self.path.exists():
            return None
        with self.connect() as con:
            return stored_version(con)

    # ------------------------------------------------------------------ reference data
    def sync_reference(self, organisations: pd.DataFrame, relationships: pd.DataFrame) -> tuple[int, int]:
        """Replace the organisations and relationships tables with these frames, in one transaction.

        Columns are matched by name (ORG_TYPES / REL_TYPES); missing optional columns become NULL and
        other columns are ignored. Empty strings become NULL (``valid_to`` is empty while current).
        Returns the numbers of organisations and relationships stored.
        """
        orgs, rels = _reference.reference_tables(organisations, relationships)
        with self.writing("syncing reference organisations"), self.connect() as con:
            _reference.replace_reference(con, orgs, rels)
        return orgs.num_rows, rels.num_rows

    def has_organisations(self) -> bool:
        if not self.path.exists():
            return False
        with self.connect() as con:
            return _reference.has_organisations(con)

    def organisation_levels(self) -> pd.DataFrame:
        """Distinct (code, level) pairs of every organisation the store knows."""
        with self.connect() as con:
            return _reference.organisation_levels(con)

    def organisation_facts(self) -> pd.DataFrame:
        """One row per (code, level): its population (list size; NaN where unknown) and valid_to (NaT while
        open), from its latest version: what the ingest plausibility checks compare against."""
        with self.connect() as con:
            return _reference.organisation_facts(con)

    # ------------------------------------------------------------------ batches
    def batches(self, indicator: str | None = None) -> list[Batch]:
        """Every batch (newest last), optionally for one indicator."""
        if not self.path.exists():
            return []
        with self.connect() as con:
            return _batches.list_batches(con, indicator)

    def batch(self, batch_id: int) -> Batch:
        with self.connect() as con:
            found = _batches.get_batch(con, batch_id)
        if found is None:
            raise UptakeError(f"there is no batch {batch_id} in the analytics store {self.path}")
        return found

    def find_batch(self, indicator: str, file_sha256: str) -> tuple[Batch, bool] | None:
        """The latest batch of ``indicator`` with this checksum, and whether it is still current for every
        one of its periods; None if no such batch."""
        with self.connect() as con:
            return _batches.find_batch(con, indicator, file_sha256)

    def current_period_counts(self) -> dict[int, int]:
        """For each batch, how many of its periods it is still the current version of."""
        with self.connect() as con:
            return _batches.current_period_counts(con)

    def period_versions(self, indicator: str | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return _batches.period_versions(con, indicator)

    # ------------------------------------------------------------------ loading
    def load_observations(
        self,
        observations: pa.Table | pd.DataFrame,
        *,
        indicator: str,
        source: str,
        file_name: str,
        file_sha256: str,
        loaded_by: str,
        mapping: dict[str, Any] | None = None,
        progress: ProgressCallback | None = None,
        provisional: bool = False,
        checks: dict[str, Any] | None = None,
    ) -> LoadOutcome:
        """Load already-validated observations as a new batch, atomically.

        One transaction inserts the rows, the batch and the new current version of every period in the
        frame; if anything fails (or the process dies) nothing is stored. Callers validate first
        (``uptake.ingest`` does); this method only enforces the column types. ``provisional`` marks the
        periods' new versions provisional (``uptake ingest --partial``); ``checks`` is recorded with the
        batch (the plausibility checks' overrides).
        """
        table = observation_table(observations)
        periods = tuple(sorted(set(table.column("period").unique().to_pylist())))
        if not periods:
            raise UptakeError("nothing to load: the batch has no rows")
        with self.writing(f"loading {file_name} for {indicator}"), self.connect() as con:
            return insert_batch(
                con, table, periods, indicator=indicator, source=source, file_name=file_name,
                file_sha256=file_sha256, loaded_by=loaded_by, mapping=mapping, progress=progress,
                provisional=provisional, checks=checks,
            )

    # ------------------------------------------------------------------ reading observations
    def provisional_periods(self, indicator: str) -> list[dt.date]:
        """The periods of ``indicator`` whose current version is provisional (loaded with --partial)."""
        with self.connect() as con:
            return _batches.provisional_periods(con, indicator)

    def observations_current(self, indicator: str | None = None) -> pd.DataFrame:
        """The current observations (of one indicator, or all), ordered by indicator, period, org_code."""
        with self.connect() as con:
            return _observations.current(con, indicator)

    def observations_as_of(self, indicator: str, as_of: int | dt.datetime | dt.date) -> pd.DataFrame:
        """The observations of ``indicator`` as they were right after batch ``as_of`` was loaded (an int),
        or at a moment in time (a datetime; naive means UTC). Ordered by period, org_code."""
        with self.connect() as con:
            if isinstance(as_of, bool) or not isinstance(as_of, (int, dt.date)):
                raise UptakeError(f"as_of must be a batch id or a date/time, not {as_of!r}")
            if isinstance(as_of, int) and not _batches.batch_exists(con, as_of):
                raise UptakeError(f"there is no batch {as_of} in the analytics store {self.path}")
            return _observations.as_of(con, indicator, as_of)

    def observations_of_batch(self, batch_id: int) -> pd.DataFrame:
        """Exactly the rows loaded by one batch."""
        with self.connect() as con:
            return _observations.of_batch(con, batch_id)

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run a read query against the store (for reports and diagnostics)."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def fingerprint(self) -> dict[str, int]:
        """Row counts of every table and an order-independent checksum of observations_current: equal
        fingerprints mean equal contents (used to prove a failed load changed nothing)."""
        with self.connect() as con:
            return _observations.fingerprint(con)

    # ------------------------------------------------------------------ export
    def export_parquet(self, directory: Path | str) -> dict[str, Path]:
        """Write observations_current, organisations, relationships and batches as Parquet files in
        ``directory`` (for Spark or any Parquet reader). Each file is written to a temporary name and
        renamed, so a reader never sees half a file. Returns table name -> path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            return _observations.export_parquet(con, directory)
