"""The workflow database's part of `uptake backup` and `uptake restore` (``uptake.backup`` puts the parts
together).

A backup holds the workflow database as one SQLite file, whichever backend it came from:

- **SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies every page in one step,
  inside one read transaction: a consistent copy while the web app reads and writes (write-ahead logging:
  the copy does not block them, and they do not disturb it).
- **PostgreSQL**: a logical copy through SQLAlchemy, not ``pg_dump`` (which must match the server's major
  version and cannot be restored into SQLite): one ``REPEATABLE READ, READ ONLY`` transaction reads the
  Alembic revision and every Uptake table (one snapshot of the database, taken while the app runs); a new
  SQLite file is migrated to that same revision and the rows are copied into it, table by table in
  foreign-key order.

Restoring into SQLite copies the file and migrates it to the newest revision; restoring into PostgreSQL
copies the rows back in one transaction that also creates the tables (the migrations up to the backup's
revision), sets the id sequences past the restored ids and migrates to the newest revision: it lands
whole or not at all.

Rows are copied exactly: JSON columns as their text (so SQL NULL and JSON ``null`` stay apart), times as
UTC, self-references (an assessment marked the duplicate of a later one) filled in after their rows.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    MetaData,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    insert,
    inspect,
    select,
    text,
    update,
)

from uptake.errors import UptakeError
from uptake.store.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, normalise_url
from uptake.store.migrate import alembic_config, head_revision, known_revisions, upgrade
from uptake.store.models import Base

#: Alembic's own table: created by the migrations, never copied.
ALEMBIC_TABLE = "alembic_version"
#: Rows read and written at a time.
CHUNK = 2_000


@dataclass(frozen=True)
class WorkflowCopy:
    """What a dump or a restore did: the backend and how, the Alembic revision, rows per table."""

    backend: str
    method: str
    revision: str | None
    tables: dict[str, int] = field(default_factory=dict)


def backend_of(database_url: str) -> str:
    """``sqlite`` or ``postgresql`` (anything else is refused)."""
    backend = normalise_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UptakeError(f"cannot back up or restore a {backend} workflow database; use SQLite or PostgreSQL")
    return backend


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite workflow database URL (in-memory databases are refused)."""
    database = normalise_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise UptakeError(f"the workflow database {database_url!r} is not a SQLite file")
    return Path(database).expanduser().resolve()


# --- dump --------------------------------------------------------------------------------------------------


def dump(database_url: str, target: Path) -> WorkflowCopy:
    """Write a consistent copy of the workflow database at ``database_url`` to the new SQLite file
    ``target``, while the database stays in use."""
    if backend_of(database_url) == "sqlite":
        return _dump_sqlite(sqlite_path(database_url), target)
    return _dump_postgresql(database_url, target)


def _dump_sqlite(source: Path, target: Path) -> WorkflowCopy:
    if not source.is_file():
        raise UptakeError(f"there is no workflow database at {source}; run `uptake init` first")
    src = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # every page in one step: one read transaction, one consistent copy
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file, no -wal beside it
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise UptakeError(f"cannot copy the workflow database {source}: {exc}") from None
    finally:
        src.close()
    revision, tables = describe_file(target)
    if revision is None:
        raise UptakeError(f"the workflow database {source} has never been migrated; run `uptake init` first")
    return WorkflowCopy("sqlite", "sqlite-online-backup", revision, tables)


def _dump_postgresql(database_url: str, target: Path) -> WorkflowCopy:
    engine = make_engine(database_url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as source, source.begin():
            source.exec_driver_sql("SET TRANSACTION READ ONLY")
            source.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            revision = MigrationContext.configure(source).get_current_revision()
            if revision is None:
                raise UptakeError("the workflow database has never been migrated; run `uptake init` first")
            check_revision(revision, "the workflow database")
            target_url = f"sqlite:///{target}"
            upgrade(target_url, revision)
            sink_engine = make_engine(target_url)
            try:
                with sink_engine.connect() as sink, sink.begin():
                    tables = copy_tables(source, sink)
            finally:
                sink_engine.dispose()
    finally:
        engine.dispose()
    con = sqlite3.connect(target)
    try:
        con.execute("PRAGMA journal_mode = DELETE")
    finally:
        con.close()
    return WorkflowCopy("postgresql", "sqlalchemy-repeatable-read", revision, tables)


def describe_file(path: Path) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision of the SQLite workflow database file ``path`` and its rows per table."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [row[0] for row in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        revision = None
        if ALEMBIC_TABLE in names:
            row = con.execute(f"SELECT version_num FROM {ALEMBIC_TABLE}").fetchone()
            revision = row[0] if row else None
        tables = {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                  for name in names if name != ALEMBIC_TABLE}
    except sqlite3.DatabaseError as exc:
        raise UptakeError(f"{path} is not a readable SQLite workflow database: {exc}") from None
    finally:
        con.close()
    return revision, tables


def check_revision(revision: str, what: str) -> None:
    """Refuse a revision this Uptake's migrations do not know: a database made by a newer Uptake."""
    if revision not in known_revisions():
        raise UptakeError(
            f"{what} is at revision {revision}, which this Uptake does not know (its newest is "
            f"{head_revision()}): it was made by a newer Uptake. Upgrade Uptake, then try again."
        )


# --- restore -----------------------------------------------------------------------------------------------


def restore_sqlite(backup_file: Path, target: Path) -> WorkflowCopy:
    """Copy the backup's SQLite file to ``target`` (a new file) and migrate it to the newest revision."""
    if target.exists():
        raise UptakeError(f"{target} already exists")
    revision, tables = describe_file(backup_file)
    shutil.copyfile(backup_file, target)
    upgrade(f"sqlite:///{target}")
    con = sqlite3.connect(target)
    try:
        con.execute("PRAGMA journal_mode = DELETE")  # checkpointed into one file, ready to be moved
    finally:
        con.close()
    return WorkflowCopy("sqlite", "file copy", revision, tables)


def uptake_tables_in(database_url: str) -> list[str]:
    """The Uptake tables (and Alembic's) already in the PostgreSQL database (its first search_path schema)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return _uptake_tables(connection)
    finally:
        engine.dispose()


def _uptake_tables(connection: Connection, extra: Iterable[str] = ()) -> list[str]:
    ours = set(Base.metadata.tables) | {ALEMBIC_TABLE} | set(extra)
    return sorted(set(inspect(connection).get_table_names()) & ours)


def restore_postgresql(backup_file: Path, database_url: str, *, force: bool = False) -> WorkflowCopy:
    """Copy the backup's SQLite file into the PostgreSQL database at ``database_url`` in one transaction:
    the tables created at the backup's revision, the rows copied, the id sequences moved past them, then
    migrated to the newest revision. A database that already has Uptake tables is refused unless
    ``force`` (then they are dropped in the same transaction)."""
    revision, counts = describe_file(backup_file)
    if revision is None:
        raise UptakeError(f"{backup_file} has no Alembic revision: not a workflow database backup")
    check_revision(revision, "the backup's workflow database")
    source_engine = create_engine(f"sqlite:///{backup_file}")
    engine = make_engine(database_url)
    try:
        with engine.connect() as sink, source_engine.connect() as source, sink.begin():
            sink.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            present = _uptake_tables(sink, counts)
            if present and not force:
                raise UptakeError(
                    f"the workflow database already has Uptake tables ({', '.join(present)}); restore into "
                    "an empty database or schema, or pass --force to replace them"
                )
            if present:
                stale = MetaData()
                stale.reflect(sink, only=present)
                stale.drop_all(sink)
            command.upgrade(alembic_config(sink), revision)
            tables = copy_tables(source, sink)
            _move_sequences(sink, tables)
            command.upgrade(alembic_config(sink), "head")
    finally:
        engine.dispose()
        source_engine.dispose()
    return WorkflowCopy("postgresql", "sqlalchemy copy in one transaction", revision, tables)


def _move_sequences(connection: Connection, tables: Iterable[str]) -> None:
    """Set each serial column's sequence past the largest restored id, so new rows get new ids."""
    quote = connection.dialect.identifier_preparer.quote
    for name in tables:
        for column in inspect(connection).get_columns(name):
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": quote(name), "column": column["name"]},
            ).scalar()
            if sequence:
                connection.execute(
                    text(f"SELECT setval(:sequence, COALESCE((SELECT max({quote(column['name'])}) "
                         f"FROM {quote(name)}), 0) + 1, false)"),
                    {"sequence": sequence},
                )


# --- copying rows ------------------------------------------------------------------------------------------


def copy_tables(source: Connection, sink: Connection) -> dict[str, int]:
    """Copy every table of ``source`` (but Alembic's) into the same, empty table of ``sink`` (both at the
    same revision), in foreign-key order; rows per table."""
    found = MetaData()
    found.reflect(source)
    into = MetaData()
    into.reflect(sink)
    counts: dict[str, int] = {}
    for table in found.sorted_tables:
        if table.name == ALEMBIC_TABLE:
            continue
        target = into.tables.get(table.name)
        if target is None:
            raise UptakeError(f"table {table.name} is missing from the database being written")
        counts[table.name] = _copy_table(source, table, sink, target)
    return counts


def _copy_table(source: Connection, table: Table, sink: Connection, target: Table) -> int:
    names = [c.name for c in table.columns if c.name in target.columns]
    keys = [c.name for c in target.primary_key.columns] or names
    # Foreign keys to the table itself are filled in after every row is in (a row may point to a later one).
    later = sorted({fk.parent.name for fk in target.foreign_keys
                    if fk.column.table.name == target.name and fk.parent.name in names})
    sink_sqlite = sink.dialect.name == "sqlite"
    # JSON travels as its text: exact, and SQL NULL stays apart from JSON null.
    columns = [cast(table.c[n], Text).label(n) if isinstance(table.c[n].type, JSON) else table.c[n]
               for n in names]
    values = {}
    for name in names:
        if not isinstance(target.c[name].type, JSON):
            values[name] = bindparam(f"p_{name}")
        elif sink_sqlite:  # stored as the text it is (a CAST would apply the column's numeric affinity)
            values[name] = bindparam(f"p_{name}", type_=Text)
        else:
            values[name] = cast(bindparam(f"p_{name}", type_=Text), target.c[name].type)
    statement = insert(target).values(values)
    times = {n: bool(getattr(target.c[n].type, "timezone", False)) and not sink_sqlite
             for n in names if isinstance(target.c[n].type, DateTime)}
    deferred: list[dict[str, Any]] = []
    copied = 0
    ordered = select(*columns).order_by(*(table.c[k] for k in keys))
    result = source.execution_options(yield_per=CHUNK).execute(ordered)
    for chunk in result.partitions():
        rows = []
        for row in chunk:
            record = dict(row._mapping)
            for name, aware in times.items():
                record[name] = _utc(record[name], aware)
            if later and any(record[n] is not None for n in later):
                deferred.append({**{f"k_{k}": record[k] for k in keys}, **{f"p_{n}": record[n] for n in later}})
                for name in later:
                    record[name] = None
            rows.append({f"p_{n}": record[n] for n in names})
        sink.execute(statement, rows)
        copied += len(rows)
    if deferred:
        condition = [target.c[k] == bindparam(f"k_{k}") for k in keys]
        sink.execute(update(target).where(*condition).values({n: bindparam(f"p_{n}") for n in later}), deferred)
    return copied


def _utc(value: Any, aware: bool) -> Any:
    """A time as the sink stores it: UTC, with the zone for PostgreSQL's timestamptz, without for SQLite."""
    if not isinstance(value, dt.datetime):
        return value
    if aware:
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
