"""Benchmark of the compiled per-series kernels (uptake.pipeline.kernels, numba) against the NumPy references
they replace, in one run (issue 17.5):

- the SPC run rules over every series laid end to end (``spc.special_causes_numpy`` against the kernel);
- the CUSUM recursion over a matrix of percentile series (``changes.cusum_matrix_numpy`` against the kernel).

    PYTHONPATH=src python benchmarks/kernels.py [--series 77500] [--periods 60] [--repeat 5] [--json out.json]

The default is the medium benchmark store's size: 77,500 series of 60 months = 4.65 million points. The data
are SYNTHETIC (seeded random walks with ties), shaped like the pipeline's: series of ``--periods`` points,
some split by a rebase. Both sides get the same arrays; the benchmark checks their outputs are identical
(flags and float bits) before it reports a time. Each step reports the best and the median of ``--repeat``
alternating runs (reference, kernel, reference, kernel, ...), CPU time beside wall time, and the ratio of
the medians. JIT compile time is reported separately, measured in fresh processes: compiling with numba's
cache off, and loading the compiled kernels from the on-disk cache (what every later ``uptake compute``
pays).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from uptake.pipeline import changes, kernels, spc
from uptake.stats.spc import SpecialCauseRules

_FIRST_CALL = """
import time, numpy as np
start = time.perf_counter()
from uptake.pipeline import kernels
from uptake.stats.spc import SpecialCauseRules
imported = time.perf_counter()
y = np.arange(10.0); seg = np.zeros(10, bool); seg[0] = True
kernels.special_causes(y, np.zeros(10), np.ones(10), seg, SpecialCauseRules(7))
kernels.cusum_one_side(np.zeros((2, 20)), 1, 12, 5.0, 0.5)
done = time.perf_counter()
print(imported - start, done - imported)
"""


def _first_call(cache: bool) -> tuple[float, float]:
    env = dict(os.environ, UPTAKE_NUMBA_CACHE="1" if cache else "0", UPTAKE_NUMBA="1")
    out = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True, check=True)
    imported, first = (float(v) for v in out.stdout.split())
    return imported, first


def _timed(fn) -> tuple[float, float, object]:
    cpu = time.process_time()
    wall = time.perf_counter()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _data(series: int, periods: int, seed: int):
    rng = np.random.default_rng(seed)
    n = series * periods
    # random walks rounded to a grid (ties on the mean and between neighbours), one per series
    steps = rng.normal(0, 1, (series, periods))
    y = np.round(np.cumsum(steps, axis=1) * 4) / 4
    new_segment = np.zeros((series, periods), dtype=bool)
    new_segment[:, 0] = True
    rebased = rng.random(series) < 0.2
    new_segment[rebased, periods // 2] = True
    y = y.ravel()
    new_segment = new_segment.ravel()
    seg_id = np.cumsum(new_segment) - 1
    counts = np.bincount(seg_id)
    mean = (np.bincount(seg_id, weights=y) / counts)[seg_id]
    mr = np.abs(np.diff(y, prepend=y[0]))
    mr[new_segment] = 0
    mrbar = (np.bincount(seg_id, weights=mr) / np.maximum(counts - 1, 1))[seg_id]
    percentiles = np.round(rng.random((series, periods)) * 100, 0)
    percentiles[rng.random((series, periods)) < 0.02] = np.nan
    return y, mean, mrbar, new_segment, percentiles, n


def _same(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(
        (np.array_equal(a[k], b[k]) if a[k].dtype == object else a[k].tobytes() == b[k].tobytes()) for k in a
    )


def _compare(name: str, reference, kernel, repeat: int) -> dict:
    runs = {"reference": [], "kernel": []}
    outputs = {}
    for _ in range(repeat):
        for side, fn in (("reference", reference), ("kernel", kernel)):
            wall, cpu, out = _timed(fn)
            runs[side].append((wall, cpu))
            outputs[side] = out
    if not _same(outputs["reference"], outputs["kernel"]):
        raise SystemExit(f"{name}: the kernel's output differs from the NumPy reference's")
    row = {"step": name, "identical": True}
    for side in runs:
        walls = [w for w, _ in runs[side]]
        cpus = [c for _, c in runs[side]]
        row[f"{side}_median_s"] = statistics.median(walls)
        row[f"{side}_best_s"] = min(walls)
        row[f"{side}_median_cpu_s"] = statistics.median(cpus)
    row["ratio_median"] = row["reference_median_s"] / row["kernel_median_s"]
    row["ratio_cpu"] = row["reference_median_cpu_s"] / row["kernel_median_cpu_s"]
    return row


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=77_500)
    parser.add_argument("--periods", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if not kernels.available():
        raise SystemExit("numba is not available (or UPTAKE_NUMBA=0): nothing to compare")

    compile_import, compile_first = _first_call(cache=False)
    _first_call(cache=True)  # fills the cache if it was empty
    cached_import, cached_first = _first_call(cache=True)

    y, mean, mrbar, new_segment, percentiles, n = _data(args.series, args.periods, args.seed)
    rules = SpecialCauseRules(7)
    kernels.special_causes(y[:100], mean[:100], mrbar[:100], new_segment[:100], rules)  # compiled before timing
    changes.cusum_matrix(percentiles[:2], 12, 5.0)
    rows = [
        _compare(
            "SPC run rules",
            lambda: spc.special_causes_numpy(y, mean, mrbar, new_segment, rules),
            lambda: kernels.special_causes(y, mean, mrbar, new_segment, rules),
            args.repeat,
        ),
        _compare(
            "CUSUM (both sides)",
            lambda: changes.cusum_matrix_numpy(percentiles, 12, 5.0),
            lambda: changes.cusum_matrix(percentiles, 12, 5.0),
            args.repeat,
        ),
    ]
    report = {
        "points": n,
        "series": args.series,
        "periods": args.periods,
        "repeat": args.repeat,
        "load_average_1min": os.getloadavg()[0],
        "numba": __import__("numba").__version__,
        "numpy": np.__version__,
        "jit": {
            "import_numba_and_modules_s": compile_import,
            "compile_first_call_s": compile_first,
            "cached_import_s": cached_import,
            "cached_first_call_s": cached_first,
        },
        "steps": rows,
    }
    print(f"{n:,} points ({args.series:,} series x {args.periods} periods; SYNTHETIC), numba "
          f"{report['numba']}, NumPy {report['numpy']}, load average {report['load_average_1min']:.1f}")
    print(f"JIT: compile on first call {compile_first:.2f} s (cache off); from the on-disk cache "
          f"{cached_first:.2f} s")
    for r in rows:
        print(f"{r['step']}: NumPy reference median {r['reference_median_s'] * 1000:.0f} ms "
              f"(CPU {r['reference_median_cpu_s'] * 1000:.0f} ms), numba median {r['kernel_median_s'] * 1000:.0f} ms "
              f"(CPU {r['kernel_median_cpu_s'] * 1000:.0f} ms): ratio {r['ratio_median']:.1f}x "
              f"(CPU {r['ratio_cpu']:.1f}x); outputs identical")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
    return report


if __name__ == "__main__":
    main()
