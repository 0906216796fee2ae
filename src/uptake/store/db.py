"""Engines and sessions for the workflow database (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session

from uptake.errors import UptakeError


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

    SQLite: foreign keys enforced, write-ahead logging (readers do not block the writer), and real
    transactions: the sqlite3 module's own transaction handling is turned off and SQLAlchemy emits BEGIN,
    so DDL (migrations) and SAVEPOINTs are transactional too (the recipe in SQLAlchemy's SQLite docs).
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
    return create_engine(parsed, **engine_options)


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


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back (changing nothing) if it raises."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
