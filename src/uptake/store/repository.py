"""Writes to the workflow database. Every helper here records an audit event: who, when, what.

The helpers work inside a session the caller owns (see `uptake.store.db.session_scope`): they never
commit, so a command can do several writes and have them all land, or none.

`actor` is whoever asked for the write: the signed-in user's email in the web app and API, otherwise
(None) the operating-system user running the command (`default_actor()`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import logging
import re
import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.store.db import SQLITE_BEGIN
from uptake.store.frames import (
    Rows,
    check_relationships_name_organisations,
    picker,
    read_organisations,
    read_relationships,
)
from uptake.store.models import (
    ROLES,
    ApiToken,
    AuditEvent,
    Indicator,
    Innovation,
    Organisation,
    OrgRelationship,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from uptake.catalogue import Catalogue

log = logging.getLogger(__name__)

#: Organisation levels whose codes a provider-lead may be scoped to.
PROVIDER_LEVELS = (Level.TRUST, Level.STROKE_UNIT, Level.PRACTICE, Level.PCN)


def default_actor() -> str:
    """The operating-system user running this process, or "system" when there is none."""
    try:
        return getpass.getuser() or "system"
    except Exception:  # no login name (e.g. a container with an unnamed uid)
        return "system"


# --- audit ---------------------------------------------------------------------------------------


def record_audit(
    session: Session,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event (timestamped now, UTC). `details` must be JSON-serialisable."""
    if not actor or not actor.strip():
        raise UptakeError("an audit event needs an actor (a user's email, an OS user or 'system')")
    details = dict(details or {})
    try:
        json.dumps(details)
    except (TypeError, ValueError) as exc:
        raise UptakeError(f"audit details for {action} must be JSON-serialisable: {exc}") from None
    event = AuditEvent(
        occurred_at=utcnow(),
        actor=actor.strip(),
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=details,
    )
    session.add(event)
    return event


# --- counts returned by the sync helpers ---------------------------------------------------------


@dataclass(frozen=True)
class TableSync:
    """What a sync did to one table."""

    #: input rows that were not in the database
    inserted: int = 0
    #: stored rows whose values changed (other than being closed)
    updated: int = 0
    #: stored rows that gained a valid_to (given in the input, or because they left the input)
    closed: int = 0
    #: input rows already stored exactly as given
    unchanged: int = 0
    #: stored rows absent from the input and left as they are (history, or records others refer to)
    kept: int = 0

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.closed


@dataclass(frozen=True)
class ReferenceSync:
    organisations: TableSync
    relationships: TableSync

    @property
    def changed(self) -> int:
        return self.organisations.changed + self.relationships.changed

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"organisations": asdict(self.organisations), "relationships": asdict(self.relationships)}


@dataclass(frozen=True)
class CatalogueSync:
    innovations: TableSync
    indicators: TableSync

    @property
    def changed(self) -> int:
        return self.innovations.changed + self.indicators.changed

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"innovations": asdict(self.innovations), "indicators": asdict(self.indicators)}


# --- the organisation hierarchy ------------------------------------------------------------------


def sync_reference(
    session: Session,
    organisations_df: pd.DataFrame,
    relationships_df: pd.DataFrame,
    *,
    actor: str | None = None,
    as_of: dt.date | None = None,
) -> ReferenceSync:
    """Bring the stored organisation hierarchy up to date with `uptake.reference` frames.

    A version is identified by (code, valid_from) for organisations and by (child, parent, valid_from)
    for relationships. New versions are inserted; a stored version whose values differ is updated (this
    is how a version gets its valid_to when it closes); nothing is deleted, so history is kept. A stored
    version that is still open but has left the input is closed on `as_of` (today by default), following
    the uptake.reference convention that valid_to is the first day a version no longer holds. Running the
    same frames twice changes nothing and records no second audit event.

    Every cell is checked before anything is written; problems raise UptakeError naming the frame, row
    and column.
    """
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    organisation_rows = read_organisations(organisations_df)
    relationship_rows = read_relationships(relationships_df)
    check_relationships_name_organisations(organisation_rows, relationship_rows)

    result = ReferenceSync(
        organisations=_sync_versions(session, Organisation, organisation_rows, as_of),
        relationships=_sync_versions(session, OrgRelationship, relationship_rows, as_of),
    )
    if result.changed:
        details: dict[str, Any] = {**result.as_dict(), "as_of": as_of.isoformat()}
        record_audit(session, actor or default_actor(), "reference.sync", "reference", None, details)
    session.flush()
    return result


def _sync_versions(
    session: Session, model: type[Organisation] | type[OrgRelationship], given: Rows, as_of: dt.date
) -> TableSync:
    """Diff the given rows against the stored versions and write only the difference, in bulk."""
    table = model.__table__
    values = [c for c in given.columns if c not in given.key]
    key_of = picker([given.columns.index(c) for c in given.key])
    values_of = picker([given.columns.index(c) for c in values])
    valid_to = values.index("valid_to")

    stored: dict[tuple, tuple[int, tuple]] = {}
    for row in session.execute(select(table.c.id, *(table.c[c] for c in (*given.key, *values)))):
        stored[tuple(row[1 : 1 + len(given.key)])] = (row[0], tuple(row[1 + len(given.key) :]))

    inserts: list[tuple] = []
    updates: list[dict[str, Any]] = []
    counts = dict(inserted=0, updated=0, closed=0, unchanged=0, kept=0)
    seen: set[tuple] = set()
    for row in given.rows:
        key = key_of(row)
        seen.add(key)
        if key not in stored:
            inserts.append(row)
            counts["inserted"] += 1
            continue
        row_id, old = stored[key]
        new = values_of(row)
        if new == old:
            counts["unchanged"] += 1
            continue
        updates.append({"id": row_id, **dict(zip(values, new, strict=True))})
        counts["closed" if old[valid_to] is None and new[valid_to] is not None else "updated"] += 1

    valid_from = given.key.index("valid_from")
    for key, (row_id, old) in stored.items():
        if key in seen:
            continue
        if old[valid_to] is None:  # left the input while open: it no longer holds from today
            updates.append({"id": row_id, "valid_to": max(as_of, key[valid_from])})
            counts["closed"] += 1
        else:
            counts["kept"] += 1

    if inserts:
        _insert_rows(session, model, given.columns, inserts)
    if updates:  # executemany by primary key, grouped by the set of columns each row changes
        session.execute(update(model), updates)
    return TableSync(**counts)


def _insert_rows(
    session: Session,
    model: type[Organisation] | type[OrgRelationship],
    columns: tuple[str, ...],
    rows: list[tuple],
) -> None:
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        session.execute(insert(model), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    # psycopg runs an executemany as one pipelined INSERT per row (about 5 s for England's 38,000 links);
    # COPY, in the session's own transaction, takes about 1 s.
    session.flush()
    quote = dialect.identifier_preparer.quote
    statement = f"COPY {quote(model.__tablename__)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


# --- the catalogue -------------------------------------------------------------------------------


def sync_catalogue(session: Session, catalogue: Catalogue, *, actor: str | None = None) -> CatalogueSync:
    """Insert or update the catalogue's innovations and indicators (`definition` = the full entry).

    Entries no longer in the catalogue are kept (plans, NSFs and users may refer to them) and counted as
    `kept`. Each insert and update records an audit event for that entry; an unchanged catalogue writes
    nothing.
    """
    actor = actor or default_actor()
    innovations = _upsert(
        session, Innovation, "innovation",
        {
            entry.id: {
                "name": entry.name,
                "kind": entry.kind.value,
                "pathway_stage": entry.pathway_stage.value,
                "conditions": list(entry.conditions),
                "nice_reference": entry.nice_reference,
                "owner": entry.owner,
                "definition": entry.model_dump(mode="json"),
            }
            for entry in catalogue.innovations.values()
        },
        actor,
    )
    session.flush()  # innovations exist before the indicators that refer to them
    indicators = _upsert(
        session, Indicator, "indicator",
        {
            entry.id: {
                "innovation_id": entry.innovation,
                "title": entry.title,
                "polarity": entry.polarity.value,
                "period": entry.period.value,
                "levels": [level.value for level in entry.levels],
                "synthetic": entry.synthetic,
                "definition": entry.model_dump(mode="json"),
            }
            for entry in catalogue.indicators.values()
        },
        actor,
    )
    session.flush()
    return CatalogueSync(innovations=innovations, indicators=indicators)


def _upsert(
    session: Session,
    model: type[Innovation] | type[Indicator],
    entity_type: str,
    entries: dict[str, dict[str, Any]],
    actor: str,
) -> TableSync:
    stored = {row.id: row for row in session.scalars(select(model))}
    inserted = updated = unchanged = 0
    now = utcnow()
    for entry_id, values in sorted(entries.items()):
        row = stored.get(entry_id)
        if row is None:
            session.add(model(id=entry_id, updated_at=now, **values))
            record_audit(session, actor, f"{entity_type}.insert", entity_type, entry_id, {})
            inserted += 1
            continue
        changed = sorted(name for name, value in values.items() if getattr(row, name) != value)
        if not changed:
            unchanged += 1
            continue
        for name in changed:
            setattr(row, name, values[name])
        row.updated_at = now
        record_audit(session, actor, f"{entity_type}.update", entity_type, entry_id, {"fields": changed})
        updated += 1
    kept = len(set(stored) - set(entries))
    return TableSync(inserted=inserted, updated=updated, unchanged=unchanged, kept=kept)


# --- users and API tokens ------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def add_user(
    session: Session,
    email: str,
    name: str,
    role: str,
    scope_org_code: str | None = None,
    scope_innovation: str | None = None,
    *,
    actor: str | None = None,
) -> User:
    """Add a user after checking the role and the scope it needs.

    - national-admin: no scope;
    - icb-analyst: `scope_org_code` = the code of a current ICB;
    - provider-lead: `scope_org_code` = the code of a current trust, stroke unit, GP practice or PCN;
    - innovator: `scope_innovation` = the id of an innovation in the catalogue.

    The organisation and innovation must already be in the database (`uptake init` loads them).
    """
    email = (email or "").strip().lower()
    name = (name or "").strip()
    if not _EMAIL.match(email):
        raise UptakeError(f"{email!r} is not an email address")
    if not name:
        raise UptakeError(f"user {email}: a name is required")
    if role not in ROLES:
        raise UptakeError(f"user {email}: unknown role {role!r}; use one of: {', '.join(ROLES)}")
    scope_org_code = scope_org_code.strip() if scope_org_code and scope_org_code.strip() else None
    scope_innovation = scope_innovation.strip() if scope_innovation and scope_innovation.strip() else None
    _check_scope(session, email, role, scope_org_code, scope_innovation)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UptakeError(f"a user with email {email} already exists")

    user = User(
        email=email, name=name, role=role, scope_org_code=scope_org_code,
        scope_innovation=scope_innovation, active=True, created_at=utcnow(),
    )
    session.add(user)
    session.flush()  # assigns user.id for the audit event
    record_audit(
        session, actor or default_actor(), "user.add", "user", str(user.id),
        {"email": email, "role": role, "scope_org_code": scope_org_code, "scope_innovation": scope_innovation},
    )
    return user


def _check_scope(
    session: Session, email: str, role: str, org_code: str | None, innovation: str | None
) -> None:
    if role == "national-admin":
        if org_code or innovation:
            raise UptakeError(f"user {email}: a national-admin sees everything; give no organisation or innovation")
        return
    if role == "innovator":
        if org_code:
            raise UptakeError(f"user {email}: an innovator is scoped to an innovation, not an organisation")
        if not innovation:
            raise UptakeError(f"user {email}: an innovator needs an innovation id (scope_innovation)")
        if session.get(Innovation, innovation) is None:
            raise UptakeError(
                f"user {email}: no innovation {innovation!r} in the database; "
                "check the id against the catalogue (uptake init loads it)"
            )
        return
    # icb-analyst and provider-lead: scoped to an organisation
    if innovation:
        raise UptakeError(f"user {email}: role {role} is scoped to an organisation, not an innovation")
    levels = {Level.ICB.value} if role == "icb-analyst" else {level.value for level in PROVIDER_LEVELS}
    wanted = " or ".join(sorted(levels, reverse=True))
    if not org_code:
        raise UptakeError(f"user {email}: role {role} needs scope_org_code, the code of a current {wanted}")
    today = dt.datetime.now(dt.UTC).date()
    found = set(
        session.scalars(
            select(Organisation.level).where(
                Organisation.code == org_code,
                Organisation.valid_from <= today,
                Organisation.valid_to.is_(None) | (Organisation.valid_to > today),
            )
        )
    )
    if not found & levels:
        what = f"{org_code} is at level {', '.join(sorted(found))}" if found else (
            f"no current organisation has code {org_code}"
        )
        raise UptakeError(f"user {email}: role {role} needs the code of a current {wanted}; {what}")


def _hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no dictionary to attack, unlike passwords).
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User, label: str, *, actor: str | None = None) -> str:
    """Create an API token for `user` and return it. Only its hash is stored: show it once."""
    if not user.active:
        raise UptakeError(f"user {user.email} is not active; cannot issue a token")
    token = "upt_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_hash_token(token), label=label.strip() or "token",
                   created_at=utcnow())
    session.add(row)
    session.flush()
    record_audit(session, actor or default_actor(), "api-token.issue", "api-token", str(row.id),
                 {"user_id": user.id, "label": row.label})
    return token


def revoke_api_token(session: Session, token_id: int, *, actor: str | None = None) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise UptakeError(f"no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_audit(session, actor or default_actor(), "api-token.revoke", "api-token", str(row.id),
                     {"user_id": row.user_id})
    return row


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a token belongs to, or None (unknown, revoked, or the user is inactive).

    Reads only: recording that the token was used is `record_token_use`, in a transaction of its own.
    """
    row = api_token_for(session, token)
    return None if row is None else row.user


def api_token_for(session: Session, token: str) -> ApiToken | None:
    """The stored row of an active token (None: unknown, revoked, or its user is inactive). Reads only."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row


#: `api_tokens.last_used_at` is written at most once per token in this interval (so it is accurate to
#: about a minute): a request with a token does not write to the workflow database.
TOKEN_USE_INTERVAL = dt.timedelta(seconds=60)


def token_use_is_due(last_used_at: dt.datetime | None, now: dt.datetime | None = None,
                     interval: dt.timedelta = TOKEN_USE_INTERVAL) -> bool:
    """Whether a token last used at `last_used_at` should have its use recorded again now."""
    return last_used_at is None or last_used_at < (now or utcnow()) - interval


def record_token_use(
    engine: Engine, token_id: int, *, now: dt.datetime | None = None, interval: dt.timedelta = TOKEN_USE_INTERVAL
) -> bool:
    """Set the token's `last_used_at` to now if it is empty or older than `interval`; True if it did.

    Bookkeeping, not audited, and never an error: it runs in a short transaction of its own (one
    conditional UPDATE, so concurrent requests write it once), and a failure (e.g. the database busy for
    longer than its timeout) is logged and ignored, so it cannot fail the request that used the token.
    Callers skip it when the value they read is recent (`token_use_is_due`), so most requests write nothing.
    """
    now = now or utcnow()
    statement = (
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where(ApiToken.last_used_at.is_(None) | (ApiToken.last_used_at < now - interval))
        .values(last_used_at=now)
    )
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with connection.begin():
                return connection.execute(statement).rowcount == 1
    except Exception as exc:  # noqa: BLE001 - bookkeeping must never fail a request
        log.warning("could not record the use of API token %s: %s", token_id, exc)
        return False


def audit_trail(
    session: Session, entity_type: str | None = None, entity_id: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The newest audit events first, optionally for one entity type or one entity."""
    query = select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)
    if entity_type is not None:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(session.scalars(query))
