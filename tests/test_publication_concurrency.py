"""Readers never block writers: `uptake ingest` and `uptake compute` succeed while 50 clients use every page
family of the site, no request answers a server error meanwhile, and once the compute is done the site serves
its publication.

The real app is served by uvicorn in a thread (as in tests/test_workflow_concurrency.py) over the publication
tests' small workspace (tests/publication_support.py), with one compute done and its ratings published. 50
threads, each with its own HTTP client, request the home page, innovations, organisations, the NSF pages, the
ratings pages, the plans pages and the JSON API (anonymously, and the API's draft ratings with a national
admin's token) in a loop, while the test runs `uptake ingest` and then `uptake compute` as processes of their
own. The site's snapshot reloads (copying the store file) whenever the file changes, so reloads and the
writers meet; a writer that finds the file held by a reload waits for it rather than fail
(uptake.analytics.store), and the compute holds the file from start to publication, so the site copies either
the old publication or the new one (uptake.web.snapshot).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import httpx
import pytest
from publication_support import build, run_uptake, thrombolysis
from test_mission_support import ADMIN
from test_workflow_concurrency import LiveServer

from uptake.mission.ratings import publish_ratings, review_ratings
from uptake.mission.results import open_store
from uptake.results import read
from uptake.store import add_user, issue_api_token, make_engine, session_scope

pytestmark = pytest.mark.slow

CLIENTS = 50
PAGES = [
    "/", "/innovations/thrombolysis", "/innovations/doacs?indicator=doac-share&level=sub-icb",
    "/organisations/U01", "/organisations/QAA", "/organisations/01A",
    "/nsf", "/nsf/stroke", "/nsf/stroke/thrombolysis", "/nsf/cardiovascular-disease/anticoagulation-doacs",
    "/ratings", "/ratings?level=stroke-unit", "/ratings/stroke-unit/U01",
    "/plans", "/api/v1/plans/missing", "/availability", "/data",
    "/api/v1/values?indicator=thrombolysis-rate&org_code=U01", "/api/v1/organisations/U01",
    "/api/v1/nsf/stroke/attainment", "/api/v1/ratings", "/api/v1/ratings/watch-list",
    "/api/v1/ratings/missed-opportunities", "/api/v1/plans",
]
ADMIN_API = ["/api/v1/ratings?status=all"]


@pytest.fixture
def site(tmp_path: Path, monkeypatch):
    from uptake.web.app import create_app

    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    ws = build(tmp_path / "ws")
    done = run_uptake("compute", "--workspace", str(ws.root))
    assert done.returncode == 0, done.stdout + done.stderr
    store = open_store(ws)
    engine = make_engine(ws.database_url)
    with session_scope(engine) as session:
        review_ratings(session, ADMIN, results=store)
        publish_ratings(session, ADMIN, results=store)
        admin = add_user(session, "admin@england.nhs.uk", "Admin", "national-admin", None, actor="test")
        token = issue_api_token(session, admin, "test", actor="test")
    engine.dispose()
    app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
    # the site looks for a changed file every 50 ms rather than every 2 s, so its reloads meet the writers often
    app.state.web.snapshots.check_seconds = 0.05
    yield ws, app, {"authorization": f"Bearer {token}"}
    app.state.web.engine.dispose()


def current_publication(ws) -> int:
    with duckdb.connect(str(ws.analytics_path), read_only=True) as con:
        return read.runs.publication(con)["publication_id"]


def test_ingest_and_compute_succeed_under_fifty_clients_on_every_page_family(site, tmp_path: Path) -> None:
    ws, app, admin = site
    addresses = [(page, {}) for page in PAGES] + [(page, admin) for page in ADMIN_API]
    first = current_publication(ws)
    with LiveServer(app) as server:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            expected = {page: client.get(page, headers=headers).status_code for page, headers in addresses}
            assert client.get("/healthz").json()["publication"] == first
        assert set(expected.values()) == {200}, {p: s for p, s in expected.items() if s != 200}

        stop = threading.Event()
        answers: Counter = Counter()
        wrong: list[str] = []
        failures: list[str] = []
        lock = threading.Lock()

        def browse(i: int) -> None:
            rng = random.Random(i)
            try:
                with httpx.Client(base_url=server.base_url, timeout=120) as client:
                    while not stop.is_set():
                        page, headers = rng.choice(addresses)
                        response = client.get(page, headers=headers)
                        with lock:
                            answers[response.status_code] += 1
                            if response.status_code != expected[page]:
                                wrong.append(f"{page}: {response.status_code} {response.text[:200]}")
            except Exception as exc:  # noqa: BLE001 - a dropped connection or a timeout: reported below
                with lock:
                    failures.append(f"client {i}: {exc!r}")

        threads = [threading.Thread(target=browse, args=(i,), daemon=True) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(2)  # everyone browsing
            csv = tmp_path / "thrombolysis.csv"
            thrombolysis(seed=7).to_csv(csv, index=False)
            tick = time.monotonic()
            ingest = run_uptake("ingest", str(csv), "--indicator", "thrombolysis-rate", "--workspace", str(ws.root),
                                "--loaded-by", "tester", "--source", "concurrency test")
            ingest_seconds = time.monotonic() - tick
            tick = time.monotonic()
            compute = run_uptake("compute", "--workspace", str(ws.root))
            compute_seconds = time.monotonic() - tick
            time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(120)
        assert ingest.returncode == 0, ingest.stdout + ingest.stderr
        assert compute.returncode == 0, compute.stdout + compute.stderr
        print(f"\n{CLIENTS} clients: {sum(answers.values()):,} requests {dict(answers)}; "
              f"ingest {ingest_seconds:.1f} s, compute {compute_seconds:.1f} s")
        assert not failures, failures[:5]
        assert not wrong, wrong[:5]
        assert answers and all(status < 500 for status in answers)

        # the site moves to the new publication within seconds, and serves the new values
        second = current_publication(ws)
        assert second == first + 1
        new = thrombolysis(seed=7)
        latest = new.loc[(new["org_code"] == "U01")].sort_values("period").iloc[-1]
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            while client.get("/healthz").json()["publication"] != second:
                assert time.monotonic() < deadline, "the site did not move to the new publication"
                time.sleep(0.5)
            values = client.get("/api/v1/values", params={"indicator": "thrombolysis-rate", "org_code": "U01",
                                                          "period": str(latest["period"])}).json()
        rows = values["items"] if isinstance(values, dict) else values
        assert [(r["numerator"], r["denominator"]) for r in rows if r["org_code"] == "U01"] == [
            (float(latest["numerator"]), float(latest["denominator"]))]
