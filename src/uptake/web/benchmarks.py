"""The benchmark choice on the web (``?benchmark=england|region|icb|peers|group:<id>``): the choice is parsed
and resolved by uptake.results.benchmark; here only a custom group is read from the workflow database, for
the person asking (their own groups: another person's group is not known). A choice that is not offered, or
not available for the organisation, answers 422 with the reason."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import select

from uptake.results import benchmark as bm
from uptake.store.db import session_scope
from uptake.store.group_models import OrgGroup
from uptake.web.access import Principal

#: what the selector offers, in order (a group is added per saved group of the person asking)
OPTIONS: tuple[tuple[str, str], ...] = (("england", "England"), ("region", "The region"), ("icb", "The ICB"),
                                        ("peers", "The similar-10 peers (pooled)"))


def group_spec(engine: Any, principal: Principal, group_id: int, *, any_owner: bool = False) -> bm.GroupSpec | None:
    """The principal's own group ``group_id`` as a benchmark, or None (not theirs, or no such group).
    ``any_owner``: the workspace's operator at the command line (``uptake pack --benchmark group:ID``)."""
    if engine is None or not (principal.signed_in or any_owner):
        return None
    with session_scope(engine) as session:
        group = session.get(OrgGroup, group_id)
        if group is None or (group.owner_id != principal.user_id and not any_owner):
            return None
        return bm.GroupSpec(group.id, group.title, group.level, tuple(m.org_code for m in group.members))


def own_groups(engine: Any, principal: Principal) -> list[tuple[str, str]]:
    """(``group:<id>``, title) of the principal's groups, for the selector."""
    if not principal.signed_in or engine is None:
        return []
    with session_scope(engine) as session:
        found = session.scalars(select(OrgGroup).where(OrgGroup.owner_id == principal.user_id)
                                .order_by(OrgGroup.title)).all()
        return [(f"group:{g.id}", f"{g.title} (custom group, pooled)") for g in found]


def parse(text: str | None) -> bm.Choice:
    try:
        return bm.parse(text)
    except bm.BenchmarkError as exc:
        raise HTTPException(422, str(exc)) from None


def choose(cur: Any, engine: Any, principal: Principal, org: dict, text: str | None, *,
           any_owner: bool = False) -> bm.Benchmark:
    """The benchmark ``text`` for the organisation ``org`` (a row with code and level), or 422 saying why."""
    choice = parse(text)
    group = (group_spec(engine, principal, choice.group_id, any_owner=any_owner) if choice.kind == "group"
             else None)
    try:
        return bm.resolve(cur, org["code"], org["level"], choice, group=group)
    except bm.BenchmarkError as exc:
        raise HTTPException(422, str(exc)) from None


def selector(engine: Any, principal: Principal, chosen: str) -> list[dict[str, Any]]:
    """The options of the benchmark selector, the chosen one marked."""
    options = list(OPTIONS) + own_groups(engine, principal)
    return [{"value": v, "text": t, "selected": v == chosen} for v, t in options]


def groups_stamp(engine: Any, principal: Principal) -> str:
    """A stamp of the principal's groups (ids and when each last changed), for cache keys of what a group
    benchmark shaped: an edited group is pooled again."""
    if not principal.signed_in:
        return ""
    with session_scope(engine) as session:
        found = session.execute(select(OrgGroup.id, OrgGroup.updated_at).where(
            OrgGroup.owner_id == principal.user_id).order_by(OrgGroup.id)).all()
        return ";".join(f"{i}@{u.isoformat() if u else ''}" for i, u in found)
