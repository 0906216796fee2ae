"""Benchmark of the area profile and the board pack, on a workspace's snapshot (as the web app holds it).

    python benchmarks/profile_bench.py --workspace uptake-workspace [--json out.json] [--no-pdf]

1. The profile reader (`uptake.results.read.profile.profile`: one statement for every indicator, its spread
   and its trend) against the obvious way, measured in the same run on the same in-memory snapshot: per
   indicator, ask for the organisation's latest row, then the values of every organisation of its level in
   that period, England's value and the SPC icon, and compute the quartiles with NumPy (4 statements an
   indicator). Every ICB and sub-ICB location; both must give the same spread (checked), the ratio is
   baseline time / reader time.
2. The benchmark choice (`uptake.results.benchmark.profile`): the profile of every ICB and sub-ICB location
   against its region, its ICB (sub-ICB locations), its similar-10 peers (pooled) and a custom group of five
   organisations of its level (pooled), each against the profile against England measured in the same run
   (the baseline: the reader's single statement); the ratio is time / England's time.
3. The board pack: building its HTML, and printing it with Chromium, against printing a one-line document
   with the same Chromium (the browser's own start-up and print: the floor), so the ratio says what the pack
   costs beyond starting a browser.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from uptake.results import read
from uptake.web.snapshot import load_snapshot


def baseline_profile(cur, code: str, level: str) -> dict[str, tuple[float, float, float]]:
    """The obvious way: per indicator, its latest row, its level's values that period, England, the icon."""
    out = {}
    indicators = [r[0] for r in cur.execute(
        "SELECT DISTINCT indicator FROM result_values WHERE org_code = ? AND level = ?", [code, level]).fetchall()]
    for indicator in indicators:
        period, value = cur.execute(
            "SELECT period, value FROM result_values WHERE org_code = ? AND level = ? AND indicator = ? "
            "ORDER BY period DESC LIMIT 1", [code, level, indicator]).fetchone()
        values = np.array([v for (v,) in cur.execute(
            "SELECT value FROM result_values WHERE indicator = ? AND level = ? AND period = ? AND value IS NOT NULL "
            "AND comparison <> 'not eligible'", [indicator, level, period]).fetchall()], dtype=float)
        values = values[np.isfinite(values)]
        cur.execute("SELECT value FROM result_values WHERE indicator = ? AND org_code = 'ENG' AND period = ?",
                    [indicator, period]).fetchall()
        cur.execute("SELECT variation_icon FROM result_spc_series WHERE indicator = ? AND level = ? AND org_code = ?",
                    [indicator, level, code]).fetchall()
        out[indicator] = tuple(np.quantile(values, [0.25, 0.5, 0.75])) if len(values) else (np.nan,) * 3
    return out


def bench_profiles(snapshot) -> dict:
    cur = snapshot.cursor()
    orgs = [(code, level) for level in ("icb", "sub-icb") for code in read.values.org_codes(cur, level)]
    fast, slow = [], []
    for code, level in orgs:
        start = time.perf_counter()
        rows = read.profile.profile(cur, code, level)
        fast.append(time.perf_counter() - start)
        start = time.perf_counter()
        expected = baseline_profile(cur, code, level)
        slow.append(time.perf_counter() - start)
        for row in rows:  # the same answer, or the timing means nothing
            q = expected[row["indicator"]]
            got = (row["q25"], row["median"], row["q75"])
            assert all(abs(a - b) < 1e-12 or (a != a and b != b) for a, b in zip(got, q)), (code, row["indicator"])
    return {"organisations": len(orgs), "reader_ms_median": 1000 * statistics.median(fast),
            "baseline_ms_median": 1000 * statistics.median(slow),
            "reader_total_s": sum(fast), "baseline_total_s": sum(slow),
            "ratio_baseline_over_reader": sum(slow) / sum(fast)}


def bench_benchmarks(snapshot) -> dict:
    """Each benchmark kind's profile time over England's, on the same organisations in the same run."""
    from uptake.catalogue import load_catalogue
    from uptake.results import benchmark as bm

    catalogue = load_catalogue()
    polarities = {i.id: i.polarity.value for i in catalogue.indicators.values()}
    measures = {i.id: i.measure.value for i in catalogue.indicators.values()}
    cur = snapshot.cursor()
    out: dict = {}
    for level in ("icb", "sub-icb"):
        codes = read.values.org_codes(cur, level)
        group = bm.GroupSpec(1, "bench group", level, tuple(codes[:5]))
        times: dict[str, list[float]] = {}
        for code in codes:
            for kind in ("england", "region", "icb", "peers", "group:1"):
                try:
                    bench = bm.resolve(cur, code, level, kind, group=group)
                except bm.BenchmarkError:
                    continue
                start = time.perf_counter()
                bm.profile(cur, code, level, bench, polarities=polarities, measures=measures)
                times.setdefault(kind, []).append(time.perf_counter() - start)
        england = statistics.median(times["england"])
        out[level] = {kind: {"organisations": len(t), "ms_median": 1000 * statistics.median(t),
                             "ratio_over_england": statistics.median(t) / england} for kind, t in times.items()}
    return out


def bench_pack(workspace: Path, code: str, repeats: int) -> dict:
    from uptake.web.app import create_app
    from uptake.web.board_pack import OPERATOR, render_board_pack
    from uptake.web.pdf import html_to_pdf

    web = create_app(workspace).state.web
    html_times, pdf_times, floor_times = [], [], []
    floor = "<!DOCTYPE html><html><body><p>floor</p></body></html>"
    for _ in range(repeats):
        start = time.perf_counter()
        html = render_board_pack(web, code, OPERATOR)
        html_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        body = html_to_pdf(html)
        pdf_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        html_to_pdf(floor)
        floor_times.append(time.perf_counter() - start)
    return {"organisation": code, "pdf_bytes": len(body), "html_s_median": statistics.median(html_times),
            "print_s_median": statistics.median(pdf_times), "floor_print_s_median": statistics.median(floor_times),
            "ratio_print_over_floor": statistics.median(pdf_times) / statistics.median(floor_times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--pack", default=None, help="ODS code of the organisation whose pack to print "
                                                     "(default: the first ICB)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    snapshot = load_snapshot(args.workspace / "analytics" / "uptake.duckdb")
    result = {"profiles": bench_profiles(snapshot), "benchmarks": bench_benchmarks(snapshot)}
    if not args.no_pdf:
        code = args.pack or read.values.org_codes(snapshot.cursor(), "icb")[0]
        result["board_pack"] = bench_pack(args.workspace, code, args.repeats)
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
