"""What the Spark engine tests share: a small workspace with three indicators at three levels, the check
that two stores hold identical result tables, and the check that the statistics ran on Spark's executors
with nothing but small summaries collected to the driver."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd

import reference_pipeline as ref
from uptake.catalogue.loader import Catalogue
from uptake.levels import Level
from uptake.pipeline import RESULT_TABLES
from uptake.results.schema import POINT_STORAGE
from uptake.pipeline.run import PipelineRun

#: what the driver may collect from Spark (uptake.pipeline.spark_compute): reference data, the
#: inventory, a peer feature and one summary per indicator - never observations or results
ALLOWED_COLLECTS = {"inventory", "organisations", "links", "activity", "summaries"}


def java_available() -> bool:
    return shutil.which("java") is not None


def two_stores(tmp_path: Path) -> tuple[Path, Path, Catalogue]:
    """The same small workspace twice (one store per engine) and its catalogue."""
    orgs, rels = ref.make_reference(ref.Shape(regions=2, icbs_per_region=2, sub_icbs_per_icb=2), seed=11)
    periods = ref.months(dt.date(2021, 1, 1), 15)
    observations = {
        "practice-share": ref.make_observations(list(orgs[orgs.level == "practice"].code), periods, seed=1),
        "trust-rate": ref.make_observations(list(orgs[orgs.level == "trust"].code), periods, seed=2,
                                            measure="rate"),
        "sub-icb-share": ref.make_observations(list(orgs[orgs.level == "sub-icb"].code), periods, seed=3,
                                               max_denominator=500),
        # every row names an organisation the reference does not know: no rolled-up rows, so no Spark group
        "ghost-share": pd.DataFrame({"org_code": ["NOPE1", "NOPE2"], "period": [periods[0]] * 2,
                                     "numerator": [1.0, 2.0], "denominator": [3.0, 4.0]}),
    }
    catalogue = ref.catalogue_of(
        ref.indicator("practice-share", Level.PRACTICE),
        ref.indicator("trust-rate", Level.TRUST, measure="rate", polarity="low-is-good", adoption_threshold=1.0),
        ref.indicator("sub-icb-share", Level.SUB_ICB, polarity="no-judgement", adoption_threshold=None),
        ref.indicator("ghost-share", Level.PRACTICE),
    )
    first = tmp_path / "duckdb" / "store.duckdb"
    second = tmp_path / "spark" / "store.duckdb"
    first.parent.mkdir()
    second.parent.mkdir()
    ref.build_workspace(first, orgs, rels, observations)
    shutil.copyfile(first, second)
    return first, second, catalogue


def result_tables(path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in (*RESULT_TABLES, *POINT_STORAGE):  # the views, and the thin tables stored behind them
            frame = con.execute(f'SELECT * FROM "{table.name}"').df()
            out[table.name] = frame.sort_values(list(table.key), ignore_index=True)
        return out
    finally:
        con.close()


def assert_identical(by_duckdb: PipelineRun, first: Path, by_spark: PipelineRun, second: Path) -> None:
    assert by_spark.engine == "pyspark" and by_duckdb.engine == "duckdb"
    assert by_spark.row_counts == by_duckdb.row_counts
    assert by_spark.input_batch_ids == by_duckdb.input_batch_ids
    assert by_spark.warnings == by_duckdb.warnings
    assert any(w.startswith("ghost-share: 2 observation rows name") for w in by_spark.warnings)
    assert "ghost-share" in by_spark.indicators
    assert all(by_duckdb.row_counts[t.name] > 0 for t in RESULT_TABLES), by_duckdb.row_counts
    a, b = result_tables(first), result_tables(second)
    for table in (*RESULT_TABLES, *POINT_STORAGE):
        # Counts are whole numbers, so pooled sums are exact in any order: identical, not just close.
        pd.testing.assert_frame_equal(a[table.name], b[table.name], check_exact=True, obj=table.name)
    con = duckdb.connect(str(second), read_only=True)
    try:
        engines = con.execute("SELECT engine FROM pipeline_runs ORDER BY run_id").fetchall()
    finally:
        con.close()
    assert engines == [("pyspark",)]


def assert_computed_on_executors(run: PipelineRun, store: Path, shared: Path) -> None:
    """The statistics ran in Spark's Python workers, not in this process; the job that ran them is a
    grouped Arrow map over the roll-up; the driver collected only small summaries; the shared location
    holds nothing afterwards."""
    info = run.spark
    indicators = len(run.indicators)
    # The one Spark job: the roll-up (an aggregate) feeding a grouped Arrow map, whose output is the summary.
    assert "FlatMapGroupsInArrow" in info["plan"], info["plan"]
    assert "HashAggregate" in info["plan"] and "parquet" in info["plan"].lower(), info["plan"]
    # Every indicator was computed by a Python worker process other than this one.
    assert info["workers"], info
    assert all(int(w.rsplit(":", 1)[1]) != os.getpid() for w in info["workers"]), info["workers"]
    # What the driver collected: only what is allowed, one summary per indicator, and far fewer rows than
    # the results (each of which reached the store from the executors' Parquet files).
    collected = info["collected"]
    assert set(collected) <= ALLOWED_COLLECTS, collected
    assert collected["summaries"] == indicators - 1  # the ghost indicator has no rows, so no group
    con = duckdb.connect(str(store), read_only=True)
    try:
        orgs = con.execute("SELECT count(DISTINCT code) FROM organisations").fetchall()[0][0]
        inventory = con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT indicator, period, batch_id FROM observations_current)"
        ).fetchall()[0][0]
        points = con.execute("SELECT count(*) FROM result_points").fetchall()[0][0]
    finally:
        con.close()
    assert collected["inventory"] == inventory
    assert collected["organisations"] >= orgs
    assert sum(collected.values()) < points, (collected, points)
    assert Path(info["shared"]) == shared
    assert not list(shared.glob("run-*")), list(shared.iterdir())
