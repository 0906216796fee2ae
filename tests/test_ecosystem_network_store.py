"""Migration 0006 creates exactly the tables of uptake.store.ecosystem_network_models (SQLite and PostgreSQL),
and downgrading to 0004 removes them again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import uptake.store.ecosystem_network_models as models
from uptake.store import Base, current_revision, downgrade, make_engine, upgrade
from uptake.store.migrate import head_revision

TABLES = {"anchor_rounds", "anchor_designations", "anchor_partnerships", "barrier_assessments", "adoption_records"}


def test_models_are_on_the_shared_base() -> None:
    assert TABLES <= set(Base.metadata.tables)
    assert models.AnchorRound.metadata is Base.metadata


def test_migration_0006_matches_the_models(database_url: str) -> None:
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert TABLES <= set(inspect(connection).get_table_names())
            context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_0004_removes_the_tables(database_url: str) -> None:
    upgrade(database_url)
    downgrade(database_url, "0004")
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        assert not TABLES & tables
        assert "value_assessments" in tables
    finally:
        engine.dispose()
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
