"""Benchmark of `uptake --help` (issue 17.5: it took 2.6-4.5 s): the lazy root group (uptake.cli.COMMANDS;
a command's module is imported only when it runs or its own --help is asked for) against the eager baseline,
measured in the same run: the same help printed after importing every command module up front, which is what
`uptake --help` did before (each module imports the pipeline, the databases, pandas, DuckDB ...).

    PYTHONPATH=src python benchmarks/cli_help.py [--repeat 7] [--json out.json]

Each case is a fresh interpreter; the cases alternate (lazy, eager, compute --help, lazy, eager, ...) and the
medians of wall and CPU time (the child's user + system) are reported, with the load average before the run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

EAGER = """
import importlib, pathlib, sys
import uptake.cli as cli
for name in sorted({module for _, module, _ in cli.COMMANDS}):
    importlib.import_module(f"uptake.cli.{name}")
sys.argv = ["uptake", "--help"]
cli.main()
"""

CASES = {
    "uptake --help (lazy)": ["-m", "uptake.cli", "--help"],
    "uptake --help (eager baseline: every command module imported)": ["-c", EAGER],
    "uptake compute --help (lazy)": ["-m", "uptake.cli", "compute", "--help"],
}


def _run(args: list[str]) -> tuple[float, float]:
    env = dict(os.environ, COLUMNS="120")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, None):
        raise SystemExit(done.stderr[-2000:])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for _ in range(args.repeat):
        for name, case in CASES.items():
            runs[name].append(_run(case))
    rows = {}
    for name, measured in runs.items():
        rows[name] = {
            "median_wall_s": statistics.median(w for w, _ in measured),
            "median_cpu_s": statistics.median(c for _, c in measured),
            "runs": measured,
        }
    lazy, eager = rows["uptake --help (lazy)"], rows["uptake --help (eager baseline: every command module imported)"]
    report = {
        "repeat": args.repeat,
        "load_average_1min_before": load,
        "cases": rows,
        "ratio_wall": eager["median_wall_s"] / lazy["median_wall_s"],
        "ratio_cpu": eager["median_cpu_s"] / lazy["median_cpu_s"],
    }
    print(f"load average before: {load:.1f}; {args.repeat} alternating runs each, medians")
    for name, row in rows.items():
        print(f"{name}: {row['median_wall_s']:.2f} s wall, {row['median_cpu_s']:.2f} s CPU")
    print(f"eager / lazy: {report['ratio_wall']:.1f}x wall, {report['ratio_cpu']:.1f}x CPU")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
