"""simulation scenarios: the policy simulator's saved scenarios with their job status and result

Revision ID: 0009
Revises: 0006
Created: 2026-12-07

Written by hand to match uptake.store.scenario_models. (The brief said down_revision 0004; main already chains
0005 and 0006 after it, so this follows 0006 to keep one head; the coordinator re-chains.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "simulation_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("indicator_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_simulation_scenarios_status"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="ck_simulation_scenarios_progress"),
        sa.PrimaryKeyConstraint("id", name="pk_simulation_scenarios"),
    )


def downgrade() -> None:
    op.drop_table("simulation_scenarios")
