"""Every reader in uptake.results.read runs against tables made from the one declaration of the result tables
(uptake.results.schema), so a renamed or dropped result column fails here, not on a page; on those empty
tables each finds nothing. And the rows the readers return have the columns and types the schema's row
shapes declare (the API's response models are made from those shapes)."""

from __future__ import annotations

import datetime as dt
import inspect

import duckdb
import pandas as pd
import pytest

from uptake.results import read
from uptake.results import schema

DAY = dt.date(2022, 12, 1)
ARGS = {
    "code": "MJ0", "org_code": "MJ0", "indicator": "doac-share", "level": "sub-icb", "period": DAY,
    "text": "x", "limit": 10, "offset": 0, "codes": ["MJ0"], "org_codes": ["MJ0"], "count": 5,
    "framework": "stroke", "commitment": "thrombolysis", "indicators": ["doac-share"],
}
#: readers whose arguments are not in ARGS, or that need only some of them
SPECIAL = {
    "values": {"indicator": "doac-share", "level": "sub-icb", "limit": 5},
    "opportunity": {"indicator": "doac-share", "level": "sub-icb", "limit": 5},
    "adoption": {"indicator": "doac-share", "level": "sub-icb", "limit": 5},
    "values_frame": {"columns": ["indicator", "org_code", "value"], "indicators": ["doac-share"]},
    "spc_frame": {"columns": ["indicator", "org_code", "upper_limit"], "indicators": None},
    "latest_special_causes": {"indicators": ["doac-share"]},
    "table": {"name": "result_watch_list", "where": "WHERE level = ? ORDER BY org_code", "params": ["icb"]},
    "current_frame": {},
    "rug_levels": {"parent_code": "QMJ"},
    "rug": {"parent_code": "QMJ", "level": "sub-icb"},
    "practices_in_district": {"district": "LS1"},
    "values_at_two_periods": {"indicator": "doac-share", "level": "sub-icb", "start": dt.date(2024, 1, 1),
                              "end": dt.date(2025, 1, 1)},
}


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    from uptake.analytics.store import AnalyticsStore

    path = tmp_path_factory.mktemp("schema") / "uptake.duckdb"
    AnalyticsStore(path).ensure_schema()
    con = duckdb.connect(str(path))
    for table in [*schema.BY_NAME.values(), schema.PIPELINE_RUNS, *schema.MISSION_TABLES, *schema.MODEL_TABLES, *schema.PATHWAY_TABLES, *schema.FORECAST_TABLES]:
        con.execute(table.ddl())
    yield con
    con.close()


def _readers():
    for family in read.__all__:
        module = getattr(read, family)
        if not inspect.ismodule(module):
            continue
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{family}.{name}", fn


def test_every_snapshot_table_is_declared():
    declared = {t.name for t in (*schema.RESULT_TABLES, *schema.POINT_STORAGE, schema.PIPELINE_RUNS, schema.PUBLICATIONS,
                                 *schema.MISSION_TABLES, *schema.MODEL_TABLES, *schema.PATHWAY_TABLES,
                                 *schema.FORECAST_TABLES)}
    assert set(schema.SNAPSHOT_TABLES) - set(schema.STORE_TABLES) <= declared
    assert {t.name for t in schema.MISSION_TABLES} <= set(schema.SNAPSHOT_TABLES)
    assert {t.name for t in schema.PATHWAY_TABLES} <= set(schema.SNAPSHOT_TABLES)


@pytest.mark.parametrize("name,fn", list(_readers()))
def test_reader_runs_on_the_schema(empty_store, name, fn):
    params = inspect.signature(fn).parameters
    short = name.split(".")[1]
    if short in SPECIAL:
        kwargs = SPECIAL[short]
    else:
        kwargs = {p: ARGS[p] for p in params if p in ARGS and p != "cur"}
    result = fn(empty_store.cursor(), **kwargs)
    # the store is empty, so every reader finds nothing, in its own shape: no row, an empty list, mapping or
    # frame, an empty page with a total of 0, or no run
    if isinstance(result, pd.DataFrame):
        assert result.empty, f"{name} found something in an empty store"
    elif isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], pd.DataFrame):  # a page, a total
        assert result[0].empty and result[1] == 0, f"{name} found something in an empty store"
    else:
        assert result in (None, [], {}, ([], 0), set(), (None, None), (None, []), ([], [])), \
            f"{name} found something in an empty store: {result!r}"


def _check_rows(shape: schema.Shape, rows: list[dict]) -> None:
    assert rows, f"no {shape.name} rows to check"
    for row in rows:
        assert list(row) == shape.column_names, shape.name
        for column in shape.columns:
            value = row[column.name]
            if value is None:
                assert not column.required, f"{shape.name}.{column.name} is NULL but declared never NULL"
            else:
                assert isinstance(value, column.python), (shape.name, column.name, type(value))


def test_rows_have_the_declared_shapes(demo):
    from uptake.web.snapshot import load_snapshot

    cur = load_snapshot(demo.workspace.analytics_path).cursor()
    _check_rows(schema.VALUE_ROW, read.values.values(cur, indicator="doac-share", limit=500)[0])
    _check_rows(schema.ADOPTION_ROW, read.adoption.adoption(cur, indicator="doac-share", limit=500)[0])
    _check_rows(schema.OPPORTUNITY_ROW, read.opportunity.opportunity(cur, indicator="doac-share", limit=500)[0])
    _check_rows(schema.CHANGE_ROW, read.changes.changes(cur, latest_only=False, limit=500)[0])
    _check_rows(schema.EQUITY_ROW, read.equity.equity(cur, limit=500)[0])
    _check_rows(schema.OUTCOMES, read.outcomes.outcomes(cur, indicator="doac-share", limit=500)[0])
    _check_rows(schema.IMPACT, read.outcomes.impact(cur))


def test_combined_readers_answer_as_their_parts(demo):
    """The one-query readers of the organisation page give what the separate readers give."""
    from uptake.results.read._sql import MemoCursor
    from uptake.web.snapshot import load_snapshot

    cur = load_snapshot(demo.workspace.analytics_path).cursor()
    checked = 0
    for code in ("QMJ", "MJ0", "RAL", "PMJ00", "ENG", "NOPE"):
        org, parents = read.organisations.organisation_with_parents(cur, code)
        assert org == read.organisations.organisation(cur, code)
        key = lambda r: (r["level"], r["code"])  # noqa: E731
        assert sorted(parents, key=key) == sorted(read.organisations.parents(cur, code), key=key)
        if org is None:
            continue
        peers, values = read.peers.peer_pack(cur, code, org["level"])
        assert peers == read.peers.peers(cur, code, org["level"])
        assert values == _peer_values_by_hand(cur, code, org["level"], [p["peer_code"] for p in peers])
        checked += bool(peers)
    assert checked >= 2, "no organisation with peers was checked"
    # the per-request memo answers a repeated question with equal rows, which a caller may change freely
    memo = MemoCursor(cur)
    first = read.organisations.organisation(memo, "QMJ")
    first["name"] = "changed by a caller"
    assert read.organisations.organisation(memo, "QMJ") == read.organisations.organisation(cur, "QMJ")


def _peer_values_by_hand(cur, code: str, level: str, peer_codes: list[str]) -> list[dict]:
    """The slow reference: each indicator's latest period for the organisation, its peers' values then."""
    frame = cur.execute("SELECT indicator, org_code, period, value FROM result_values WHERE level = ?",
                        [level]).df()
    out = []
    mine = frame[frame["org_code"] == code]
    for indicator in sorted(mine["indicator"].unique()):
        period = mine.loc[mine["indicator"] == indicator, "period"].max()
        theirs = frame[(frame["indicator"] == indicator) & (frame["period"] == period)
                       & frame["org_code"].isin(peer_codes)]["value"].dropna()
        if theirs.empty:
            continue
        out.append({"indicator": indicator, "period": period.date(), "peer_median": float(theirs.median()),
                    "peer_min": float(theirs.min()), "peer_max": float(theirs.max()), "peers": len(theirs)})
    return out
