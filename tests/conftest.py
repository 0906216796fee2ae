"""Shared fixtures.

Workflow database: `database_url` runs a test once on a fresh SQLite file and once on PostgreSQL, in a
schema of its own that is dropped afterwards (so tests can run in parallel and leave nothing behind).
PostgreSQL needs UPTAKE_TEST_DATABASE_URL, e.g. postgresql://postgres@127.0.0.1:5432/test; without it
the PostgreSQL variants skip. Select or exclude them with `-m postgres` / `-m "not postgres"`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

POSTGRES_ENV = "UPTAKE_TEST_DATABASE_URL"
POSTGRES_SKIP = "set UPTAKE_TEST_DATABASE_URL=postgresql://... to run the PostgreSQL tests"


def _sqlite_url(directory: Path) -> Iterator[str]:
    yield f"sqlite:///{directory / 'workflow.sqlite'}"


def _postgres_url() -> Iterator[str]:
    from uptake.store.db import normalise_url

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP)
    server = normalise_url(base)
    schema = f"test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # Every connection made from this URL works in the test's schema only.
        url = server.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty workflow database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield from _sqlite_url(tmp_path)
    else:
        yield from _postgres_url()


@pytest.fixture
def workflow_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a workflow database migrated to the newest revision (disposed afterwards)."""
    from uptake.store import make_engine, upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()
