"""Workflow tables of alerts (docs/alerts.md): a signed-in user's subscriptions to an organisation, an
innovation or a custom group, and the digests sent to them, one per user and publication at most.

They live on the same `Base` (and naming convention) as uptake.store.models; migration 0011 creates them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from uptake.store.models import Base, UTCDateTime, utcnow

#: what a subscription may follow
TARGET_KINDS = ("organisation", "innovation", "group")


class AlertSubscription(Base):
    """One user following one organisation (ODS code), innovation (catalogue id) or custom group (its id)."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (
        UniqueConstraint("user_id", "target_kind", "target_id"),
        CheckConstraint("target_kind IN ('organisation', 'innovation', 'group')", name="target_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SentDigest(Base):
    """A digest sent to a user for one publication of results (at most one per user and publication): what it
    held (the items' keys, so the next digest tells only what is new), its content's hash, and the SHA-256 of
    the one-click unsubscribe token its email carried (the token itself is never stored)."""

    __tablename__ = "alert_sent_digests"
    __table_args__ = (UniqueConstraint("user_id", "publication_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the analytics store's publication (uptake.results.read.runs.publication) the digest covers
    publication_id: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: {"keys": [item keys], "subscriptions": [subscription ids], "items": [the items as sent]}
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    unsubscribe_token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
