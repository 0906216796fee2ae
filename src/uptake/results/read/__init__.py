"""Every read of the result tables (and of the store tables beside them), by family; one module each.

Each function takes a DuckDB connection or cursor first - the web's in-memory snapshot
(uptake.web.snapshot), or a read-only connection on the store file - and returns plain rows (a list of
dicts, one dict or a scalar) or, for the mission's computations, a pandas frame (``*_frame`` and the
mission tables). None builds HTML. The columns come from uptake.results.schema; tests/web/test_queries.py
runs every reader against tables made from it.

    organisations  organisations and the current hierarchy        runs         load batches, pipeline_runs
    values         result_values                                  deciles      result_deciles
    funnel         result_funnel, _curve, _summary                spc          result_spc, result_spc_series
    changes        result_changes (CUSUM runs)                    peers        result_peers, nearby organisations
    opportunity    result_opportunity, result_opportunity_totals  adoption     result_adoption
    spread         result_values in the periods networks, barriers and adopters read
    equity         result_equity                                  attainment   the mission's three tables
    outcomes       result_outcomes, result_impact (the models')
    pathway        result_pathway_national, result_pathway_units (the stroke pathway model)
    forecasts      result_forecast_fits, result_forecasts, result_forecast_targets (and their inputs)
    simulation     the policy simulator's inputs (organisations, parents, denominators, peers of a level)
    groups         a custom group's members on every indicator (their latest common period)
    profile        an organisation across every indicator (area profile, spine chart), an area's members on
                   every indicator (tartan rug), an organisation over the deciles (deciles chart)

Use as ``from uptake.results import read`` and ``read.values.series(cur, ...)``; ``read.tables(cur)`` says
which tables are there.
"""

from uptake.results.read import (
    adoption,
    attainment,
    changes,
    deciles,
    equity,
    forecasts,
    funnel,
    groups,
    opportunity,
    organisations,
    outcomes,
    pathway,
    peers,
    profile,
    runs,
    simulation,
    spc,
    spread,
    values,
)
from uptake.results.read._sql import tables

__all__ = ["adoption", "attainment", "changes", "deciles", "equity", "forecasts", "funnel", "groups", "opportunity",
           "organisations", "outcomes", "pathway", "peers", "profile", "runs", "simulation", "spc", "spread",
           "tables", "values"]
