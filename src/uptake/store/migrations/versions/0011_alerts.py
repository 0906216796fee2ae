"""alerts: subscriptions to an organisation, an innovation or a group, and the digests sent

Revision ID: 0011
Revises: 0010
Created: 2026-12-07

Written by hand to match uptake.store.alert_models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("target_kind IN ('organisation', 'innovation', 'group')",
                           name="ck_alert_subscriptions_target_kind"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_alert_subscriptions_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_subscriptions"),
        sa.UniqueConstraint("user_id", "target_kind", "target_id",
                            name="uq_alert_subscriptions_user_id_target_kind_target_id"),
    )
    op.create_index("ix_alert_subscriptions_user_id", "alert_subscriptions", ["user_id"])
    op.create_table(
        "alert_sent_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("unsubscribe_token_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_alert_sent_digests_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_sent_digests"),
        sa.UniqueConstraint("user_id", "publication_id", name="uq_alert_sent_digests_user_id_publication_id"),
        sa.UniqueConstraint("unsubscribe_token_sha256", name="uq_alert_sent_digests_unsubscribe_token_sha256"),
    )
    op.create_index("ix_alert_sent_digests_user_id", "alert_sent_digests", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_sent_digests_user_id", table_name="alert_sent_digests")
    op.drop_table("alert_sent_digests")
    op.drop_index("ix_alert_subscriptions_user_id", table_name="alert_subscriptions")
    op.drop_table("alert_subscriptions")
