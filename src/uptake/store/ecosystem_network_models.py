"""Workflow tables of the frontline ecosystem's networks, barriers and adopters (uptake.ecosystem.anchors,
.barriers and .adopters): Health Innovation Challenge rounds (anchors designated by a versioned rule, with
its trace, and the partnerships matched within each footprint), barrier assessments (the IPPR three
barriers and the NASSS domains, per organisation and innovation) and the adoption and adaptation log.

They live on the same `Base` (and naming convention) as uptake.store.models, so one Alembic history covers
them; migration 0006 creates them. Vocabularies are stored as their string values and checked by the
database.
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

from uptake.store.models import CODE, EMAIL, SLUG, Base, UTCDateTime, utcnow

#: How present one of the IPPR's three barriers is, for an organisation and an innovation.
BARRIER_LEVELS = ("absent", "present", "major")
#: How a NASSS domain is (Greenhalgh et al. 2017): simple, complicated or complex.
NASSS_LEVELS = ("simple", "complicated", "complex")
#: The IPPR's three barriers to spread (The innovation lottery, 2020, section 3): column -> label.
IPPR_BARRIERS: dict[str, str] = {
    "risk_averse_culture": "A risk-averse culture (targets and performance management)",
    "complexity_not_invented_here": "Complexity, few networks and 'not invented here'",
    "lack_of_resource": "A lack of resource, including financial support",
}
#: The seven NASSS domains: column -> label.
NASSS_DOMAINS: dict[str, str] = {
    "nasss_condition": "The condition",
    "nasss_technology": "The technology",
    "nasss_value_proposition": "The value proposition",
    "nasss_adopters": "The adopters (staff, patients, carers)",
    "nasss_organisation": "The organisation",
    "nasss_wider_system": "The wider system",
    "nasss_embedding": "Embedding and adaptation over time",
}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


# --- Health Innovation Challenge -------------------------------------------------------------------


class AnchorRound(Base):
    """One round of the Health Innovation Challenge for one NSF priority and indicator: the rule that
    designated the anchors (id and version), the anchors' capacity, the matching's weights and the pilot
    funding each partnership receives."""

    __tablename__ = "anchor_rounds"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("funding_per_partnership >= 0", name="funding"),
        CheckConstraint("weight_distance >= 0 AND weight_dissimilarity >= 0", name="weights"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    #: the NSF priority (uptake.mission framework id) the round serves
    framework_id: Mapped[str] = mapped_column(String(SLUG))
    indicator_id: Mapped[str] = mapped_column(String(SLUG), ForeignKey("indicators.id", ondelete="RESTRICT"))
    level: Mapped[str] = mapped_column(String(16))
    #: the latest period of the results the designation read
    period: Mapped[dt.date] = mapped_column(Date)
    rule_id: Mapped[str] = mapped_column(String(SLUG))
    rule_version: Mapped[int] = mapped_column(Integer)
    #: partners an anchor can take on
    capacity: Mapped[int] = mapped_column(Integer)
    #: pilot funding each partnership receives, pounds
    funding_per_partnership: Mapped[float] = mapped_column(Double)
    weight_distance: Mapped[float] = mapped_column(Double)
    weight_dissimilarity: Mapped[float] = mapped_column(Double)
    #: a demonstration round (its records are labelled DEMO)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    designations: Mapped[list[AnchorDesignation]] = relationship(
        back_populates="round", cascade="all, delete-orphan", passive_deletes=True,
        order_by="AnchorDesignation.id")
    partnerships: Mapped[list[AnchorPartnership]] = relationship(
        back_populates="round", cascade="all, delete-orphan", passive_deletes=True,
        order_by="AnchorPartnership.id")

    def __repr__(self) -> str:
        return f"<AnchorRound {self.id} {self.indicator_id} {self.period}>"


class AnchorDesignation(Base):
    """Each organisation of each footprint the rule was evaluated for: designated or not, the rule that
    decided, the facts and the trace of every rule (so the decision can be re-evaluated)."""

    __tablename__ = "anchor_designations"
    __table_args__ = (UniqueConstraint("round_id", "org_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("anchor_rounds.id", ondelete="CASCADE"), index=True)
    footprint_code: Mapped[str] = mapped_column(String(CODE))
    org_code: Mapped[str] = mapped_column(String(CODE))
    designated: Mapped[bool] = mapped_column(Boolean)
    #: the id of the rule that decided (or "default")
    decided_by: Mapped[str] = mapped_column(String(SLUG))
    because: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    trace: Mapped[list[Any]] = mapped_column(JSON)

    round: Mapped[AnchorRound] = relationship(back_populates="designations")


class AnchorPartnership(Base):
    """An anchor and a partner matched within a footprint, why (distance, dissimilarity, the cost the
    assignment minimised, the next best anchor) and the pilot funding it receives."""

    __tablename__ = "anchor_partnerships"
    __table_args__ = (
        UniqueConstraint("round_id", "partner_code"),
        CheckConstraint("funding_pounds >= 0", name="funding"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("anchor_rounds.id", ondelete="CASCADE"), index=True)
    footprint_code: Mapped[str] = mapped_column(String(CODE))
    anchor_code: Mapped[str] = mapped_column(String(CODE))
    partner_code: Mapped[str] = mapped_column(String(CODE))
    distance_km: Mapped[float] = mapped_column(Double)
    dissimilarity: Mapped[float] = mapped_column(Double)
    cost: Mapped[float] = mapped_column(Double)
    funding_pounds: Mapped[float] = mapped_column(Double)
    explanation: Mapped[str] = mapped_column(Text)

    round: Mapped[AnchorRound] = relationship(back_populates="partnerships")


# --- barriers -------------------------------------------------------------------------------------------


class BarrierAssessment(Base):
    """An organisation's assessment of what stands in the way of one innovation: the IPPR's three barriers
    (absent, present, major) and the seven NASSS domains (simple, complicated, complex)."""

    __tablename__ = "barrier_assessments"
    __table_args__ = tuple(
        [CheckConstraint(_one_of(c, BARRIER_LEVELS), name=c) for c in IPPR_BARRIERS]
        + [CheckConstraint(_one_of(c, NASSS_LEVELS), name=c) for c in NASSS_DOMAINS]
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(CODE), index=True)
    innovation_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("innovations.id", ondelete="RESTRICT"), index=True)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    risk_averse_culture: Mapped[str] = mapped_column(String(16))
    complexity_not_invented_here: Mapped[str] = mapped_column(String(16))
    lack_of_resource: Mapped[str] = mapped_column(String(16))
    nasss_condition: Mapped[str] = mapped_column(String(16))
    nasss_technology: Mapped[str] = mapped_column(String(16))
    nasss_value_proposition: Mapped[str] = mapped_column(String(16))
    nasss_adopters: Mapped[str] = mapped_column(String(16))
    nasss_organisation: Mapped[str] = mapped_column(String(16))
    nasss_wider_system: Mapped[str] = mapped_column(String(16))
    nasss_embedding: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    #: a demonstration record (labelled SYNTHETIC wherever shown)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- adopters -------------------------------------------------------------------------------------------


class AdoptionRecord(Base):
    """An entry of the adoption and adaptation log: what an organisation adopted and when, what it changed
    to make it work locally, what it cost and whom to contact."""

    __tablename__ = "adoption_records"
    __table_args__ = (CheckConstraint("cost_pounds IS NULL OR cost_pounds >= 0", name="cost"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(CODE), index=True)
    innovation_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("innovations.id", ondelete="RESTRICT"), index=True)
    adopted_on: Mapped[dt.date] = mapped_column(Date)
    #: what exactly was adopted (the service, pathway or product)
    what: Mapped[str] = mapped_column(Text)
    #: what was changed to make it work locally
    adaptations: Mapped[str] = mapped_column(Text)
    cost_pounds: Mapped[float | None] = mapped_column(Double)
    contact_name: Mapped[str] = mapped_column(String(255))
    contact_email: Mapped[str] = mapped_column(String(EMAIL))
    #: a demonstration record (labelled DEMO wherever shown)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
