"""row versions: optimistic locking of the records people edit (users, comply-or-justify filings, value
assessments)

Revision ID: 0003
Revises: 0002
Created: 2026-11-29

Each table gains `version` (integer, 1 for the rows already there). The models map it as SQLAlchemy's
version_id_col: every update checks the version it read and adds one, so a stale edit changes nothing and
is refused (409) instead of overwriting someone else's change. Written by hand; tests/test_store.py and
tests/test_mission_store.py check it against the models on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "cj_filings", "value_assessments")


def upgrade() -> None:
    for table in TABLES:
        # A server default fills the existing rows (SQLite and PostgreSQL alike), and stays: rows inserted
        # outside the ORM start at 1 too.
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
