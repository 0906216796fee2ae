"""The pipeline on a real Spark standalone cluster started here: a master and two workers (separate JVMs
from the PySpark distribution's bin/spark-class, one core and 1 GiB each, on 127.0.0.1), the statistics
computed by executors on both workers, and every result table identical to DuckDB's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from spark_support import assert_computed_on_executors, assert_identical, java_available, two_stores
from uptake.pipeline import PipelineSettings, run_pipeline
from uptake.pipeline.spark_cluster import LocalStandaloneCluster

pytest.importorskip("pyspark")


@pytest.mark.slow
@pytest.mark.skipif(not java_available(), reason="PySpark needs Java (17) on the PATH")
def test_pipeline_on_a_standalone_cluster_of_two_workers(tmp_path: Path) -> None:
    first, second, catalogue = two_stores(tmp_path)
    shared = tmp_path / "shared"
    cluster = LocalStandaloneCluster(tmp_path / "cluster", workers=2, cores=1, memory="1g")
    with cluster.start(wait=False):  # the JVMs start while DuckDB computes
        by_duckdb = run_pipeline(first, engine="duckdb", catalogue=catalogue)
        cluster.wait_for_workers(2)
        session = cluster.session(tmp_path / "driver")
        try:
            # The application holds one executor on each worker before the run starts.
            used = [w["coresused"] for w in cluster.state()["workers"] if w["state"] == "ALIVE"]
            for _ in range(60):  # executors register a moment after the session starts
                if used == [1, 1]:
                    break
                time.sleep(0.5)
                used = [w["coresused"] for w in cluster.state()["workers"] if w["state"] == "ALIVE"]
            assert used == [1, 1], cluster.state()
            by_spark = run_pipeline(second, engine="pyspark", catalogue=catalogue, spark_session=session,
                                    settings=PipelineSettings(spark_shared_dir=str(shared)))
        finally:
            session.stop()
    assert cluster.alive_workers() == 0  # stopped: nothing left running
    assert_identical(by_duckdb, first, by_spark, second)
    assert_computed_on_executors(by_spark, second, shared)
