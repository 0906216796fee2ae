"""transformation fund: applications and their review steps

Revision ID: 0010
Revises: 0009
Created: 2026-12-07

Written by hand to match uptake.store.fund_models (tests/test_store.py compares the migrated schema with the
models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fund_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=False),
        sa.Column("org_level", sa.String(length=16), nullable=False),
        sa.Column("innovation_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.Column("implementation_costs", sa.JSON(), nullable=False),
        sa.Column("double_running_costs", sa.JSON(), nullable=False),
        sa.Column("decommissioning_costs", sa.JSON(), nullable=False),
        sa.Column("benefit", sa.Double(), nullable=False),
        sa.Column("benefit_low", sa.Double(), nullable=False),
        sa.Column("benefit_high", sa.Double(), nullable=False),
        sa.Column("benefit_source", sa.String(length=32), nullable=False),
        sa.Column("benefit_reference", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer_notes", sa.Text(), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'submitted', 'under-review', 'approved', 'declined', 'justified')",
                           name="ck_fund_applications_status"),
        sa.CheckConstraint("benefit_source IN ('outcome-model', 'simulator-scenario')",
                           name="ck_fund_applications_benefit_source"),
        sa.CheckConstraint("benefit >= 0", name="ck_fund_applications_benefit"),
        sa.PrimaryKeyConstraint("id", name="pk_fund_applications"),
    )
    op.create_index("ix_fund_applications_org_code", "fund_applications", ["org_code"])
    op.create_table(
        "fund_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["fund_applications.id"], ondelete="CASCADE",
                                name="fk_fund_reviews_application_id_fund_applications"),
        sa.PrimaryKeyConstraint("id", name="pk_fund_reviews"),
    )
    op.create_index("ix_fund_reviews_application_id", "fund_reviews", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_fund_reviews_application_id", table_name="fund_reviews")
    op.drop_table("fund_reviews")
    op.drop_index("ix_fund_applications_org_code", table_name="fund_applications")
    op.drop_table("fund_applications")
