"""How wide result_points is and what writing it costs (issue 17.2: "store what pages need, derive the rest").

Generates a small benchmark store (``uptake.bench.generate``: the real hierarchy, SYNTHETIC S-curve uptake per
practice), runs the pipeline on DuckDB, then measures the per-point tables the pipeline stores (result_points
and, where it exists, result_spc_segments):

- their columns and rows;
- the bytes of a DuckDB file holding only them (written fresh, checkpointed);
- the process CPU seconds (every thread) of writing them into that file from Arrow, the median of repeats;
- and the whole pipeline run's CPU and wall seconds (one run: rough on a shared machine).

    PYTHONPATH=src python benchmarks/points_width.py --indicators 4 --months 36 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from uptake.bench import FIRST_PERIOD, bench_catalogue, generate
from uptake.pipeline import run_pipeline

PER_POINT = ("result_points", "result_spc_segments")


def measure(indicators: int, months: int, repeats: int, workdir: Path) -> dict:
    generated = generate(workdir, indicators, months)
    store = workdir / "analytics" / "uptake.duckdb"
    c0, w0 = time.process_time(), time.perf_counter()
    run_pipeline(store, engine="duckdb", catalogue=bench_catalogue(indicators, FIRST_PERIOD))
    pipeline_cpu, pipeline_wall = time.process_time() - c0, time.perf_counter() - w0
    con = duckdb.connect(str(store), read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        tables = {name: con.execute(f"SELECT * FROM {name}").to_arrow_table() for name in PER_POINT
                  if name in present}
    finally:
        con.close()
    cpu, wall, size = [], [], 0
    for k in range(repeats):
        path = workdir / f"points-{k}.duckdb"
        out = duckdb.connect(str(path))
        try:
            c0, w0 = time.process_time(), time.perf_counter()
            for name, data in tables.items():
                out.register("incoming", data)
                out.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
                out.unregister("incoming")
            out.execute("CHECKPOINT")
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        finally:
            out.close()
        size = path.stat().st_size
        path.unlink()
    return {
        "input_rows": generated["rows"],
        "tables": {name: {"rows": t.num_rows, "columns": t.column_names} for name, t in tables.items()},
        "point_columns": len(tables["result_points"].column_names),
        "arrow_bytes": sum(t.nbytes for t in tables.values()),
        "file_bytes": size,
        "write_cpu_seconds": statistics.median(cpu),
        "write_wall_seconds": statistics.median(wall),
        "repeats": repeats,
        "pipeline_cpu_seconds": pipeline_cpu,
        "pipeline_wall_seconds": pipeline_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indicators", type=int, default=4)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uptake-points-") as tmp:
        print(json.dumps(measure(args.indicators, args.months, args.repeats, Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
