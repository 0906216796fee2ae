"""Every table that downloads, by the name in its address (/download/NAME.csv|xlsx?...)."""

from __future__ import annotations

from collections.abc import Callable

from uptake.web.tables.adoption import adoption
from uptake.web.tables.base import DataTable
from uptake.web.tables.changes import change_series, changes, org_changes
from uptake.web.tables.deciles import deciles
from uptake.web.tables.equity import equity, equity_quintiles
from uptake.web.tables.funnel import funnel
from uptake.web.tables.opportunity import opportunity, opportunity_totals, org_opportunity
from uptake.web.tables.organisations import organisations
from uptake.web.tables.peers import nearby, peer_position, peers
from uptake.web.tables.profile import org_deciles, profile, rug
from uptake.web.tables.provenance import batches, indicators, runs
from uptake.web.tables.spc import spc
from uptake.web.tables.values import compare, league, org_position

BUILDERS: dict[str, Callable[..., DataTable]] = {
    "league": league,
    "organisations": organisations,
    "organisation": org_position,
    "peers": peers,
    "peer-position": peer_position,
    "nearby": nearby,
    "opportunity": opportunity,
    "org-opportunity": org_opportunity,
    "opportunity-totals": opportunity_totals,
    "adoption": adoption,
    "deciles": deciles,
    "funnel": funnel,
    "spc": spc,
    "changes": changes,
    "org-changes": org_changes,
    "change-series": change_series,
    "equity": equity,
    "equity-quintiles": equity_quintiles,
    "compare": compare,
    "batches": batches,
    "runs": runs,
    "indicators": indicators,
    "profile": profile,
    "rug": rug,
    "org-deciles": org_deciles,
}
