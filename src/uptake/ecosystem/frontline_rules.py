"""What the Innovation Award, innovation leads and time to innovate share: who may change an organisation's
records, refusals, and problems reported at a form's fields. A ``who`` is anything with ``role``, ``actor``
and ``scope_org_code`` (the mission's Who, or the command line's operator).

=============================================  ==============================================================
action                                         who
=============================================  ==============================================================
nominate for the award                         the provider lead of the organisation; a national admin
load a scheme, decide the awards               a national admin
see nominations (they hold personal data)      a national admin; the provider lead of the organisation
name a lead, record a contribution             the provider lead of the organisation; a national admin
record time to innovate                        the provider lead of the organisation; a national admin
see leads, contributions, time, the audit      everyone (the audit shows totals by group only)
=============================================  ==============================================================
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.errors import UptakeError
from uptake.store.models import Organisation


class NotAllowed(UptakeError):
    """The person's role or scope does not allow the action."""


class FieldProblems(UptakeError):
    """Problems with a form, each at its field: ``problems`` is [(field, message), ...]; nothing was saved."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))


def org_record_problem(who: Any, org_code: str, what: str) -> str | None:
    """Why ``who`` may not ``what`` for ``org_code``; None if they may."""
    if who.role == "national-admin":
        return None
    if who.role != "provider-lead":
        return f"only the provider lead of an organisation (or a national admin) may {what}"
    if who.scope_org_code != org_code:
        return f"they are the provider lead of {who.scope_org_code}, not of {org_code}"
    return None


def require_org_record(who: Any, org_code: str, what: str) -> None:
    reason = org_record_problem(who, org_code, what)
    if reason:
        raise NotAllowed(f"{who.actor} may not {what} for {org_code}: {reason}")


def may_record_for_some_org(who: Any) -> bool:
    return who.role in ("national-admin", "provider-lead")


def organisation(session: Session, code: str) -> Organisation | None:
    """The current version of an organisation (None if Uptake does not know the code)."""
    return session.scalar(select(Organisation).where(Organisation.code == code)
                          .order_by(Organisation.valid_to.is_(None).desc(), Organisation.valid_from.desc()).limit(1))


def org_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Organisation.code, Organisation.name))}


def parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return None


def parse_number(text: Any) -> float | None:
    try:
        value = float(str(text).replace(",", "").replace("£", "").replace("%", "").strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None
