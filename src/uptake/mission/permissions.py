"""Who may do what in the mission: pure functions of a person's role and scope and a record's state.

Roles are those of the workflow database (national-admin, icb-analyst, provider-lead, innovator), plus
"public" for anyone not signed in. The rules, one place:

================================  =======================================================================
action                            who
================================  =======================================================================
load a framework                  national-admin
see a framework version           everyone if published; national-admin if draft
compute, review, publish ratings  national-admin
see a rating                      everyone if published; national-admin otherwise
create, edit, submit, resubmit    the icb-analyst of that ICB (edit: while draft or challenged)
  a comply-or-justify filing
accept, challenge, publish one    national-admin (the national reviewer)
see a filing                      everyone if published; national-admin and the ICB's analysts otherwise
add a national value assessment   national-admin
add a local value assessment      national-admin, or the icb-analyst of that ICB for its own ICB
================================  =======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.errors import UptakeError
from uptake.store.models import User
from uptake.store.repository import default_actor

PUBLIC = "public"
NATIONAL_ADMIN = "national-admin"
ICB_ANALYST = "icb-analyst"
ALL_ROLES = (PUBLIC, NATIONAL_ADMIN, ICB_ANALYST, "provider-lead", "innovator")


@dataclass(frozen=True)
class Who:
    """The person asking: a role and its scope (an ICB or organisation code, or an innovation)."""

    role: str = PUBLIC
    email: str | None = None
    scope_org_code: str | None = None
    scope_innovation: str | None = None

    @property
    def actor(self) -> str:
        """The name the audit log records."""
        return self.email or PUBLIC

    def describe(self) -> str:
        scope = self.scope_org_code or self.scope_innovation
        return f"{self.actor} ({self.role}{' of ' + scope if scope else ''})"


ANYONE = Who()


class NotPermitted(UptakeError):
    """Raised when someone tries something their role or scope does not allow."""


def require(allowed: bool | str | None, who: Who, what: str) -> None:
    """Raise NotPermitted unless `allowed` is True (or None from a `*_problem` function, meaning no problem).
    A string is the reason it is not allowed."""
    if allowed is True or allowed is None:
        return
    reason = allowed if isinstance(allowed, str) else "their role does not allow it"
    raise NotPermitted(f"{who.describe()} may not {what}: {reason}")


def operator() -> Who:
    """The person running a command on the server: national-admin authority, named by their OS account."""
    return Who(role=NATIONAL_ADMIN, email=default_actor())


def who_for(principal: Any) -> Who:
    """A Who from anything with role, email, scope_org_code and scope_innovation (a User, or the web
    app's Principal)."""
    role = getattr(principal, "role", PUBLIC) or PUBLIC
    return Who(
        role=role,
        email=getattr(principal, "email", None),
        scope_org_code=getattr(principal, "scope_org_code", None),
        scope_innovation=getattr(principal, "scope_innovation", None),
    )


def who_for_email(session: Session, email: str) -> Who:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise UptakeError(f"no user {email!r} in the workflow database; add one with `uptake users add`")
    if not user.active:
        raise UptakeError(f"user {user.email} is not active")
    return who_for(user)


# --- frameworks and ratings ---------------------------------------------------------------------


def may_manage_frameworks(who: Who) -> bool:
    return who.role == NATIONAL_ADMIN


def may_see_framework(who: Who, status: str) -> bool:
    return status == "published" or who.role == NATIONAL_ADMIN


def may_manage_ratings(who: Who) -> bool:
    """Compute, review and publish ratings (the regulator's work; the national admin in Uptake)."""
    return who.role == NATIONAL_ADMIN


def may_see_rating(who: Who, status: str) -> bool:
    return status == "published" or who.role == NATIONAL_ADMIN


# --- comply or justify ------------------------------------------------------------------------------

#: action -> (statuses it may start from, status it leads to). "create" starts from no filing (None).
FILING_TRANSITIONS: dict[str, tuple[frozenset[str | None], str | None]] = {
    "create": (frozenset({None}), "draft"),
    "edit": (frozenset({"draft", "challenged"}), None),  # None: the status does not change
    "submit": (frozenset({"draft"}), "submitted"),
    "accept": (frozenset({"submitted", "resubmitted"}), "accepted"),
    "challenge": (frozenset({"submitted", "resubmitted"}), "challenged"),
    "resubmit": (frozenset({"challenged"}), "resubmitted"),
    "publish": (frozenset({"accepted"}), "published"),
}
ICB_ACTIONS = frozenset({"create", "edit", "submit", "resubmit"})
REVIEW_ACTIONS = frozenset({"accept", "challenge", "publish"})


def filing_problem(who: Who, action: str, icb_code: str, status: str | None) -> str | None:
    """Why `who` may not take `action` on the filing of `icb_code` now in `status`; None if they may."""
    if action not in FILING_TRANSITIONS:
        raise ValueError(f"unknown filing action {action!r}; actions: {', '.join(FILING_TRANSITIONS)}")
    if action in ICB_ACTIONS:
        if who.role != ICB_ANALYST:
            return "only an ICB analyst files and edits plans and justifications for their ICB"
        if who.scope_org_code != icb_code:
            return f"they are an analyst of {who.scope_org_code}, not of {icb_code}"
    elif who.role != NATIONAL_ADMIN:
        return "only a national reviewer (national-admin) accepts, challenges or publishes filings"
    allowed_from, _ = FILING_TRANSITIONS[action]
    if status not in allowed_from:
        now = "there is no filing yet" if status is None else f"the filing is {status}"
        if action == "create":
            return f"a filing already exists ({status}); edit it instead"
        wanted = " or ".join(sorted(s for s in allowed_from if s))
        return f"{now}; {action} needs it to be {wanted}"
    return None


def may_act_on_filing(who: Who, action: str, icb_code: str, status: str | None) -> bool:
    return filing_problem(who, action, icb_code, status) is None


def may_see_filing(who: Who, icb_code: str, status: str) -> bool:
    if status == "published" or who.role == NATIONAL_ADMIN:
        return True
    return who.role == ICB_ANALYST and who.scope_org_code == icb_code


# --- value assessments ------------------------------------------------------------------------------


def assessment_problem(who: Who, scope: str, org_code: str | None) -> str | None:
    if scope == "national":
        return None if who.role == NATIONAL_ADMIN else "only a national-admin records national assessments"
    if who.role == NATIONAL_ADMIN:
        return None
    if who.role == ICB_ANALYST and org_code is not None and who.scope_org_code == org_code:
        return None
    return "a local assessment is recorded by a national-admin or by the analyst of that ICB"
