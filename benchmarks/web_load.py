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
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

TARGET_P95_MS = 150.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workspace: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, UPTAKE_WORKSPACE=str(workspace))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "uptake.web.app:app_from_environment", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the server did not start within 120 s")


def discover(url: str) -> list[str]:
    """The URL mix, built from what the workspace has."""
    with httpx.Client(base_url=url, timeout=30) as client:
        indicators = client.get("/api/v1/indicators").json()
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
    return sorted(set(urls))


async def run_load(url: str, urls: list[str], clients: int, duration: float, seed: int) -> dict:
    latencies: list[float] = []
    kinds: dict[str, list[float]] = {"page": [], "api": []}
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits,
                                 headers={"Accept-Encoding": "gzip"}) as client:
        # warm-up: every URL, so the clock measures a warm server
        await asyncio.to_thread(warm, url, urls)

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


def warm(url: str, urls: list[str], passes: int = 4) -> None:
    for _ in range(passes):
        for path in urls:
            with httpx.Client(base_url=url, timeout=60) as client:
                client.get(path)


def run_wrk(url: str, urls: list[str], clients: int, duration: float, seed: int) -> dict:
    """Drive the load with wrk; warm every URL first (several times, on new connections, so that every
    server worker process has seen it)."""
    warm(url, urls)
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
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (at most 600)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (with --workspace)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--engine", choices=("auto", "wrk", "httpx"), default="auto",
                        help="load generator (auto: wrk when installed, else httpx)")
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    args = parser.parse_args(argv)
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("the benchmark only sends traffic to loopback addresses")
    duration = min(args.duration, 600.0)
    process = None
    try:
        if args.workspace:
            process, url = start_server(args.workspace.resolve(), args.workers)
        else:
            url = args.url.rstrip("/")
        urls = discover(url)
        engine = args.engine
        if engine == "auto":
            engine = "wrk" if shutil.which("wrk") else "httpx"
        if engine == "wrk":
            summary = run_wrk(url, urls, args.clients, duration, args.seed)
        else:
            summary = asyncio.run(run_load(url, urls, args.clients, duration, args.seed))
        summary["workers"] = args.workers if args.workspace else None
    finally:
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
