"""Workflow tables of the mission (uptake.mission): National Service Frameworks, innovation ratings,
comply-or-justify filings and value assessments.

They live on the same `Base` (and naming convention) as uptake.store.models, so one Alembic history
covers both; migration 0002 creates them. Statuses and other vocabularies are stored as their string
values and checked by the database, as roles are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from uptake.store.models import CODE, EMAIL, LEVEL, SLUG, Base, UTCDateTime, utcnow, version_column

FRAMEWORK_STATUSES = ("draft", "published")
RATINGS = ("outstanding", "good", "requires-improvement", "inadequate")
RATING_STATUSES = ("draft", "reviewed", "published")
FILING_KINDS = ("plan", "justification")
FILING_STATUSES = ("draft", "submitted", "accepted", "challenged", "resubmitted", "published")
ASSESSMENT_SCOPES = ("national", "local")
ASSESSMENT_DECISIONS = ("recommended", "optimised", "not-recommended", "only-in-research", "terminated")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


# --- National Service Frameworks ------------------------------------------------------------------


class NsfFramework(Base):
    """A framework across its versions; `current_version` is the newest published one (else newest)."""

    __tablename__ = "nsf_frameworks"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    condition: Mapped[str] = mapped_column(String(255))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[NsfFrameworkVersion]] = relationship(
        back_populates="framework", order_by="NsfFrameworkVersion.version", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<NsfFramework {self.id} v{self.current_version}>"


class NsfFrameworkVersion(Base):
    """One version, kept for ever: the full YAML definition, what changed from the previous version,
    and when and by whom it was loaded."""

    __tablename__ = "nsf_framework_versions"
    __table_args__ = (
        UniqueConstraint("framework_id", "version"),
        CheckConstraint(_one_of("status", FRAMEWORK_STATUSES), name="status"),
        CheckConstraint("end_date > start_date", name="dates"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("nsf_frameworks.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    condition: Mapped[str] = mapped_column(String(255))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    #: the framework file as loaded, `Framework.model_dump(mode="json")`
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: uptake.mission.framework_files.diff_frameworks(previous version, this one)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(EMAIL))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    framework: Mapped[NsfFramework] = relationship(back_populates="versions")
    commitments: Mapped[list[NsfCommitment]] = relationship(
        back_populates="framework_version", order_by="NsfCommitment.position", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<NsfFrameworkVersion {self.framework_id} v{self.version} {self.status}>"


class NsfCommitment(Base):
    __tablename__ = "nsf_commitments"
    __table_args__ = (UniqueConstraint("framework_version_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_version_id: Mapped[int] = mapped_column(
        ForeignKey("nsf_framework_versions.id", ondelete="CASCADE"), index=True
    )
    #: the commitment's id in the framework file (stable across versions)
    key: Mapped[str] = mapped_column(String(SLUG))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    innovation_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("innovations.id", ondelete="RESTRICT"), index=True
    )
    indicator_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("indicators.id", ondelete="RESTRICT"), index=True
    )
    levels: Mapped[list[str]] = mapped_column(JSON)
    org_types: Mapped[list[str] | None] = mapped_column(JSON)
    polarity: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[dt.date] = mapped_column(Date)
    baseline: Mapped[float | None] = mapped_column(Double)
    minimum_standard: Mapped[float] = mapped_column(Double)
    target: Mapped[float] = mapped_column(Double)
    deadline: Mapped[dt.date] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    framework_version: Mapped[NsfFrameworkVersion] = relationship(back_populates="commitments")
    milestones: Mapped[list[NsfMilestone]] = relationship(
        back_populates="commitment", order_by="NsfMilestone.due", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<NsfCommitment {self.key} of version {self.framework_version_id}>"


class NsfMilestone(Base):
    __tablename__ = "nsf_milestones"
    __table_args__ = (UniqueConstraint("commitment_id", "due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("nsf_commitments.id", ondelete="CASCADE"), index=True)
    due: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Double)
    note: Mapped[str | None] = mapped_column(String(255))

    commitment: Mapped[NsfCommitment] = relationship(back_populates="milestones")


# --- innovation ratings ---------------------------------------------------------------------------


class RatingRun(Base):
    """One computation of ratings: the rule set it used (in full, so every trace can be re-evaluated
    later) and the framework versions it judged against."""

    __tablename__ = "rating_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_set_id: Mapped[str] = mapped_column(String(SLUG))
    rule_set_version: Mapped[int] = mapped_column(Integer)
    rule_set: Mapped[dict[str, Any]] = mapped_column(JSON)
    rule_set_sha256: Mapped[str] = mapped_column(String(64))
    #: [[framework id, version], ...]
    frameworks: Mapped[list[list[Any]]] = mapped_column(JSON)
    #: counts by level and rating
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    computed_by: Mapped[str] = mapped_column(String(EMAIL))

    ratings: Mapped[list[InnovationRating]] = relationship(back_populates="run", passive_deletes=True)


class InnovationRating(Base):
    __tablename__ = "innovation_ratings"
    __table_args__ = (
        UniqueConstraint("run_id", "org_code", "level", "period"),
        CheckConstraint(_one_of("rating", RATINGS), name="rating"),
        CheckConstraint(_one_of("status", RATING_STATUSES), name="status"),
        Index("ix_innovation_ratings_org", "org_code", "level", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("rating_runs.id", ondelete="CASCADE"), index=True)
    org_code: Mapped[str] = mapped_column(String(CODE))
    org_name: Mapped[str | None] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(LEVEL))
    #: first day of the rating year (April to March)
    period: Mapped[dt.date] = mapped_column(Date)
    rating: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    trace: Mapped[dict[str, Any]] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(EMAIL))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(EMAIL))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[RatingRun] = relationship(back_populates="ratings")

    def __repr__(self) -> str:
        return f"<InnovationRating {self.level} {self.org_code} {self.period} {self.rating} {self.status}>"


# --- comply or justify ----------------------------------------------------------------------------


class ComplyOrJustifyFiling(Base):
    """An ICB's plan for, or justification against, one commitment of a framework (IPPR recommendation 4).
    One per ICB and commitment; every revision is kept in `cj_filing_revisions`."""

    __tablename__ = "cj_filings"
    __table_args__ = (
        UniqueConstraint("framework_id", "commitment_key", "icb_code"),
        CheckConstraint(_one_of("kind", FILING_KINDS), name="kind"),
        CheckConstraint(_one_of("status", FILING_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("nsf_frameworks.id", ondelete="RESTRICT"), index=True
    )
    commitment_key: Mapped[str] = mapped_column(String(SLUG))
    #: the commitment (of the framework version current when the filing was last changed)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("nsf_commitments.id", ondelete="RESTRICT"), index=True
    )
    icb_code: Mapped[str] = mapped_column(String(CODE), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    #: uptake.mission.plans.PlanContent or JustificationContent, model_dump(mode="json")
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(EMAIL))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(EMAIL))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)
    published_by: Mapped[str | None] = mapped_column(String(EMAIL))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: row version for optimistic locking: one more on every change (an edit or a step), unlike `revision`,
    #: which counts changes of the content only
    version: Mapped[int] = version_column()

    revisions: Mapped[list[ComplyOrJustifyRevision]] = relationship(
        back_populates="filing", order_by="ComplyOrJustifyRevision.id", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<ComplyOrJustifyFiling {self.icb_code} {self.framework_id}/{self.commitment_key} {self.status}>"


class ComplyOrJustifyRevision(Base):
    """Every change to a filing: its content and status after the change, who and when."""

    __tablename__ = "cj_filing_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("cj_filings.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(EMAIL))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    filing: Mapped[ComplyOrJustifyFiling] = relationship(back_populates="revisions")


# --- value assessment -----------------------------------------------------------------------------


class ValueAssessment(Base):
    """A value assessment of an innovation (IPPR recommendation 3): by the national body, or a local one."""

    __tablename__ = "value_assessments"
    __table_args__ = (
        CheckConstraint(_one_of("scope", ASSESSMENT_SCOPES), name="scope"),
        CheckConstraint(_one_of("decision", ASSESSMENT_DECISIONS), name="decision"),
        CheckConstraint("scope = 'national' OR org_code IS NOT NULL", name="local_org"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    innovation_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("innovations.id", ondelete="RESTRICT"), index=True
    )
    #: the assessing body, e.g. "NICE" or an ICB's area prescribing committee
    body: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(16))
    #: the organisation of a local assessment (an ICB or trust code)
    org_code: Mapped[str | None] = mapped_column(String(CODE))
    decision: Mapped[str] = mapped_column(String(32))
    #: incremental cost-effectiveness ratio, pounds per QALY
    icer: Mapped[float | None] = mapped_column(Double)
    #: the threshold it was judged against, pounds per QALY
    threshold: Mapped[float | None] = mapped_column(Double)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    conditions: Mapped[str | None] = mapped_column(Text)
    #: e.g. "TA264"
    reference: Mapped[str | None] = mapped_column(String(64))
    #: a local assessment of an innovation already assessed nationally: the national assessment
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("value_assessments.id", ondelete="RESTRICT"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: row version for optimistic locking (a later assessment may flag this one as a duplicate)
    version: Mapped[int] = version_column()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<ValueAssessment {self.scope} {self.innovation_id} {self.decision} {self.decided_on}>"
