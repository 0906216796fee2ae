"""Benchmark of the policy simulator (uptake.models.simulation) against NDlib (Rossetti et al., NDlib: a
Python library to model and analyze diffusion processes over complex networks, 2018; BSD-2-Clause, a
development dependency only) on the SAME graph, steps and number of runs, in one run; and against the
per-organisation Python loop of the same model (uptake.models.simulation.reference) on the sub-ICB network.

    PYTHONPATH=src python benchmarks/simulator.py [--level practice] [--runs 2] [--steps 12] [--json out.json]

The graph: the simulator's network for the real DOAC series (the example store: every organisation of the
level, its ICB, its ISDN, similar-10 peers where computed), as a networkx graph for NDlib with every tie
(the ICB and ISDN as cliques). NDlib runs its SI model (``ndlib.models.epidemics.SIModel``, beta per contact such that a
typical node's chance of adopting is the mean monthly Bass hazard of the fitted curves, the initial infected share = the fitted national adoption) for
``--steps`` iterations per run; the simulator runs its calibrated model, base AND scenario arms (twice the
work NDlib does: the ratio is conservative), 100 units per organisation, for the same steps and runs.
Reported: seconds each and the ratio NDlib / simulator (target at least 50x), plus the loop ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from uptake.analytics.store import AnalyticsStore
from uptake.models.simulation import build_inputs, compile_levers, load_levers, parse_scenario, simulate
from uptake.models.simulation.example import doac_store
from uptake.models.simulation.reference import simulate_reference
from uptake.stats.bass import bass_hazard

TARGET_RATIO = 50.0


def _graph(network):
    import networkx as nx  # deferred: a development dependency (the NDlib baseline)

    graph = nx.Graph()
    graph.add_nodes_from(range(network.size))
    graph.add_edges_from((int(a), int(b)) for a, b in network.peer_pairs if a != b)
    graph.add_edges_from((int(a), int(b)) for a, b in network.partner_pairs if a != b)
    for ids in (network.icb, network.clinical):
        for g in np.unique(ids[ids >= 0]):
            members = np.flatnonzero(ids == g)
            graph.add_edges_from((int(a), int(b)) for i, a in enumerate(members) for b in members[i + 1:])
    return graph


def _ndlib(graph, beta: float, infected: float, steps: int, runs: int, seed: int) -> tuple[float, float]:
    import ndlib.models.ModelConfig as mc  # deferred: the NDlib baseline (development dependency)
    import ndlib.models.epidemics as ep  # deferred: as above

    np.random.seed(seed)
    start = time.perf_counter()
    final = []
    for _ in range(runs):
        model = ep.SIModel(graph, seed=seed)
        config = mc.Configuration()
        config.add_model_parameter("beta", beta)
        config.add_model_parameter("fraction_infected", infected)
        model.set_initial_status(config)
        iterations = model.iteration_bunch(steps + 1, node_status=True, progress_bar=False)
        final.append(iterations[-1]["node_count"][1] / graph.number_of_nodes())
    return time.perf_counter() - start, float(np.mean(final))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="practice")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--loop-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        store = doac_store(Path(tmp) / "analytics.duckdb")
        with AnalyticsStore(store.path, read_only=True).connect() as con:
            inputs = build_inputs(con, "doac-share", args.level)
            subicb = build_inputs(con, "doac-share", "sub-icb")
    params = load_levers()
    c = inputs.calibration
    scenario = parse_scenario({"indicator": "doac-share", "level": inputs.level, "months": args.steps,
                               "runs": args.runs, "levers": [{"lever": "mission-mode", "from": f"{inputs.start:%Y-%m}",
                                                              "to": f"{inputs.start:%Y-%m}"}]})
    levers = compile_levers(scenario, inputs.network, inputs.start, params)
    start = time.perf_counter()
    fast = simulate(inputs.network, c, levers, params, months=args.steps, runs=args.runs, seed=args.seed)
    ours = time.perf_counter() - start

    graph = _graph(inputs.network)
    infected = float(np.average(fast.base[:, 0]))
    # per-contact beta such that a typical node's chance 1 - (1 - beta)^(infected neighbours) is the mean
    # monthly Bass hazard of the fitted curves
    degree = 2.0 * graph.number_of_edges() / max(graph.number_of_nodes(), 1)
    beta = float(np.average(bass_hazard(c.t0, c.p, c.q))) / max(degree * infected, 1.0)
    nd_seconds, nd_final = _ndlib(graph, beta, infected, args.steps, args.runs, args.seed)

    # the per-organisation loop of the same model on the sub-ICB network (the tests check it equals the engine)
    sub_levers = compile_levers(parse_scenario({"indicator": "doac-share", "level": "sub-icb", "months": args.steps,
                                                "runs": args.loop_runs}), subicb.network, subicb.start, params)
    start = time.perf_counter()
    simulate(subicb.network, subicb.calibration, sub_levers, params, months=args.steps, runs=args.loop_runs,
             seed=args.seed, chunk=args.loop_runs)
    sub_fast = time.perf_counter() - start
    start = time.perf_counter()
    simulate_reference(subicb.network, subicb.calibration, sub_levers, params, months=args.steps,
                       runs=args.loop_runs, seed=args.seed)
    sub_loop = time.perf_counter() - start

    out = {"level": inputs.level, "organisations": inputs.network.size, "edges": graph.number_of_edges(),
           "runs": args.runs, "steps": args.steps, "simulator_seconds": round(ours, 3),
           "ndlib_si_seconds": round(nd_seconds, 3), "ratio_ndlib_over_simulator": round(nd_seconds / ours, 1),
           "target_ratio": TARGET_RATIO, "ndlib_final_share": round(nd_final, 4),
           "simulator_final_value_median": round(float(np.median(fast.base[:, -1])), 4),
           "loop_level": "sub-icb", "loop_organisations": subicb.network.size, "loop_runs": args.loop_runs,
           "loop_seconds": round(sub_loop, 3), "vectorised_seconds_same_work": round(sub_fast, 3),
           "ratio_loop_over_vectorised": round(sub_loop / sub_fast, 1)}
    for key, value in out.items():
        print(f"{key:32s} {value}")
    print("target met" if out["ratio_ndlib_over_simulator"] >= TARGET_RATIO else "target MISSED")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
