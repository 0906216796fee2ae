"""Load benchmark of the web app: concurrent clients over the main pages and the API, on loopback.

    python benchmarks/web_load.py --workspace uptake-workspace            # starts a server, 50 clients, 60 s
    python benchmarks/web_load.py --url http://127.0.0.1:8000              # against a server already running
    python benchmarks/web_load.py --workspace DIR --clients 50 --duration 60 --workers 2 --json out.json

Two load generators: wrk (Debian's `wrk`, written in C; the default when it is installed) and an httpx
asyncio client (`--engine httpx`). On a 2-core machine the generator shares the cores with the server, and
httpx spends ~10 ms of CPU per request (it cannot produce more than ~100 requests/s here), so it measures
itself rather than the server; wrk costs a few microseconds a request.

Each client keeps one connection open and requests URLs drawn at random from a mix of pages
and API calls discovered from the workspace: Home, every Innovation page (default filters and another
level), Organisations, Organisation pages at every level, Compare, Data and methods, About, and the API's
values, funnel, SPC, adoption, organisations and indicators endpoints. Every URL is requested once before
the clock starts (a warm server, as users meet it). It reports p50/p95/p99 latency, throughput and errors
(any status other than 200, or a failed request) as a table and as JSON on stdout. The target on a 2-core
machine: p95 under 150 ms with no errors. Traffic goes to loopback only, and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

TARGET_P95_MS = 150.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BENCHMARKS = Path(__file__).resolve().parent


def start_server(workspace: Path, workers: int, bench_indicators: int | None = None) -> tuple[subprocess.Popen, str]:
    """uvicorn over the workspace (with ``bench_indicators``: benchmarks/national_store.py's factory, whose
    catalogue has the synthetic indicators of a national benchmark store)."""
    port = _free_port()
    env = dict(os.environ, UPTAKE_WORKSPACE=str(workspace))
    factory = "uptake.web.app:app_from_environment"
    if bench_indicators:
        env["UPTAKE_BENCH_INDICATORS"] = str(bench_indicators)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCHMARKS), env.get("PYTHONPATH")]))
        factory = "national_store:app_from_environment"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the server did not start within 600 s")


def _tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def server_memory_mib(pid: int) -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of the server's processes, summed, in MiB."""
    peak = current = 0.0
    for member in _tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak += int(line.split()[1]) / 1024
            elif line.startswith("VmRSS:"):
                current += int(line.split()[1]) / 1024
    return {"peak_mib": round(peak, 1), "current_mib": round(current, 1)}


def _is_mission(path: str) -> bool:
    return path.startswith(("/nsf", "/ratings", "/availability", "/assessments", "/api/v1/nsf", "/api/v1/ratings",
                            "/api/v1/assessments"))


def start_compute(workspace: Path, bench_indicators: int | None, nice: int = 0) -> tuple[subprocess.Popen, float, Path]:
    """`uptake compute` on the workspace in its own process (benchmarks/national_store.py's, with the
    synthetic indicators' catalogue, for a national benchmark store), at scheduling priority ``nice`` (a batch
    job below the web server, as an operator would run it: `nice -n 10 uptake compute`)."""
    if bench_indicators:
        cmd = [sys.executable, str(BENCHMARKS / "national_store.py"), "compute", str(workspace),
               "--indicators", str(bench_indicators)]
    else:
        cmd = [sys.executable, "-m", "uptake.cli", "compute", "-w", str(workspace)]
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    log = Path(tempfile.mkstemp(prefix="uptake-load-compute-", suffix=".log")[1])
    with log.open("w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    started = time.monotonic()
    # when it ends, noted as it ends (the load may outlast it: waiting for it afterwards would time the load)
    def note_the_end() -> None:
        process.wait()
        process.ended_at = time.monotonic()  # type: ignore[attr-defined]

    threading.Thread(target=note_the_end, daemon=True).start()
    return process, started, log


def finish_compute(compute: tuple[subprocess.Popen, float, Path], url: str) -> dict:
    """Wait for the compute (it may outlast the load), then for the server to serve its publication."""
    process, started, log = compute
    running_at_end_of_load = process.poll() is None
    code = process.wait()
    while getattr(process, "ended_at", None) is None:
        time.sleep(0.05)
    seconds = process.ended_at - started
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    log.unlink(missing_ok=True)
    return {"exit_code": code, "succeeded": code == 0, "seconds": round(seconds, 1),
            "still_running_when_the_load_ended": running_at_end_of_load, "output_tail": tail}


class Timeline:
    """A probe beside the load: every half second it asks ``/healthz`` (never cached: the full path) and notes
    how long the answer took and which snapshot the server was on, so a slow stretch can be placed against the
    compute, the prerender and the switch."""

    def __init__(self, url: str, every: float = 0.5):
        import threading

        self.url, self.every, self.samples = url, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Timeline":
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                asked = time.monotonic()
                try:
                    health = client.get("/healthz").json()
                    snapshot, prerender = health["snapshot"], health.get("prerender") or {}
                    prerender = (prerender.get("version"), "running" if prerender.get("running") else "done")
                except (httpx.HTTPError, ValueError):
                    snapshot = prerender = None
                took = time.monotonic() - asked
                self.samples.append({"t_s": round(asked - self.started, 2), "ms": round(took * 1000, 1),
                                     "snapshot": snapshot, "prerendered": prerender})
                self._stop.wait(max(0.0, self.every - took))

    def summary(self) -> dict:
        if not self.samples:
            return {}
        slow = sorted(self.samples, key=lambda x: -x["ms"])[:10]
        switches = [b for a, b in zip(self.samples, self.samples[1:]) if a["snapshot"] != b["snapshot"]]
        return {"probes": len(self.samples), "probe_p50_ms": statistics.median(x["ms"] for x in self.samples),
                "slowest": slow, "switches": switches}


def wait_for_switch(url: str, before: str, limit: float = 1500.0) -> dict:
    """After a compute: wait until the server serves another snapshot (its publication); what it built of it
    ahead of the switch (``/healthz``'s ``prerender``)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        health = httpx.get(url + "/healthz", timeout=60).json()
        if health["snapshot"] != before:
            return {"switched_to": health["snapshot"], "switch_seen_at": time.monotonic(),
                    "prerender": health.get("prerender")}
        time.sleep(0.5)
    return {"switched_to": None, "switch_seen_at": None}


def discover(url: str, mission: bool = True, bench_in_mix: int | None = None) -> list[str]:
    """The URL mix, built from what the workspace has (with ``bench_in_mix``: only that many of a national
    benchmark store's synthetic indicators, each with the same pages and API calls as a real one)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        indicators = client.get("/api/v1/indicators").json()
        if bench_in_mix is not None:
            bench = [ind for ind in indicators if ind["id"].startswith("bench-")]
            step = max(1, len(bench) // max(1, bench_in_mix))
            keep = {ind["id"] for ind in bench[::step][:bench_in_mix]}
            indicators = [ind for ind in indicators if not ind["id"].startswith("bench-") or ind["id"] in keep]
        innovations = client.get("/api/v1/innovations").json()
        urls = ["/", "/organisations", "/data", "/about", "/organisations?level=icb", "/api/v1/indicators",
                "/api/v1/innovations", "/api/v1/organisations?level=icb"]
        for innovation in innovations:
            urls.append(f"/innovations/{innovation['id']}")
        orgs: dict[str, list[str]] = {}
        for ind in indicators:
            results = [r for r in ind["results"] if r["level"] != "england"]
            if not results:
                continue
            innovation = ind["innovation"]
            for r in results:
                level = r["level"]
                urls.append(f"/innovations/{innovation}?" + urlencode({"indicator": ind["id"], "level": level}))
                urls.append("/api/v1/values?" + urlencode({"indicator": ind["id"], "level": level, "per_page": 100}))
                if level != "region":
                    urls.append("/api/v1/funnel?" + urlencode({"indicator": ind["id"], "level": level}))
                page = client.get("/api/v1/values", params={"indicator": ind["id"], "level": level,
                                                            "period": r["last_period"], "per_page": 20}).json()
                codes = [item["org_code"] for item in page["items"]]
                orgs.setdefault(level, []).extend(codes)
                for code in codes[:3]:
                    urls.append("/api/v1/spc?" + urlencode({"indicator": ind["id"], "org_code": code}))
                    urls.append(f"/organisations/{code}?" + urlencode({"indicator": ind["id"]}))
            urls.append("/api/v1/adoption?" + urlencode({"indicator": ind["id"]}))
        for level, codes in orgs.items():
            for code in sorted(set(codes))[:5]:
                urls.append(f"/organisations/{code}")
        icbs = sorted(set(orgs.get("icb", [])))[:3]
        if icbs:
            urls.append("/compare?" + urlencode({"codes": ",".join(icbs)}))
        if mission:
            urls += mission_urls(client)
    return sorted(set(urls))


def mission_urls(client: httpx.Client) -> list[str]:
    """The mission's public pages and API: frameworks, their commitments, attainment (pages and levels),
    progress, ratings, the watch list, missed opportunities, availability and assessments."""
    urls = ["/nsf", "/ratings", "/availability", "/assessments", "/api/v1/nsf", "/api/v1/ratings",
            "/api/v1/ratings/watch-list", "/api/v1/ratings/missed-opportunities",
            "/api/v1/ratings/missed-opportunities?page=2", "/api/v1/assessments"]
    answer = client.get("/api/v1/nsf")
    if answer.status_code != 200:
        return []
    for framework in answer.json():
        ident = framework["id"]
        urls += [f"/nsf/{ident}", f"/api/v1/nsf/{ident}", f"/api/v1/nsf/{ident}/progress",
                 f"/api/v1/nsf/{ident}/progress?by_region=true"]
        shown = client.get(f"/api/v1/nsf/{ident}")
        if shown.status_code != 200:
            continue
        for commitment in shown.json()["definition"].get("commitments", []):
            urls.append(f"/nsf/{ident}/{commitment['id']}")
        progress = client.get(f"/api/v1/nsf/{ident}/progress")
        levels = {row["level"] for row in progress.json()} if progress.status_code == 200 else set()
        attainment = client.get(f"/api/v1/nsf/{ident}/attainment", params={"per_page": 100})
        if attainment.status_code == 200:
            pages = attainment.json()["pages"]
            for page in sorted({1, 2, max(1, pages // 2), pages}):
                urls.append(f"/api/v1/nsf/{ident}/attainment?" + urlencode({"page": page, "per_page": 100}))
        for level in sorted(levels):
            urls.append(f"/api/v1/nsf/{ident}/attainment?" + urlencode({"level": level, "per_page": 100}))
    ratings = client.get("/api/v1/ratings", params={"per_page": 5})
    if ratings.status_code == 200:
        for item in ratings.json()["items"]:
            urls.append(f"/ratings/{item['level']}/{item['org_code']}")
    return urls


async def run_load(url: str, urls: list[str], clients: int, duration: float, seed: int) -> dict:
    latencies: list[float] = []
    kinds: dict[str, list[float]] = {"page": [], "api": []}
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits,
                                 headers={"Accept-Encoding": "gzip"}) as client:
        stop_at = time.perf_counter() + duration

        async def one_client(number: int) -> None:
            rng = random.Random(seed + number)
            while time.perf_counter() < stop_at:
                path = rng.choice(urls)
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                latencies.append(elapsed)
                kinds["api" if path.startswith("/api/") else "page"].append(elapsed)
                if status != 200:
                    key = f"{status} {path}"
                    errors[key] = errors.get(key, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        wall = time.perf_counter() - began

    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]

    summary = {
        "engine": "httpx", "clients": clients, "duration_s": round(wall, 2), "urls": len(urls), "requests": len(latencies),
        "throughput_rps": round(len(latencies) / wall, 1),
        "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1),
        "p99_ms": round(pct(latencies, 99), 1), "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "pages": {"requests": len(kinds["page"]), "p50_ms": round(pct(kinds["page"], 50), 1),
                  "p95_ms": round(pct(kinds["page"], 95), 1), "p99_ms": round(pct(kinds["page"], 99), 1)},
        "api": {"requests": len(kinds["api"]), "p50_ms": round(pct(kinds["api"], 50), 1),
                "p95_ms": round(pct(kinds["api"], 95), 1), "p99_ms": round(pct(kinds["api"], 99), 1)},
        "errors": sum(errors.values()), "error_detail": dict(sorted(errors.items())[:20]),
        "target_p95_ms": TARGET_P95_MS,
    }
    summary["meets_target"] = summary["p95_ms"] < TARGET_P95_MS and summary["errors"] == 0
    return summary


WRK_SCRIPT = """
local paths = {%(paths)s}
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
init = function(args)
  math.randomseed(%(seed)d + id)
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["Accept-Encoding"] = "gzip"})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK-RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p95_us\\": %%d, " ..
    "\\"p99_us\\": %%d, \\"max_us\\": %%d, \\"mean_us\\": %%f, \\"connect\\": %%d, \\"read\\": %%d, " ..
    "\\"write\\": %%d, \\"status\\": %%d, \\"timeout\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def warm(url: str, urls: list[str], passes: int = 2, verbose: bool = False) -> dict:
    """Request every URL ``passes`` times (new connections, so every worker process may see it) before the
    clock starts: a warm server, as users meet it. Returns the first pass's slowest URLs (cold: built, not
    cached) and any URL that did not answer 200."""
    cold: list[tuple[float, str]] = []
    failed: dict[str, int] = {}
    for number in range(passes):
        for path in urls:
            with httpx.Client(base_url=url, timeout=120) as client:
                started = time.perf_counter()
                status = client.get(path).status_code
                if number == 0:
                    cold.append(((time.perf_counter() - started) * 1000, path))
                    if verbose:
                        print(f"warm {cold[-1][0]:9.1f} ms {status} {path}", file=sys.stderr, flush=True)
                if status != 200:
                    failed[path] = status
    cold.sort(reverse=True)
    return {"cold_ms_median": round(statistics.median(c[0] for c in cold), 1) if cold else None,
            "cold_slowest": [{"ms": round(ms, 1), "url": path} for ms, path in cold[:8]],
            "not_200": failed}


def run_wrk(url: str, urls: list[str], clients: int, duration: float, seed: int) -> dict:
    """Drive the load with wrk (every URL warmed first by the caller)."""
    paths = ", ".join(json.dumps(path) for path in urls)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "mix.lua"
        script.write_text(WRK_SCRIPT % {"paths": paths, "seed": seed}, encoding="utf-8")
        threads = max(1, min(2, clients))
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{clients}", f"-d{int(duration)}s", "--timeout", "10s", "-s", str(script), url],
            capture_output=True, text=True, timeout=duration + 120, check=True,
        )
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK-RESULT "))
    raw = json.loads(line.removeprefix("WRK-RESULT "))
    wall = raw["duration_us"] / 1e6
    errors = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]}
    summary = {
        "engine": "wrk", "clients": clients, "duration_s": round(wall, 2), "urls": len(urls),
        "requests": raw["requests"], "throughput_rps": round(raw["requests"] / wall, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1), "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1), "max_ms": round(raw["max_us"] / 1000, 1),
        "mean_ms": round(raw["mean_us"] / 1000, 1),
        "errors": sum(errors.values()), "error_detail": errors, "target_p95_ms": TARGET_P95_MS,
    }
    summary["meets_target"] = summary["p95_ms"] < TARGET_P95_MS and summary["errors"] == 0
    return summary


def print_table(summary: dict) -> None:
    rows = [
        ("load generator", summary["engine"]), ("clients", summary["clients"]), ("duration (s)", summary["duration_s"]), ("distinct URLs", summary["urls"]),
        ("requests", summary["requests"]), ("throughput (requests/s)", summary["throughput_rps"]),
        ("p50 (ms)", summary["p50_ms"]), ("p95 (ms)", summary["p95_ms"]), ("p99 (ms)", summary["p99_ms"]),
        ("errors", summary["errors"]),
        ("server peak memory (MiB)", (summary.get("server_memory_mib") or {}).get("peak_mib")),
        ("load average before / after", f"{summary.get('load_average_before')} / {summary.get('load_average_after')}"),
        ("compute during the load", (f"exit {summary['compute']['exit_code']} in {summary['compute']['seconds']} s"
                                     if summary.get("compute") else "none")),
        ("target: p95 < 150 ms, no errors", "met" if summary["meets_target"] else "NOT met"),
    ]
    if "pages" in summary:
        rows[-1:-1] = [("pages p95 (ms)", summary["pages"]["p95_ms"]), ("API p95 (ms)", summary["api"]["p95_ms"])]
    width = max(len(name) for name, _ in rows)
    print("| " + "measure".ljust(width) + " | value |")
    print("|-" + "-" * width + "-|-------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--workspace", type=Path, help="start a server over this workspace")
    where.add_argument("--url", help="a server already running on loopback, e.g. http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (at most 1800)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (with --workspace)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--engine", choices=("auto", "wrk", "httpx"), default="auto",
                        help="load generator (auto: wrk when installed, else httpx)")
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    parser.add_argument("--bench-indicators", type=int, default=None,
                        help="the workspace is a national benchmark store (benchmarks/national_store.py) with this "
                             "many synthetic indicators: serve it with their catalogue")
    parser.add_argument("--compute", action="store_true",
                        help="run `uptake compute` on the workspace while the load runs (with --workspace); the "
                             "report says how long it took and whether it succeeded")
    parser.add_argument("--compute-nice", type=int, default=10,
                        help="with --compute: the compute's niceness (0: the same priority as the server)")
    parser.add_argument("--no-mission", action="store_true", help="leave the mission's pages out of the mix")
    parser.add_argument("--verbose", action="store_true", help="print each URL's cold time while warming up")
    parser.add_argument("--bench-in-mix", type=int, default=10,
                        help="with --bench-indicators: how many of the synthetic indicators' pages are in the mix")
    args = parser.parse_args(argv)
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("the benchmark only sends traffic to loopback addresses")
    if args.compute and not args.workspace:
        parser.error("--compute needs --workspace")
    duration = min(args.duration, 1800.0)
    process = None
    compute = None
    try:
        if args.workspace:
            process, url = start_server(args.workspace.resolve(), args.workers, args.bench_indicators)
        else:
            url = args.url.rstrip("/")
        urls = discover(url, mission=not args.no_mission,
                        bench_in_mix=args.bench_in_mix if args.bench_indicators else None)
        engine = args.engine
        if engine == "auto":
            engine = "wrk" if shutil.which("wrk") else "httpx"
        warmed = warm(url, urls, passes=1 if args.workers == 1 else 3, verbose=args.verbose)
        memory_warm = server_memory_mib(process.pid) if process is not None else None
        load_before = os.getloadavg()
        health_before = httpx.get(url + "/healthz", timeout=60).json()
        if args.compute:
            compute = start_compute(args.workspace.resolve(), args.bench_indicators, args.compute_nice)
        with Timeline(url) as timeline:
            if engine == "wrk":
                summary = run_wrk(url, urls, args.clients, duration, args.seed)
            else:
                summary = asyncio.run(run_load(url, urls, args.clients, duration, args.seed))
        summary["timeline"] = timeline.summary()
        summary["load_average_before"] = [round(x, 2) for x in load_before]
        summary["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        health_after = httpx.get(url + "/healthz", timeout=60).json()
        if "cache" in health_after and "cache" in health_before:
            # pages and answers built during the load (a miss), and cached bodies dropped for room
            summary["server_cache_during_load"] = {
                k: health_after["cache"][k] - health_before["cache"][k] for k in ("hits", "misses", "evictions")}
            summary["server_cache_during_load"]["bytes_at_end"] = health_after["cache"]["bytes"]
        summary["snapshot_before"], summary["snapshot_after"] = health_before["snapshot"], health_after["snapshot"]
        summary["workers"] = args.workers if args.workspace else None
        summary["mission_urls"] = sum(1 for u in urls if _is_mission(u))
        summary["warm_up"] = warmed
        if process is not None:
            summary["server_memory_after_warm_up_mib"] = memory_warm
            summary["server_memory_mib"] = server_memory_mib(process.pid)
        if compute is not None:
            summary["compute"] = finish_compute(compute, url)
            summary["compute"]["nice"] = args.compute_nice
            # the publication the compute made, and what the server built of it ahead of switching to it
            summary["compute"].update(wait_for_switch(url, health_before["snapshot"]))
            seen = summary["compute"].pop("switch_seen_at", None)
            # every time from the start of the load (the compute starts with it)
            summary["compute"]["switch_seen_s_after_the_start"] = (round(seen - compute[1], 1) if seen is not None
                                                                   else None)
            during = [sample for sample in summary["timeline"].get("switches", [])
                      if sample["snapshot"] == summary["compute"].get("switched_to")]
            summary["compute"]["switched_during_the_load"] = bool(during)
            if during:  # the probe saw it: when, not when it was looked for after the load
                summary["compute"]["switch_seen_s_after_the_start"] = during[0]["t_s"]
    finally:
        if compute is not None and compute[0].poll() is None:
            compute[0].terminate()
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    print_table(summary)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if summary["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
