"""Migration 0002 creates exactly the mission tables of uptake.store.mission_models (SQLite and PostgreSQL),
and downgrading to 0001 removes them again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import uptake.store.mission_models as mission_models
from uptake.store import Base, current_revision, downgrade, make_engine, upgrade
from uptake.store.migrate import head_revision

MISSION_TABLES = {
    "nsf_frameworks", "nsf_framework_versions", "nsf_commitments", "nsf_milestones", "rating_runs",
    "innovation_ratings", "cj_filings", "cj_filing_revisions", "value_assessments",
}


def test_mission_models_are_on_the_shared_base() -> None:
    assert MISSION_TABLES <= set(Base.metadata.tables)
    assert mission_models.NsfFramework.metadata is Base.metadata


def test_migration_0002_matches_the_models(database_url: str) -> None:
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()  # 0002, or a later migration on top
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert MISSION_TABLES <= set(inspect(connection).get_table_names())
            context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_0001_removes_the_mission_tables(database_url: str) -> None:
    upgrade(database_url)
    downgrade(database_url, "0001")
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        assert not MISSION_TABLES & tables
        assert "users" in tables
    finally:
        engine.dispose()
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()  # 0002, or a later migration on top
