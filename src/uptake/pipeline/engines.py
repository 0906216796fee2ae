"""The two engines the Ibis aggregation runs on.

* ``duckdb`` (default): Ibis over the analytics store's own DuckDB connection; nothing is copied.
* ``pyspark``: the store is exported to Parquet (``AnalyticsStore.export_parquet``) and read by Spark;
  in tests and on one machine Spark runs in local mode. A caller may pass its own SparkSession (a
  cluster); otherwise one is started with ``PipelineSettings.spark_master`` and stopped afterwards.

Results always come back as Arrow tables with the same types whichever engine made them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from uptake.errors import UptakeError
from uptake.pipeline.rollup import SourceTables
from uptake.pipeline.settings import ENGINES

#: The Parquet files read by Spark (written by AnalyticsStore.export_parquet).
PARQUET_TABLES = ("observations_current", "organisations", "relationships")


def check_engine(engine: str) -> str:
    name = engine.strip().lower()
    if name not in ENGINES:
        raise UptakeError(f"unknown engine {engine!r}; use one of: {', '.join(ENGINES)}")
    return name


def duckdb_tables(connection: Any) -> tuple[Any, SourceTables]:
    """Ibis tables over an open DuckDB connection to the store."""
    backend = ibis.duckdb.from_connection(connection)
    return backend, SourceTables(
        observations=backend.table("observations_current"),
        organisations=backend.table("organisations"),
        relationships=backend.table("relationships"),
    )


def spark_session(master: str = "local[2]", work_dir: Path | str | None = None,
                  config: dict[str, str] | None = None):
    """A SparkSession for the pipeline: local mode by default, UI off, few shuffle partitions, UTC, and
    its warehouse and Derby directories under ``work_dir`` (a temporary directory) rather than the cwd."""
    try:
        # deferred: PySpark is heavy and only this path needs it
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - the spark extra is not installed
        raise UptakeError(
            "the pyspark engine needs PySpark: pip install 'uptake[spark]' (and Java 17), or use --engine duckdb"
        ) from None
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="uptake-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]
    builder = (
        SparkSession.builder.master(master)
        .appName("uptake-pipeline")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work / 'derby'}")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Executors run uptake's own statistics (uptake.pipeline.spark_compute): their Python is this one
        # and they import uptake from where this process does (one machine, or a path every node mounts).
        .config("spark.executorEnv.PYTHONPATH", _uptake_path())
        .config("spark.executorEnv.PYSPARK_PYTHON", os.environ["PYSPARK_PYTHON"])
    )
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _uptake_path() -> str:
    """The directory uptake is imported from, ahead of this process's PYTHONPATH."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (here, rest) if p)


@contextmanager
def pyspark_tables(parquet_dir: Path, session: Any | None, master: str) -> Iterator[tuple[Any, SourceTables]]:
    """Ibis tables over the Parquet export, on the given SparkSession or a local one started here."""
    own = session is None
    work = tempfile.TemporaryDirectory(prefix="uptake-spark-") if own else None
    if own:
        session = spark_session(master, work.name)  # type: ignore[union-attr]
    try:
        backend = ibis.pyspark.connect(session)
        tables = {}
        for name in PARQUET_TABLES:
            path = parquet_dir / f"{name}.parquet"
            tables[name] = backend.read_parquet(str(path), table_name=f"uptake_{name}")
        yield backend, SourceTables(
            observations=tables["observations_current"],
            organisations=tables["organisations"],
            relationships=tables["relationships"],
        )
    finally:
        if own:
            session.stop()  # type: ignore[union-attr]
            work.cleanup()  # type: ignore[union-attr]


def fetch(expr: Any, what: str = "") -> pa.Table:
    """Run an Ibis expression and return Arrow with engine-independent types: dates as date32 (Spark
    may hand back timestamps), integers as int64, floats as float64, strings as string. ``what`` names
    the rows fetched (the Spark path counts what its driver collects under that name)."""
    return normalise(expr.to_pyarrow())


def normalise(table: pa.Table) -> pa.Table:
    """Arrow with engine-independent types (see ``fetch``): also used on the groups a Spark executor is
    handed (uptake.pipeline.spark_compute), so both engines build their frames from the same types."""
    columns = []
    for field in table.schema:
        col = table.column(field.name)
        kind = field.type
        if pa.types.is_timestamp(kind):
            col = pc.cast(col, pa.date32())
        elif pa.types.is_date64(kind):
            col = pc.cast(col, pa.date32())
        elif pa.types.is_integer(kind) and kind != pa.int64():
            col = pc.cast(col, pa.int64())
        elif pa.types.is_floating(kind) and kind != pa.float64():
            col = pc.cast(col, pa.float64())
        elif pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            col = pc.cast(col, pa.string())
        elif pa.types.is_dictionary(kind):
            col = pc.cast(col, kind.value_type)
        columns.append(col)
    return pa.table(columns, names=table.column_names)
