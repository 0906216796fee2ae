"""The workflow database: SQLAlchemy models, portable between SQLite and PostgreSQL.

Conventions that keep the schema the same on both backends (and Alembic autogenerate quiet):

- one `Base` and one `MetaData` with a naming convention, so every constraint and index has the same
  name everywhere (SQLite cannot alter an unnamed constraint; PostgreSQL would invent its own names);
- portable types only: strings with a length, `Double`, `Date`, `JSON`, and `UTCDateTime` (timezone-aware
  UTC datetimes in Python whatever the backend stores);
- enumerations (levels, roles, kinds) stored as their string values; roles are also checked by the
  database because they decide what a user may see.

Audit events are append-only: the ORM refuses to update or delete them (see `_refuse_audit_changes`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from uptake.errors import UptakeError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Roles a user can have, and the scope each one needs (see repository.add_user).
ROLES = ("national-admin", "icb-analyst", "provider-lead", "innovator")

# Column sizes shared by tables that refer to the same thing.
CODE = 64  # organisation codes: ODS codes are 3-6 characters, stroke units and ISDNs may be longer
LEVEL = 16  # uptake.levels.Level values
SLUG = 64  # catalogue ids
EMAIL = 320  # the longest address RFC 5321 allows


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def version_column() -> Any:
    """A row version for optimistic locking: 1 when the row is inserted, and every ORM update of the row runs
    ``UPDATE ... WHERE id = :id AND version = :version_read`` and adds one. Map it with
    ``__mapper_args__ = {"version_id_col": version}``. An update that finds another version (someone else
    changed the row after this session read it) changes nothing; SQLAlchemy raises StaleDataError, which
    `uptake.store.db.session_scope` turns into `uptake.errors.Conflict` (the web answers 409)."""
    return mapped_column(Integer, nullable=False, server_default=text("1"))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores `timestamp with time zone`; SQLite has no time zones, so the value is stored as UTC
    without an offset and the offset is put back on the way out. Naive datetimes are refused: a time
    without a zone is ambiguous in an audit trail.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware (UTC) datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- the organisation hierarchy (uptake.reference), versioned -------------------------------------


class Organisation(Base):
    """One version of one organisation (a row of `uptake.reference` `organisations`).

    A version holds on day d when valid_from <= d and (valid_to is empty or d < valid_to).
    """

    __tablename__ = "organisations"
    __table_args__ = (
        UniqueConstraint("code", "valid_from"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_dates"),
        CheckConstraint("imd_quintile IS NULL OR imd_quintile BETWEEN 1 AND 5", name="imd_quintile"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE))
    level: Mapped[str] = mapped_column(String(LEVEL), index=True)
    name: Mapped[str] = mapped_column(String(255))
    ons_code: Mapped[str | None] = mapped_column(String(16))
    postcode: Mapped[str | None] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    imd_score: Mapped[float | None] = mapped_column(Double)
    imd_quintile: Mapped[int | None] = mapped_column(SmallInteger)
    population: Mapped[int | None] = mapped_column(Integer)
    trust_type: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    #: the first day the version no longer holds (as in uptake.reference); empty while current
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    def __repr__(self) -> str:
        return f"<Organisation {self.level} {self.code} from {self.valid_from}>"


class OrgRelationship(Base):
    """A versioned child -> parent link (a row of `uptake.reference` `relationships`).

    Codes are not unique on their own (an organisation has several versions), so the link is by code and
    level rather than by a foreign key to `organisations`.
    """

    __tablename__ = "org_relationships"
    __table_args__ = (
        # The name is given because the conventional one would pass PostgreSQL's 63-character limit.
        UniqueConstraint(
            "child_code", "child_level", "parent_code", "parent_level", "valid_from",
            name="uq_org_relationships_version",
        ),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_dates"),
        Index("ix_org_relationships_parent", "parent_code", "parent_level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_code: Mapped[str] = mapped_column(String(CODE))
    child_level: Mapped[str] = mapped_column(String(LEVEL))
    parent_code: Mapped[str] = mapped_column(String(CODE))
    parent_level: Mapped[str] = mapped_column(String(LEVEL))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    def __repr__(self) -> str:
        return (
            f"<OrgRelationship {self.child_level} {self.child_code} -> {self.parent_level} "
            f"{self.parent_code} from {self.valid_from}>"
        )


# --- the catalogue (uptake.catalogue), mirrored so workflow records can refer to it -----------------


class Innovation(Base):
    __tablename__ = "innovations"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    pathway_stage: Mapped[str] = mapped_column(String(32))
    conditions: Mapped[list[str]] = mapped_column(JSON)
    nice_reference: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(255))
    #: the full catalogue entry, `Innovation.model_dump(mode="json")`
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    indicators: Mapped[list[Indicator]] = relationship(back_populates="innovation")

    def __repr__(self) -> str:
        return f"<Innovation {self.id}>"


class Indicator(Base):
    __tablename__ = "indicators"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    innovation_id: Mapped[str] = mapped_column(
        String(SLUG), ForeignKey("innovations.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    polarity: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    levels: Mapped[list[str]] = mapped_column(JSON)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the full catalogue entry, `Indicator.model_dump(mode="json")`
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    innovation: Mapped[Innovation] = relationship(back_populates="indicators")

    def __repr__(self) -> str:
        return f"<Indicator {self.id}>"


# --- people and access ---------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{role}'" for role in ROLES) + ")", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: stored lower-case (repository.add_user normalises it)
    email: Mapped[str] = mapped_column(String(EMAIL), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    #: ICB code for an icb-analyst, organisation code for a provider-lead
    scope_org_code: Mapped[str | None] = mapped_column(String(CODE))
    #: innovation id for an innovator
    scope_innovation: Mapped[str | None] = mapped_column(
        String(SLUG), ForeignKey("innovations.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: row version for optimistic locking (see `version_column`)
    version: Mapped[int] = version_column()

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(Base):
    """An API token. Only a SHA-256 hash of the token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.label!r} of user {self.user_id}>"


# --- audit ---------------------------------------------------------------------------------------


class AuditEvent(Base):
    """Who did what, to which record, when. Append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: a user's email, the OS user running a command, or "system"
    actor: Mapped[str] = mapped_column(String(EMAIL))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    #: None when the action concerns a whole collection (e.g. a reference sync)
    entity_id: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.occurred_at:%Y-%m-%dT%H:%M:%SZ} {self.actor} {self.action}>"


class AuditIsAppendOnly(UptakeError):
    """Raised on any attempt to change or remove an audit event through SQLAlchemy."""


def _refuse(*_: object) -> None:
    raise AuditIsAppendOnly("audit events are append-only: they cannot be updated or deleted")


event.listen(AuditEvent, "before_update", _refuse)
event.listen(AuditEvent, "before_delete", _refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_audit_changes(state: Any) -> None:
    """Also refuse bulk `update(AuditEvent)` / `delete(AuditEvent)` statements run through a Session."""
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) == AuditEvent.__tablename__:
            _refuse()

