"""Every table that downloads, by the name in its address (/download/NAME.csv|xlsx?...)."""

from __future__ import annotations

from collections.abc import Callable

from uptake.web.tables.adoption import adoption
from uptake.web.tables.base import DataTable
from uptake.web.tables.changes import change_series, changes, org_changes
from uptake.web.tables.deciles import deciles
from uptake.web.tables.equity import equity, equity_quintiles
from uptake.web.tables.forecasts import (
    forecast_targets,
    forecast_trajectory,
    forecasts,
    org_forecast_targets,
    org_forecasts,
)
from uptake.web.tables.funnel import funnel
from uptake.web.tables.improvement import improvement
from uptake.web.tables.opportunity import opportunity, opportunity_totals, org_opportunity
from uptake.web.tables.pathway import pathway_national, pathway_units
from uptake.web.tables.organisations import organisations
from uptake.web.tables.outcomes import (
    impact,
    national_outcomes,
    org_outcomes,
    outcomes,
    wealth_claims,
    wealth_inputs,
    wealth_table,
    wealth_totals,
)
from uptake.web.tables.peers import nearby, peer_position, peers
from uptake.web.tables.postcode import district_practices, nearest
from uptake.web.tables.profile import org_deciles, profile, rug
from uptake.web.tables.provenance import batches, indicators, runs
from uptake.web.tables.spc import spc
from uptake.web.tables.value import value_icbs, value_inputs
from uptake.web.tables.values import compare, league, org_position

BUILDERS: dict[str, Callable[..., DataTable]] = {
    "league": league,
    "pathway-national": pathway_national,
    "pathway-units": pathway_units,
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
    "improvement": improvement,
    "nearest": nearest,
    "district-practices": district_practices,
    "org-changes": org_changes,
    "change-series": change_series,
    "equity": equity,
    "equity-quintiles": equity_quintiles,
    "forecasts": forecasts,
    "forecast-trajectory": forecast_trajectory,
    "forecast-targets": forecast_targets,
    "org-forecasts": org_forecasts,
    "org-forecast-targets": org_forecast_targets,
    "compare": compare,
    "batches": batches,
    "runs": runs,
    "indicators": indicators,
    "outcomes-totals": national_outcomes,
    "outcomes": outcomes,
    "org-outcomes": org_outcomes,
    "impact": impact,
    "wealth-table": wealth_table,
    "wealth-totals": wealth_totals,
    "wealth-claims": wealth_claims,
    "wealth-inputs": wealth_inputs,
    "value-icbs": value_icbs,
    "value-inputs": value_inputs,
    "profile": profile,
    "rug": rug,
    "org-deciles": org_deciles,
}
