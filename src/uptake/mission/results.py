"""The mission's result tables in the analytics store (DuckDB), beside the pipeline's.

Read: ``result_values``, ``result_spc``, ``result_peers`` (written by ``uptake compute``) and the current
``organisations``. Written (each replaced as a whole, in one transaction, under the store's write lock):

- ``result_attainment``: one row per commitment, organisation in scope and period (uptake.mission.attainment);
- ``result_missed_opportunities``: commitments where most of an organisation's similar peers met and it did
  not (uptake.mission.ratings);
- ``result_watch_list``: the decertification watch list (uptake.mission.ratings).

The pipeline replaces only its own tables, so these survive ``uptake compute``; ``uptake compute`` then
recomputes them, with a new draft rating run, unless it is given ``--no-ratings`` (``uptake ratings compute``
does the same on its own). Each rating run records the pipeline run it was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError
from uptake.workspace import Workspace

ATTAINMENT_TYPES: dict[str, str] = {
    "framework": "VARCHAR", "framework_version": "INTEGER", "commitment": "VARCHAR", "indicator": "VARCHAR",
    "level": "VARCHAR", "org_code": "VARCHAR", "org_name": "VARCHAR", "period": "DATE", "as_of": "DATE",
    "rating_year": "DATE", "value": "DOUBLE", "ci95_low": "DOUBLE", "ci95_high": "DOUBLE",
    "minimum_standard": "DOUBLE", "standard_in_force": "DOUBLE", "trajectory_value": "DOUBLE", "target": "DOUBLE",
    "deadline": "DATE", "deadline_passed": "BOOLEAN", "status": "VARCHAR", "compared_with": "VARCHAR",
    "rank": "TINYINT", "distance_to_trajectory": "DOUBLE", "distance_to_target": "DOUBLE",
    "distance_to_standard": "DOUBLE", "below_minimum": "BOOLEAN", "periods_below_minimum": "INTEGER",
    "comparison": "VARCHAR", "assurance": "VARCHAR", "peers_assessed": "INTEGER", "peers_met": "INTEGER",
    "synthetic": "BOOLEAN",
}
MISSED_OPPORTUNITY_TYPES: dict[str, str] = {
    "framework": "VARCHAR", "commitment": "VARCHAR", "indicator": "VARCHAR", "level": "VARCHAR",
    "org_code": "VARCHAR", "org_name": "VARCHAR", "period": "DATE", "rating_year": "DATE", "status": "VARCHAR",
    "value": "DOUBLE", "peers_assessed": "INTEGER", "peers_met": "INTEGER", "synthetic": "BOOLEAN",
}
WATCH_LIST_TYPES: dict[str, str] = {
    "framework": "VARCHAR", "commitment": "VARCHAR", "indicator": "VARCHAR", "level": "VARCHAR",
    "org_code": "VARCHAR", "org_name": "VARCHAR", "period": "DATE", "rating_year": "DATE", "value": "DOUBLE",
    "minimum_standard": "DOUBLE", "periods_below_minimum": "INTEGER", "threshold_periods": "INTEGER",
    "synthetic": "BOOLEAN",
}
TABLE_TYPES = {
    "result_attainment": ATTAINMENT_TYPES,
    "result_missed_opportunities": MISSED_OPPORTUNITY_TYPES,
    "result_watch_list": WATCH_LIST_TYPES,
}


@dataclass(frozen=True)
class MissionInputs:
    values: pd.DataFrame
    spc: pd.DataFrame
    peers: pd.DataFrame
    organisations: pd.DataFrame
    #: the pipeline run these results came from (None if the store does not record runs)
    pipeline_run: int | None = None


def open_store(target: AnalyticsStore | Workspace | Path | str) -> AnalyticsStore:
    if isinstance(target, AnalyticsStore):
        return target
    if isinstance(target, Workspace):
        path = target.analytics_path
    else:
        path = Path(target)
        if path.is_dir():
            path = Workspace.resolve(path).analytics_path
    if not path.exists():
        raise UptakeError(f"there is no analytics store at {path}; run `uptake demo` or `uptake init` first")
    return AnalyticsStore(path)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    return {name for (name,) in rows}


def read_inputs(store: AnalyticsStore, indicators: list[str] | None = None) -> MissionInputs:
    """The pipeline results the mission reads (only the given indicators' rows, if any are given)."""
    with store.connect() as con:
        tables = _tables(con)
        if "result_values" not in tables:
            raise UptakeError(
                f"the analytics store {store.path} has no results yet; run `uptake compute` first"
            )
        where, params = "", []
        if indicators is not None:
            where, params = "WHERE list_contains(?::VARCHAR[], indicator)", [list(indicators)]
        values = con.execute(
            "SELECT indicator, level, org_code, org_name, period, numerator, denominator, value, ci95_low, "
            f"ci95_high, comparison, synthetic FROM result_values {where}", params
        ).df()
        spc = pd.DataFrame(columns=["indicator", "level", "org_code", "period", "upper_limit", "lower_limit"])
        if "result_spc" in tables:
            spc = con.execute(
                f"SELECT indicator, level, org_code, period, upper_limit, lower_limit FROM result_spc {where}", params
            ).df()
        peers = pd.DataFrame(columns=["level", "org_code", "peer_code"])
        if "result_peers" in tables:
            peers = con.execute("SELECT level, org_code, peer_code FROM result_peers").df()
        organisations = con.execute(
            "SELECT code, level, name, trust_type FROM organisations WHERE valid_to IS NULL"
        ).df()
    return MissionInputs(values=values, spc=spc, peers=peers, organisations=organisations,
                         pipeline_run=latest_pipeline_run(store))


def latest_pipeline_run(store: AnalyticsStore) -> int | None:
    """The id of the newest ``uptake compute`` run recorded in the store (None if there is none)."""
    with store.connect() as con:
        if "pipeline_runs" not in _tables(con):
            return None
        (run,) = con.execute("SELECT max(run_id) FROM pipeline_runs").fetchone()
    return None if run is None else int(run)


def write_table(store: AnalyticsStore, name: str, frame: pd.DataFrame) -> int:
    """Replace result table `name` with `frame` (columns and types from TABLE_TYPES), atomically."""
    types = TABLE_TYPES[name]
    missing = [c for c in types if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: the frame lacks columns {missing}")
    data = frame[list(types)].copy()
    for column, kind in types.items():
        if kind == "VARCHAR":
            data[column] = data[column].astype(object).where(data[column].notna(), None)
    select = ", ".join(f'CAST("{c}" AS {kind}) AS "{c}"' for c, kind in types.items())
    with store.writing(f"writing {name}"), store.connect() as con:
        con.register("_mission_incoming", data)
        try:
            con.begin()
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT {select} FROM _mission_incoming')
            con.commit()
        except BaseException:
            try:
                con.rollback()
            except duckdb.Error:
                pass
            raise
        finally:
            con.unregister("_mission_incoming")
    return len(data)


def read_table(store: AnalyticsStore, name: str, where: str = "", params: list | None = None) -> pd.DataFrame:
    """A mission result table (empty, with its columns, if it has not been written yet)."""
    types = TABLE_TYPES[name]
    with store.connect() as con:
        if name not in _tables(con):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in types})
        return con.execute(f'SELECT * FROM "{name}" {where}', params or []).df()
