"""Benchmark of the Health Innovation Challenge's partner matching (uptake.ecosystem.anchors.assign): SciPy's
linear_sum_assignment on the cost matrix with each anchor repeated `capacity` times, against a named baseline
measured in the same run: the same problem as a mixed-integer linear programme solved by SciPy's milp (HiGHS),
x[p, a] in {0, 1}, sum over a of x[p, a] <= 1, sum over p of x[p, a] <= capacity, sum of all x =
min(partners, anchors x capacity), minimise the total cost.

    python benchmarks/anchor_matching.py                    # footprints of ISDN, ICB and national sizes
    python benchmarks/anchor_matching.py --repeats 20 --json out.json

For each size it checks that both reach the same total cost (to 1e-6) and reports the median time of each and
their ratio (baseline / Uptake: above 1 means the assignment is faster). Random costs, seeded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from uptake.ecosystem.anchors import assign  # noqa: E402

#: (label, partners, anchors, capacity): a stroke network, an ICB footprint of sub-ICB locations or trusts,
#: an ICB footprint of practices, and every stroke unit of England in one problem
SIZES = (("ISDN (stroke units)", 8, 2, 3), ("ICB footprint (trusts)", 14, 4, 3),
         ("ICB footprint (practices)", 160, 20, 8), ("England (stroke units)", 110, 18, 6))


def milp_total(cost: np.ndarray, capacity: int) -> float:
    n_p, n_a = cost.shape
    n = n_p * n_a
    rows = []
    for p in range(n_p):  # each partner at most once
        row = np.zeros(n)
        row[p * n_a:(p + 1) * n_a] = 1
        rows.append((row, 0, 1))
    for a in range(n_a):  # each anchor at most its capacity
        row = np.zeros(n)
        row[a::n_a] = 1
        rows.append((row, 0, capacity))
    wanted = min(n_p, n_a * capacity)
    rows.append((np.ones(n), wanted, wanted))
    constraints = LinearConstraint(np.array([r for r, _, _ in rows]), [lo for _, lo, _ in rows],
                                   [hi for _, _, hi in rows])
    result = milp(cost.ravel(), constraints=constraints, integrality=np.ones(n), bounds=Bounds(0, 1))
    if not result.success:
        raise RuntimeError(result.message)
    return float(result.fun)


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20261207)
    report = []
    for label, n_p, n_a, capacity in SIZES:
        cost = rng.uniform(0, 5, size=(n_p, n_a))
        ours, pairs = timed(lambda: assign(cost, capacity), args.repeats)
        base, total = timed(lambda: milp_total(cost, capacity), args.repeats)
        mine = float(sum(cost[p, a] for p, a in pairs))
        if not np.isclose(mine, total, atol=1e-6):
            raise SystemExit(f"{label}: the assignment's total {mine} differs from the MILP optimum {total}")
        report.append({"size": label, "partners": n_p, "anchors": n_a, "capacity": capacity, "total_cost": mine,
                       "assignment_ms": ours * 1000, "milp_ms": base * 1000, "ratio_milp_over_assignment": base / ours})
    width = max(len(r["size"]) for r in report)
    print(f"{'size':<{width}}  partners anchors capacity  assignment ms   MILP ms   MILP / assignment")
    for r in report:
        print(f"{r['size']:<{width}}  {r['partners']:>8} {r['anchors']:>7} {r['capacity']:>8}  "
              f"{r['assignment_ms']:>13.2f} {r['milp_ms']:>9.2f}   {r['ratio_milp_over_assignment']:>17.1f}")
    print("Both reach the same least total cost on every size (checked).")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
