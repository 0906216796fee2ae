"""frontline people: the Innovation Award (scheme versions, nominations, rounds, decisions), innovation leads
and their contributions, ringfenced time to innovate

Revision ID: 0005
Revises: 0004
Created: 2026-12-07

Generated with Alembic autogenerate from uptake.store.ecosystem_award_models, names spelled out as in 0001;
tests/test_ecosystem_store.py checks it against the models on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# uptake.store.models.UTCDateTime stores this type (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)

TABLES = ("lead_contributions", "award_decisions", "innovation_time", "innovation_leads", "award_scheme_versions",
          "award_rounds", "award_nominations")


def upgrade() -> None:
    op.create_table('award_nominations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.String(length=64), nullable=False),
    sa.Column('scheme_version', sa.Integer(), nullable=False),
    sa.Column('nominee_name', sa.String(length=255), nullable=False),
    sa.Column('nominee_kind', sa.String(length=16), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('framework_id', sa.String(length=64), nullable=False),
    sa.Column('commitment_key', sa.String(length=64), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('sex', sa.String(length=32), nullable=False),
    sa.Column('ethnic_group', sa.String(length=32), nullable=False),
    sa.Column('profession', sa.String(length=32), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('trust_type', sa.String(length=32), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.CheckConstraint("ethnic_group IN ('asian', 'black', 'mixed', 'white', 'other', 'prefer-not-to-say')", name='ck_award_nominations_ethnic_group'),
    sa.CheckConstraint("nominee_kind IN ('person', 'team')", name='ck_award_nominations_nominee_kind'),
    sa.CheckConstraint("profession IN ('doctor', 'nurse-or-midwife', 'allied-health-professional', 'pharmacist', 'healthcare-scientist', 'manager', 'other', 'prefer-not-to-say')", name='ck_award_nominations_profession'),
    sa.CheckConstraint("region IN ('east-of-england', 'london', 'midlands', 'north-east-and-yorkshire', 'north-west', 'south-east', 'south-west', 'prefer-not-to-say')", name='ck_award_nominations_region'),
    sa.CheckConstraint("sex IN ('female', 'male', 'other', 'prefer-not-to-say')", name='ck_award_nominations_sex'),
    sa.CheckConstraint("trust_type IN ('acute', 'mental-health', 'community', 'ambulance', 'primary-care', 'other', 'prefer-not-to-say')", name='ck_award_nominations_trust_type'),
    sa.PrimaryKeyConstraint('id', name='pk_award_nominations')
    )
    op.create_index('ix_award_nominations_org_code', 'award_nominations', ['org_code'])
    op.create_index('ix_award_nominations_scheme_id', 'award_nominations', ['scheme_id'])
    op.create_table('award_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.String(length=64), nullable=False),
    sa.Column('scheme_version', sa.Integer(), nullable=False),
    sa.Column('budget_pounds', sa.Double(), nullable=False),
    sa.Column('awarded_pounds', sa.Double(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('decided_by', sa.String(length=320), nullable=False),
    sa.Column('decided_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name='pk_award_rounds')
    )
    op.create_index('ix_award_rounds_scheme_id', 'award_rounds', ['scheme_id'])
    op.create_table('award_scheme_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_by', sa.String(length=320), nullable=False),
    sa.Column('loaded_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name='pk_award_scheme_versions'),
    sa.UniqueConstraint('scheme_id', 'version', name='uq_award_scheme_versions_scheme_id_version')
    )
    op.create_index('ix_award_scheme_versions_scheme_id', 'award_scheme_versions', ['scheme_id'])
    op.create_table('innovation_leads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('job_title', sa.String(length=255), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name='pk_innovation_leads')
    )
    op.create_index('ix_innovation_leads_org_code', 'innovation_leads', ['org_code'])
    op.create_table('innovation_time',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('year_start', sa.Date(), nullable=False),
    sa.Column('staff_fte', sa.Double(), nullable=False),
    sa.Column('staff_source', sa.String(length=255), nullable=False),
    sa.Column('planned_share', sa.Double(), nullable=False),
    sa.Column('planned_hours', sa.Double(), nullable=False),
    sa.Column('used_share', sa.Double(), nullable=True),
    sa.Column('used_hours', sa.Double(), nullable=True),
    sa.Column('annual_pay', sa.Double(), nullable=False),
    sa.Column('pay_source', sa.String(length=255), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.CheckConstraint('planned_hours >= 0 AND planned_hours <= 37.5', name='ck_innovation_time_planned_hours'),
    sa.CheckConstraint('planned_share >= 0 AND planned_share <= 1', name='ck_innovation_time_planned_share'),
    sa.CheckConstraint('staff_fte > 0', name='ck_innovation_time_staff_fte'),
    sa.CheckConstraint('used_hours IS NULL OR (used_hours >= 0 AND used_hours <= 37.5)', name='ck_innovation_time_used_hours'),
    sa.CheckConstraint('used_share IS NULL OR (used_share >= 0 AND used_share <= 1)', name='ck_innovation_time_used_share'),
    sa.PrimaryKeyConstraint('id', name='pk_innovation_time'),
    sa.UniqueConstraint('org_code', 'year_start', name='uq_innovation_time_org_code_year_start')
    )
    op.create_index('ix_innovation_time_org_code', 'innovation_time', ['org_code'])
    op.create_table('award_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('nomination_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('level', sa.String(length=64), nullable=True),
    sa.Column('amount_pounds', sa.Double(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['nomination_id'], ['award_nominations.id'], name='fk_award_decisions_nomination_id_award_nominations', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['round_id'], ['award_rounds.id'], name='fk_award_decisions_round_id_award_rounds', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_award_decisions'),
    sa.UniqueConstraint('round_id', 'nomination_id', name='uq_award_decisions_round_id_nomination_id')
    )
    op.create_index('ix_award_decisions_nomination_id', 'award_decisions', ['nomination_id'])
    op.create_index('ix_award_decisions_round_id', 'award_decisions', ['round_id'])
    op.create_table('lead_contributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('innovation_id', sa.String(length=64), nullable=False),
    sa.Column('framework_id', sa.String(length=64), nullable=True),
    sa.Column('commitment_key', sa.String(length=64), nullable=True),
    sa.Column('peer_org_code', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('competencies', sa.JSON(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.CheckConstraint("kind <> 'taught' OR peer_org_code IS NOT NULL", name='ck_lead_contributions_taught_peer'),
    sa.CheckConstraint("kind IN ('adopted', 'adapted', 'taught')", name='ck_lead_contributions_kind'),
    sa.ForeignKeyConstraint(['innovation_id'], ['innovations.id'], name='fk_lead_contributions_innovation_id_innovations', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['lead_id'], ['innovation_leads.id'], name='fk_lead_contributions_lead_id_innovation_leads', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_lead_contributions')
    )
    op.create_index('ix_lead_contributions_innovation_id', 'lead_contributions', ['innovation_id'])
    op.create_index('ix_lead_contributions_lead_id', 'lead_contributions', ['lead_id'])


def downgrade() -> None:
    for table in TABLES:  # children first
        op.drop_table(table)
