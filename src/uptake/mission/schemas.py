"""National Service Frameworks as data: the shape of one framework version (one YAML file).

The shape is checked here (types, required fields, slugs); what needs the catalogue (the indicator's
polarity, its levels) and the ordering of dates and values is checked in `uptake.mission.framework_files`,
so that every problem is reported with its file, field and reason and nothing is loaded.

Values (baseline, minimum standard, target, milestones) are fractions before the indicator's multiplier,
like `Indicator.adoption_threshold`: 0.2 means 20% for a proportion shown in percent.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from uptake.catalogue.schemas import SLUG
from uptake.levels import Level


class FrameworkStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceItem(Strict):
    """The source of one number or statement in a framework."""

    #: what it supports, e.g. "target 20% by 2025"
    claim: str = Field(min_length=1)
    source: str = Field(min_length=1)
    url: HttpUrl | None = None


class Milestone(Strict):
    """A point on the trajectory: by `date`, every organisation in scope should be at `value`."""

    date: dt.date
    value: float
    note: str | None = None


class Scope(Strict):
    """Which organisations a commitment applies to: organisation levels and, for trusts, trust types."""

    levels: list[Level] = Field(min_length=1)
    #: trust types (acute, mental-health, community, ambulance); None means every organisation of the levels
    org_types: list[str] | None = None


class Commitment(Strict):
    id: str = Field(pattern=SLUG)
    title: str = Field(min_length=1)
    innovation: str = Field(pattern=SLUG)
    indicator: str = Field(pattern=SLUG)
    scope: Scope
    #: first day the commitment applies; periods that start earlier are its baseline, not assessed
    start: dt.date | None = None
    #: where the trajectory starts (usually the England value at the start); the minimum standard if absent
    baseline: float | None = None
    #: the floor every organisation in scope must reach from the start
    minimum_standard: float
    #: what every organisation in scope must reach by the deadline
    target: float
    #: the last day of the period by which the target must be met
    deadline: dt.date
    milestones: list[Milestone] = Field(default_factory=list)
    rationale: str = Field(min_length=1)
    evidence: list[EvidenceItem] = Field(min_length=1)


class Framework(Strict):
    """One version of a National Service Framework (IPPR recommendation 1)."""

    id: str = Field(pattern=SLUG)
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    #: the priority or condition it is about (stroke, cardiovascular disease, cancer, dementia, ...)
    condition: str = Field(min_length=1)
    status: FrameworkStatus
    start: dt.date
    end: dt.date
    owner: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    evidence: list[EvidenceItem] = Field(default_factory=list)
    #: what this version changes, in words (the computed difference is recorded on loading)
    change_note: str | None = None
    commitments: list[Commitment] = Field(min_length=1)

    def commitment(self, commitment_id: str) -> Commitment:
        for item in self.commitments:
            if item.id == commitment_id:
                return item
        known = ", ".join(c.id for c in self.commitments)
        raise KeyError(f"framework {self.id} v{self.version} has no commitment {commitment_id!r} ({known})")

    def commitment_start(self, commitment: Commitment) -> dt.date:
        return commitment.start or self.start
