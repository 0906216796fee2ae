"""The mission's result tables in the analytics store (DuckDB), beside the pipeline's.

Read: ``result_values``, ``result_spc``, ``result_peers`` (written by ``uptake compute``) and the current
``organisations``. Written (each replaced as a whole, inside a publication's transaction: see
uptake.pipeline.publication):

- ``result_attainment``: one row per commitment, organisation in scope and period (uptake.mission.attainment);
- ``result_missed_opportunities``: commitments where most of an organisation's similar peers met and it did
  not (uptake.mission.ratings);
- ``result_watch_list``: the decertification watch list (uptake.mission.ratings).

Their columns and types are declared with every other result table in uptake.results.schema
(``MISSION_TABLES``), and they are read through uptake.results.read.

The pipeline replaces only its own tables, so these survive ``uptake compute --no-ratings``; ``uptake compute``
recomputes them, with a new draft rating run, inside the same publication as its results (``uptake ratings
compute`` makes a publication of its own with them over the results already published). Each rating run
records the pipeline run it was computed from and the publication it belongs to.

**Reading** takes ``Results``: a DuckDB connection (in the web, a cursor on its in-memory snapshot, so a page
never opens the store file), or an ``AnalyticsStore``, which is read through a short-lived read-only
connection on its file (the command line, ``uptake compute``, the demo). **Writing** (``write_table``) needs
a connection inside a publication's transaction (or, for tools and tests, the store itself), and is only done by
the command line, compute and the demo.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError
from uptake.results import read
from uptake.results.schema import MISSION_BY_NAME
from uptake.workspace import Workspace

#: Where the mission reads results from: a DuckDB connection, or a store to read read-only.
Results = duckdb.DuckDBPyConnection | AnalyticsStore

#: The columns of result_values, result_spc and result_peers the mission computes from.
VALUE_INPUTS = ("indicator", "level", "org_code", "org_name", "period", "numerator", "denominator", "value",
                "ci95_low", "ci95_high", "comparison", "synthetic")
SPC_INPUTS = ("indicator", "level", "org_code", "period", "upper_limit", "lower_limit")
PEER_INPUTS = ("level", "org_code", "peer_code")


@dataclass(frozen=True)
class MissionInputs:
    values: pd.DataFrame
    spc: pd.DataFrame
    peers: pd.DataFrame
    organisations: pd.DataFrame
    #: the pipeline run these results came from (None if the store does not record runs)
    pipeline_run: int | None = None


def no_store(path: Path) -> UptakeError:
    return UptakeError(f"there is no analytics store at {path}; run `uptake demo` or `uptake init` first")


def no_results(path: Path | None) -> UptakeError:
    where = f"the analytics store {path}" if path is not None else "the analytics store"
    return UptakeError(f"{where} has no results yet; run `uptake compute` first")


def open_store(target: AnalyticsStore | Workspace | Path | str) -> AnalyticsStore:
    """The workspace's analytics store (for the command line, compute and the demo: the web reads its
    snapshot instead). Reading functions given it open its file read-only; ``write_table`` writes it."""
    if isinstance(target, AnalyticsStore):
        return target
    if isinstance(target, Workspace):
        path = target.analytics_path
    else:
        path = Path(target)
        if path.is_dir():
            path = Workspace.resolve(path).analytics_path
    if not path.exists():
        raise no_store(path)
    return AnalyticsStore(path)


@contextmanager
def reading(results: Results) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to read results through: the connection itself, or a short-lived read-only connection on
    the store's file. (DuckDB opens a file one way per process: if this process already holds the file open
    read-write, the store's own connection is used.)"""
    if not isinstance(results, AnalyticsStore):
        yield results
        return
    with ExitStack() as stack:
        if results.read_only:
            con = stack.enter_context(results.connect())
        else:
            try:
                con = stack.enter_context(AnalyticsStore(results.path, read_only=True).connect())
            except duckdb.ConnectionException:  # the file is open read-write in this process
                con = stack.enter_context(results.connect())
        yield con


def store_path(results: Results) -> Path | None:
    """The store file the results come from, for messages (None for a bare connection)."""
    return results.path if isinstance(results, AnalyticsStore) else None


def read_inputs(results: Results, indicators: list[str] | None = None) -> MissionInputs:
    """The pipeline results the mission reads (only the given indicators' rows, if any are given)."""
    with reading(results) as con:
        present = read.tables(con)
        if "result_values" not in present:
            raise no_results(store_path(results))
        values = read.values.values_frame(con, VALUE_INPUTS, indicators)
        spc = pd.DataFrame(columns=list(SPC_INPUTS))
        if "result_spc" in present:
            spc = read.spc.spc_frame(con, SPC_INPUTS, indicators)
        peers = pd.DataFrame(columns=list(PEER_INPUTS))
        if "result_peers" in present:
            peers = read.peers.peer_links_frame(con)
        organisations = read.organisations.current_frame(con, ("code", "level", "name", "trust_type"))
        run = _latest_run(con, present)
    return MissionInputs(values=values, spc=spc, peers=peers, organisations=organisations, pipeline_run=run)


def _latest_run(con: duckdb.DuckDBPyConnection, present: set[str]) -> int | None:
    return read.runs.latest_run_id(con) if "pipeline_runs" in present else None


def latest_pipeline_run(results: Results) -> int | None:
    """The id of the newest ``uptake compute`` run recorded in the store (None if there is none)."""
    with reading(results) as con:
        return _latest_run(con, read.tables(con))


@dataclass(frozen=True)
class Published:
    """Which publications were published (uptake.pipeline.publication): every id up to ``newest`` except
    ``never`` (abandoned, or still being written). Anything newer than ``newest`` was not (yet)."""

    newest: int
    never: frozenset[int] = frozenset()

    def __contains__(self, publication_id: object) -> bool:
        return isinstance(publication_id, int) and publication_id <= self.newest and publication_id not in self.never


def published_publications(results: Results | None) -> Published | None:
    """The publications that were published, from ``results`` (the web's snapshot, or the store); None when
    ``results`` is None or has no ``publications`` table (a store from before publications), meaning: do not
    filter rating runs by publication."""
    if results is None:
        return None
    with reading(results) as con:
        states = read.runs.publication_states(con)
    return None if states is None else Published(*states)


def write_table(target: AnalyticsStore | duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> int:
    """Replace mission table `name` with `frame` (columns and types from uptake.results.schema). Given a
    connection, it is written there, in the caller's transaction (a publication: uptake.pipeline.publication);
    given a store (tools and tests), in a transaction of its own under the store's write lock."""
    types = {c.name: c.sql for c in MISSION_BY_NAME[name].columns}
    missing = [c for c in types if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: the frame lacks columns {missing}")
    data = frame[list(types)].copy()
    for column, kind in types.items():
        if kind == "VARCHAR":
            data[column] = data[column].astype(object).where(data[column].notna(), None)
    select = ", ".join(f'CAST("{c}" AS {kind}) AS "{c}"' for c, kind in types.items())
    statement = f'CREATE OR REPLACE TABLE "{name}" AS SELECT {select} FROM _mission_incoming'
    if not isinstance(target, AnalyticsStore):
        target.register("_mission_incoming", data)
        try:
            target.execute(statement)
        finally:
            target.unregister("_mission_incoming")
        return len(data)
    with target.writing(f"writing {name}"), target.connect() as con:
        con.register("_mission_incoming", data)
        try:
            con.begin()
            con.execute(statement)
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


def read_table(results: Results, name: str) -> pd.DataFrame:
    """A whole mission result table (empty, with its columns, if it has not been written yet); for filtered
    reads use uptake.results.read.attainment."""
    with reading(results) as con:
        return read.attainment.table(con, name)
