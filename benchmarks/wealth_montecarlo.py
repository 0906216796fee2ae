"""Benchmark of the health and wealth model's Monte Carlo (uptake.models.wealth): 100,000 draws of every input,
the model evaluated vectorised (NumPy over arrays, ``wealth.evaluate``) against a plain Python loop over the
SAME draws (``wealth.evaluate_one`` per draw: the obviously-correct reference), in one run.

    PYTHONPATH=src python benchmarks/wealth_montecarlo.py [--draws 100000] [--repeat 3] [--json out.json]

It reports, best of ``--repeat`` runs each: the time to draw the inputs, to evaluate vectorised, to summarise
(means and percentiles of every figure), the whole vectorised Monte Carlo (draw + evaluate + summarise:
target under 2 s on a 2-core machine), the plain loop's evaluation, and the ratio loop / vectorised
evaluation. Before timing it checks that both give the same figures for every draw (relative 1e-9).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from uptake.models import wealth

TARGET_SECONDS = 2.0


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20200701)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args(argv)
    n = args.draws

    draw_s, inputs = best_of(args.repeat, lambda: wealth.sample_inputs(n, args.seed))
    eval_s, fast = best_of(args.repeat, lambda: wealth.evaluate(inputs))
    summary_s, _ = best_of(args.repeat, lambda: wealth.summaries(fast))
    whole_s, _ = best_of(args.repeat, lambda: wealth.summaries(wealth.monte_carlo(n, args.seed)))

    # the plain loop over the same draws (columns as Python lists, one dict per draw)
    columns = {k: v.tolist() for k, v in inputs.items()}
    keys = list(columns)

    def loop() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for i in range(n):
            one = wealth.evaluate_one({k: columns[k][i] for k in keys})
            for k, v in one.items():
                out.setdefault(k, []).append(v)
        return out

    loop_s, slow = best_of(1, loop)
    for k, v in slow.items():  # the same figures, draw by draw
        if not np.allclose(fast[k], v, rtol=1e-9, atol=0):
            raise SystemExit(f"vectorised and loop differ on {k}")

    result = {
        "draws": n, "repeat": args.repeat, "draw_inputs_s": draw_s, "evaluate_vectorised_s": eval_s,
        "summarise_s": summary_s, "monte_carlo_vectorised_s": whole_s, "evaluate_loop_s": loop_s,
        "ratio_loop_over_vectorised_evaluate": loop_s / eval_s,
        "ratio_loop_over_whole_vectorised": loop_s / whole_s,
        "target_s": TARGET_SECONDS, "target_met": whole_s < TARGET_SECONDS,
    }
    print(f"Health and wealth Monte Carlo, {n:,} draws (best of {args.repeat}; the loop once)")
    print(f"  draw inputs                 {draw_s:8.3f} s")
    print(f"  evaluate, vectorised        {eval_s:8.3f} s")
    print(f"  summarise (mean, 2.5-97.5%) {summary_s:8.3f} s")
    print(f"  whole vectorised MC         {whole_s:8.3f} s   (target < {TARGET_SECONDS:.0f} s: "
          f"{'met' if result['target_met'] else 'NOT met'})")
    print(f"  evaluate, plain Python loop {loop_s:8.3f} s")
    print(f"  ratio loop / vectorised evaluate: {result['ratio_loop_over_vectorised_evaluate']:,.0f}x; "
          f"loop / whole vectorised MC: {result['ratio_loop_over_whole_vectorised']:,.1f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
