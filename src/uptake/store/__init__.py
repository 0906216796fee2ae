"""The workflow database: organisations, catalogue, users, tokens and audit (SQLite or PostgreSQL).

Typical use (what `uptake init` does)::

    upgrade(ws.database_url)                         # create or migrate the schema
    engine = make_engine(ws.database_url)
    with session_scope(engine) as session:           # one transaction: all or nothing
        sync_reference(session, ref.organisations, ref.relationships)
        sync_catalogue(session, load_catalogue())

See docs/workflow-database.md.
"""

# The mission's, the web sessions' and the frontline's tables share models.Base: importing the package registers
# them on it.
from uptake.store import (  # noqa: F401
    alert_models,
    ecosystem_award_models,
    ecosystem_network_models,
    fund_models,
    group_models,
    mission_models,
    scenario_models,
    session_models,
)
from uptake.store.db import make_engine, normalise_url, session_scope
from uptake.store.migrate import current_revision, downgrade, head_revision, upgrade
from uptake.store.models import (
    ROLES,
    ApiToken,
    AuditEvent,
    AuditIsAppendOnly,
    Base,
    Indicator,
    Innovation,
    Organisation,
    OrgRelationship,
    User,
)
from uptake.store.repository import (
    CatalogueSync,
    ReferenceSync,
    TableSync,
    add_user,
    api_token_for,
    audit_trail,
    default_actor,
    issue_api_token,
    record_audit,
    record_token_use,
    revoke_api_token,
    sync_catalogue,
    sync_reference,
    user_for_token,
)

__all__ = [
    "ROLES", "ApiToken", "AuditEvent", "AuditIsAppendOnly", "Base", "CatalogueSync", "Indicator",
    "Innovation", "OrgRelationship", "Organisation", "ReferenceSync", "TableSync", "User", "add_user",
    "api_token_for", "audit_trail", "current_revision", "default_actor", "downgrade", "head_revision",
    "issue_api_token", "make_engine", "normalise_url", "record_audit", "record_token_use", "revoke_api_token",
    "session_scope", "sync_catalogue", "sync_reference", "upgrade", "user_for_token",
]
