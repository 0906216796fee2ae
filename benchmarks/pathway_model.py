"""Benchmark of the stroke pathway model: 1,000 simulated years (trials) of the 132 SAMueL units, the
vectorised simulation (uptake.models.pathway.model.simulate_drawn) against a plain Python loop over the SAME
draws (uptake.models.pathway.reference.simulate_loop: trial by trial, unit by unit, patient by patient,
scalar ``math``), in one run, on the base scenario with the outcome model's per-trial odds-ratio lines.

    PYTHONPATH=src python benchmarks/pathway_model.py                 # 1,000 trials
    PYTHONPATH=src python benchmarks/pathway_model.py --trials 200 --json out.json

Both consume identical random numbers (drawn once per chunk of 100 trials by ``draw_pathway``), and the run
checks their answers are equal (thrombolysed counts exactly, summed good-outcome probabilities to 1e-9
relative) before reporting. Reported: the seconds of the draws, of each simulation, and the ratios loop /
vectorised for the simulation alone and for draws + simulation. The baseline is named and measured in the
same run; nothing is compared with a figure from another machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from uptake.models.outcomes.stroke import draw_odds_ratio_lines, load_parameters
from uptake.models.pathway.model import TRIALS_PER_CHUNK, OutcomeLine, UnitParameters, draw_pathway, simulate_drawn
from uptake.models.pathway.reference import simulate_loop
from uptake.sources.pathway_performance import read_pathway_performance


def run(trials: int, seed: int) -> dict:
    params = load_parameters()
    units = UnitParameters.from_frame(read_pathway_performance())
    intercept, slope = draw_odds_ratio_lines(trials, seed + 1, params)
    rng = np.random.default_rng(seed)
    seconds = {"draws": 0.0, "vectorised": 0.0, "loop": 0.0}
    candidates = 0
    national = []
    for start in range(0, trials, TRIALS_PER_CHUNK):
        stop = min(trials, start + TRIALS_PER_CHUNK)
        tick = time.perf_counter()
        draws = draw_pathway(units, stop - start, rng)
        seconds["draws"] += time.perf_counter() - tick
        line = OutcomeLine(params.untreated_under_80, params.untreated_80_plus, intercept[start:stop],
                           slope[start:stop])
        tick = time.perf_counter()
        fast = simulate_drawn(units, draws, line)
        seconds["vectorised"] += time.perf_counter() - tick
        tick = time.perf_counter()
        slow = simulate_loop(units, draws, line)
        seconds["loop"] += time.perf_counter() - tick
        if not np.array_equal(fast[0], slow[0]) or not np.allclose(fast[1], slow[1], rtol=1e-9, atol=1e-12):
            raise SystemExit("the vectorised and loop simulations disagree on the same draws")
        candidates += int(draws.candidates.sum())
        national.append(fast[0].sum(axis=1) / units.patients.sum())
    rate = 100 * np.concatenate(national)
    return {
        "trials": trials,
        "units": len(units.teams),
        "admissions_per_trial": int(units.patients.sum()),
        "patient_years": int(units.patients.sum()) * trials,
        "candidates_simulated": candidates,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "ratio_simulation": round(seconds["loop"] / seconds["vectorised"], 1),
        "ratio_with_draws": round((seconds["loop"] + seconds["draws"]) / (seconds["vectorised"] + seconds["draws"]), 1),
        "national_thrombolysis_pct_mean": round(float(rate.mean()), 3),
        "equal_answers": True,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--json", help="also write the result as JSON to this file")
    args = parser.parse_args(argv)
    result = run(args.trials, args.seed)
    s = result["seconds"]
    print(f"Pathway model: {result['trials']:,} trials x {result['units']} units "
          f"({result['patient_years']:,} admissions; {result['candidates_simulated']:,} candidates simulated)")
    print(f"  draws (shared)        {s['draws']:8.2f} s")
    print(f"  vectorised simulation {s['vectorised']:8.2f} s")
    print(f"  plain loop, same draws{s['loop']:8.2f} s")
    print(f"  ratio loop / vectorised: {result['ratio_simulation']}x (simulation), "
          f"{result['ratio_with_draws']}x (with the draws); answers equal")
    print(f"  national thrombolysis {result['national_thrombolysis_pct_mean']:.2f}% (SAMueL: 11.60%)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
