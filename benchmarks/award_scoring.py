"""Benchmark of scoring Innovation Award nominations (uptake.ecosystem.award): the batched scorer
(``score_nominations``: one query per commitment and one per indicator, level and period) against the named
baseline, the plain reference ``score_one`` (three queries a nomination), in the same run, on the same
in-memory results; both must give identical scores.

    PYTHONPATH=src python benchmarks/award_scoring.py [--organisations 2000] [--nominations 500]

The results are generated (random, SYNTHETIC) in the shapes uptake.results.schema declares: result_attainment
for one commitment over three years and result_values with numerators, for ``--organisations`` units. Reports
seconds for each and the ratio batched / baseline (under 1 is faster).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import duckdb
import numpy as np
import pandas as pd

from uptake.ecosystem.award import bundled_scheme, score_nominations, score_one
from uptake.results.schema import ATTAINMENT, VALUES


def _frame(table, rows: dict) -> pd.DataFrame:
    n = len(next(iter(rows.values())))
    return pd.DataFrame({c: rows.get(c, [None] * n) for c in table.column_names})


def build(organisations: int, seed: int = 2020) -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(seed)
    codes = [f"U{i:05d}" for i in range(organisations)]
    periods = [dt.date(y, 1, 1) for y in (2019, 2020, 2021)]
    att, val = [], []
    base = rng.uniform(0.03, 0.25, organisations)
    for k, period in enumerate(periods):
        value = np.clip(base + rng.normal(0.01 * k, 0.01, organisations), 0, 1)
        den = rng.integers(200, 900, organisations)
        num = np.round(value * den)
        status = np.where(value >= 0.2, "met", np.where(value >= 0.08, "off-trajectory", "missed"))
        att.append(pd.DataFrame({"framework": "stroke", "commitment": "thrombolysis", "indicator": "thrombolysis-rate",
                                 "level": "stroke-unit", "org_code": codes, "org_name": codes, "period": period,
                                 "value": num / den, "minimum_standard": 0.08, "target": 0.2, "status": status,
                                 "peers_assessed": 10, "peers_met": rng.integers(0, 11, organisations),
                                 "synthetic": True}))
        val.append(pd.DataFrame({"indicator": "thrombolysis-rate", "level": "stroke-unit", "org_code": codes,
                                 "org_name": codes, "period": period, "numerator": num, "denominator": den,
                                 "value": num / den, "synthetic": True}))
    con = duckdb.connect()
    for name, table, parts in (("result_attainment", ATTAINMENT, att), ("result_values", VALUES, val)):
        frame = pd.concat(parts, ignore_index=True)
        full = _frame(table, {c: frame[c].tolist() for c in frame.columns})
        con.register("_f", full)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _f')
        con.unregister("_f")
    return con


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=2000)
    parser.add_argument("--nominations", type=int, default=500)
    args = parser.parse_args()
    con = build(args.organisations)
    scheme = bundled_scheme()
    rng = np.random.default_rng(1)
    codes = [f"U{i:05d}" for i in rng.choice(args.organisations, args.nominations, replace=False)]
    nominations = pd.DataFrame({"id": range(1, len(codes) + 1), "org_code": codes, "framework": "stroke",
                                "commitment": "thrombolysis"})
    start = time.perf_counter()
    slow = [score_one(con, scheme, "stroke", "thrombolysis", c, i) for i, c in zip(nominations["id"], codes)]
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    fast = score_nominations(con, scheme, nominations)
    batched = time.perf_counter() - start
    assert [f.score for f in fast] == [s.score for s in slow], "the batched scores differ from the reference"
    print(f"{args.nominations} nominations over {args.organisations} organisations (SYNTHETIC results)")
    print(f"baseline score_one x {args.nominations}: {baseline:.2f} s")
    print(f"batched score_nominations:           {batched:.2f} s")
    print(f"ratio batched / baseline:            {batched / baseline:.3f}")


if __name__ == "__main__":
    main()
