"""The innovation pack's peer tables (restricted): the 10 most similar organisations, the organisation
against its peers, and who nearby does it best; and the access rules they share with the API."""

from __future__ import annotations

from fastapi import HTTPException

from uptake.catalogue.schemas import Polarity
from uptake.results import read
from uptake.web.formatting import indicator_value, interval, missing, number, period_label
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import comparison_tag, org_link


def require_org_pack(ctx: Context, code: str) -> None:
    if not ctx.principal.may_see_org_pack(code):
        raise HTTPException(403, "the peer list of this organisation is not available to you")


def require_pack(ctx: Context, code: str, indicator: str) -> None:
    if not ctx.principal.may_see_pack(code, ctx.innovation_of(indicator)):
        raise HTTPException(403, "this organisation's innovation pack is not available to you")


def peers(ctx: Context, code: str):
    """The 10 most similar organisations, each with its latest values (restricted)."""
    org = ctx.organisation(code)
    require_org_pack(ctx, code)
    rows, _ = ctx.peer_pack(code)
    columns = [
        Column("rank", "Similarity rank", numeric=True),
        Column("peer_name", "Peer", fmt=lambda r: f"{r['peer_name'] or r['peer_code']} ({r['peer_code']})",
               href=lambda r: f"/organisations/{r['peer_code']}"),
        Column("distance", "Distance (smaller is more similar)", fmt=lambda r: number(r["distance"], 2), numeric=True),
    ]
    return DataTable("peers", f"The 10 organisations most similar to {org['name']}", columns, rows, {"code": code})


def peer_position(ctx: Context, code: str):
    """For each indicator the pack may show: the organisation against its peers' median and range."""
    org = ctx.organisation(code)
    mine = {r["indicator"]: r for r in read.values.organisation_latest_values(ctx.cur, code)}
    rows = []
    for row in ctx.peer_pack(code)[1]:
        if not ctx.principal.may_see_pack(code, ctx.innovation_of(row["indicator"])):
            continue
        own = mine.get(row["indicator"], {})
        ind = ctx.catalogue.indicators.get(row["indicator"])
        rows.append({**row, "indicator_title": ind.title if ind else row["indicator"], "value": own.get("value"),
                     "england_value": own.get("england_value")})

    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [
        Column("indicator_title", "Indicator"),
        Column("value", org["name"], fmt=lambda r: indicator_value(ind_of(r), r["value"]), numeric=True),
        Column("peer_median", "Peers' median", fmt=lambda r: indicator_value(ind_of(r), r["peer_median"]), numeric=True),
        Column("peer_range", "Peers' range",
               fmt=lambda r: interval(ind_of(r), r["peer_min"], r["peer_max"])),
        Column("england_value", "England", fmt=lambda r: indicator_value(ind_of(r), r["england_value"]), numeric=True),
    ]
    return DataTable("peer-position", f"{org['name']} against its 10 peers", columns, rows, {"code": code})


def nearby(ctx: Context, code: str, indicator: str):
    """Who nearby does it best: the 10 nearest organisations of the same level, best first (restricted)."""
    org = ctx.organisation(code)
    ind = ctx.indicator(indicator)
    require_pack(ctx, code, indicator)
    day = read.values.latest_period(ctx.cur, indicator, org["level"])
    rows = read.peers.nearby(ctx.cur, indicator, org["level"], day, code) if day else []
    reverse = ind.polarity != Polarity.LOW_IS_GOOD
    rows.sort(key=lambda r: (missing(r["value"]), -(r["value"] or 0) if reverse else (r["value"] or 0)))
    columns = [
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=org_link),
        Column("distance_km", "Distance (km)", fmt=lambda r: number(r["distance_km"], 1), numeric=True),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("ci95", "95% interval", fmt=lambda r: interval(ind, r["ci95_low"], r["ci95_high"])),
        Column("comparison", "Compared with England", fmt=lambda r: "", tag=comparison_tag),
    ]
    return DataTable("nearby", f"Who near {org['name']} does it best: {ind.title}, {period_label(day, ind)}",
                     columns, rows, {"code": code, "indicator": indicator})
