"""The analytics store: one DuckDB file holding the organisations, every version of every observation
ever loaded, the load batches (provenance) and which batch is current for each indicator and period.

Tables (schema version ``SCHEMA_VERSION``)::

    schema_version   (version, applied_at, uptake_version)
    organisations    reference organisations (see uptake.reference ORG_COLUMNS), replaced by sync_reference
    relationships    child -> parent links (REL_COLUMNS), replaced by sync_reference
    batches          one row per load: batch_id, indicator, source, file_name, file_sha256, row_count,
                     periods DATE[], loaded_at TIMESTAMP (UTC), loaded_by, mapping JSON
    observations     (batch_id, indicator, org_code, period, numerator, denominator): every version
    period_versions  (indicator, period, batch_id, loaded_at): the current batch of each indicator+period
    observations_current  VIEW: the observations of the current batch of each indicator and period

A load for an indicator replaces, as a whole, every period it contains: the current view shows only the
new batch's rows for those periods (an organisation absent from the correction is absent from the view),
while the earlier batch's rows stay in ``observations`` and can be read with ``observations_as_of``.

Concurrency: DuckDB allows one read-write process per file. Writers additionally take an exclusive lock
file beside the database (``uptake.duckdb.lock``) so a second load fails at once with a clear message.
Connections are short-lived (opened for one operation and closed, so the file is free between
operations) unless the store is used as a context manager (``with AnalyticsStore.open(path) as store``):
then one connection stays open until the block ends, every operation runs on a cursor of it, and
``store.connection`` gives it to callers for their own queries.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from uptake import __version__
from uptake.analytics.lock import StoreBusy, WriteLock, describe_holder, read_holder
from uptake.errors import UptakeError
from uptake.levels import Level

SCHEMA_VERSION = 1

#: Organisation columns and their types in the store (the reference loader's ORG_COLUMNS).
ORG_TYPES: dict[str, str] = {
    "code": "VARCHAR",
    "level": "VARCHAR",
    "name": "VARCHAR",
    "ons_code": "VARCHAR",
    "postcode": "VARCHAR",
    "lat": "DOUBLE",
    "lon": "DOUBLE",
    "imd_score": "DOUBLE",
    "imd_quintile": "INTEGER",
    "population": "BIGINT",
    "trust_type": "VARCHAR",
    "valid_from": "DATE",
    "valid_to": "DATE",
}
#: Relationship columns and their types in the store (the reference loader's REL_COLUMNS).
REL_TYPES: dict[str, str] = {
    "child_code": "VARCHAR",
    "child_level": "VARCHAR",
    "parent_code": "VARCHAR",
    "parent_level": "VARCHAR",
    "valid_from": "DATE",
    "valid_to": "DATE",
}
ORG_REQUIRED = ("code", "level")
REL_REQUIRED = ("child_code", "child_level", "parent_code", "parent_level")

#: Columns of the frame handed to ``load_observations`` (an Arrow table or a DataFrame).
OBSERVATION_COLUMNS = ("org_code", "period", "numerator", "denominator")
OBSERVATION_SCHEMA = pa.schema(
    [
        ("org_code", pa.string()),
        ("period", pa.date32()),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
    ]
)

#: Test hook: seconds to sleep inside the load transaction, just before COMMIT (used by the SIGKILL test).
PAUSE_ENV = "UPTAKE_TEST_PAUSE_IN_LOAD"
#: Test hook: a file to create when the pause starts, so a test knows the transaction is open.
PAUSE_SIGNAL_ENV = "UPTAKE_TEST_PAUSE_SIGNAL"
#: Test hook: where to pause: "before-commit" (default: everything written, not committed) or
#: "after-first-chunk" (part of the observations inserted, no batch row yet).
PAUSE_POINT_ENV = "UPTAKE_TEST_PAUSE_POINT"

_INSERT_CHUNK_ROWS = 1_000_000


def _columns_ddl(types: dict[str, str], required: tuple[str, ...]) -> str:
    return ", ".join(
        f"{name} {kind}{' NOT NULL' if name in required else ''}" for name, kind in types.items()
    )


_DDL = [
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL, uptake_version VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS organisations ({_columns_ddl(ORG_TYPES, ORG_REQUIRED)})",
    f"CREATE TABLE IF NOT EXISTS relationships ({_columns_ddl(REL_TYPES, REL_REQUIRED)})",
    """CREATE TABLE IF NOT EXISTS batches (
        batch_id BIGINT NOT NULL,
        indicator VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        file_sha256 VARCHAR NOT NULL,
        row_count BIGINT NOT NULL,
        periods DATE[] NOT NULL,
        loaded_at TIMESTAMP NOT NULL,
        loaded_by VARCHAR NOT NULL,
        mapping JSON
    )""",
    """CREATE TABLE IF NOT EXISTS observations (
        batch_id BIGINT NOT NULL,
        indicator VARCHAR NOT NULL,
        org_code VARCHAR NOT NULL,
        period DATE NOT NULL,
        numerator DOUBLE NOT NULL,
        denominator DOUBLE NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS period_versions (
        indicator VARCHAR NOT NULL,
        period DATE NOT NULL,
        batch_id BIGINT NOT NULL,
        loaded_at TIMESTAMP NOT NULL
    )""",
    """CREATE OR REPLACE VIEW observations_current AS
        SELECT o.batch_id, o.indicator, o.org_code, o.period, o.numerator, o.denominator
        FROM observations AS o
        JOIN period_versions AS v
          ON o.batch_id = v.batch_id AND o.indicator = v.indicator AND o.period = v.period""",
]


def utcnow() -> dt.datetime:
    """Now in UTC, as a naive datetime (how the store keeps timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _as_utc_naive(moment: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(moment, dt.datetime):
        return dt.datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


@dataclass(frozen=True)
class Batch:
    """One load: what was loaded, from where, by whom and when (``loaded_at`` is timezone-aware UTC)."""

    batch_id: int
    indicator: str
    source: str
    file_name: str
    file_sha256: str
    row_count: int
    periods: tuple[dt.date, ...]
    loaded_at: dt.datetime
    loaded_by: str
    mapping: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOutcome:
    batch_id: int
    rows: int
    periods: tuple[dt.date, ...]
    #: periods that had a current version before this load, with the batch that was current
    replaced: dict[dt.date, int]
    loaded_at: dt.datetime


ProgressCallback = Callable[[str, float, float | None], None]

_BATCH_COLUMNS = (
    "batch_id, indicator, source, file_name, file_sha256, row_count, periods, loaded_at, loaded_by, mapping"
)


def _batch_from_row(row: tuple) -> Batch:
    mapping = row[9]
    if isinstance(mapping, str):
        mapping = json.loads(mapping)
    return Batch(
        batch_id=int(row[0]),
        indicator=row[1],
        source=row[2],
        file_name=row[3],
        file_sha256=row[4],
        row_count=int(row[5]),
        periods=tuple(sorted(row[6])),
        loaded_at=row[7].replace(tzinfo=dt.UTC),
        loaded_by=row[8],
        mapping=mapping or {},
    )


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
        try:
            return duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                holder = read_holder(self.lock_path)
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
            con.execute(_DDL[0])
            found = _scalar(con, "SELECT max(version) FROM schema_version")
            if found is not None and found > SCHEMA_VERSION:
                raise UptakeError(
                    f"the analytics store {self.path} has schema version {found}, newer than this Uptake "
                    f"(version {__version__}, schema {SCHEMA_VERSION}); upgrade Uptake to use it"
                )
            con.begin()
            for statement in _DDL[1:]:
                con.execute(statement)
            if found is None:
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)", [SCHEMA_VERSION, utcnow(), __version__]
                )
            # future migrations: `if found < N: ...` here, then record version N
            con.commit()
        self._schema_checked = True

    def schema_version(self) -> int | None:
        if not self.path.exists():
            return None
        with self.connect() as con:
            try:
                return _scalar(con, "SELECT max(version) FROM schema_version")
            except duckdb.CatalogException:
                return None

    # ------------------------------------------------------------------ reference data
    def sync_reference(self, organisations: pd.DataFrame, relationships: pd.DataFrame) -> tuple[int, int]:
        """Replace the organisations and relationships tables with these frames, in one transaction.

        Columns are matched by name (ORG_TYPES / REL_TYPES); missing optional columns become NULL and
        other columns are ignored. Empty strings become NULL (``valid_to`` is empty while current).
        Returns the numbers of organisations and relationships stored.
        """
        orgs = _reference_table(organisations, ORG_TYPES, ORG_REQUIRED, "organisations")
        rels = _reference_table(relationships, REL_TYPES, REL_REQUIRED, "relationships")
        _check_levels(orgs, ["level"], "organisations")
        _check_levels(rels, ["child_level", "parent_level"], "relationships")
        with self.writing("syncing reference organisations"), self.connect() as con:
            con.begin()
            try:
                for table, arrow, types in (
                    ("organisations", orgs, ORG_TYPES),
                    ("relationships", rels, REL_TYPES),
                ):
                    con.register("incoming_reference", arrow)
                    select = ", ".join(
                        f"CAST({name} AS {kind})" if name in arrow.column_names else f"CAST(NULL AS {kind})"
                        for name, kind in types.items()
                    )
                    con.execute(f"DELETE FROM {table}")
                    con.execute(f"INSERT INTO {table} SELECT {select} FROM incoming_reference")
                    con.unregister("incoming_reference")
                con.commit()
            except duckdb.Error as exc:
                con.rollback()
                raise UptakeError(f"could not store the reference organisations: {exc}") from None
        return orgs.num_rows, rels.num_rows

    def has_organisations(self) -> bool:
        if not self.path.exists():
            return False
        with self.connect() as con:
            try:
                return _scalar(con, "SELECT count(*) FROM organisations") > 0
            except duckdb.CatalogException:
                return False

    def organisation_levels(self) -> pd.DataFrame:
        """Distinct (code, level) pairs of every organisation the store knows."""
        with self.connect() as con:
            return con.execute("SELECT DISTINCT code, level FROM organisations ORDER BY code, level").df()

    # ------------------------------------------------------------------ batches
    def batches(self, indicator: str | None = None) -> list[Batch]:
        """Every batch (newest last), optionally for one indicator."""
        if not self.path.exists():
            return []
        sql = f"SELECT {_BATCH_COLUMNS} FROM batches"
        params: list = []
        if indicator is not None:
            sql += " WHERE indicator = ?"
            params.append(indicator)
        with self.connect() as con:
            try:
                rows = con.execute(sql + " ORDER BY batch_id", params).fetchall()
            except duckdb.CatalogException:
                return []
        return [_batch_from_row(row) for row in rows]

    def batch(self, batch_id: int) -> Batch:
        with self.connect() as con:
            row = _row(con, f"SELECT {_BATCH_COLUMNS} FROM batches WHERE batch_id = ?", [batch_id])
        if row is None:
            raise UptakeError(f"there is no batch {batch_id} in the analytics store {self.path}")
        return _batch_from_row(row)

    def find_batch(self, indicator: str, file_sha256: str) -> tuple[Batch, bool] | None:
        """The latest batch of ``indicator`` with this checksum, and whether it is still current for every
        one of its periods; None if no such batch."""
        with self.connect() as con:
            row = _row(
                con,
                f"SELECT {_BATCH_COLUMNS} FROM batches WHERE indicator = ? AND file_sha256 = ? "
                "ORDER BY batch_id DESC LIMIT 1",
                [indicator, file_sha256],
            )
            if row is None:
                return None
            batch = _batch_from_row(row)
            current = _scalar(
                con,
                "SELECT count(*) FROM period_versions WHERE indicator = ? AND batch_id = ?",
                [indicator, batch.batch_id],
            )
        return batch, current == len(batch.periods)

    def current_period_counts(self) -> dict[int, int]:
        """For each batch, how many of its periods it is still the current version of."""
        with self.connect() as con:
            rows = con.execute("SELECT batch_id, count(*) FROM period_versions GROUP BY batch_id").fetchall()
        return {int(batch_id): int(count) for batch_id, count in rows}

    def period_versions(self, indicator: str | None = None) -> pd.DataFrame:
        sql = "SELECT indicator, period, batch_id, loaded_at FROM period_versions"
        params: list = []
        if indicator is not None:
            sql += " WHERE indicator = ?"
            params.append(indicator)
        with self.connect() as con:
            return con.execute(sql + " ORDER BY indicator, period", params).df()

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
    ) -> LoadOutcome:
        """Load already-validated observations as a new batch, atomically.

        One transaction inserts the rows, the batch and the new current version of every period in the
        frame; if anything fails (or the process dies) nothing is stored. Callers validate first
        (``uptake.ingest`` does); this method only enforces the column types.
        """
        table = _observation_table(observations)
        periods = tuple(sorted(set(table.column("period").unique().to_pylist())))
        if not periods:
            raise UptakeError("nothing to load: the batch has no rows")
        rows = table.num_rows
        with self.writing(f"loading {file_name} for {indicator}"), self.connect() as con:
            con.begin()
            try:
                batch_id = _scalar(con, "SELECT coalesce(max(batch_id), 0) + 1 FROM batches")
                loaded_at = utcnow()
                last = _scalar(con, "SELECT max(loaded_at) FROM batches")
                if last is not None and loaded_at <= last:  # keep loaded_at increasing with batch_id
                    loaded_at = last + dt.timedelta(microseconds=1)
                done = 0
                if progress:
                    progress("load", 0, rows)
                for offset in range(0, rows, _INSERT_CHUNK_ROWS):
                    chunk = table.slice(offset, _INSERT_CHUNK_ROWS)
                    con.register("incoming_observations", chunk)
                    con.execute(
                        "INSERT INTO observations SELECT ?, ?, org_code, period, numerator, denominator "
                        "FROM incoming_observations",
                        [batch_id, indicator],
                    )
                    con.unregister("incoming_observations")
                    done += chunk.num_rows
                    if progress:
                        progress("load", done, rows)
                    if offset == 0:
                        _test_pause_in_transaction(batch_id, "after-first-chunk")
                replaced_rows = con.execute(
                    "SELECT period, batch_id FROM period_versions "
                    "WHERE indicator = ? AND list_contains(?::DATE[], period)",
                    [indicator, list(periods)],
                ).fetchall()
                con.execute(
                    "DELETE FROM period_versions WHERE indicator = ? AND list_contains(?::DATE[], period)",
                    [indicator, list(periods)],
                )
                con.execute(
                    "INSERT INTO period_versions SELECT ?, unnest(?::DATE[]), ?, ?",
                    [indicator, list(periods), batch_id, loaded_at],
                )
                con.execute(
                    "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?::DATE[], ?, ?, ?)",
                    [
                        batch_id,
                        indicator,
                        source,
                        file_name,
                        file_sha256,
                        rows,
                        list(periods),
                        loaded_at,
                        loaded_by,
                        json.dumps(mapping or {}, sort_keys=True),
                    ],
                )
                _test_pause_in_transaction(batch_id, "before-commit")
                con.commit()
            except BaseException:
                try:
                    con.rollback()
                except duckdb.Error:
                    pass
                raise
        return LoadOutcome(
            batch_id=int(batch_id),
            rows=rows,
            periods=periods,
            replaced={period: int(old) for period, old in sorted(replaced_rows)},
            loaded_at=loaded_at.replace(tzinfo=dt.UTC),
        )

    # ------------------------------------------------------------------ reading observations
    def observations_current(self, indicator: str | None = None) -> pd.DataFrame:
        """The current observations (of one indicator, or all), ordered by indicator, period, org_code."""
        sql = "SELECT * FROM observations_current"
        params: list = []
        if indicator is not None:
            sql += " WHERE indicator = ?"
            params.append(indicator)
        with self.connect() as con:
            return con.execute(sql + " ORDER BY indicator, period, org_code", params).df()

    def observations_as_of(self, indicator: str, as_of: int | dt.datetime | dt.date) -> pd.DataFrame:
        """The observations of ``indicator`` as they were right after batch ``as_of`` was loaded (an int),
        or at a moment in time (a datetime; naive means UTC). Ordered by period, org_code."""
        with self.connect() as con:
            if isinstance(as_of, bool) or not isinstance(as_of, (int, dt.date)):
                raise UptakeError(f"as_of must be a batch id or a date/time, not {as_of!r}")
            if isinstance(as_of, int):
                if _scalar(con, "SELECT count(*) FROM batches WHERE batch_id = ?", [as_of]) == 0:
                    raise UptakeError(f"there is no batch {as_of} in the analytics store {self.path}")
                condition, value = "batch_id <= ?", as_of
            else:
                condition, value = "loaded_at <= ?", _as_utc_naive(as_of)
            return con.execute(
                f"""
                WITH loaded AS (
                    SELECT batch_id, unnest(periods) AS period FROM batches
                    WHERE indicator = ? AND {condition}
                ), versions AS (
                    SELECT period, max(batch_id) AS batch_id FROM loaded GROUP BY period
                )
                SELECT o.* FROM observations AS o JOIN versions AS v
                  ON o.batch_id = v.batch_id AND o.period = v.period
                WHERE o.indicator = ?
                ORDER BY o.period, o.org_code
                """,
                [indicator, value, indicator],
            ).df()

    def observations_of_batch(self, batch_id: int) -> pd.DataFrame:
        """Exactly the rows loaded by one batch."""
        with self.connect() as con:
            return con.execute(
                "SELECT * FROM observations WHERE batch_id = ? ORDER BY period, org_code", [batch_id]
            ).df()

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run a read query against the store (for reports and diagnostics)."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def fingerprint(self) -> dict[str, int]:
        """Row counts of every table and an order-independent checksum of observations_current: equal
        fingerprints mean equal contents (used to prove a failed load changed nothing)."""
        with self.connect() as con:
            counts = {
                table: _scalar(con, f"SELECT count(*) FROM {table}")
                for table in ("organisations", "relationships", "batches", "observations", "period_versions")
            }
            current = _row(
                con,
                "SELECT count(*), coalesce(bit_xor(hash(batch_id, indicator, org_code, period, numerator, "
                "denominator)), 0) FROM observations_current",
            )
        return {
            **counts,
            "observations_current": int(current[0]),
            "observations_current_hash": int(current[1]),
        }

    # ------------------------------------------------------------------ export
    def export_parquet(self, directory: Path | str) -> dict[str, Path]:
        """Write observations_current, organisations, relationships and batches as Parquet files in
        ``directory`` (for Spark or any Parquet reader). Each file is written to a temporary name and
        renamed, so a reader never sees half a file. Returns table name -> path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        exports = {
            "observations_current": "SELECT * FROM observations_current ORDER BY indicator, period, org_code",
            "organisations": "SELECT * FROM organisations ORDER BY code, valid_from",
            "relationships": "SELECT * FROM relationships ORDER BY child_code, parent_level, valid_from",
            "batches": f"SELECT {_BATCH_COLUMNS} FROM batches ORDER BY batch_id",
        }
        written: dict[str, Path] = {}
        with self.connect() as con:
            for name, sql in exports.items():
                target = directory / f"{name}.parquet"
                temporary = directory / f".{name}.parquet.tmp-{os.getpid()}"
                path_literal = str(temporary).replace("'", "''")
                con.execute(f"COPY ({sql}) TO '{path_literal}' (FORMAT parquet, COMPRESSION zstd)")
                os.replace(temporary, target)
                written[name] = target
        return written


# ---------------------------------------------------------------------- helpers
def _row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, draining the result (DuckDB 2 wants every result finished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    row = _row(con, sql, params)
    return None if row is None else row[0]


def _reference_table(
    frame: pd.DataFrame, types: dict[str, str], required: tuple[str, ...], what: str
) -> pa.Table:
    if not isinstance(frame, pd.DataFrame):
        raise UptakeError(f"{what} must be a pandas DataFrame")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise UptakeError(
            f"the {what} frame lacks required columns {', '.join(missing)}; "
            f"it has {', '.join(map(str, frame.columns))}"
        )
    keep = frame[[name for name in types if name in frame.columns]].copy()
    for name in keep.columns:
        column = keep[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            stripped = column.astype("str").str.strip()
            keep[name] = stripped.where(column.notna() & (stripped != ""), None).astype(object)
    for name in required:
        if keep[name].isna().any():
            raise UptakeError(f"the {what} frame has empty values in required column {name}")
    return pa.Table.from_pandas(keep, preserve_index=False)


def _check_levels(table: pa.Table, columns: list[str], what: str) -> None:
    valid = {level.value for level in Level}
    for name in columns:
        found = set(table.column(name).unique().to_pylist()) - valid
        if found:
            raise UptakeError(
                f"the {what} frame has unknown levels in {name}: {', '.join(sorted(map(str, found)))}; "
                f"levels are {', '.join(sorted(valid))}"
            )


def _observation_table(observations: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(observations, pd.DataFrame):
        names = [str(c) for c in observations.columns]
    else:
        names = observations.column_names
    missing = [name for name in OBSERVATION_COLUMNS if name not in names]
    if missing:
        raise UptakeError(f"observations lack columns {', '.join(missing)}")
    if isinstance(observations, pd.DataFrame):
        observations = pa.Table.from_pandas(observations[list(OBSERVATION_COLUMNS)], preserve_index=False)
    try:
        return observations.select(list(OBSERVATION_COLUMNS)).cast(OBSERVATION_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UptakeError(f"observations have the wrong column types: {exc}") from None


def _test_pause_in_transaction(batch_id: int, point: str) -> None:
    """Test hook (see PAUSE_ENV): sleep inside the open transaction so a test can kill the process."""
    seconds = os.environ.get(PAUSE_ENV)
    if not seconds or os.environ.get(PAUSE_POINT_ENV, "before-commit") != point:
        return
    signal_file = os.environ.get(PAUSE_SIGNAL_ENV)
    print(
        f"uptake: test pause ({point}) inside the load transaction of batch {batch_id}",
        file=sys.stderr,
        flush=True,
    )
    if signal_file:
        Path(signal_file).write_text(f"{os.getpid()} {batch_id}\n", encoding="utf-8")
    time.sleep(float(seconds))
