"""Engines and sessions for the workflow database (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from uptake.errors import Conflict, UptakeError

#: How long a SQLite connection waits for another connection's write lock before giving up
#: ("database is locked"), in milliseconds. Writes are short (a filing, an audit event); the longest is a
#: national reference sync (about 2 s), so writers queue behind it instead of failing.
SQLITE_BUSY_TIMEOUT_MS = 15_000

#: Execution option naming how a SQLite transaction begins ("DEFERRED" or "IMMEDIATE"); see session_scope.
SQLITE_BEGIN = "uptake_sqlite_begin"


def normalise_url(url: str | URL) -> URL:
    """The SQLAlchemy URL to use: plain `postgresql://` (or `postgres://`) URLs get the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError, with the URL in the message
        raise UptakeError(f"not a database URL: {url!r} ({exc}); use e.g. postgresql://user@host/db") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **engine_options: Any) -> Engine:
    """An engine for the workflow database at `url`.

    SQLite: foreign keys enforced, write-ahead logging (readers do not block the writer), a busy timeout
    (a writer waits up to SQLITE_BUSY_TIMEOUT_MS for another writer to finish instead of failing), and real
    transactions: the sqlite3 module's own transaction handling is turned off and SQLAlchemy emits BEGIN,
    so DDL (migrations) and SAVEPOINTs are transactional too (the recipe in SQLAlchemy's SQLite docs).
    A connection with the execution option ``uptake_sqlite_begin="IMMEDIATE"`` begins with BEGIN IMMEDIATE
    (``session_scope(engine, write=True)`` sets it).
    PostgreSQL: psycopg 3, with connections checked before use.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_directory(parsed)
        engine = create_engine(parsed, **engine_options)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    engine_options.setdefault("pool_pre_ping", True)
    engine = create_engine(parsed, **engine_options)
    event.listen(engine, "before_cursor_execute", _refuse_nul_text)
    return engine


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul_text(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
                     _executemany: bool) -> None:
    """PostgreSQL text cannot hold a NUL character (psycopg raises a DataError, a 500 to a web user): say so
    as the user's error before the statement runs. SQLite stores it, so both answer without a server error."""
    if _has_nul(parameters):
        raise UptakeError("text with a NUL character (\\x00) can neither be stored nor looked up; remove it")


def _check_sqlite_directory(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    directory = Path(database).expanduser().resolve().parent
    if not directory.is_dir():
        raise UptakeError(
            f"cannot open the workflow database {database}: directory {directory} does not exist "
            "(create the workspace with `uptake init`, or set UPTAKE_DATABASE_URL)"
        )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_on_begin); statements below run immediately.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    dbapi_connection.execute("PRAGMA journal_mode = WAL")  # answers "memory" for in-memory databases
    dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")


def _sqlite_on_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back (changing nothing) if it raises.

    ``write=True`` for a unit of work that reads and then writes (an edit, a workflow step): on SQLite the
    transaction begins with BEGIN IMMEDIATE, taking the write lock first, so concurrent writers queue (for
    up to the busy timeout) instead of one failing with "database is locked" when it tries to write what it
    read. A plain (deferred) transaction only waits for the lock when its first statement writes. No effect
    on PostgreSQL, where row locks and the version checks below do the same.

    A record edited by someone else since this session read it (a version column: optimistic locking)
    raises ``uptake.errors.Conflict`` ("someone else changed this; reload"), and nothing is written.
    """
    bind = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) if write else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict() from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
