"""The pyspark engine's statistics, computed on Spark's executors.

The roll-up of every indicator is one Spark job over the Parquet input in the shared location; its rows
are grouped by indicator and each group is handed, as Arrow, to a grouped map function
(``GroupedData.applyInArrow``) running in an executor's Python worker. That function builds the
indicator's ``IndicatorFrame`` and calls ``uptake.pipeline.indicator.compute_indicator`` - the very code
the DuckDB engine runs on the driver - and writes each result table as one Parquet file per indicator
into the shared location. What comes back to the driver is one small summary row per indicator (its
files, row counts, warnings and step timings); the driver then has DuckDB read those Parquet files
straight into the staging tables of the publication, so no result row passes through Spark's driver.

Why a group is one indicator and not one series or one (level, period) cell: the statistics of an
indicator are not separable by series or by cell. Percent ranks, deciles and funnels need every
organisation of a (level, period) cell; the CUSUM changes use those ranks, each series; SPC charts a
spread curve's difference from England (another series); opportunity needs the peers and every practice
of an ICB; equity and adoption span every organisation. Splitting finer would need several shuffles and a
second implementation of each statistic; one indicator per group keeps the single implementation (the
same bits on both engines, by construction) and gives Spark as many independent tasks as indicators.

What the driver collects (``SparkOutcome.collected``): the inventory (rows per indicator, period and
batch), the organisation directory and current links (reference data), each organisation's mean
denominator per indicator (a peer feature), and the per-indicator summaries. Never an observation row,
a rolled-up row or a result row.

Writes are idempotent: a file is written under a temporary name and renamed to a name fixed by the
indicator, so a task Spark retries replaces its own file rather than adding a second one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from uptake.catalogue.schemas import Indicator
from uptake.errors import UptakeError
from uptake.pipeline import peers
from uptake.pipeline.engines import normalise
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.pipeline.indicator import compute_indicator
from uptake.pipeline.rollup import LevelPlan, SourceTables, rollup
from uptake.pipeline.settings import PipelineSettings
from uptake.results.schema import BY_NAME, ResultTable

#: The columns of the summary each executor returns per indicator (the only rows the driver collects
#: from the statistics job).
SUMMARY_SCHEMA = "indicator string, detail string"


def shared_directory(setting: str | None, default: Path) -> Path:
    """The shared location as a local path: ``setting`` is a path or a ``file://`` URI (a filesystem
    every executor and the driver mount at the same place); None gives ``default``."""
    if setting is None or not setting.strip():
        return default
    text = setting.strip()
    parsed = urlparse(text)
    if parsed.scheme in ("", "file"):
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(text)
        if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
            raise UptakeError(f"UPTAKE_SPARK_SHARED_DIR {setting!r}: a file:// URI must name a local path "
                              "(file:///shared/uptake), not a host")
        return path.expanduser()
    raise UptakeError(
        f"UPTAKE_SPARK_SHARED_DIR {setting!r}: use a path or a file:// URI on a filesystem every Spark node "
        f"mounts (the {parsed.scheme}:// scheme is not supported: the driver's DuckDB reads the results)"
    )


@contextmanager
def run_directory(shared: Path) -> Iterator[Path]:
    """A fresh folder for one run under the shared location (input/ and results/), removed afterwards."""
    try:
        shared.mkdir(parents=True, exist_ok=True)
        here = Path(shared) / f"run-{uuid.uuid4().hex[:12]}"
        here.mkdir()
    except OSError as exc:
        raise UptakeError(f"cannot use the Spark shared location {shared}: {exc}; set UPTAKE_SPARK_SHARED_DIR "
                          "to a folder every Spark node can write") from exc
    try:
        yield here
    finally:
        shutil.rmtree(here, ignore_errors=True)


@dataclass
class ExecutorWork:
    """What each executor needs besides its group of rows (broadcast once to every executor)."""

    indicators: dict[str, tuple[Indicator, LevelPlan, int]]  # id -> (indicator, plan, indicator number)
    settings: PipelineSettings
    orgs: Organisations
    level_peers: dict[str, peers.LevelPeers]
    icb_of: dict[str, np.ndarray]
    results_dir: str


def indicator_group(work: ExecutorWork, rows: pa.Table, ident: str | None = None) -> dict[str, Any]:
    """Every result of one indicator from its rolled-up rows (``rows``: indicator, level, org_code, period,
    numerator, denominator, members): the same frame and the same ``compute_indicator`` as the DuckDB
    engine. Writes each table's Parquet file and returns the summary (JSON-ready). ``ident`` names the
    indicator when ``rows`` is empty."""
    ident = ident if ident is not None else rows.column("indicator")[0].as_py()
    indicator, plan, number = work.indicators[ident]
    seconds: dict[str, float] = {}

    def step(name: str, func: Callable[[], Any]) -> Any:
        tick = time.perf_counter()
        out = func()
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - tick
        return out

    table = normalise(rows.drop_columns(["indicator"]))
    frame = step("frame", lambda: IndicatorFrame.from_arrow(indicator, plan, table, work.orgs))
    data_level_rows = frame.data_level_rows
    result = compute_indicator(frame, number, work.settings, work.orgs, work.level_peers, work.icb_of, step)
    del frame, table
    files: dict[str, list] = {}
    tick = time.perf_counter()
    for target, data in result.tables:
        built = data() if callable(data) else data
        if built.num_rows == 0:
            continue
        if built.schema != target.schema:
            built = built.select(target.column_names).cast(target.schema)
        path = Path(work.results_dir) / target.name / f"part-{number:05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        pq.write_table(built, partial)
        os.replace(partial, path)  # a retried task replaces its own file
        files[target.name] = [str(path), built.num_rows]
    seconds["write"] = time.perf_counter() - tick
    return {
        "indicator": ident,
        "number": number,
        "files": files,
        "view_rows": result.view_rows,
        "warnings": result.warnings,
        "data_level_rows": data_level_rows,
        "seconds": seconds,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


#: the rolled-up rows of an indicator with none (the columns a group has)
EMPTY_ROLLUP = pa.table({
    "level": pa.array([], pa.string()), "org_code": pa.array([], pa.string()), "period": pa.array([], pa.date32()),
    "numerator": pa.array([], pa.float64()), "denominator": pa.array([], pa.float64()),
    "members": pa.array([], pa.int64()), "indicator": pa.array([], pa.string()),
})


def _group_function(broadcast: Any) -> Callable[[pa.Table], pa.Table]:
    def run(rows: pa.Table) -> pa.Table:
        summary = indicator_group(broadcast.value, rows)
        return pa.table({"indicator": [summary["indicator"]], "detail": [json.dumps(summary)]})

    return run


@dataclass
class SparkOutcome:
    """The driver's view of the executors' work."""

    summaries: list[dict[str, Any]]  # one per indicator, in indicator order
    plan: str  # the physical plan of the statistics job
    collected: dict[str, int] = field(default_factory=dict)  # rows the driver collected, by what


def rollups_frame(backend: Any, tables: SourceTables, todo: list[Indicator], plans: dict[str, LevelPlan]) -> Any:
    """One Spark DataFrame: the roll-up of every indicator with its id (nothing runs yet)."""
    # deferred: PySpark is heavy and only this path needs it
    from pyspark.sql import functions as F

    session = backend._session
    frames = []
    for indicator in todo:
        sql = backend.compile(rollup(tables, indicator.id, plans[indicator.id]))
        frames.append(session.sql(sql).withColumn("indicator", F.lit(indicator.id)))
    out = frames[0]
    for more in frames[1:]:
        out = out.unionByName(more)
    return out


def compute_on_executors(backend: Any, tables: SourceTables, work: ExecutorWork, todo: list[Indicator],
                         plans: dict[str, LevelPlan]) -> SparkOutcome:
    """Run every indicator's roll-up and statistics as one Spark job; the executors write the results to
    ``work.results_dir``; returns the per-indicator summaries (the only rows collected)."""
    session = backend._session
    # One task per indicator where the hash allows: groups are few and heavy, so Spark must neither fold
    # them into one partition (adaptive coalescing) nor spread them over more partitions than indicators.
    session.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    session.conf.set("spark.sql.shuffle.partitions", str(max(len(todo), 1)))
    broadcast = session.sparkContext.broadcast(work)
    try:
        job = rollups_frame(backend, tables, todo, plans).groupBy("indicator").applyInArrow(
            _group_function(broadcast), schema=SUMMARY_SCHEMA
        )
        plan = job._jdf.queryExecution().executedPlan().toString()
        rows = job.collect()
    finally:
        broadcast.unpersist()
    summaries = [json.loads(r["detail"]) for r in rows]
    # An indicator whose roll-up has no rows (every observation names an unknown organisation) forms no
    # group, so no task ran for it; the DuckDB engine still lists it (its indicator row, its warning), so
    # its (empty) results are made here, from an empty table.
    done = {s["indicator"] for s in summaries}
    for indicator in todo:
        if indicator.id not in done:
            summaries.append({**indicator_group(work, EMPTY_ROLLUP, indicator.id), "worker": None})
    summaries.sort(key=lambda s: s["number"])
    return SparkOutcome(summaries=summaries, plan=plan, collected={"summaries": len(rows)})


def load_results(con: Any, staging: Callable[[ResultTable], str], summaries: list[dict[str, Any]]) -> dict[str, int]:
    """Append the executors' Parquet files to the staging tables in indicator order (DuckDB reads them
    from the shared location; nothing passes through Spark). Returns rows loaded per table, each checked
    against the executors' own counts."""
    by_table: dict[str, list[tuple[str, int]]] = {}
    for summary in summaries:
        for name, (path, n) in summary["files"].items():
            by_table.setdefault(name, []).append((path, int(n)))
    loaded: dict[str, int] = {}
    for name, files in by_table.items():
        table = BY_NAME[name]
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        got = con.execute(
            f'INSERT INTO "{staging(table)}" SELECT {columns} FROM read_parquet(?)', [[p for p, _ in files]]
        ).fetchall()[0][0]
        expected = sum(n for _, n in files)
        if int(got) != expected:
            raise UptakeError(f"{name}: loaded {got:,} rows from the executors' files, expected {expected:,}")
        loaded[name] = int(got)
    return loaded
