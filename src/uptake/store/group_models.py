"""Workflow tables of custom groups (docs/groups.md): a signed-in user's named set of organisations of one
level (a GP federation, a PCN cluster, a provider collaborative), shown with its pooled figures beside its
members, and shareable by a read-only link carrying an unguessable token.

They live on the same `Base` (and naming convention) as uptake.store.models; migration 0007 creates them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from uptake.store.models import CODE, LEVEL, Base, UTCDateTime, utcnow


class OrgGroup(Base):
    """A custom group: its owner, title, level and (when shared) the token of its read-only link."""

    __tablename__ = "org_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    #: the uptake.levels value every member has
    level: Mapped[str] = mapped_column(String(LEVEL))
    #: the token of the read-only link (secrets.token_urlsafe(24)); None while not shared
    share_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[OrgGroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="OrgGroupMember.org_code")


class OrgGroupMember(Base):
    """One organisation of a group (by its ODS code; the group's level)."""

    __tablename__ = "org_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("org_groups.id", ondelete="CASCADE"), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)

    group: Mapped[OrgGroup] = relationship(back_populates="members")
