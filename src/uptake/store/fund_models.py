"""Workflow tables of the transformation fund (M14, docs/fund.md): applications from ICBs and providers, each
with its costs per year of the fund (implementation, double running, decommissioning), its expected benefit
with the benefit's 95% interval and where it comes from (an outcome model or a simulator scenario), its
workflow status and every review step. The allocation itself (uptake.models.fund) is computed on demand from
the applications in the competition; nothing about it is stored but the audit events.

On the shared `Base`, like uptake.store.mission_models; migration 0010 creates them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, CheckConstraint, Double, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from uptake.store.models import CODE, EMAIL, LEVEL, SLUG, Base, UTCDateTime, utcnow, version_column

#: an application's workflow states (uptake.mission.fund.TRANSITIONS moves between them)
FUND_STATUSES = ("draft", "submitted", "under-review", "approved", "declined", "justified")
#: where an application's expected benefit comes from
BENEFIT_SOURCES = ("outcome-model", "simulator-scenario")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class FundApplication(Base):
    """One application to the fund by an ICB or a provider (trust) for one innovation."""

    __tablename__ = "fund_applications"
    __table_args__ = (
        CheckConstraint(_one_of("status", FUND_STATUSES), name="status"),
        CheckConstraint(_one_of("benefit_source", BENEFIT_SOURCES), name="benefit_source"),
        CheckConstraint("benefit >= 0", name="benefit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(CODE), index=True)
    org_level: Mapped[str] = mapped_column(String(LEVEL))
    innovation_id: Mapped[str] = mapped_column(String(SLUG))
    title: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text, default="")
    #: the financial years the work runs (2026: 2026/27), inside the fund's years
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    #: pounds per year of the fund (one number per year), by kind of cost
    implementation_costs: Mapped[list[float]] = mapped_column(JSON)
    double_running_costs: Mapped[list[float]] = mapped_column(JSON)
    decommissioning_costs: Mapped[list[float]] = mapped_column(JSON)
    #: expected benefit (params/fund.yaml benefit_measure) with its 95% interval
    benefit: Mapped[float] = mapped_column(Double)
    benefit_low: Mapped[float] = mapped_column(Double)
    benefit_high: Mapped[float] = mapped_column(Double)
    benefit_source: Mapped[str] = mapped_column(String(32))
    #: the outcome model's commitment (framework/commitment) or the simulator scenario's id
    benefit_reference: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    reviewer_notes: Mapped[str | None] = mapped_column(Text)
    #: the applicant's answer to a decline (comply-or-justify: why the money should still go to it)
    justification: Mapped[str | None] = mapped_column(Text)
    #: changes of the content (an edit), like cj_filings.revision
    revision: Mapped[int] = mapped_column(Integer, default=1)
    #: made-up demo applications (labelled DEMO everywhere they are shown)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(EMAIL))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(EMAIL))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: row version for lost-update protection: one more on every change
    version: Mapped[int] = version_column()

    reviews: Mapped[list[FundReview]] = relationship(
        back_populates="application", order_by="FundReview.id", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}

    def costs_per_year(self) -> list[float]:
        return [float(a) + float(b) + float(c) for a, b, c in zip(
            self.implementation_costs, self.double_running_costs, self.decommissioning_costs)]


class FundReview(Base):
    """Every step of an application (create, edit, submit, review, approve, decline, justify): status after it,
    the comment, who and when."""

    __tablename__ = "fund_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("fund_applications.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(EMAIL))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[FundApplication] = relationship(back_populates="reviews")
