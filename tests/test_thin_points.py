"""result_points holds only what cannot be derived (issue 17.2); the five wide views over it add the rest in
SQL. Every column of every view must equal, bit for bit, what the views gave over the wide result_points
before the change: the pipeline's steps still compute every per-point column, so the test captures them as
the wide table (tests/wide_points_reference.py: the old columns and the old views, verbatim), builds the old
views over it next to the store's small tables, and compares each view row for row, column for column.

The generated workspaces (SYNTHETIC) have zero denominators, missing periods, a proportion and a rate, plain
and random-effects funnels, and a spread-curve indicator charted on its difference from England with
rebased segments."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import reference_pipeline as ref
import wide_points_reference as wide
from uptake.levels import Level
from uptake.pipeline import PipelineSettings, indicator, run_pipeline
from uptake.results.schema import POINTS, SPC_SEGMENTS, VIEWS, Column, ResultTable
from uptake.web.snapshot import load_snapshot

WIDE_POINTS = ResultTable(
    "result_points", tuple(Column(name, sql) for name, sql in wide.WIDE_POINT_COLUMNS),
    ("indicator_id", "org_id", "period"),
)
#: the stored tables the old views join besides result_points
LOOKUPS = ("result_indicators", "result_organisations", "result_funnel_summary", "result_deciles")
KEYS = ["indicator", "level", "org_code", "period"]


def _run_capturing_wide(store, catalogue, settings: PipelineSettings, monkeypatch) -> pa.Table:
    """Run the pipeline; return the wide result_points its steps computed (every indicator)."""
    captured: list[pa.Table] = []
    thin = indicator.points_table

    def capture(frame, indicator_id, parts, table=POINTS, keep_derived=False):
        captured.append(thin(frame, indicator_id, parts, WIDE_POINTS, keep_derived=True))
        return thin(frame, indicator_id, parts, table, keep_derived)

    monkeypatch.setattr(indicator, "points_table", capture)
    run_pipeline(store, engine="duckdb", catalogue=catalogue, settings=settings)
    return pa.concat_tables(captured)


def _frames_equal(got: pd.DataFrame, want: pd.DataFrame, name: str) -> None:
    assert list(got.columns) == list(want.columns), name
    assert len(got) == len(want) > 0, name
    for col in got.columns:
        a, b = got[col].to_numpy(), want[col].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a, b = a.astype(float), b.astype(float)
            same = (a == b) | (np.isnan(a) & np.isnan(b))  # bit for bit: no tolerance
        else:
            same = np.array([x == y or (pd.isna(x) and pd.isna(y)) for x, y in zip(a, b, strict=True)])
        bad = np.flatnonzero(~same)
        assert bad.size == 0, f"{name}.{col}: {bad.size} rows differ, e.g. {a[bad[0]]!r} != {b[bad[0]]!r}"


def compare_with_wide(store: Path, wide_points: pa.Table) -> dict[str, pd.DataFrame]:
    """Each view of the store against the old view over the wide points; returns the store's views."""
    old = duckdb.connect()
    try:
        old.execute(f"ATTACH '{store}' AS s (READ_ONLY)")
        for name in LOOKUPS:
            old.execute(f"CREATE TABLE {name} AS SELECT * FROM s.{name}")
        old.register("wide_in", wide_points)
        old.execute(f"{WIDE_POINTS.ddl()}; INSERT INTO result_points SELECT * FROM wide_in")
        seen = {}
        for view in VIEWS:
            old.execute(f"CREATE VIEW {view.name} AS {wide.WIDE_VIEWS[view.name]}")
            order = ", ".join(KEYS)
            want = old.execute(f"SELECT * FROM {view.name} ORDER BY {order}").df()
            got = old.execute(f"SELECT * FROM s.{view.name} ORDER BY {order}").df()
            _frames_equal(got, want, view.name)
            seen[view.name] = got
        return seen
    finally:
        old.close()


def _thin_columns_are_stored_only(store: Path) -> None:
    con = duckdb.connect(str(store), read_only=True)
    try:
        for table in (POINTS, SPC_SEGMENTS):
            cols = [r[0] for r in con.execute(f"DESCRIBE {table.name}").fetchall()]
            assert cols == table.column_names
            assert con.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0] > 0
    finally:
        con.close()


def test_thin_points_give_the_wide_views_bit_for_bit(tmp_path: Path, monkeypatch) -> None:
    orgs, rels = ref.make_reference(ref.Shape(), seed=3)
    practices = list(orgs[orgs.level == "practice"].code)
    trusts = list(orgs[orgs.level == "trust"].code)
    periods = ref.months(dt.date(2021, 1, 1), 26)
    obs = {
        "prop": ref.make_observations(practices, periods, seed=1, zero_share=0.1),
        "prop2": ref.make_observations(practices, periods, seed=4, max_denominator=8),  # small: plain funnels
        "rate": ref.make_observations(trusts, periods, seed=2, measure="rate"),
    }
    # a numerator above its denominator: a proportion without an interval (and so without a funnel place)
    bad = obs["prop"].index[obs["prop"]["denominator"] > 0][0]
    obs["prop"].loc[bad, "numerator"] = obs["prop"].loc[bad, "denominator"] + 2
    indicators = [
        ref.indicator("prop", Level.PRACTICE),
        ref.indicator("prop2", Level.PRACTICE, polarity="low-is-good"),
        ref.indicator("rate", Level.TRUST, measure="rate", polarity="low-is-good", synthetic=False),
    ]
    store = tmp_path / "store.duckdb"
    workspace = ref.build_workspace(store, orgs, rels, obs)
    wide_points = _run_capturing_wide(workspace, ref.catalogue_of(*indicators), PipelineSettings(), monkeypatch)
    _thin_columns_are_stored_only(store)
    seen = compare_with_wide(store, wide_points)
    # the case reaches every branch the derivations take
    con = duckdb.connect(str(store), read_only=True)
    try:
        methods = {r[0] for r in con.execute("SELECT DISTINCT method FROM result_funnel_summary").fetchall()}
        assert {"wilson", "exact-poisson", "random-effects"} <= methods
        assert con.execute("SELECT count(*) FROM result_values WHERE denominator = 0").fetchone()[0] > 0
        # the view derives limits (proportions' plain, rates' random-effects) and rates' z-scores; the others
        # are stored
        derived = dict(con.execute(
            "SELECT i.measure || ' ' || s.method || ' ' || (p.funnel_lower95 IS NULL) || ' ' || "
            "(p.funnel_z IS NULL), count(*) FROM result_points AS p JOIN result_indicators AS i USING "
            "(indicator_id) JOIN result_organisations AS o USING (org_id) JOIN result_funnel_summary AS s "
            "ON s.indicator = i.indicator AND s.level = o.level AND s.period = p.period "
            "WHERE p.funnel_band <> 3 AND s.units >= 3 GROUP BY ALL").fetchall())
        # proportions' intervals are derived (none stored), rates' stored; the Wilson edges are reached
        stored_ci = dict(con.execute(
            "SELECT i.measure, count(p.ci95_low) + count(p.ci998_high) FROM result_points AS p "
            "JOIN result_indicators AS i USING (indicator_id) GROUP BY ALL").fetchall())
        assert stored_ci["proportion"] == 0 and stored_ci["rate"] > 0, stored_ci
        edges = con.execute("SELECT count(*) FILTER (numerator = 0 AND denominator > 0), "
                            "count(*) FILTER (numerator = denominator AND denominator > 0) FROM result_values "
                            "WHERE indicator LIKE 'prop%'").fetchone()
        assert min(edges) > 0, edges
        assert con.execute("SELECT count(*) FROM result_values WHERE numerator > denominator AND indicator = 'prop' "
                           "AND ci95_low IS NULL").fetchone()[0] > 0
        assert set(derived) == {"proportion wilson true false", "proportion random-effects false false",
                                "rate exact-poisson false true", "rate random-effects true true"}, derived
    finally:
        con.close()
    funnel = seen["result_funnel"]
    assert {"", "high", "low"} <= set(funnel["side"])
    assert (funnel["band"] == "not compared").any()


def _as_before(store: Path, copy: Path, wide_points: pa.Table) -> None:
    """A copy of the store as the version before issue 17.2 left it: the wide result_points, no
    result_spc_segments, and the old views."""
    shutil.copyfile(store, copy)
    con = duckdb.connect(str(copy))
    try:
        for view in VIEWS:
            con.execute(f"DROP VIEW {view.name}")
        con.execute("DROP TABLE result_points; DROP TABLE result_spc_segments")
        con.register("wide_in", wide_points)
        con.execute(f"{WIDE_POINTS.ddl()}; INSERT INTO result_points SELECT * FROM wide_in")
        for view in VIEWS:
            con.execute(f"CREATE VIEW {view.name} AS {wide.WIDE_VIEWS[view.name]}")
    finally:
        con.close()


def test_a_store_computed_before_keeps_its_views_in_the_snapshot(tmp_path: Path, monkeypatch) -> None:
    """The in-memory snapshot (the command line's) makes the views with the store's own SQL: a store computed
    before the change reads as before until the next compute."""
    orgs, rels = ref.make_reference(ref.Shape(), seed=3)
    practices = list(orgs[orgs.level == "practice"].code)
    obs = {"prop": ref.make_observations(practices, ref.months(dt.date(2021, 1, 1), 14), seed=1)}
    store = tmp_path / "store.duckdb"
    workspace = ref.build_workspace(store, orgs, rels, obs)
    wide_points = _run_capturing_wide(workspace, ref.catalogue_of(ref.indicator("prop", Level.PRACTICE)),
                                      PipelineSettings(), monkeypatch)
    _as_before(store, tmp_path / "before.duckdb", wide_points)
    new, old = load_snapshot(store), load_snapshot(tmp_path / "before.duckdb")
    for view in VIEWS:
        order = ", ".join(KEYS)
        got = old.cursor().execute(f"SELECT * FROM {view.name} ORDER BY {order}").df()
        want = new.cursor().execute(f"SELECT * FROM {view.name} ORDER BY {order}").df()
        _frames_equal(got, want, view.name)


@pytest.mark.parametrize("basis", ["auto", "value"])
def test_thin_points_on_the_difference_basis_with_segments(tmp_path: Path, monkeypatch, basis: str) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=2), seed=11)
    subs = list(orgs[orgs.level == "sub-icb"].code)
    periods = ref.months(dt.date(2019, 10, 1), 40)
    obs = {"spread": ref.make_observations(subs, periods, seed=12, max_denominator=500, missing_share=0.05)}
    indicators = [ref.indicator("spread", Level.SUB_ICB, first_period=dt.date(2019, 10, 1), spread_curve=True)]
    store = tmp_path / "store.duckdb"
    workspace = ref.build_workspace(store, orgs, rels, obs)
    settings = PipelineSettings(spc_basis=basis, spc_rebase_dates=(dt.date(2020, 1, 1),))
    wide_points = _run_capturing_wide(workspace, ref.catalogue_of(*indicators), settings, monkeypatch)
    seen = compare_with_wide(store, wide_points)
    assert seen["result_spc"].groupby(["org_code"])["segment"].nunique().max() > 1


def test_the_comparison_can_fail(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [0.1, np.nan], "y": ["a", None]})
    _frames_equal(frame, frame.copy(), "same")
    with pytest.raises(AssertionError):
        _frames_equal(frame.assign(x=[np.nextafter(0.1, 1.0), np.nan]), frame, "one ulp")
    with pytest.raises(AssertionError):
        _frames_equal(frame.assign(y=["a", "b"]), frame, "a string")
