"""The policy simulator's inputs (uptake.models.simulation): the organisations of a level with their current
parents (ICB, ISDN, sub-ICB), their latest denominators, their peers (result_peers) and fitted curves
(uptake.results.read.forecasts.parameters_frame)."""

from __future__ import annotations

import pandas as pd

from uptake.results.read._sql import CURRENT_ORG, Cursor, tables

__all__ = ["organisations_frame", "parents_frame", "volumes_frame", "peer_pairs_frame", "latest_period",
           "simulated_indicators"]


def organisations_frame(cur: Cursor, level: str) -> pd.DataFrame:
    """code, name, population of every current organisation of ``level``, by code."""
    return cur.execute(f"SELECT code, name, population FROM organisations WHERE level = ? AND {CURRENT_ORG} "
                       "ORDER BY code", [level]).df()


def parents_frame(cur: Cursor, level: str) -> pd.DataFrame:
    """child_code, parent_level, parent_code: the current parents of ``level``'s organisations, and of their
    sub-ICB locations (child_level says whose parent it is)."""
    return cur.execute("SELECT child_code, child_level, parent_level, parent_code FROM relationships "
                       "WHERE valid_to IS NULL AND (child_level = ? OR child_level = 'sub-icb') "
                       "ORDER BY child_level, child_code, parent_level", [level]).df()


def volumes_frame(cur: Cursor, indicator: str) -> pd.DataFrame:
    """level, org_code, denominator of each organisation's latest period of ``indicator`` (result_values)."""
    if "result_values" not in tables(cur):
        return pd.DataFrame({"level": [], "org_code": [], "denominator": []})
    found = cur.execute("SELECT * FROM result_values LIMIT 0").df()
    if "denominator" not in found.columns:
        return pd.DataFrame({"level": [], "org_code": [], "denominator": []})
    return cur.execute("SELECT level, org_code, arg_max(denominator, period) AS denominator FROM result_values "
                       "WHERE indicator = ? GROUP BY level, org_code", [indicator]).df()


def latest_period(cur: Cursor, indicator: str):
    """The latest period with a value of ``indicator`` (None without values)."""
    if "result_values" not in tables(cur):
        return None
    found = cur.execute("SELECT max(period) FROM result_values WHERE indicator = ?", [indicator]).fetchone()
    return found[0] if found else None


def peer_pairs_frame(cur: Cursor, level: str) -> pd.DataFrame:
    """org_code, peer_code of ``level`` (empty when the peers have not been computed)."""
    if "result_peers" not in tables(cur):
        return pd.DataFrame({"org_code": [], "peer_code": []})
    return cur.execute("SELECT org_code, peer_code FROM result_peers WHERE level = ? ORDER BY org_code, peer_code",
                       [level]).df()


def simulated_indicators(cur: Cursor) -> list[dict]:
    """indicator, level, organisations of every fitted (indicator, level) pair: what the simulator can run on."""
    if "result_forecast_fits" not in tables(cur):
        return []
    found = cur.execute("SELECT indicator, level, count(*) AS organisations FROM result_forecast_fits "
                        "WHERE status = 'fitted' GROUP BY indicator, level ORDER BY indicator, level").df()
    return found.to_dict("records")
