"""National Service Frameworks in the workflow database: load versions, list, show, history.

Versions are kept for ever. Loading a new version records what changed from the previous one (a computed
difference, `uptake.mission.framework_files.diff_frameworks`), when and by whom, both on the version row and
in the audit log. A published version cannot change: a change is a new version. A draft version can be
replaced by loading its file again. Loading is all or nothing: every version is checked before anything
is written, and the caller's session rolls back on error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from uptake.catalogue.loader import Catalogue, load_catalogue
from uptake.errors import UptakeError
from uptake.mission.framework_files import FrameworkProblems, Problem, describe_diff, diff_frameworks
from uptake.mission.schemas import Framework, FrameworkStatus
from uptake.store.mission_models import NsfCommitment, NsfFramework, NsfFrameworkVersion, NsfMilestone
from uptake.store.models import Indicator, utcnow
from uptake.store.repository import default_actor, record_audit

ENTITY = "nsf-framework"


@dataclass(frozen=True)
class VersionLoad:
    framework_id: str
    version: int
    #: "inserted", "replaced" (a draft loaded again with changes) or "unchanged"
    action: str
    changes: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.action == "unchanged":
            return f"{self.framework_id} v{self.version}: unchanged"
        return f"{self.framework_id} v{self.version}: {self.action}; " + "; ".join(describe_diff(self.changes))


@dataclass(frozen=True)
class FrameworkSummary:
    id: str
    title: str
    condition: str
    version: int
    status: str
    commitments: int
    versions: int
    start: dt.date
    end: dt.date

    def line(self) -> str:
        return f"{self.id}  {self.title}  v{self.version}  {self.status}"


def content_sha256(framework: Framework) -> str:
    data = json.dumps(framework.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def load_frameworks(
    session: Session,
    frameworks: list[Framework],
    *,
    actor: str | None = None,
    catalogue: Catalogue | None = None,
) -> list[VersionLoad]:
    """Store framework versions (checked already by `read_frameworks`). Nothing is written if any version
    cannot be stored; FrameworkProblems names each (file, field, reason)."""
    actor = actor or default_actor()
    catalogue = catalogue or load_catalogue()
    stored = {
        (row.framework_id, row.version): row
        for row in session.scalars(select(NsfFrameworkVersion).options(selectinload(NsfFrameworkVersion.commitments)))
    }
    known_indicators = set(session.scalars(select(Indicator.id)))
    problems: list[Problem] = []
    plan: list[tuple[Framework, str, dict[str, Any] | None]] = []  # (framework, action, previous definition)
    ordered = sorted(frameworks, key=lambda f: (f.id, f.version))
    for framework in ordered:
        file = f"{framework.id}-v{framework.version}.yaml"
        missing = sorted({c.indicator for c in framework.commitments} - known_indicators)
        if missing:
            problems.append(Problem(file, "commitments", f"indicators {', '.join(missing)} are not in the workflow "
                                                         "database; run `uptake init` to load the catalogue"))
            continue
        row = stored.get((framework.id, framework.version))
        if row is not None:
            if row.content_sha256 == content_sha256(framework):
                plan.append((framework, "unchanged", None))
            elif row.status == FrameworkStatus.PUBLISHED:
                problems.append(Problem(
                    file, "version",
                    f"{framework.id} v{framework.version} is published and cannot change; save the change as a new "
                    f"version ({framework.id}-v{_next_version(stored, framework.id)}.yaml)",
                ))
            else:
                plan.append((framework, "replaced", row.definition))
            continue
        later = [v for (fid, v) in stored if fid == framework.id and v > framework.version]
        if later:
            problems.append(Problem(file, "version", f"{framework.id} already has version {max(later)}; "
                                                     "versions are added in order"))
            continue
        earlier = [v for (fid, v) in stored if fid == framework.id and v < framework.version]
        in_batch = [f for f, _, _ in plan if f.id == framework.id and f.version < framework.version]
        previous: dict[str, Any] | None = None
        if in_batch:
            previous = in_batch[-1].model_dump(mode="json")
        elif earlier:
            previous = stored[(framework.id, max(earlier))].definition
        plan.append((framework, "inserted", previous))
    if problems:
        raise FrameworkProblems(problems)

    results: list[VersionLoad] = []
    now = utcnow()
    for framework, action, previous in plan:
        if action == "unchanged":
            results.append(VersionLoad(framework.id, framework.version, "unchanged"))
            continue
        changes = diff_frameworks(previous, framework)
        parent = session.get(NsfFramework, framework.id)
        if parent is None:
            parent = NsfFramework(id=framework.id, title=framework.title, condition=framework.condition,
                                  current_version=framework.version, created_at=now, updated_at=now)
            session.add(parent)
            session.flush()
        if action == "replaced":
            row = stored[(framework.id, framework.version)]
            session.execute(delete(NsfCommitment).where(NsfCommitment.framework_version_id == row.id))
            session.flush()
        else:
            row = NsfFrameworkVersion(framework_id=framework.id, version=framework.version)
            session.add(row)
        row.status = framework.status.value
        row.title = framework.title
        row.condition = framework.condition
        row.start_date = framework.start
        row.end_date = framework.end
        row.definition = framework.model_dump(mode="json")
        row.content_sha256 = content_sha256(framework)
        row.changes = changes
        row.loaded_at = now
        row.loaded_by = actor
        row.published_at = now if framework.status == FrameworkStatus.PUBLISHED else None
        session.flush()
        _insert_commitments(session, row, framework, catalogue)
        record_audit(
            session, actor, f"nsf.version.{'insert' if action == 'inserted' else 'replace'}", ENTITY, framework.id,
            {"version": framework.version, "status": framework.status.value, "changes": changes,
             "content_sha256": row.content_sha256},
        )
        results.append(VersionLoad(framework.id, framework.version, action, changes))
    session.flush()
    for framework_id in sorted({f.id for f, action, _ in plan if action != "unchanged"}):
        _refresh_current(session, framework_id)
    session.flush()
    return results


def _next_version(stored: dict[tuple[str, int], NsfFrameworkVersion], framework_id: str) -> int:
    return max(v for (fid, v) in stored if fid == framework_id) + 1


def _insert_commitments(session: Session, row: NsfFrameworkVersion, framework: Framework, catalogue: Catalogue) -> None:
    for position, c in enumerate(framework.commitments):
        commitment = NsfCommitment(
            framework_version_id=row.id, key=c.id, position=position, title=c.title, innovation_id=c.innovation,
            indicator_id=c.indicator, levels=[lv.value for lv in c.scope.levels], org_types=c.scope.org_types,
            polarity=catalogue.indicator(c.indicator).polarity.value, start_date=framework.commitment_start(c),
            baseline=c.baseline, minimum_standard=c.minimum_standard, target=c.target, deadline=c.deadline,
            rationale=c.rationale, evidence=[e.model_dump(mode="json") for e in c.evidence],
        )
        session.add(commitment)
        session.flush()
        for m in c.milestones:
            session.add(NsfMilestone(commitment_id=commitment.id, due=m.date, value=m.value, note=m.note))


def _refresh_current(session: Session, framework_id: str) -> None:
    parent = session.get(NsfFramework, framework_id)
    versions = list(session.scalars(select(NsfFrameworkVersion).where(NsfFrameworkVersion.framework_id == framework_id)))
    published = [v for v in versions if v.status == FrameworkStatus.PUBLISHED]
    current = max(published or versions, key=lambda v: v.version)
    if parent.current_version != current.version or parent.title != current.title:
        parent.current_version = current.version
        parent.title = current.title
        parent.condition = current.condition
    parent.updated_at = utcnow()


# --- reading ----------------------------------------------------------------------------------------


def list_frameworks(session: Session) -> list[FrameworkSummary]:
    """One summary per framework: its current version (the newest published one, else the newest)."""
    out = []
    for parent in session.scalars(select(NsfFramework).order_by(NsfFramework.id)):
        version = framework_version(session, parent.id)
        out.append(FrameworkSummary(
            id=parent.id, title=version.title, condition=version.condition, version=version.version,
            status=version.status, commitments=len(version.commitments), versions=len(parent.versions),
            start=version.start_date, end=version.end_date,
        ))
    return out


def framework_version(session: Session, framework_id: str, version: int | None = None) -> NsfFrameworkVersion:
    """A stored version (the current one by default)."""
    parent = session.get(NsfFramework, framework_id)
    if parent is None:
        known = ", ".join(session.scalars(select(NsfFramework.id).order_by(NsfFramework.id))) or "none loaded"
        raise UptakeError(f"no framework {framework_id!r}; frameworks: {known} (load them with `uptake nsf load`)")
    wanted = version if version is not None else parent.current_version
    row = session.scalar(
        select(NsfFrameworkVersion)
        .where(NsfFrameworkVersion.framework_id == framework_id, NsfFrameworkVersion.version == wanted)
        .options(selectinload(NsfFrameworkVersion.commitments).selectinload(NsfCommitment.milestones))
    )
    if row is None:
        versions = ", ".join(str(v.version) for v in parent.versions)
        raise UptakeError(f"framework {framework_id} has no version {wanted}; it has: {versions}")
    return row


def framework_definition(session: Session, framework_id: str, version: int | None = None) -> Framework:
    return Framework.model_validate(framework_version(session, framework_id, version).definition)


def published_frameworks(session: Session) -> list[Framework]:
    """The current version of every framework whose current version is published."""
    out = []
    for parent in session.scalars(select(NsfFramework).order_by(NsfFramework.id)):
        row = framework_version(session, parent.id)
        if row.status == FrameworkStatus.PUBLISHED:
            out.append(Framework.model_validate(row.definition))
    return out


def framework_history(session: Session, framework_id: str) -> list[NsfFrameworkVersion]:
    """Every stored version, oldest first, each with its `changes`, `loaded_at` and `loaded_by`."""
    framework_version(session, framework_id)  # a clear error if the framework is unknown
    return list(session.scalars(
        select(NsfFrameworkVersion).where(NsfFrameworkVersion.framework_id == framework_id)
        .order_by(NsfFrameworkVersion.version)
    ))


def commitment_record(session: Session, framework_id: str, key: str, version: int | None = None) -> NsfCommitment:
    row = framework_version(session, framework_id, version)
    for commitment in row.commitments:
        if commitment.key == key:
            return commitment
    keys = ", ".join(c.key for c in row.commitments)
    raise UptakeError(f"framework {framework_id} v{row.version} has no commitment {key!r}; it has: {keys}")
