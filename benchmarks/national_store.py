"""A national-scale workspace for the web load benchmark: the demo workspace (real NHS data, the mission's
frameworks, ratings and plans) plus `uptake bench`'s synthetic practice-level indicators (80 indicators x 60
months x 6,348 practices: 30,470,400 observation rows, labelled synthetic), computed as `uptake compute` does
(one publication: the pipeline's tables and the mission's attainment and draft ratings).

    python benchmarks/national_store.py build DIR [--indicators 80] [--months 60]   # demo + bench rows + compute
    python benchmarks/national_store.py compute DIR [--indicators 80]               # `uptake compute` again

The web app needs the synthetic indicators in its catalogue: ``national_store:app_from_environment`` is a
uvicorn factory (``UPTAKE_WORKSPACE``, ``UPTAKE_BENCH_INDICATORS``) that benchmarks/web_load.py uses with
``--bench-indicators``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from uptake.bench import FIRST_PERIOD, bench_catalogue, generate
from uptake.catalogue import Catalogue, load_catalogue
from uptake.cli.compute import _mission_refresh
from uptake.pipeline.run import run_pipeline
from uptake.workspace import Workspace


def merged_catalogue(indicators: int) -> Catalogue:
    """The bundled catalogue and the benchmark's synthetic indicators."""
    bundled = load_catalogue()
    bench = bench_catalogue(indicators, FIRST_PERIOD)
    return Catalogue(innovations={**bundled.innovations, **bench.innovations},
                     indicators={**bundled.indicators, **bench.indicators})


def compute(root: Path, indicators: int) -> dict:
    """`uptake compute` over the merged catalogue: the pipeline, then the mission's refresh in its publication."""
    ws = Workspace.resolve(root)
    started = time.perf_counter()
    with _mission_refresh(ws, True) as (refresh, rated):
        run = run_pipeline(ws, catalogue=merged_catalogue(indicators), publish_with=refresh)
    return {"seconds": round(time.perf_counter() - started, 1), "run_id": run.run_id,
            "input_rows": run.input_rows, "rows_written": sum(run.row_counts.values()),
            "attainment_rows": rated[0].attainment_rows if rated and rated[0] else None}


def build(root: Path, indicators: int, months: int) -> dict:
    if not (root / "workflow.sqlite").exists():
        subprocess.run([sys.executable, "-m", "uptake.cli", "demo", "--no-serve", "-w", str(root)], check=True,
                       stdout=subprocess.DEVNULL)
    generated = generate(root, indicators, months)
    return {"generated": generated, "compute": compute(root, indicators)}


def app_from_environment():
    """A uvicorn factory: the web app over $UPTAKE_WORKSPACE with $UPTAKE_BENCH_INDICATORS synthetic indicators."""
    # deferred: the web app is only needed when serving
    from uptake.web.app import create_app

    return create_app(os.environ.get("UPTAKE_WORKSPACE"),
                      catalogue=merged_catalogue(int(os.environ.get("UPTAKE_BENCH_INDICATORS", "80"))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("build", "compute"))
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--indicators", type=int, default=80)
    parser.add_argument("--months", type=int, default=60)
    args = parser.parse_args(argv)
    if args.action == "build":
        print(build(args.workspace.resolve(), args.indicators, args.months), flush=True)
    else:
        print(compute(args.workspace.resolve(), args.indicators), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
