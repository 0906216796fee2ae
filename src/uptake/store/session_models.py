"""Signed-in web sessions, recorded in the workflow database so that signing out ends a session on the
server: a copy of the cookie stops working at once, in every worker process (each request checks its row).

The session cookie carries a random session id; only its SHA-256 hash is stored here (as API tokens are),
so the table alone cannot be used to sign in. Rows are written at sign-in and sign-out only; requests read
them. Rows past their expiry by more than a day are deleted at the next sign-in. Migration 0004 creates the
table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import ForeignKey, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from uptake.store.models import Base, User, UTCDateTime, utcnow

#: how long ended and expired sessions are kept (for the audit of who was signed in when)
KEEP_ENDED = dt.timedelta(days=1)


class WebSession(Base):
    """One sign-in: live from ``created_at`` until ``expires_at``, unless ``ended_at`` (sign-out) is set."""

    __tablename__ = "web_sessions"

    #: SHA-256 (hex) of the session id in the cookie
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<WebSession of user {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}>"


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def open_session(db: Session, user_id: int, lifetime: dt.timedelta) -> str:
    """Record a new session for ``user_id`` and return its id (for the cookie; it is not stored)."""
    now = utcnow()
    db.execute(delete(WebSession).where(WebSession.expires_at < now - KEEP_ENDED))
    session_id = secrets.token_urlsafe(32)
    db.add(WebSession(id=session_key(session_id), user_id=user_id, created_at=now, expires_at=now + lifetime))
    db.flush()
    return session_id


def session_user(db: Session, session_id: str, user_id: int) -> User | None:
    """The active user of a live session (not ended, not expired), or None."""
    return db.scalars(
        select(User).join(WebSession, WebSession.user_id == User.id).where(
            WebSession.id == session_key(session_id), User.id == user_id, User.active.is_(True),
            WebSession.ended_at.is_(None), WebSession.expires_at > utcnow(),
        )
    ).first()


def end_session(db: Session, session_id: str) -> bool:
    """End a session (sign-out). True when it was live."""
    result = db.execute(update(WebSession).where(WebSession.id == session_key(session_id),
                                                 WebSession.ended_at.is_(None)).values(ended_at=utcnow()))
    return bool(result.rowcount)


def end_user_sessions(db: Session, user_id: int) -> int:
    """End every live session of a user (deactivation); the number ended."""
    result = db.execute(update(WebSession).where(WebSession.user_id == user_id,
                                                 WebSession.ended_at.is_(None)).values(ended_at=utcnow()))
    return int(result.rowcount or 0)
