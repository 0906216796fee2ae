"""Workflow tables of the frontline ecosystem's people side (uptake.ecosystem.award, .leads, .time): the
Innovation Award (scheme versions, nominations, award rounds and their decisions), innovation leads and their
contributions to spread, and ringfenced time to innovate.

On the shared `Base`, like uptake.store.mission_models; migration 0005 creates them (tests/test_ecosystem_store.py
compares the migrated schema with these models on SQLite and PostgreSQL). Vocabularies are stored as their
string values and checked by the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from uptake.store.models import CODE, EMAIL, SLUG, Base, UTCDateTime, utcnow, version_column

PREFER_NOT = "prefer-not-to-say"
NOMINEE_KINDS = ("person", "team")
#: The groups a nomination records for the fairness audit (of the person, or of a team's lead), each with
#: "prefer not to say". Ethnic groups are the five high-level groups of the 2021 Census (ONS).
GROUPS: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male", "other", PREFER_NOT),
    "ethnic_group": ("asian", "black", "mixed", "white", "other", PREFER_NOT),
    "profession": ("doctor", "nurse-or-midwife", "allied-health-professional", "pharmacist",
                   "healthcare-scientist", "manager", "other", PREFER_NOT),
    "region": ("east-of-england", "london", "midlands", "north-east-and-yorkshire", "north-west", "south-east",
               "south-west", PREFER_NOT),
    "trust_type": ("acute", "mental-health", "community", "ambulance", "primary-care", "other", PREFER_NOT),
}
CONTRIBUTION_KINDS = ("adopted", "adapted", "taught")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


# --- the Innovation Award ---------------------------------------------------------------------------------


class AwardSchemeVersion(Base):
    """One version of an award scheme, kept for ever: the YAML definition as loaded, who and when."""

    __tablename__ = "award_scheme_versions"
    __table_args__ = (UniqueConstraint("scheme_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[str] = mapped_column(String(SLUG), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    #: uptake.ecosystem.award.Scheme.model_dump(mode="json")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str] = mapped_column(String(EMAIL))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AwardNomination(Base):
    """A team or person nominated by a provider lead, with evidence, for one commitment of a framework."""

    __tablename__ = "award_nominations"
    __table_args__ = (
        CheckConstraint(_one_of("nominee_kind", NOMINEE_KINDS), name="nominee_kind"),
        *(CheckConstraint(_one_of(column, values), name=column) for column, values in GROUPS.items()),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[str] = mapped_column(String(SLUG), index=True)
    scheme_version: Mapped[int] = mapped_column(Integer)
    nominee_name: Mapped[str] = mapped_column(String(255))
    nominee_kind: Mapped[str] = mapped_column(String(16))
    org_code: Mapped[str] = mapped_column(String(CODE), index=True)
    framework_id: Mapped[str] = mapped_column(String(SLUG))
    commitment_key: Mapped[str] = mapped_column(String(SLUG))
    evidence: Mapped[str] = mapped_column(Text)
    sex: Mapped[str] = mapped_column(String(32))
    ethnic_group: Mapped[str] = mapped_column(String(32))
    profession: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    trust_type: Mapped[str] = mapped_column(String(32))
    #: a made-up nomination (the demo's): labelled SYNTHETIC wherever shown
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AwardRound(Base):
    """The awards of one scheme version as decided by a national admin: every nomination's rank, score,
    level and amount, within the budget."""

    __tablename__ = "award_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[str] = mapped_column(String(SLUG), index=True)
    scheme_version: Mapped[int] = mapped_column(Integer)
    budget_pounds: Mapped[float] = mapped_column(Double)
    awarded_pounds: Mapped[float] = mapped_column(Double)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[str] = mapped_column(String(EMAIL))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    decisions: Mapped[list[AwardDecision]] = relationship(
        back_populates="round", order_by="AwardDecision.rank", passive_deletes=True
    )


class AwardDecision(Base):
    __tablename__ = "award_decisions"
    __table_args__ = (UniqueConstraint("round_id", "nomination_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("award_rounds.id", ondelete="CASCADE"), index=True)
    nomination_id: Mapped[int] = mapped_column(
        ForeignKey("award_nominations.id", ondelete="RESTRICT"), index=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Double)
    #: the award level's id, or None (not awarded)
    level: Mapped[str | None] = mapped_column(String(SLUG))
    amount_pounds: Mapped[float] = mapped_column(Double)
    #: each criterion's score and its source, as scored (uptake.ecosystem.award.Scored)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)

    round: Mapped[AwardRound] = relationship(back_populates="decisions")


# --- innovation leads ---------------------------------------------------------------------------------------


class InnovationLead(Base):
    """A person an organisation names as its innovation lead."""

    __tablename__ = "innovation_leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(CODE), index=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(EMAIL))
    job_title: Mapped[str] = mapped_column(String(255))
    started_on: Mapped[dt.date] = mapped_column(Date)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    contributions: Mapped[list[LeadContribution]] = relationship(
        back_populates="lead", order_by="LeadContribution.occurred_on", passive_deletes=True
    )


class LeadContribution(Base):
    """A lead's contribution to spread: an innovation adopted, adapted, or taught to a peer organisation,
    linked to the commitment whose results show it."""

    __tablename__ = "lead_contributions"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CONTRIBUTION_KINDS), name="kind"),
        CheckConstraint("kind <> 'taught' OR peer_org_code IS NOT NULL", name="taught_peer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("innovation_leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    innovation_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("innovations.id", ondelete="RESTRICT"), index=True
    )
    framework_id: Mapped[str | None] = mapped_column(String(SLUG))
    commitment_key: Mapped[str | None] = mapped_column(String(SLUG))
    #: the peer organisation taught (kind "taught")
    peer_org_code: Mapped[str | None] = mapped_column(String(CODE))
    description: Mapped[str] = mapped_column(Text)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    #: ids of the competency statements it evidences (uptake.ecosystem.leads)
    competencies: Mapped[list[str]] = mapped_column(JSON)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[InnovationLead] = relationship(back_populates="contributions")


# --- time to innovate ---------------------------------------------------------------------------------------


class InnovationTime(Base):
    """An organisation's ringfenced time to innovate in one financial year: planned, and (later) used."""

    __tablename__ = "innovation_time"
    __table_args__ = (
        UniqueConstraint("org_code", "year_start"),
        CheckConstraint("planned_share >= 0 AND planned_share <= 1", name="planned_share"),
        CheckConstraint("used_share IS NULL OR (used_share >= 0 AND used_share <= 1)", name="used_share"),
        CheckConstraint("planned_hours >= 0 AND planned_hours <= 37.5", name="planned_hours"),
        CheckConstraint("used_hours IS NULL OR (used_hours >= 0 AND used_hours <= 37.5)", name="used_hours"),
        CheckConstraint("staff_fte > 0", name="staff_fte"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(CODE), index=True)
    #: 1 April of the financial year
    year_start: Mapped[dt.date] = mapped_column(Date)
    staff_fte: Mapped[float] = mapped_column(Double)
    staff_source: Mapped[str] = mapped_column(String(255))
    planned_share: Mapped[float] = mapped_column(Double)
    planned_hours: Mapped[float] = mapped_column(Double)
    used_share: Mapped[float | None] = mapped_column(Double)
    used_hours: Mapped[float | None] = mapped_column(Double)
    #: mean annual pay per full-time equivalent, pounds
    annual_pay: Mapped[float] = mapped_column(Double)
    pay_source: Mapped[str] = mapped_column(String(255))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(EMAIL))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = version_column()

    __mapper_args__ = {"version_id_col": version}
