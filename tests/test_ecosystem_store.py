"""Migration 0005 creates exactly the frontline tables of uptake.store.ecosystem_award_models (SQLite and
PostgreSQL), and downgrading to 0004 removes them again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import uptake.store.ecosystem_award_models as award_models
from uptake.store import Base, current_revision, downgrade, make_engine, upgrade
from uptake.store.migrate import head_revision

TABLES = {"award_scheme_versions", "award_nominations", "award_rounds", "award_decisions", "innovation_leads",
          "lead_contributions", "innovation_time"}


def test_the_models_are_on_the_shared_base() -> None:
    assert TABLES <= set(Base.metadata.tables)
    assert award_models.AwardNomination.metadata is Base.metadata


def test_migration_0005_matches_the_models_and_goes_back(database_url: str) -> None:
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert TABLES <= set(inspect(connection).get_table_names())
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": True})
            assert compare_metadata(context, Base.metadata) == []
        downgrade(database_url, "0004")
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        assert not TABLES & tables
        assert "web_sessions" in tables
    finally:
        engine.dispose()
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
