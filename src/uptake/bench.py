"""`uptake bench pipeline`: the variation pipeline at national scale, against two named baselines measured
in the same run (these machines are noisy; only ratios within one run mean anything).

Phases, each in its own subprocess so that each reports its own peak resident memory:

* **generate** (setup, not compared): synthetic monthly observations for N indicators over the real GP
  practice list (about 6,300 practices), loaded into a fresh analytics store with the real hierarchy.
  The defaults (80 indicators x 60 months) give about 30 million rows.
* **pipeline** (a): ``uptake.pipeline.run_pipeline`` on DuckDB: every result table written.
* **pandas** (b): every result table the pipeline writes (the same tables, columns and types), computed in
  pandas one indicator at a time (benchmarks/pandas_baseline.py: vectorised pandas, and ``uptake.stats``
  once per cell or series for the funnels, SII, peers, SPC, CUSUM and adoption), written to Parquet;
  tests/test_pandas_baseline.py checks its tables equal to the pipeline's.
* **floor** (c): one DuckDB GROUP BY pass over the same observations computing the pooled numerator and
  denominator per organisation level, organisation and period: the least any pipeline must do.

Printed: rows, seconds for each, the ratios a/b and a/c, and peak resident memory of each phase.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from uptake.catalogue.loader import Catalogue
from uptake.catalogue.schemas import Indicator, Innovation
from uptake.analytics.store import AnalyticsStore
from uptake.reference import load_reference
from uptake.pipeline import run_pipeline
import duckdb
import importlib.util

BENCH_SEED = 20261122


def bench_indicator_ids(count: int) -> list[str]:
    return [f"bench-{k:03d}" for k in range(1, count + 1)]


def bench_catalogue(count: int, first_period: dt.date):
    """A catalogue of `count` synthetic practice-level monthly proportion indicators (high is good)."""
    innovation = Innovation(
        id="bench", name="Benchmark innovation (synthetic)", kind="care-pathway", conditions=["benchmark"],
        pathway_stage="spread", description="Synthetic data for `uptake bench pipeline`.", owner="uptake",
    )
    indicators = {}
    for ident in bench_indicator_ids(count):
        indicators[ident] = Indicator(
            id=ident, innovation="bench", title=f"Benchmark indicator {ident} (synthetic)",
            why_it_matters="Measures pipeline speed only.", numerator="synthetic adopters",
            denominator="synthetic eligible patients", polarity="high-is-good", levels=["practice"],
            period="month", first_period=first_period, adoption_threshold=0.5,
            unit_cost=100.0, source={"name": "uptake bench", "publisher": "Uptake", "licence": "MIT"},
            synthetic=True, authored_by="uptake-bench", checked_by="uptake-lead",
            date_reviewed=dt.date(2026, 11, 22), next_review=dt.date(2027, 11, 22),
        )
    return Catalogue(innovations={"bench": innovation}, indicators=indicators)


def _month_starts(months: int, first: dt.date) -> list[dt.date]:
    out = []
    year, month = first.year, first.month
    for _ in range(months):
        out.append(dt.date(year, month, 1))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


FIRST_PERIOD = dt.date(2020, 1, 1)


def generate(workdir: Path, indicators: int, months: int) -> dict:
    """Build the benchmark store: real hierarchy, synthetic S-curve uptake per practice."""
    # deferred: pyarrow is heavy and only this path needs it
    import pyarrow as pa


    reference = load_reference()
    store = AnalyticsStore.open(workdir / "analytics" / "uptake.duckdb")
    store.sync_reference(reference.organisations, reference.relationships)
    orgs = reference.organisations
    practices = orgs[(orgs["level"] == "practice") & orgs["valid_to"].isna()]
    codes = practices["code"].to_numpy(dtype=object)
    list_size = practices["population"].fillna(practices["population"].median()).to_numpy(dtype=float)
    periods = np.array(_month_starts(months, FIRST_PERIOD), dtype="datetime64[D]")
    rng = np.random.default_rng(BENCH_SEED)
    n_org, n_t = len(codes), len(periods)
    t = np.arange(n_t, dtype=float)
    total = 0
    with store:
        for k, ident in enumerate(bench_indicator_ids(indicators)):
            prevalence = rng.uniform(0.005, 0.05)
            midpoint = rng.uniform(0.2, 0.8) * n_t + rng.normal(0, n_t / 6, n_org)
            speed = rng.uniform(0.05, 0.2)
            ceiling = rng.uniform(0.6, 0.95, n_org)
            share = ceiling[:, None] / (1 + np.exp(-speed * (t[None, :] - midpoint[:, None])))
            den = rng.poisson(np.maximum(list_size * prevalence, 1.0)[:, None], (n_org, n_t)) + 1
            num = rng.binomial(den, share)
            table = pa.table({
                "org_code": pa.array(np.repeat(codes, n_t), pa.string()),
                "period": pa.array(np.tile(periods, n_org)),
                "numerator": pa.array(num.ravel().astype(float)),
                "denominator": pa.array(den.ravel().astype(float)),
            })
            store.load_observations(
                table, indicator=ident, source="uptake bench (synthetic)", file_name=f"{ident}.generated",
                file_sha256=f"bench-{BENCH_SEED}-{k}-{indicators}-{months}", loaded_by="uptake-bench",
            )
            total += table.num_rows
    return {"rows": total, "practices": int(n_org), "months": n_t, "indicators": indicators}


def phase_pipeline(workdir: Path, indicators: int) -> dict:
    catalogue = bench_catalogue(indicators, FIRST_PERIOD)
    run = run_pipeline(workdir / "analytics" / "uptake.duckdb", engine="duckdb", catalogue=catalogue)
    return {"result_rows": int(sum(getattr(run, "row_counts", {}).values()) if hasattr(run, "row_counts") else 0)}


def phase_floor(workdir: Path) -> dict:
    """(c): the pooled numerator and denominator per (indicator, organisation level, organisation, period),
    written to Parquet. Writing them is part of the floor: a ``count(*)`` over the roll-up lets DuckDB drop
    the sums (EXPLAIN shows only ``count_star()``), and then the floor neither computes nor stores them."""
    con = duckdb.connect(str(workdir / "analytics" / "uptake.duckdb"), read_only=True)
    out = workdir / "floor-sums.parquet"
    literal = str(out).replace("'", "''")
    rows = con.execute(
        f"""
        COPY (
            WITH obs AS (SELECT indicator, org_code, period, numerator, denominator FROM observations_current),
            links AS (
                SELECT child_code, parent_level AS level, parent_code AS org_code FROM relationships
                WHERE valid_to IS NULL
                UNION ALL SELECT code, level, code FROM organisations WHERE valid_to IS NULL
            )
            SELECT o.indicator, l.level, l.org_code, o.period,
                   sum(o.numerator) AS numerator, sum(o.denominator) AS denominator
            FROM obs o JOIN links l ON l.child_code = o.org_code
            GROUP BY ALL
        ) TO '{literal}' (FORMAT parquet)
        """
    ).fetchone()[0]
    con.close()
    check = duckdb.connect(":memory:")
    written = check.execute(f"SELECT count(*), count(numerator), sum(denominator) FROM '{literal}'").fetchone()
    check.close()
    if written[0] != rows or written[1] != rows or not written[2]:
        raise RuntimeError(f"the floor wrote {written} for {rows} rows: its sums are missing")
    return {"result_rows": int(rows), "bytes_written": out.stat().st_size}


BASELINE = Path(__file__).resolve().parents[2] / "benchmarks" / "pandas_baseline.py"


def phase_pandas(workdir: Path, out_dir: Path) -> dict:
    """Baseline (b), from benchmarks/pandas_baseline.py in the source checkout."""
    if not BASELINE.exists():
        raise SystemExit(f"the pandas baseline {BASELINE} is missing: run the benchmark from a source checkout")
    spec = importlib.util.spec_from_file_location("pandas_baseline", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pandas_pipeline = module.pandas_pipeline
    return {"result_rows": pandas_pipeline(workdir / "analytics" / "uptake.duckdb", out_dir)}


@dataclass
class PhaseResult:
    phase: str
    seconds: float
    peak_rss_mib: float
    detail: dict
    #: user + system CPU time of the phase's process, every thread (DuckDB's included)
    cpu_seconds: float = 0.0
    #: the 1-minute load average just before the phase started (other work on the machine)
    load_average: float = 0.0


def _run_phase(phase: str, workdir: Path, indicators: int, months: int) -> PhaseResult:
    """Run one phase in a fresh interpreter and read back its time and peak memory."""
    cmd = [sys.executable, "-m", "uptake.bench", phase, str(workdir), str(indicators), str(months)]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark phase {phase} failed:\n{proc.stdout}\n{proc.stderr}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    return PhaseResult(phase, record["seconds"], record["peak_rss_mib"], record["detail"],
                       record.get("cpu_seconds", 0.0), load)


def _phase_main(phase: str, workdir: Path, indicators: int, months: int) -> None:
    start = time.perf_counter()
    if phase == "generate":
        detail = generate(workdir, indicators, months)
    elif phase == "pipeline":
        detail = phase_pipeline(workdir, indicators)
    elif phase == "pandas":
        detail = phase_pandas(workdir, workdir / "pandas-results")
    elif phase == "floor":
        detail = phase_floor(workdir)
    else:
        raise SystemExit(f"unknown phase {phase}")
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "peak_rss_mib": usage.ru_maxrss / 1024, "detail": detail}))


PHASES = (("pipeline", "(a) pipeline: uptake compute on DuckDB"), ("pandas", "(b) pandas baseline"),
          ("floor", "(c) floor: one DuckDB GROUP BY, sums written to Parquet"))


def run_benchmark(indicators: int = 80, months: int = 60, workdir: Path | None = None, console=None,
                  repeats: int = 3, phases: tuple[str, ...] = ("pipeline", "pandas", "floor")) -> dict:
    """Generate, then time the pipeline, the pandas baseline and the DuckDB floor in the same run: the phases
    alternate (a, b, c, a, b, c, ...) ``repeats`` times, so load that drifts during the run falls on each of
    them alike; each phase's median wall time, its CPU time and the load average before it are reported, and
    the ratios are of the medians (and, for each round, of that round's own times)."""
    temp = None
    if workdir is None:
        temp = tempfile.TemporaryDirectory(prefix="uptake-bench-")
        workdir = Path(temp.name)
    workdir.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        if console is not None:
            console.print(text)

    try:
        say(f"generating {indicators} indicators x {months} months over the real GP practice list ...")
        gen = _run_phase("generate", workdir, indicators, months)
        rows = gen.detail["rows"]
        say(f"  {rows:,} observation rows in {gen.seconds:.1f} s")
        runs: dict[str, list[PhaseResult]] = {p: [] for p in phases}
        labels = dict(PHASES)
        for round_number in range(1, repeats + 1):
            for phase in phases:
                say(f"round {round_number}/{repeats}: {labels[phase]} ...")
                result = _run_phase(phase, workdir, indicators, months)
                runs[phase].append(result)
                say(f"  {result.seconds:.1f} s wall, {result.cpu_seconds:.1f} s CPU, peak "
                    f"{result.peak_rss_mib:,.0f} MiB (load average {result.load_average:.1f} before)")

        def median(phase: str, what: str) -> float:
            return statistics.median(getattr(r, what) for r in runs[phase])

        summary = {p: {"median_seconds": median(p, "seconds"), "median_cpu_seconds": median(p, "cpu_seconds"),
                       "peak_rss_mib": max(r.peak_rss_mib for r in runs[p]),
                       "result_rows": runs[p][-1].detail.get("result_rows", 0)} for p in phases}
        a = summary.get("pipeline", {}).get("median_seconds")
        b = summary.get("pandas", {}).get("median_seconds")
        c = summary.get("floor", {}).get("median_seconds")
        rounds = [{p: runs[p][k].seconds for p in phases} for k in range(repeats)]
        report = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count()},
            "rows": rows,
            "indicators": indicators,
            "months": months,
            "practices": gen.detail["practices"],
            "repeats": repeats,
            "order": "alternating: " + ", ".join(phases) + ", ... (each phase in its own process)",
            "phases": {name: [asdict(r) for r in results] for name, results in runs.items()},
            "summary": summary,
            "rounds": rounds,
            "generate_seconds": gen.seconds,
            "pipeline_vs_pandas_speedup": b / a if a and b else None,
            "pipeline_over_floor": a / c if a and c else None,
            "pipeline_vs_pandas_speedup_cpu": (summary["pandas"]["median_cpu_seconds"]
                                               / summary["pipeline"]["median_cpu_seconds"]) if a and b else None,
            "pipeline_over_floor_cpu": (summary["pipeline"]["median_cpu_seconds"]
                                        / summary["floor"]["median_cpu_seconds"]) if a and c else None,
            "per_round_pipeline_vs_pandas": [r["pandas"] / r["pipeline"] for r in rounds] if a and b else None,
            "per_round_pipeline_over_floor": [r["pipeline"] / r["floor"] for r in rounds] if a and c else None,
        }
        if a:
            report["targets"] = {
                "pipeline_at_least_10x_faster_than_pandas": (b / a) >= 10 if b else None,
                "pipeline_within_2x_of_floor": (a / c) <= 2 if c else None,
                "pipeline_peak_memory_at_most_6_gib": summary["pipeline"]["peak_rss_mib"] <= 6 * 1024,
            }
        return report
    finally:
        if temp is not None:
            temp.cleanup()


if __name__ == "__main__":
    _phase_main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
