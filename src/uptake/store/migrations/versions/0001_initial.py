"""initial: organisations and their hierarchy, catalogue, users, API tokens, audit

Revision ID: 0001
Revises:
Created: 2026-11-22

Written by hand and checked against the models by tests/test_store.py (compare_metadata, SQLite and
PostgreSQL). Constraint and index names follow the naming convention in uptake.store.models; they are
spelled out here so this migration does not change if the convention ever does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type; migrations use the plain type so they never import
# model code (models change, migrations must not).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ons_code", sa.String(length=16), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("imd_score", sa.Double(), nullable=True),
        sa.Column("imd_quintile", sa.SmallInteger(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("trust_type", sa.String(length=32), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("code", "valid_from", name="uq_organisations_code_valid_from"),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name="ck_organisations_valid_dates"
        ),
        sa.CheckConstraint(
            "imd_quintile IS NULL OR imd_quintile BETWEEN 1 AND 5", name="ck_organisations_imd_quintile"
        ),
    )
    op.create_index("ix_organisations_level", "organisations", ["level"])

    op.create_table(
        "org_relationships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_code", sa.String(length=64), nullable=False),
        sa.Column("child_level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=False),
        sa.Column("parent_level", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_org_relationships"),
        sa.UniqueConstraint(
            "child_code", "child_level", "parent_code", "parent_level", "valid_from",
            name="uq_org_relationships_version",
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name="ck_org_relationships_valid_dates"
        ),
    )
    op.create_index("ix_org_relationships_parent", "org_relationships", ["parent_code", "parent_level"])

    op.create_table(
        "innovations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pathway_stage", sa.String(length=32), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("nice_reference", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_innovations"),
    )

    op.create_table(
        "indicators",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("innovation_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("polarity", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_indicators"),
        sa.ForeignKeyConstraint(
            ["innovation_id"], ["innovations.id"],
            name="fk_indicators_innovation_id_innovations", ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_indicators_innovation_id", "indicators", ["innovation_id"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("scope_org_code", sa.String(length=64), nullable=True),
        sa.Column("scope_innovation", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint(
            "role IN ('national-admin', 'icb-analyst', 'provider-lead', 'innovator')", name="ck_users_role"
        ),
        sa.ForeignKeyConstraint(
            ["scope_innovation"], ["innovations.id"],
            name="fk_users_scope_innovation_innovations", ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_users_scope_innovation", "users", ["scope_innovation"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "audit_events", "api_tokens", "users", "indicators", "innovations", "org_relationships",
        "organisations",
    ):
        op.drop_table(table)
