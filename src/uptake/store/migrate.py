"""Run the workflow database's Alembic migrations from Python (`uptake init` calls `upgrade`).

The migration scripts ship inside the package (uptake/store/migrations), so this works from an installed
wheel as well as from a checkout. Developers can also use the Alembic command line with
src/uptake/store/alembic.ini (see docs/workflow-database.md).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from uptake.store.db import make_engine

MIGRATIONS = Path(str(resources.files("uptake.store").joinpath("migrations")))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the bundled migrations, optionally bound to an open connection.

    env.py uses a connection passed here (in `config.attributes`) rather than building its own engine.
    """
    config = Config()
    # ConfigParser interpolates "%": escape it in case the install path contains one.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` to `revision` (the newest by default). Safe to repeat."""
    _run(database_url, lambda config: command.upgrade(config, revision))


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database back to `revision` ("base" removes every table). For development and tests."""
    _run(database_url, lambda config: command.downgrade(config, revision))


def _run(database_url: str, step: Callable[[Config], None]) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            step(alembic_config(connection))
    finally:
        engine.dispose()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None for a database that has never been migrated."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision among the bundled migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations found in {MIGRATIONS}"
    return head


def known_revisions() -> set[str]:
    """Every revision among the bundled migrations."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
