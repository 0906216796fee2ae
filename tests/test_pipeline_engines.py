"""One pipeline, two engines: the whole pipeline on DuckDB and on PySpark (local mode) over the same small
workspace gives identical result tables."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import reference_pipeline as ref
from uptake.levels import Level
from uptake.pipeline import RESULT_TABLES, run_pipeline
from uptake.pipeline.engines import spark_session

pytest.importorskip("pyspark")


def _java_available() -> bool:
    return shutil.which("java") is not None


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in RESULT_TABLES:
            frame = con.execute(f'SELECT * FROM "{table.name}"').df()
            out[table.name] = frame.sort_values(list(table.key), ignore_index=True)
        return out
    finally:
        con.close()


@pytest.mark.skipif(not _java_available(), reason="PySpark needs Java (17) on the PATH")
def test_duckdb_and_pyspark_give_identical_results(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=2, icbs_per_region=2, sub_icbs_per_icb=2), seed=11)
    periods = ref.months(dt.date(2021, 1, 1), 15)
    observations = {
        "practice-share": ref.make_observations(list(orgs[orgs.level == "practice"].code), periods, seed=1),
        "trust-rate": ref.make_observations(list(orgs[orgs.level == "trust"].code), periods, seed=2,
                                            measure="rate"),
        "sub-icb-share": ref.make_observations(list(orgs[orgs.level == "sub-icb"].code), periods, seed=3,
                                               max_denominator=500),
    }
    catalogue = ref.catalogue_of(
        ref.indicator("practice-share", Level.PRACTICE),
        ref.indicator("trust-rate", Level.TRUST, measure="rate", polarity="low-is-good", adoption_threshold=1.0),
        ref.indicator("sub-icb-share", Level.SUB_ICB, polarity="no-judgement", adoption_threshold=None),
    )
    first = tmp_path / "duckdb" / "store.duckdb"
    second = tmp_path / "spark" / "store.duckdb"
    first.parent.mkdir()
    second.parent.mkdir()
    ref.build_workspace(first, orgs, rels, observations)
    shutil.copyfile(first, second)

    by_duckdb = run_pipeline(first, engine="duckdb", catalogue=catalogue)
    session = spark_session("local[2]", tmp_path / "spark-work")
    try:
        by_spark = run_pipeline(second, engine="pyspark", catalogue=catalogue, spark_session=session)
    finally:
        session.stop()

    assert by_spark.engine == "pyspark" and by_duckdb.engine == "duckdb"
    assert by_spark.row_counts == by_duckdb.row_counts
    assert by_spark.input_batch_ids == by_duckdb.input_batch_ids
    assert all(by_duckdb.row_counts[t.name] > 0 for t in RESULT_TABLES), by_duckdb.row_counts
    a, b = _tables(first), _tables(second)
    for table in RESULT_TABLES:
        # Counts are whole numbers, so pooled sums are exact in any order: identical, not just close.
        pd.testing.assert_frame_equal(a[table.name], b[table.name], check_exact=True, obj=table.name)
    con = duckdb.connect(str(second), read_only=True)
    try:
        engines = con.execute("SELECT engine FROM pipeline_runs ORDER BY run_id").fetchall()
    finally:
        con.close()
    assert engines == [("pyspark",)]
