"""mission: National Service Frameworks, innovation ratings, comply-or-justify filings, value assessments

Revision ID: 0002
Revises: 0001
Created: 2026-11-22

Generated with Alembic autogenerate from uptake.store.mission_models, then tidied by hand: constraint and
index names are spelled out, as in 0001, so this migration does not change if the naming convention ever
does. tests/test_mission_store.py checks it against the models on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "nsf_frameworks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("condition", sa.String(length=255), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_nsf_frameworks"),
    )

    op.create_table(
        "nsf_framework_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("condition", sa.String(length=255), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("loaded_at", UTC_DATETIME, nullable=False),
        sa.Column("loaded_by", sa.String(length=320), nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_nsf_framework_versions"),
        sa.UniqueConstraint("framework_id", "version", name="uq_nsf_framework_versions_framework_id_version"),
        sa.CheckConstraint(_one_of("status", ("draft", "published")), name="ck_nsf_framework_versions_status"),
        sa.CheckConstraint("end_date > start_date", name="ck_nsf_framework_versions_dates"),
        sa.ForeignKeyConstraint(
            ["framework_id"], ["nsf_frameworks.id"],
            name="fk_nsf_framework_versions_framework_id_nsf_frameworks", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_nsf_framework_versions_framework_id", "nsf_framework_versions", ["framework_id"])

    op.create_table(
        "nsf_commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_version_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("innovation_id", sa.String(length=64), nullable=False),
        sa.Column("indicator_id", sa.String(length=64), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("org_types", sa.JSON(), nullable=True),
        sa.Column("polarity", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("baseline", sa.Double(), nullable=True),
        sa.Column("minimum_standard", sa.Double(), nullable=False),
        sa.Column("target", sa.Double(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_nsf_commitments"),
        sa.UniqueConstraint("framework_version_id", "key", name="uq_nsf_commitments_framework_version_id_key"),
        sa.ForeignKeyConstraint(
            ["framework_version_id"], ["nsf_framework_versions.id"],
            name="fk_nsf_commitments_framework_version_id_nsf_framework_versions", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicators.id"],
            name="fk_nsf_commitments_indicator_id_indicators", ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["innovation_id"], ["innovations.id"],
            name="fk_nsf_commitments_innovation_id_innovations", ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_nsf_commitments_framework_version_id", "nsf_commitments", ["framework_version_id"])
    op.create_index("ix_nsf_commitments_indicator_id", "nsf_commitments", ["indicator_id"])
    op.create_index("ix_nsf_commitments_innovation_id", "nsf_commitments", ["innovation_id"])

    op.create_table(
        "nsf_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_nsf_milestones"),
        sa.UniqueConstraint("commitment_id", "due", name="uq_nsf_milestones_commitment_id_due"),
        sa.ForeignKeyConstraint(
            ["commitment_id"], ["nsf_commitments.id"],
            name="fk_nsf_milestones_commitment_id_nsf_commitments", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_nsf_milestones_commitment_id", "nsf_milestones", ["commitment_id"])

    op.create_table(
        "rating_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_set_id", sa.String(length=64), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("rule_set", sa.JSON(), nullable=False),
        sa.Column("rule_set_sha256", sa.String(length=64), nullable=False),
        sa.Column("frameworks", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("computed_at", UTC_DATETIME, nullable=False),
        sa.Column("computed_by", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rating_runs"),
    )

    op.create_table(
        "innovation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=False),
        sa.Column("org_name", sa.String(length=255), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("rating", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=320), nullable=True),
        sa.Column("reviewed_at", UTC_DATETIME, nullable=True),
        sa.Column("published_by", sa.String(length=320), nullable=True),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_innovation_ratings"),
        sa.UniqueConstraint(
            "run_id", "org_code", "level", "period", name="uq_innovation_ratings_run_id_org_code_level_period"
        ),
        sa.CheckConstraint(
            _one_of("rating", ("outstanding", "good", "requires-improvement", "inadequate")),
            name="ck_innovation_ratings_rating",
        ),
        sa.CheckConstraint(
            _one_of("status", ("draft", "reviewed", "published")), name="ck_innovation_ratings_status"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["rating_runs.id"], name="fk_innovation_ratings_run_id_rating_runs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_innovation_ratings_org", "innovation_ratings", ["org_code", "level", "period"])
    op.create_index("ix_innovation_ratings_run_id", "innovation_ratings", ["run_id"])
    op.create_index("ix_innovation_ratings_status", "innovation_ratings", ["status"])

    op.create_table(
        "cj_filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("commitment_key", sa.String(length=64), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("icb_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("submitted_at", UTC_DATETIME, nullable=True),
        sa.Column("reviewed_by", sa.String(length=320), nullable=True),
        sa.Column("reviewed_at", UTC_DATETIME, nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("published_by", sa.String(length=320), nullable=True),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cj_filings"),
        sa.UniqueConstraint(
            "framework_id", "commitment_key", "icb_code", name="uq_cj_filings_framework_id_commitment_key_icb_code"
        ),
        sa.CheckConstraint(_one_of("kind", ("plan", "justification")), name="ck_cj_filings_kind"),
        sa.CheckConstraint(
            _one_of("status", ("draft", "submitted", "accepted", "challenged", "resubmitted", "published")),
            name="ck_cj_filings_status",
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"], ["nsf_commitments.id"],
            name="fk_cj_filings_commitment_id_nsf_commitments", ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"], ["nsf_frameworks.id"],
            name="fk_cj_filings_framework_id_nsf_frameworks", ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_cj_filings_commitment_id", "cj_filings", ["commitment_id"])
    op.create_index("ix_cj_filings_framework_id", "cj_filings", ["framework_id"])
    op.create_index("ix_cj_filings_icb_code", "cj_filings", ["icb_code"])

    op.create_table(
        "cj_filing_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cj_filing_revisions"),
        sa.ForeignKeyConstraint(
            ["filing_id"], ["cj_filings.id"], name="fk_cj_filing_revisions_filing_id_cj_filings", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_cj_filing_revisions_filing_id", "cj_filing_revisions", ["filing_id"])

    op.create_table(
        "value_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("innovation_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=True),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("icer", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_value_assessments"),
        sa.CheckConstraint(
            _one_of("decision", ("recommended", "optimised", "not-recommended", "only-in-research", "terminated")),
            name="ck_value_assessments_decision",
        ),
        sa.CheckConstraint("scope = 'national' OR org_code IS NOT NULL", name="ck_value_assessments_local_org"),
        sa.CheckConstraint(_one_of("scope", ("national", "local")), name="ck_value_assessments_scope"),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["value_assessments.id"],
            name="fk_value_assessments_duplicate_of_id_value_assessments", ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["innovation_id"], ["innovations.id"],
            name="fk_value_assessments_innovation_id_innovations", ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_value_assessments_duplicate_of_id", "value_assessments", ["duplicate_of_id"])
    op.create_index("ix_value_assessments_innovation_id", "value_assessments", ["innovation_id"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "value_assessments", "cj_filing_revisions", "cj_filings", "innovation_ratings", "rating_runs",
        "nsf_milestones", "nsf_commitments", "nsf_framework_versions", "nsf_frameworks",
    ):
        op.drop_table(table)
