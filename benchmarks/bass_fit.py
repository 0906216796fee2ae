"""Benchmark: Bass fits of many series at once (uptake.models.forecasts.fitting.fit_batch, vectorised
Levenberg-Marquardt in NumPy) against a loop of scipy.optimize.curve_fit over the same series.

    PYTHONPATH=src python benchmarks/bass_fit.py                     # 10,000 series of 96 months
    PYTHONPATH=src python benchmarks/bass_fit.py --series 2000 --baseline-series 500 --json out.json

The series: SYNTHETIC Bass curves (m uniform 0.5-0.95; p log-uniform 0.002-0.03 and q log-uniform
0.02-0.15 per month, the range of the real DOAC and thrombolysis fits) plus normal noise (sd 0.02, about
a DOAC sub-ICB series' residual sd), seeded. Real series are too few (106 sub-ICB locations) to time 10,000
fits; benchmarks/README-style honesty: these numbers time the fit, not the data.

Both sides fit the same model to the same data from the same start: the vectorised side's grid start
(``grid_start``, timed as part of the vectorised fit) is handed to curve_fit as p0 untimed (the baseline
is not charged for it), with bounds 0 < m <= 1, 0 < p <= 1, 0 < q <= 4.5 (trf). The loop is timed over
``--baseline-series`` series (default: all) and scaled to the full count if fewer. Agreement: for every
series fitted by both, the largest absolute difference between the two fitted curves over the series'
months (share scale) and the relative difference of their sums of squares; the benchmark fails (exit 1)
if more than 1% of series differ by more than 0.005 in the curve (tests/test_forecasts_fitting.py holds
the same tolerance on a small set).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np

from uptake.models.forecasts.fitting import fit_batch, grid_start, to_natural
from uptake.stats.bass import bass_cumulative

CURVE_TOLERANCE = 0.005
MAX_SHARE_BEYOND = 0.01


def make_series(n: int, months: int, seed: int = 20261207) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.tile(np.arange(months, dtype=float), (n, 1))
    m = rng.uniform(0.5, 0.95, n)
    p = np.exp(rng.uniform(np.log(0.002), np.log(0.03), n))
    q = np.exp(rng.uniform(np.log(0.02), np.log(0.15), n))
    y = bass_cumulative(t, m[:, None], p[:, None], q[:, None]) + rng.normal(0.0, 0.02, t.shape)
    return t, y


def scipy_loop(t: np.ndarray, y: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float]:
    from scipy.optimize import curve_fit  # deferred: the baseline's own dependency

    def model(tt, m, p, q):
        return bass_cumulative(tt, m, p, q)

    m0, p0, q0 = to_natural(start, np.ones(len(y)))
    out = np.full((len(y), 3), np.nan)
    tick = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(y)):
            try:
                popt, _ = curve_fit(model, t[i], y[i], p0=[m0[i], p0[i], q0[i]],
                                    bounds=([1e-9, 1e-9, 1e-9], [1.0, 1.0, 4.5]), maxfev=5000)
                out[i] = popt
            except RuntimeError:
                pass
    return out, time.perf_counter() - tick


def run(series: int, months: int, baseline_series: int | None) -> dict:
    t, y = make_series(series, months)
    tick = time.perf_counter()
    fit = fit_batch(t, y)
    vectorised = time.perf_counter() - tick
    k = series if baseline_series is None else min(baseline_series, series)
    start = grid_start(t[:k], y[:k], np.ones_like(y[:k]), np.ones(k))
    ref, loop_seconds = scipy_loop(t[:k], y[:k], start)
    loop_full = loop_seconds * series / k
    ok = np.isfinite(ref).all(axis=1)
    ours = bass_cumulative(t[:k], fit.m[:k, None], fit.p[:k, None], fit.q[:k, None])
    theirs = bass_cumulative(t[:k][ok], ref[ok, 0:1], ref[ok, 1:2], ref[ok, 2:3])
    curve_diff = np.abs(ours[ok] - theirs).max(axis=1)
    sse_ours = ((y[:k][ok] - ours[ok]) ** 2).sum(axis=1)
    sse_theirs = ((y[:k][ok] - theirs) ** 2).sum(axis=1)
    beyond = float((curve_diff > CURVE_TOLERANCE).mean())
    return {
        "series": series, "months": months, "baseline_series": k,
        "vectorised_seconds": round(vectorised, 3), "curve_fit_loop_seconds": round(loop_seconds, 3),
        "curve_fit_loop_seconds_for_all": round(loop_full, 3), "ratio": round(loop_full / vectorised, 1),
        "converged": float(fit.converged.mean()), "baseline_failures": int((~ok).sum()),
        "curve_diff_median": float(np.median(curve_diff)), "curve_diff_p99": float(np.quantile(curve_diff, 0.99)),
        "curve_diff_max": float(curve_diff.max()), "share_beyond_tolerance": beyond,
        "sse_ours_minus_theirs_relative_median": float(np.median((sse_ours - sse_theirs) / sse_theirs)),
        "share_ours_lower_or_equal_sse": float((sse_ours <= sse_theirs * (1 + 1e-9)).mean()),
        "equal_within_tolerance": beyond <= MAX_SHARE_BEYOND,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=96)
    parser.add_argument("--baseline-series", type=int, default=None,
                        help="time the curve_fit loop on this many series and scale (default: all)")
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args(argv)
    result = run(args.series, args.months, args.baseline_series)
    for key, value in result.items():
        print(f"{key:42s} {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 0 if result["equal_within_tolerance"] else 1


if __name__ == "__main__":
    sys.exit(main())
