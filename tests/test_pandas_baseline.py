"""The pandas baseline of `uptake bench pipeline` (benchmarks/pandas_baseline.py) must compute what the
pipeline computes, or the ratio a/b measures less work on one side (issue 17.1). The families it writes in
the pipeline's own tables and columns (result_values' counts, intervals, ranks and deciles; result_deciles)
are checked equal to the pipeline's on a small generated store with zero denominators, missing periods and
ties (tests/reference_pipeline.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

import reference_pipeline as ref
from test_pipeline_reference import assert_same
from uptake.levels import Level
from uptake.pipeline import run_pipeline
from uptake.results.schema import (
    ADOPTION, CHANGES, DECILES, EQUITY, FUNNEL, FUNNEL_CURVE, FUNNEL_SUMMARY, OPPORTUNITY, OPPORTUNITY_TOTALS, PEERS,
    SPC, SPC_SERIES, VALUES,
)

BASELINE = Path(__file__).resolve().parents[1] / "benchmarks" / "pandas_baseline.py"


def _baseline():
    spec = importlib.util.spec_from_file_location("pandas_baseline", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_baseline_writes_the_pipelines_values_and_deciles(tmp_path: Path) -> None:
    baseline = _baseline()
    thin = {SPC.name: baseline.SPC_THIN, FUNNEL.name: baseline.FUNNEL_THIN}  # as the pipeline stores them
    orgs, rels = ref.make_reference(ref.Shape(), seed=3)
    practices = list(orgs[orgs.level == "practice"].code)
    periods = ref.months(dt.date(2021, 1, 1), 30)  # CUSUM monitors 18 months after its 12
    obs = {"prop": ref.make_observations(practices, periods, seed=1),
           "prop2": ref.make_observations(practices, periods, seed=4, max_denominator=8)}  # many ties
    store = ref.build_workspace(tmp_path / "store.duckdb", orgs, rels, obs)
    indicators = [ref.indicator("prop", Level.PRACTICE), ref.indicator("prop2", Level.PRACTICE, synthetic=False)]
    run_pipeline(store, engine="duckdb", catalogue=ref.catalogue_of(*indicators))

    out = tmp_path / "pandas"
    assert baseline.pandas_pipeline(tmp_path / "store.duckdb", out) > 0
    con = duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
    try:
        for ind in ("prop", "prop2"):
            seen: dict[str, pd.DataFrame] = {}
            for table, keys, compared in (
                (VALUES, ["level", "org_code", "period"], ["level", "org_code", "period", *baseline.VALUES_COMPARED]),
                (DECILES, ["level", "period"], DECILES.column_names),
                (CHANGES, ["level", "org_code", "period"], CHANGES.column_names),
                (SPC, ["level", "org_code", "period"], SPC.column_names),
                (SPC_SERIES, ["level", "org_code"], SPC_SERIES.column_names),
                (ADOPTION, ["level", "org_code"], ADOPTION.column_names),
                (FUNNEL, ["level", "org_code", "period"], FUNNEL.column_names),
                (FUNNEL_CURVE, ["level", "period", "denominator"], FUNNEL_CURVE.column_names),
                (FUNNEL_SUMMARY, ["level", "period"], FUNNEL_SUMMARY.column_names),
                (EQUITY, ["level", "period"], EQUITY.column_names),
                (OPPORTUNITY, ["level", "org_code", "period"], OPPORTUNITY.column_names),
                (OPPORTUNITY_TOTALS, ["level", "period", "benchmark", "area_level", "area_code"],
                 OPPORTUNITY_TOTALS.column_names),
            ):
                written = pq.read_table(out / f"{table.name}-{ind}.parquet")
                stored = thin.get(table.name, table)
                assert written.schema.equals(stored.schema), f"{table.name}: not the pipeline's columns and types"
                mine = written.to_pandas()
                if table is SPC:  # stored thin, as the pipeline stores it: widened as its view does
                    segments = pq.read_table(out / f"result_spc_segments-{ind}.parquet")
                    assert segments.schema.equals(baseline.SPC_SEGMENT_ROWS.schema)
                    assert len(segments) < len(mine)
                    mine = baseline.widen_spc(mine, segments.to_pandas())
                if table is FUNNEL:
                    mine = baseline.widen_funnel(
                        mine, pq.read_table(out / f"result_funnel_summary-{ind}.parquet").to_pandas())
                theirs = con.execute(f"SELECT * FROM {table.name} WHERE indicator = ?", [ind]).df()
                assert len(mine) == len(theirs) > 0
                assert_same(mine[compared], theirs[compared].copy(), table.name)
                seen[table.name] = mine
                assert set(mine["synthetic"] if "synthetic" in mine else [True]) == (
                    {ind == "prop"} if "synthetic" in mine else {True})
            # the case exercises every branch: both comparison methods, CUSUM alerts, every SPC rule
            assert {"interval", "random-effects"} <= set(seen["result_values"]["comparison_method"].dropna())
            assert (seen["result_changes"]["alert"] != "").any()
            assert {"wilson", "random-effects"} <= set(seen["result_funnel_summary"]["method"])  # both funnels
            assert {"", "high", "low"} <= set(seen["result_funnel"]["side"])
            assert {"outside-limits", "two-of-three", "shift"} <= set(seen["result_spc"]["rule"])
        # the similar peers, once per level
        theirs_all = con.execute("SELECT * FROM result_peers").df()
        for level in ("practice", "pcn", "sub-icb", "icb", "region"):
            written = pq.read_table(out / f"result_peers-{level}.parquet")
            assert written.schema.equals(PEERS.schema)
            mine = written.to_pandas()
            theirs = theirs_all[theirs_all["level"] == level].reset_index(drop=True)
            assert len(mine) == len(theirs) > 0, level
            assert_same(mine.drop(columns=["level"]), theirs.drop(columns=["level"]), "result_peers")
    finally:
        con.close()
    # the check can fail: a changed value is noticed
    theirs = pd.DataFrame({"level": ["icb"], "org_code": ["X"], "period": [dt.date(2021, 1, 1)], "value": [0.5]})
    try:
        assert_same(theirs.assign(value=0.6), theirs, "result_values")
    except AssertionError:
        pass
    else:
        raise AssertionError("assert_same accepted a different value")
