"""Comply or justify (IPPR recommendation 4): for each commitment of a published framework, each ICB files
either a **plan** (actions with owners and dates, funding, support for its providers, the trajectory it
expects) or a **justification** (a reason category, evidence, the alternative it offers, a review date).

Workflow (who may do each step: uptake.mission.permissions)::

    draft --submit--> submitted --accept--> accepted --publish--> published
                          |                    ^
                          +--challenge--> challenged --resubmit--> resubmitted --accept / challenge
    (edit: while draft or challenged)

Every change writes a revision (content and status after it, who, when) and an audit event. The public
sees published filings only. `icbs_with_nothing_filed` lists the ICBs that have not filed (beyond a draft)
for each commitment, as far as the person asking may know (the public: the ICBs that have published
nothing); `track_plan` compares a plan's expected trajectory with the results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from uptake.errors import CONFLICT_MESSAGE, Conflict, NotFound, UptakeError
from uptake.levels import Level
from uptake.mission.framework_repository import commitment_record, framework_version, published_frameworks
from uptake.mission.results import Results, reading
from uptake.mission.schemas import Strict
from uptake.mission.permissions import (
    FILING_TRANSITIONS,
    Who,
    filing_problem,
    may_see_filing,
    may_see_framework,
    require,
)
from uptake.mission.trajectory import period_end
from uptake.store.mission_models import ComplyOrJustifyFiling, ComplyOrJustifyRevision
from uptake.store.models import Organisation, utcnow
from uptake.store.repository import record_audit
from uptake.results import read
from uptake.catalogue import load_catalogue
from uptake.catalogue.schemas import Polarity
from uptake.store.mission_models import NsfCommitment

ENTITY = "cj-filing"


class Action(Strict):
    description: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    due: dt.date
    status: str = Field(default="planned", pattern=r"^(planned|in-progress|done)$")


class Funding(Strict):
    amount_pounds: float = Field(ge=0)
    source: str = Field(min_length=1)
    years: str | None = None


class TrajectoryPoint(Strict):
    """The ICB's expected value (a fraction, like the framework's) by a date."""

    date: dt.date
    value: float


class PlanContent(Strict):
    summary: str = Field(min_length=1)
    actions: list[Action] = Field(min_length=1)
    funding: Funding
    #: how the ICB will support its providers (peer support, training, time, money)
    support: str = Field(min_length=1)
    expected_trajectory: list[TrajectoryPoint] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> "PlanContent":
        dates = [p.date for p in self.expected_trajectory]
        if dates != sorted(set(dates)):
            raise ValueError("expected_trajectory dates must be in order, each once")
        return self


class ReasonCategory(StrEnum):
    LOCAL_EVIDENCE = "local-evidence"
    ALTERNATIVE_INNOVATION = "alternative-innovation"
    POPULATION_NEED = "population-need"
    SERVICE_CONFIGURATION = "service-configuration"
    CAPACITY = "capacity"
    DATA_QUALITY = "data-quality"
    OTHER = "other"


class JustificationContent(Strict):
    reason_category: ReasonCategory
    reason: str = Field(min_length=1)
    evidence: list[str] = Field(min_length=1)
    #: what the ICB does instead
    alternative: str = Field(min_length=1)
    review_date: dt.date


CONTENT = {"plan": PlanContent, "justification": JustificationContent}


class ContentProblems(UptakeError):
    """A plan or justification that does not meet its schema. ``problems`` lists each as (location, type,
    message): the location a tuple of field names and list positions, e.g. ("actions", 1, "due"), empty for
    the content as a whole; the type and message pydantic's."""

    def __init__(self, kind: str, problems: list[tuple[tuple[Any, ...], str, str]]):
        self.kind = kind
        self.problems = problems
        lines = [f"{'.'.join(str(p) for p in loc) or '(content)'}: {msg}" for loc, _, msg in problems]
        super().__init__(f"the {kind} has problems:\n  " + "\n  ".join(lines))


def check_content(kind: str, content: dict[str, Any] | BaseModel) -> dict[str, Any]:
    """The content as JSON-ready data, checked against its kind's schema (errors name the field)."""
    if kind not in CONTENT:
        raise UptakeError(f"a filing is a plan or a justification, not {kind!r}")
    if isinstance(content, BaseModel):
        content = content.model_dump(mode="json")
    try:
        return CONTENT[kind].model_validate(content).model_dump(mode="json")
    except ValidationError as exc:
        raise ContentProblems(kind, [(tuple(e["loc"]), e["type"], e["msg"]) for e in exc.errors()]) from None


#: Steps a national reviewer takes; the ICB takes the others.
REVIEW_ACTIONS = frozenset({"accept", "challenge", "publish"})
#: Fields of a filing that name people (email addresses): the public sees roles instead.
PEOPLE_FIELDS = ("created_by", "updated_by", "reviewed_by", "published_by")


def actor_role(action: str) -> str:
    """Who takes a step, by role: what the public is shown instead of a person's email address."""
    return "a national reviewer" if action in REVIEW_ACTIONS else "the ICB"


# --- writing --------------------------------------------------------------------------------------------


def _revision(session: Session, filing: ComplyOrJustifyFiling, action: str, who: Who, comment: str | None) -> None:
    session.add(ComplyOrJustifyRevision(
        filing_id=filing.id, revision=filing.revision, action=action, status=filing.status, kind=filing.kind,
        content=filing.content, comment=comment, actor=who.actor, occurred_at=utcnow(),
    ))
    record_audit(session, who.actor, f"cj.filing.{action}", ENTITY, str(filing.id), {
        "icb": filing.icb_code, "framework": filing.framework_id, "commitment": filing.commitment_key,
        "kind": filing.kind, "status": filing.status, "revision": filing.revision, "comment": comment,
    })


def find_filing(session: Session, framework_id: str, commitment_key: str, icb_code: str) -> ComplyOrJustifyFiling | None:
    return session.scalar(select(ComplyOrJustifyFiling).where(
        ComplyOrJustifyFiling.framework_id == framework_id,
        ComplyOrJustifyFiling.commitment_key == commitment_key,
        ComplyOrJustifyFiling.icb_code == icb_code,
    ))


def _check_icb(session: Session, icb_code: str) -> None:
    found = session.scalar(select(Organisation.code).where(Organisation.code == icb_code,
                                                           Organisation.level == Level.ICB.value))
    if found is None:
        raise UptakeError(f"{icb_code} is not an ICB in the workflow database")


def check_version(filing: ComplyOrJustifyFiling | None, expected_version: int | None) -> None:
    """Refuse a change made from a stale copy: `expected_version` is the filing's `version` when the person
    read it (0: they saw no filing yet); None skips the check (the version column still refuses an update
    that races another one)."""
    if expected_version is None:
        return
    current = 0 if filing is None else filing.version
    if current != expected_version:
        raise Conflict(f"{CONFLICT_MESSAGE} (the filing is at version {current}; the change was made to "
                       f"version {expected_version})")


def save_filing(
    session: Session,
    who: Who,
    framework_id: str,
    commitment_key: str,
    icb_code: str,
    kind: str,
    content: dict[str, Any] | BaseModel,
    *,
    expected_version: int | None = None,
) -> ComplyOrJustifyFiling:
    """Create the ICB's draft for a commitment, or edit it (while draft or challenged). A filing may
    change kind (plan <-> justification) while it can be edited.

    `expected_version`: the filing's version the change was made to (0 = create only); a filing that has
    changed since raises Conflict. Two people creating the same filing at once: one creates it, the other
    gets Conflict (or, on SQLite, where writers queue, edits what the first created)."""
    data = check_content(kind, content)
    for name, value in (("framework", framework_id), ("commitment", commitment_key), ("ICB code", icb_code)):
        if not value or len(value) > 64:
            raise UptakeError(f"the {name} must be 1 to 64 characters")
    existing = find_filing(session, framework_id, commitment_key, icb_code)
    # A filing the person may not see is, to them, no filing: they are refused exactly as they would be if
    # there were none (refusing them an "edit" would say that the ICB has a draft).
    visible = existing if existing is not None and may_see_filing(who, existing.icb_code, existing.status) else None
    action = "create" if visible is None else "edit"
    require(filing_problem(who, action, icb_code, None if visible is None else visible.status), who,
            f"{action} the filing of {icb_code} for {framework_id}/{commitment_key}")
    version = framework_version(session, framework_id)
    if not may_see_framework(who, version.status):  # as reading it answers: a draft framework is not there
        raise NotFound(f"no framework {framework_id!r}")
    if version.status != "published":
        raise UptakeError(f"framework {framework_id} v{version.version} is a draft; ICBs file against published "
                          "frameworks")
    commitment = commitment_record(session, framework_id, commitment_key)
    if Level.ICB.value not in commitment.levels:
        raise UptakeError(f"commitment {framework_id}/{commitment_key} does not apply to ICBs")
    _check_icb(session, icb_code)
    check_version(existing, expected_version)
    now = utcnow()
    if existing is None:
        filing = ComplyOrJustifyFiling(
            framework_id=framework_id, commitment_key=commitment_key, commitment_id=commitment.id, icb_code=icb_code,
            kind=kind, status="draft", revision=1, content=data, created_by=who.actor, created_at=now,
            updated_by=who.actor, updated_at=now,
        )
        session.add(filing)
        try:
            session.flush()
        except IntegrityError as exc:  # created by someone else since find_filing looked (one per ICB)
            if "unique" not in str(exc.orig).lower():
                raise
            raise Conflict(f"{CONFLICT_MESSAGE} ({icb_code} has just filed for {framework_id}/{commitment_key} "
                           "in another request)") from None
    else:
        filing = existing
        filing.kind, filing.content, filing.commitment_id = kind, data, commitment.id
        filing.revision += 1
        filing.updated_by, filing.updated_at = who.actor, now
    _revision(session, filing, action, who, None)
    session.flush()
    return filing


def transition(session: Session, who: Who, filing_id: int, action: str, comment: str | None = None, *,
               expected_version: int | None = None) -> ComplyOrJustifyFiling:
    """Move a filing on: submit, accept, challenge, resubmit or publish. A challenge needs a comment.
    `expected_version` as for save_filing: a step taken on a stale copy raises Conflict."""
    if action in ("create", "edit") or action not in FILING_TRANSITIONS:
        raise UptakeError(f"unknown step {action!r}; steps: submit, accept, challenge, resubmit, publish")
    filing = session.get(ComplyOrJustifyFiling, filing_id)
    if filing is None or not may_see_filing(who, filing.icb_code, filing.status):
        # as reading it answers: a filing the person may not see does not exist for them (a refusal would
        # name its ICB, framework and commitment)
        raise NotFound(f"there is no filing {filing_id}")
    require(filing_problem(who, action, filing.icb_code, filing.status), who,
            f"{action} filing {filing_id} ({filing.icb_code}, {filing.framework_id}/{filing.commitment_key})")
    if action == "challenge" and not (comment and comment.strip()):
        raise UptakeError("a challenge needs a comment saying what the ICB must change")
    check_version(filing, expected_version)
    now = utcnow()
    filing.status = FILING_TRANSITIONS[action][1]
    filing.updated_by, filing.updated_at = who.actor, now
    if action in ("submit", "resubmit"):
        filing.submitted_at = now
    elif action in ("accept", "challenge"):
        filing.reviewed_by, filing.reviewed_at, filing.review_comment = who.actor, now, comment
    elif action == "publish":
        filing.published_by, filing.published_at = who.actor, now
    _revision(session, filing, action, who, comment)
    session.flush()
    return filing


# --- reading ----------------------------------------------------------------------------------------------


def filings(session: Session, who: Who, *, icb_code: str | None = None, status: str | None = None,
            framework_id: str | None = None) -> list[ComplyOrJustifyFiling]:
    """The filings `who` may see (published ones for the public), newest change first."""
    query = select(ComplyOrJustifyFiling).order_by(ComplyOrJustifyFiling.updated_at.desc(), ComplyOrJustifyFiling.id)
    if icb_code:
        query = query.where(ComplyOrJustifyFiling.icb_code == icb_code)
    if status:
        query = query.where(ComplyOrJustifyFiling.status == status)
    if framework_id:
        query = query.where(ComplyOrJustifyFiling.framework_id == framework_id)
    return [f for f in session.scalars(query) if may_see_filing(who, f.icb_code, f.status)]


def get_filing(session: Session, who: Who, filing_id: int) -> ComplyOrJustifyFiling:
    filing = session.get(ComplyOrJustifyFiling, filing_id)
    if filing is None or not may_see_filing(who, filing.icb_code, filing.status):
        raise NotFound(f"there is no filing {filing_id}")  # existence of unpublished filings does not leak
    return filing


def review_queue(session: Session, who: Who) -> list[ComplyOrJustifyFiling]:
    """Filings waiting for a national reviewer: submitted or resubmitted (national-admin only)."""
    require(who.role == "national-admin", who, "see the review queue")
    return list(session.scalars(
        select(ComplyOrJustifyFiling).where(ComplyOrJustifyFiling.status.in_(["submitted", "resubmitted"]))
        .order_by(ComplyOrJustifyFiling.submitted_at)
    ))


#: Missing.state: no filing at all; a draft and nothing beyond it; nothing published (all the person may know)
NOTHING, DRAFT_ONLY, NOTHING_PUBLISHED = "nothing", "draft only", "nothing published"


@dataclass(frozen=True)
class Missing:
    icb_code: str
    icb_name: str
    framework_id: str
    commitment_key: str
    #: NOTHING ("nothing": no filing at all) or DRAFT_ONLY ("draft only") where the person may see the ICB's
    #: unpublished filings; NOTHING_PUBLISHED ("nothing published") where they may see only its published ones
    state: str


def icbs_with_nothing_filed(session: Session, as_of: dt.date | None = None, *,
                            who: Who | None = None) -> list[Missing]:
    """For every commitment (of a published framework) that applies to ICBs, the current ICBs that have filed
    nothing, as far as `who` may know (None: everything, as the operator on the server does).

    Where `who` may see an ICB's unpublished filings (a national admin; an ICB's analyst for their own ICB):
    the ICB is listed when it has filed nothing beyond a draft, as "nothing" or "draft only". Anywhere else
    (the public, everyone for other ICBs) only published filings are known: the ICB is listed when it has
    published nothing for the commitment, as "nothing published", whether or not it has a draft or a filing
    under review (neither is public)."""
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    icbs = session.execute(
        select(Organisation.code, Organisation.name).where(
            Organisation.level == Level.ICB.value, Organisation.valid_from <= as_of,
            Organisation.valid_to.is_(None) | (Organisation.valid_to > as_of),
        ).order_by(Organisation.code)
    ).all()
    state = {(f.framework_id, f.commitment_key, f.icb_code): f.status for f in session.scalars(select(ComplyOrJustifyFiling))}
    sees_unpublished = {code: who is None or may_see_filing(who, code, "draft") for code, _ in icbs}
    out = []
    for framework in published_frameworks(session):
        for c in framework.commitments:
            if Level.ICB not in c.scope.levels:
                continue
            for code, name in icbs:
                status = state.get((framework.id, c.id, code))
                if not sees_unpublished[code]:
                    if status != "published":
                        out.append(Missing(code, name, framework.id, c.id, NOTHING_PUBLISHED))
                elif status is None or status == "draft":
                    out.append(Missing(code, name, framework.id, c.id, NOTHING if status is None else DRAFT_ONLY))
    return out


def filing_history(session: Session, who: Who, filing_id: int) -> list[ComplyOrJustifyRevision]:
    filing = get_filing(session, who, filing_id)
    return list(filing.revisions)


# --- plan against actual ------------------------------------------------------------------------------------


def track_plan(
    points: list[TrajectoryPoint] | list[dict[str, Any]],
    actual: pd.DataFrame,
    *,
    period: str,
    high_is_good: bool = True,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """Each expected point of a plan against the result that was current on its date.

    actual: the ICB's results for the commitment's indicator (period, value, ci95_low, ci95_high). The result
    compared with a point dated d is the latest one whose period ended on or before d. The judgement:
    "ahead" (interval wholly on the good side of the expected value), "behind" (wholly on the bad side),
    "on plan" (the interval includes it), "no result yet" (no result had ended by that date), "not due" (d is
    after `as_of`).
    """
    expected = pd.DataFrame([p.model_dump() if isinstance(p, BaseModel) else p for p in points])
    expected["date"] = pd.to_datetime(expected["date"])
    actual = actual.dropna(subset=["value"]).copy()
    rows = []
    ends = period_end(pd.to_datetime(actual["period"]).to_numpy(), period) if not actual.empty else pd.Series([])
    actual = actual.assign(_end=ends.to_numpy() if len(actual) else [])
    actual = actual.sort_values("_end")
    for point in expected.itertuples(index=False):
        usable = actual.loc[actual["_end"] <= point.date]
        not_due = as_of is not None and point.date.date() > as_of
        if usable.empty or not_due:
            rows.append({"date": point.date.date(), "expected": point.value, "period": None, "actual": None,
                         "ci95_low": None, "ci95_high": None, "difference": None,
                         "judgement": "not due" if not_due else "no result yet"})
            continue
        last = usable.iloc[-1]
        low = last["ci95_low"] if pd.notna(last["ci95_low"]) else last["value"]
        high = last["ci95_high"] if pd.notna(last["ci95_high"]) else last["value"]
        sign = 1.0 if high_is_good else -1.0
        if high_is_good:
            judgement = "ahead" if low > point.value else "behind" if high < point.value else "on plan"
        else:
            judgement = "ahead" if high < point.value else "behind" if low > point.value else "on plan"
        rows.append({"date": point.date.date(), "expected": point.value, "period": pd.Timestamp(last["period"]).date(),
                     "actual": float(last["value"]), "ci95_low": float(low), "ci95_high": float(high),
                     "difference": sign * (float(last["value"]) - point.value), "judgement": judgement})
    return pd.DataFrame(rows, columns=["date", "expected", "period", "actual", "ci95_low", "ci95_high", "difference",
                                       "judgement"]).replace({np.nan: None})


def plan_against_actual(session: Session, results: Results, who: Who, filing_id: int,
                        as_of: dt.date | None = None) -> pd.DataFrame:
    """`track_plan` for a stored plan, against its ICB's results (a connection, or the store: see
    uptake.mission.results)."""
    filing = get_filing(session, who, filing_id)
    if filing.kind != "plan":
        raise UptakeError(f"filing {filing_id} is a justification; only plans have an expected trajectory")
    commitment = session.get(NsfCommitment, filing.commitment_id)
    indicator = load_catalogue().indicator(commitment.indicator_id)
    with reading(results) as con:
        actual = read.values.value_series_frame(con, commitment.indicator_id, "icb", filing.icb_code)
    return track_plan(filing.content["expected_trajectory"], actual, period=indicator.period.value,
                      high_is_good=indicator.polarity != Polarity.LOW_IS_GOOD, as_of=as_of)
