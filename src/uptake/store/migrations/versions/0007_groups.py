"""custom groups: a user's named set of organisations of one level, with the token of its read-only link

Revision ID: 0007
Revises: 0004
Created: 2026-12-07

Written by hand to match uptake.store.group_models (tests/test_store.py compares the migrated schema with
the models on SQLite and PostgreSQL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "org_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("share_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_org_groups"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_org_groups_owner_id_users", ondelete="CASCADE"),
        sa.UniqueConstraint("share_token", name="uq_org_groups_share_token"),
    )
    op.create_index("ix_org_groups_owner_id", "org_groups", ["owner_id"])
    op.create_table(
        "org_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "org_code", name="pk_org_group_members"),
        sa.ForeignKeyConstraint(["group_id"], ["org_groups.id"], name="fk_org_group_members_group_id_org_groups",
                                ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("org_group_members")
    op.drop_table("org_groups")
