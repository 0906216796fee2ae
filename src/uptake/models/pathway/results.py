"""The pathway model's published tables: computed and written inside ``uptake compute``'s publication
(``publish_pathway``), so they become visible with the rest of a compute or not at all.

Why there and not on each request: the four scenarios x 100 simulated years of 132 units take about one
second on an idle core (0.9-4.1 s measured on the shared 2-core build machine), too slow for a page's first
request; the inputs are the bundled SAMueL file and ``params/stroke.yaml``, so a compute's result is
deterministic (fixed seed) and the same for every reader.
"""

from __future__ import annotations

from functools import lru_cache

import duckdb
import pandas as pd

from uptake.models.pathway.summary import DEFAULT_SEED, DEFAULT_TRIALS, PathwayTables, compute_pathway
from uptake.pipeline.publication import Publication
from uptake.results.schema import PATHWAY_BY_NAME, PATHWAY_NATIONAL, PATHWAY_UNITS

__all__ = ["publish_pathway", "write_model_table", "write_pathway"]


def write_model_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> int:
    """Replace model table ``name`` with ``frame`` on ``con`` (in the caller's transaction), with the
    columns and types uptake.results.schema declares."""
    types = {c.name: c.sql for c in PATHWAY_BY_NAME[name].columns}
    missing = [c for c in types if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: the frame lacks columns {missing}")
    data = frame[list(types)].copy()
    for column, kind in types.items():
        if kind == "VARCHAR":
            data[column] = data[column].astype(object).where(data[column].notna(), None)
    select = ", ".join(f'CAST("{c}" AS {kind}) AS "{c}"' for c, kind in types.items())
    con.register("_model_incoming", data)
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT {select} FROM _model_incoming')
    finally:
        con.unregister("_model_incoming")
    return len(data)


def write_pathway(con: duckdb.DuckDBPyConnection, tables: PathwayTables) -> None:
    write_model_table(con, PATHWAY_NATIONAL.name, tables.national)
    write_model_table(con, PATHWAY_UNITS.name, tables.units)


@lru_cache(maxsize=4)
def _computed(trials: int, seed: int) -> PathwayTables:
    """The model's tables for (trials, seed), once per process: its inputs are the package's own files and
    the seed is fixed, so a second compute in the same process (the demo, tests) would give the same."""
    return compute_pathway(trials, seed)


def publish_pathway(pub: Publication, *, trials: int = DEFAULT_TRIALS, seed: int = DEFAULT_SEED) -> PathwayTables:
    """Compute every scenario and write both tables into the open publication."""
    tables = _computed(trials, seed)
    write_pathway(pub.con, tables)
    pub.replaced([PATHWAY_NATIONAL.name, PATHWAY_UNITS.name], pub.pipeline_run)
    return tables
