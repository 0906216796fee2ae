"""networks, barriers, adopters: Health Innovation Challenge rounds (designations, partnerships), barrier
assessments, the adoption and adaptation log

Revision ID: 0006
Revises: 0004
Created: 2026-12-07

Written by hand to match uptake.store.ecosystem_network_models, with constraint and index names spelled
out as in 0001 and 0002. tests/test_ecosystem_network_store.py checks it against the models (SQLite and
PostgreSQL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)
BARRIER_LEVELS = ("absent", "present", "major")
NASSS_LEVELS = ("simple", "complicated", "complex")
BARRIERS = ("risk_averse_culture", "complexity_not_invented_here", "lack_of_resource")
NASSS = ("nasss_condition", "nasss_technology", "nasss_value_proposition", "nasss_adopters",
         "nasss_organisation", "nasss_wider_system", "nasss_embedding")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "anchor_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("indicator_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("funding_per_partnership", sa.Double(), nullable=False),
        sa.Column("weight_distance", sa.Double(), nullable=False),
        sa.Column("weight_dissimilarity", sa.Double(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("capacity >= 1", name="ck_anchor_rounds_capacity"),
        sa.CheckConstraint("funding_per_partnership >= 0", name="ck_anchor_rounds_funding"),
        sa.CheckConstraint("weight_distance >= 0 AND weight_dissimilarity >= 0", name="ck_anchor_rounds_weights"),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicators.id"], name="fk_anchor_rounds_indicator_id_indicators",
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_anchor_rounds"),
    )
    op.create_table(
        "anchor_designations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("footprint_code", sa.String(length=64), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=False),
        sa.Column("designated", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("because", sa.Text(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["anchor_rounds.id"], name="fk_anchor_designations_round_id_anchor_rounds",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_anchor_designations"),
        sa.UniqueConstraint("round_id", "org_code", name="uq_anchor_designations_round_id_org_code"),
    )
    op.create_index("ix_anchor_designations_round_id", "anchor_designations", ["round_id"])
    op.create_table(
        "anchor_partnerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("footprint_code", sa.String(length=64), nullable=False),
        sa.Column("anchor_code", sa.String(length=64), nullable=False),
        sa.Column("partner_code", sa.String(length=64), nullable=False),
        sa.Column("distance_km", sa.Double(), nullable=False),
        sa.Column("dissimilarity", sa.Double(), nullable=False),
        sa.Column("cost", sa.Double(), nullable=False),
        sa.Column("funding_pounds", sa.Double(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.CheckConstraint("funding_pounds >= 0", name="ck_anchor_partnerships_funding"),
        sa.ForeignKeyConstraint(["round_id"], ["anchor_rounds.id"], name="fk_anchor_partnerships_round_id_anchor_rounds",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_anchor_partnerships"),
        sa.UniqueConstraint("round_id", "partner_code", name="uq_anchor_partnerships_round_id_partner_code"),
    )
    op.create_index("ix_anchor_partnerships_round_id", "anchor_partnerships", ["round_id"])
    op.create_table(
        "barrier_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=False),
        sa.Column("innovation_id", sa.String(length=64), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        *[sa.Column(c, sa.String(length=16), nullable=False) for c in BARRIERS + NASSS],
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        *[sa.CheckConstraint(_one_of(c, BARRIER_LEVELS), name=f"ck_barrier_assessments_{c}") for c in BARRIERS],
        *[sa.CheckConstraint(_one_of(c, NASSS_LEVELS), name=f"ck_barrier_assessments_{c}") for c in NASSS],
        sa.ForeignKeyConstraint(["innovation_id"], ["innovations.id"],
                                name="fk_barrier_assessments_innovation_id_innovations", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_barrier_assessments"),
    )
    op.create_index("ix_barrier_assessments_org_code", "barrier_assessments", ["org_code"])
    op.create_index("ix_barrier_assessments_innovation_id", "barrier_assessments", ["innovation_id"])
    op.create_table(
        "adoption_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=False),
        sa.Column("innovation_id", sa.String(length=64), nullable=False),
        sa.Column("adopted_on", sa.Date(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("adaptations", sa.Text(), nullable=False),
        sa.Column("cost_pounds", sa.Double(), nullable=True),
        sa.Column("contact_name", sa.String(length=255), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("cost_pounds IS NULL OR cost_pounds >= 0", name="ck_adoption_records_cost"),
        sa.ForeignKeyConstraint(["innovation_id"], ["innovations.id"],
                                name="fk_adoption_records_innovation_id_innovations", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_adoption_records"),
    )
    op.create_index("ix_adoption_records_org_code", "adoption_records", ["org_code"])
    op.create_index("ix_adoption_records_innovation_id", "adoption_records", ["innovation_id"])


def downgrade() -> None:
    op.drop_table("adoption_records")
    op.drop_table("barrier_assessments")
    op.drop_table("anchor_partnerships")
    op.drop_table("anchor_designations")
    op.drop_table("anchor_rounds")
