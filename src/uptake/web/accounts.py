"""People who sign in: password hashing (Argon2id), sign-in checks, and the users the demo creates.

User rows, API tokens and the audit log live in the workflow database (`uptake.store`); the writes here go
through `uptake.store.repository`, which records an audit event for each one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.errors import UptakeError
from uptake.store.models import User
from uptake.store.repository import add_user, record_audit

#: Argon2id with the library's defaults (RFC 9106 "second recommended option": t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()

#: A hash to verify against when the email is unknown, so sign-in takes the same time either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UptakeError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Rehashes an outdated hash."""
    email = (email or "").strip().lower()
    user = session.scalar(select(User).where(User.email == email)) if email else None
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    user.password_hash = hash_password(password)
    record_audit(session, actor, "user.set-password", "user", str(user.id), {"email": user.email})


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    scope_org_code: str | None = None,
    scope_innovation: str | None = None,
    actor: str,
) -> User:
    """Add a user with a password (both writes audited)."""
    check_password_strength(password)
    user = add_user(
        session, email, name, role, scope_org_code=scope_org_code, scope_innovation=scope_innovation, actor=actor
    )
    set_password(session, user, password, actor=actor)
    return user


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    password: str
    scope_org_code: str | None = None
    scope_innovation: str | None = None

    @property
    def scope(self) -> str:
        return self.scope_org_code or self.scope_innovation or "all of England"


def ensure_demo_users(
    session: Session,
    *,
    icb_code: str,
    provider_code: str,
    innovation_id: str,
    actor: str = "uptake demo",
    password_factory=lambda: secrets.token_urlsafe(12),
) -> list[DemoUser]:
    """One demo user per role. Existing demo users get a new password (printed again by the demo), so the
    sign-ins shown always work; the passwords are random per run, never fixed in the code."""
    wanted = [
        ("admin@demo.uptake.example", "Demo national admin", "national-admin", None, None),
        ("icb@demo.uptake.example", "Demo ICB analyst", "icb-analyst", icb_code, None),
        ("provider@demo.uptake.example", "Demo provider lead", "provider-lead", provider_code, None),
        ("innovator@demo.uptake.example", "Demo innovator", "innovator", None, innovation_id),
    ]
    made: list[DemoUser] = []
    for email, name, role, org, innovation in wanted:
        password = password_factory()
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = create_user(
                session, email=email, name=name, role=role, password=password,
                scope_org_code=org, scope_innovation=innovation, actor=actor,
            )
        else:
            if (user.role, user.scope_org_code, user.scope_innovation) != (role, org, innovation):
                user.role, user.scope_org_code, user.scope_innovation = role, org, innovation
                record_audit(session, actor, "user.update", "user", str(user.id),
                             {"role": role, "scope_org_code": org, "scope_innovation": innovation})
            user.active = True
            set_password(session, user, password, actor=actor)
        made.append(DemoUser(email, name, role, password, org, innovation))
    session.flush()
    return made
