"""The pipeline on DuckDB against the pyspark engine in local mode and on a Spark standalone cluster with
one and with two workers, over the same store, in one run (ratios against DuckDB measured in the same
run; these machines are shared, so absolute seconds drift).

    python benchmarks/spark_engines.py [--indicators 10] [--months 60] [--repeats 1] [--json out.json]

The store is `uptake bench pipeline`'s (synthetic practice-level indicators over the real GP practice
list: 10 x 60 is the medium size, 3.8 M rows). Phases, alternating each round (a, b, c, d, a, b, ...):

* (a) **duckdb**: ``run_pipeline(engine="duckdb")``, the default;
* (b) **spark local**: ``engine="pyspark"`` on ``local[2]`` (one JVM, two task threads);
* (c) **standalone, 1 worker**: a real standalone cluster (master and two workers from the PySpark
  distribution's ``spark-class``, one core and ``--worker-memory`` each) with the application limited to
  one core (``spark.cores.max=1``), so one executor on one worker does the work;
* (d) **standalone, 2 workers**: the same cluster, the application takes both workers (two executors).

Each run computes every result table and publishes it into its own copy of the store. Reported: wall time
per phase (median over rounds), the driver process's CPU time (for Spark the executors' CPU is in other
processes and not counted), the load average before each phase, and the ratios to (a) and c/d (the
scaling from one worker to two).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from uptake.bench import FIRST_PERIOD, bench_catalogue, generate
from uptake.pipeline import PipelineSettings, run_pipeline
from uptake.pipeline.engines import spark_session
from uptake.pipeline.spark_cluster import LocalStandaloneCluster

PHASES = {
    "duckdb": "(a) DuckDB",
    "local": "(b) Spark local[2]",
    "standalone-1": "(c) Spark standalone, 1 worker",
    "standalone-2": "(d) Spark standalone, 2 workers",
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indicators", type=int, default=10)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker-memory", default="2g")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    temp = tempfile.TemporaryDirectory(prefix="uptake-spark-bench-") if args.workdir is None else None
    work = Path(temp.name) if temp else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    catalogue = bench_catalogue(args.indicators, FIRST_PERIOD)
    tick = time.perf_counter()
    generated = generate(work / "source", args.indicators, args.months)
    source = work / "source" / "analytics" / "uptake.duckdb"
    print(f"{generated['rows']:,} observation rows ({args.indicators} indicators x {args.months} months x "
          f"{generated['practices']:,} practices) in {time.perf_counter() - tick:.0f} s", flush=True)

    runs: dict[str, list[dict]] = {p: [] for p in PHASES}
    cluster = LocalStandaloneCluster(work / "cluster", workers=2, cores=1, memory=args.worker_memory)
    cluster.start()
    try:
        for round_number in range(1, args.repeats + 1):
            for phase, label in PHASES.items():
                store = work / f"{phase}-{round_number}" / "uptake.duckdb"
                store.parent.mkdir(parents=True)
                shutil.copyfile(source, store)
                session = None
                if phase == "local":
                    session = spark_session("local[2]", work / "driver", {"spark.driver.memory": "2g"})
                elif phase.startswith("standalone"):
                    cores = 1 if phase == "standalone-1" else 2
                    session = cluster.session(work / "driver", cores_max=cores, executor_memory="1g")
                load = os.getloadavg()[0]
                cpu, start = _cpu(), time.perf_counter()
                try:
                    run = run_pipeline(
                        store, engine="duckdb" if phase == "duckdb" else "pyspark", catalogue=catalogue,
                        spark_session=session, settings=PipelineSettings(spark_shared_dir=str(work / "shared")),
                    )
                finally:
                    if session is not None:
                        session.stop()
                seconds, cpu = time.perf_counter() - start, _cpu() - cpu
                record = {"seconds": seconds, "driver_cpu_seconds": cpu, "load_average": load,
                          "result_rows": sum(run.row_counts.values()),
                          "workers": len(run.spark.get("workers", [])) if run.spark else 0,
                          "collected": run.spark.get("collected", {}) if run.spark else {},
                          "steps": {k: round(v, 2) for k, v in run.seconds.items()}}
                runs[phase].append(record)
                print(f"round {round_number}: {label}: {seconds:.1f} s wall, driver CPU {cpu:.1f} s "
                      f"(load average {load:.1f} before), {record['result_rows']:,} result rows; steps "
                      f"{json.dumps(record['steps'])}", flush=True)
                shutil.rmtree(store.parent)
    finally:
        cluster.stop()
        if temp is not None:
            temp.cleanup()

    median = {p: statistics.median(r["seconds"] for r in rs) for p, rs in runs.items()}
    summary = {
        "rows": generated["rows"], "indicators": args.indicators, "months": args.months,
        "repeats": args.repeats, "cores": os.cpu_count(), "runs": runs, "median_seconds": median,
        "ratio_to_duckdb": {p: median[p] / median["duckdb"] for p in PHASES},
        "one_worker_over_two": median["standalone-1"] / median["standalone-2"],
    }
    print("\nphase                              median wall   / DuckDB")
    for phase, label in PHASES.items():
        print(f"{label:<34} {median[phase]:>9.1f} s   {summary['ratio_to_duckdb'][phase]:>6.2f}")
    print(f"scaling, 1 worker / 2 workers: {summary['one_worker_over_two']:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())
