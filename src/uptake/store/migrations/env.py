"""Alembic environment for the workflow database.

Called two ways:
- from uptake.store.migrate (`uptake init`, tests): an open connection arrives in config.attributes;
- from the Alembic command line with src/uptake/store/alembic.ini: the URL comes from `-x url=...`,
  else UPTAKE_DATABASE_URL, else the workspace's SQLite file (UPTAKE_WORKSPACE).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from uptake.store.db import make_engine, normalise_url
from uptake.store.models import Base, UTCDateTime
from uptake.workspace import Workspace

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url

    return Workspace.resolve().database_url


def _render_item(kind: str, obj: object, autogen_context: object) -> str | bool:
    """Autogenerate writes UTCDateTime as the plain type, so migrations never import model code."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**options: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: autogenerate writes batch operations (copy, drop, rename),
        # which Alembic runs as plain ALTERs on PostgreSQL.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        **options,
    )


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: write the SQL instead of running it."""
    _configure(url=normalise_url(_database_url()), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch operation rebuilds a table (create a copy, drop the original, rename). With foreign
        # keys enforced, dropping a referenced table would delete or cascade to its children, so
        # enforcement is off while migrating and the whole database is checked before committing.
        # The pragma only takes effect outside a transaction, hence the raw DBAPI connection.
        if connection.in_transaction():
            raise RuntimeError("run SQLite migrations on a connection with no transaction begun")
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
    try:
        # With make_engine's SQLite setup, DDL is transactional on SQLite too: one transaction for the
        # whole upgrade, so a failed migration leaves the database as it was.
        _configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows that break foreign keys: {broken[:10]}")
    finally:
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
