"""One pipeline, two engines: the whole pipeline on DuckDB and on PySpark (local mode) over the same small
workspace gives identical result tables, and on PySpark the statistics run on the executors."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_support import assert_computed_on_executors, assert_identical, java_available, two_stores
from uptake.errors import UptakeError
from uptake.pipeline import PipelineSettings, run_pipeline
from uptake.pipeline.engines import spark_session
from uptake.pipeline.spark_compute import shared_directory

pytest.importorskip("pyspark")


@pytest.mark.skipif(not java_available(), reason="PySpark needs Java (17) on the PATH")
def test_duckdb_and_pyspark_give_identical_results(tmp_path: Path) -> None:
    first, second, catalogue = two_stores(tmp_path)
    by_duckdb = run_pipeline(first, engine="duckdb", catalogue=catalogue)
    assert by_duckdb.spark == {}
    shared = tmp_path / "shared"
    session = spark_session("local[2]", tmp_path / "spark-work")
    try:
        by_spark = run_pipeline(second, engine="pyspark", catalogue=catalogue, spark_session=session,
                                settings=PipelineSettings(spark_shared_dir=shared.as_uri()))
    finally:
        session.stop()
    assert_identical(by_duckdb, first, by_spark, second)
    assert_computed_on_executors(by_spark, second, shared)


def test_shared_location_is_a_path_or_file_uri(tmp_path: Path) -> None:
    default = tmp_path / "default"
    assert shared_directory(None, default) == default
    assert shared_directory("  ", default) == default
    assert shared_directory(str(tmp_path / "a"), default) == tmp_path / "a"
    assert shared_directory((tmp_path / "b c").as_uri(), default) == tmp_path / "b c"
    with pytest.raises(UptakeError, match="not supported"):
        shared_directory("s3://bucket/uptake", default)
    with pytest.raises(UptakeError, match="not a host"):
        shared_directory("file://otherhost/shared", default)
