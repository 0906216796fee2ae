"""Every query in uptake.web.queries runs against tables made with the pipeline's own DDL
(uptake.pipeline.tables), so a renamed or dropped result column fails here, not on a page; on those empty
tables each finds nothing."""

from __future__ import annotations

import datetime as dt
import inspect

import duckdb
import pytest

from uptake.web import queries as q

DAY = dt.date(2022, 12, 1)
ARGS = {
    "code": "MJ0", "org_code": "MJ0", "indicator": "doac-share", "level": "sub-icb", "period": DAY,
    "text": "x", "limit": 10, "offset": 0, "codes": ["MJ0"], "org_codes": ["MJ0"], "count": 5,
}


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    from uptake.analytics.store import AnalyticsStore
    from uptake.pipeline.tables import BY_NAME, PIPELINE_RUNS

    path = tmp_path_factory.mktemp("schema") / "uptake.duckdb"
    AnalyticsStore(path).ensure_schema()
    con = duckdb.connect(str(path))
    for table in [*BY_NAME.values(), PIPELINE_RUNS]:
        con.execute(table.ddl())
    yield con
    con.close()


def _query_functions():
    for name, fn in inspect.getmembers(q, inspect.isfunction):
        if fn.__module__ == q.__name__ and not name.startswith("_"):
            yield name, fn


@pytest.mark.parametrize("name,fn", list(_query_functions()))
def test_query_runs_on_the_pipeline_schema(empty_store, name, fn):
    params = inspect.signature(fn).parameters
    kwargs = {p: ARGS[p] for p in params if p in ARGS and p != "cur"}
    if name in ("values", "opportunity", "adoption"):
        kwargs = {"indicator": "doac-share", "level": "sub-icb", "limit": 5}
    result = fn(empty_store.cursor(), **kwargs)
    # the store is empty, so every query finds nothing, in its own shape: no row, an empty list or
    # mapping, or an empty page with a total of 0
    assert result in (None, [], {}, ([], 0)), f"{name} found something in an empty store: {result!r}"
