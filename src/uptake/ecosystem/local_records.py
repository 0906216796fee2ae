"""Who may record and see the local records of networks, barriers and adopters: pure rules over a person's role
and scope, plus the one query they need (is an organisation in an ICB's footprint).

A person is anything with ``role``, ``email`` (or ``actor``) and ``scope_org_code`` (the web's and the
command line's ``Who``, made by the web or CLI layer: the ecosystem does not import the mission).

==================================  ===================================================================
action                              who
==================================  ===================================================================
run a Health Innovation Challenge   national-admin
  round (designate, match, fund)
record a barrier assessment or an   national-admin; the icb-analyst of the organisation's ICB (or the
  adoption log entry                ICB itself); the provider-lead of that organisation (or, for a PCN,
                                    its practices)
see networks, rounds, partnerships,  everyone
  the case library, barrier trends
see each barrier assessment's        anyone signed in
  notes and who recorded it; see an
  adoption log entry's contact
==================================  ===================================================================
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.errors import UptakeError
from uptake.store.models import Organisation, OrgRelationship

NATIONAL_ADMIN = "national-admin"
RECORDING_ROLES = ("national-admin", "icb-analyst", "provider-lead")


class Person(Protocol):
    role: str
    scope_org_code: str | None


class Refused(UptakeError):
    """The person's role or scope does not allow what they asked (the web answers 403)."""


def actor_of(who: Any) -> str:
    return getattr(who, "actor", None) or getattr(who, "email", None) or "public"


def may_run_rounds(who: Person) -> bool:
    return who.role == NATIONAL_ADMIN


def signed_in(who: Person) -> bool:
    return who.role != "public"


def org_exists(session: Session, org_code: str) -> bool:
    return session.scalar(select(Organisation.id).where(Organisation.code == org_code,
                                                        Organisation.valid_to.is_(None)).limit(1)) is not None


def in_footprint(session: Session, org_code: str, parent_code: str) -> bool:
    """Whether ``org_code`` is ``parent_code`` or currently linked under it."""
    if org_code == parent_code:
        return True
    return session.scalar(select(OrgRelationship.id).where(
        OrgRelationship.child_code == org_code, OrgRelationship.parent_code == parent_code,
        OrgRelationship.valid_to.is_(None)).limit(1)) is not None


def record_problem(session: Session, who: Person, org_code: str) -> str | None:
    """Why ``who`` may not record for ``org_code`` (None if they may)."""
    if who.role == NATIONAL_ADMIN:
        return None
    if who.role not in RECORDING_ROLES:
        return ("barrier assessments and adoption records are made by a national-admin, an ICB's analyst or a "
                "provider's lead")
    scope = who.scope_org_code
    if not scope or not in_footprint(session, org_code, scope):
        return f"a {who.role} of {scope} records only for {scope} and the organisations under it"
    return None


def require_record(session: Session, who: Person, org_code: str, what: str) -> None:
    problem = record_problem(session, who, org_code)
    if problem:
        raise Refused(f"{actor_of(who)} may not {what} for {org_code}: {problem}")
