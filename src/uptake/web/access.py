"""Who is asking, and what they may see.

Published data (every result table row of every indicator, at every level, with its intervals, ranks,
funnels, SPC charts, adoption and national opportunity totals) is public: anyone may read it without
signing in. The organisation "innovation pack" management information (the organisation's 10 peers by
name, who nearby does it best, and its opportunity in the indicator's units and pounds against each
benchmark) is for signed-in users whose role covers it:

============== ============================================================================
role           sees the innovation pack of
============== ============================================================================
national-admin every organisation, every indicator; also manages users and reads the audit log
icb-analyst    its ICB and every organisation linked under it (sub-ICB locations, PCNs,
               practices, trusts and stroke units of its footprint), every indicator
provider-lead  its own organisation (and, for a PCN, its practices), every indicator
innovator      every organisation, but only the indicators of its own innovation
                (not peer lists by name, which are not about an innovation)
============== ============================================================================

Everything else answers 403 Forbidden. Records whose very existence is private (users, API tokens,
audit events) answer 404 Not Found to anyone who may not see them.
"""

from __future__ import annotations

from dataclasses import dataclass

from uptake.store.models import User

PUBLIC = "public"


@dataclass(frozen=True)
class Principal:
    role: str = PUBLIC
    user_id: int | None = None
    email: str | None = None
    name: str | None = None
    scope_org_code: str | None = None
    scope_innovation: str | None = None
    #: organisations whose pack this principal may see; None means every organisation
    org_scope: frozenset[str] | None = frozenset()
    #: "session", "token" or None
    via: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == "national-admin"

    @property
    def cache_key(self) -> str:
        """Two principals with the same key see exactly the same pages."""
        if not self.signed_in:
            return PUBLIC
        return f"{self.role}|{self.scope_org_code}|{self.scope_innovation}|{self.user_id}"

    @property
    def scope_label(self) -> str:
        if self.role == "national-admin":
            return "all of England"
        if self.role == "innovator":
            return f"innovation {self.scope_innovation}"
        if self.scope_org_code:
            return f"organisation {self.scope_org_code}"
        return "published data"

    def may_see_org_pack(self, org_code: str) -> bool:
        """Organisation-wide pack sections (peer names)."""
        if self.role == "national-admin":
            return True
        if self.role in ("icb-analyst", "provider-lead"):
            return self.org_scope is not None and org_code in self.org_scope
        return False

    def may_see_innovation(self, innovation_id: str | None) -> bool:
        """Pack figures of an innovation's indicators: an innovator sees only its own innovation's."""
        return self.role != "innovator" or (innovation_id is not None and innovation_id == self.scope_innovation)

    def may_see_pack(self, org_code: str, innovation_id: str | None) -> bool:
        """The pack rows of one organisation for an indicator of ``innovation_id``."""
        if self.role == "innovator":
            return self.may_see_innovation(innovation_id)
        return self.may_see_org_pack(org_code)

    def visible_orgs(self) -> frozenset[str] | None:
        """Organisations whose pack rows may be listed (None: all); innovators filter by indicator."""
        if self.role in ("national-admin", "innovator"):
            return None
        if self.role in ("icb-analyst", "provider-lead"):
            return self.org_scope or frozenset()
        return frozenset()


ANONYMOUS = Principal()


def principal_for(user: User, descendants: list[str], via: str) -> Principal:
    org_scope: frozenset[str] | None
    if user.role == "national-admin":
        org_scope = None
    elif user.role in ("icb-analyst", "provider-lead") and user.scope_org_code:
        org_scope = frozenset([user.scope_org_code, *descendants])
    else:
        org_scope = frozenset()
    return Principal(
        role=user.role,
        user_id=user.id,
        email=user.email,
        name=user.name,
        scope_org_code=user.scope_org_code,
        scope_innovation=user.scope_innovation,
        org_scope=org_scope,
        via=via,
    )
