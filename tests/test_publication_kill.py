"""One publication per compute, under SIGKILL: whatever moment `uptake compute` dies at, a reader sees one whole
set of results - the pipeline's tables, its run, the mission's attainment, missed opportunities and watch list,
and the draft rating run - all from the same publication and pipeline run, never "values new, attainment old".

A small workspace (tests/publication_support.py: two bundled indicators that bundled frameworks judge, so the
mission has attainment and ratings to make). Before each compute a new batch of observations is loaded, so
every compute's values differ from the last one's. `uptake compute` runs in a process of its own, forked from
one that imported Uptake's command line once (publication_support.Forker: starting Python and importing takes
longer than this compute), and is killed with SIGKILL: at each of the publication's pause points
(uptake.pipeline.publication.PAUSE_POINTS: staged, inside the transaction after the swap, after the mission's
tables, after the rating run was committed to the workflow database, after COMMIT), and at seeded random
moments up to a whole compute's measured length. After each kill:

* the store opens cleanly, read-write (DuckDB replays or discards its log) and read-only;
* if no table changed and the same rating run is shown, the old set is whole (it was checked whole);
* otherwise - a new publication - it is checked whole: every result table, view, `pipeline_runs` and the
  mission's three tables carry its stamp and the same pipeline run, the next one, which is the newest row of
  `pipeline_runs`, and values and attainment changed; the attainment, missed opportunities, watch list and
  ratings recomputed from the published values equal the published ones (so attainment was computed from
  these values, not the last ones); the rating run shown (the newest whose publication was published) is
  the publication's, from its pipeline run (a run committed by a killed compute is not shown); and the web's
  snapshot of the store is that publication, with the same attainment.

Finally a compute that is not killed (a whole `uptake compute` process) publishes everything.
"""

from __future__ import annotations

import functools
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from publication_support import Forker, build, perturb, run_uptake
from test_mission_support import ADMIN

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import load_catalogue as _load_catalogue
from uptake.mission.attainment import compute_attainment
from uptake.mission.framework_repository import published_frameworks
from uptake.mission.ratings import latest_run_id, rate, ratings_table
from uptake.mission.results import read_inputs, write_table
from uptake.mission.rule_set import load_rule_set as _load_rule_set
from uptake.pipeline.publication import PAUSE_ENV, PAUSE_POINTS, PAUSE_SIGNAL_ENV
from uptake.results import read
from uptake.results.schema import (
    FORECAST_TABLES,
    MISSION_TABLES,
    MODEL_TABLES,
    PATHWAY_TABLES,
    PIPELINE_RUNS,
    POINT_STORAGE,
    RESULT_TABLES,
)
from uptake.store import make_engine, session_scope
from uptake.store.mission_models import RatingRun
from uptake.web.snapshot import load_snapshot
from uptake.workspace import Workspace

load_catalogue, load_rule_set = functools.cache(_load_catalogue), functools.cache(_load_rule_set)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"),
]

SEED = 20261206
RANDOM_KILLS = 16  # with the 5 pause points: 21 kills
PIPELINE_TABLES = tuple(t.name for t in (*RESULT_TABLES, *POINT_STORAGE)) + (PIPELINE_RUNS.name,)
MISSION = tuple(t.name for t in MISSION_TABLES)
#: the models' tables, written in the same publication: the stroke pathway model's, the outcome models' and the
#: forecasts'
MODELS = tuple(t.name for t in (*PATHWAY_TABLES, *MODEL_TABLES, *FORECAST_TABLES))
KEYS = {t.name: list(t.key) for t in MISSION_TABLES}


@dataclass
class Seen:
    """What a reader sees of the store."""

    publication: int | None
    pipeline_run: int | None
    fingerprints: dict[str, tuple[int, str]]
    rating_run: int | None


@pytest.fixture(scope="module")
def forker(tmp_path_factory) -> Iterator[Forker]:
    forker = Forker(tmp_path_factory.mktemp("forked"))
    yield forker
    forker.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, forker: Forker) -> tuple[Workspace, float]:
    """The workspace with two whole computes done (publications 1 and 2), and how long the second took (the
    first has no earlier results to replace)."""
    ws = build(tmp_path_factory.mktemp("publication") / "ws")
    for seed in (0, 1000):
        if seed:
            perturb(ws, seed)
        child = forker.start("compute", "--workspace", str(ws.root))
        assert child.wait() == 0, child.text
        length = time.monotonic() - child.started
    return ws, length


# --- what a reader sees -------------------------------------------------------------------------------------


def fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    present = read.tables(con)
    out = {}
    for name in (*PIPELINE_TABLES, *MISSION, "publications"):
        if name in present:
            out[name] = tuple(con.execute(
                f'SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, chr(10) ORDER BY t::VARCHAR), \'\')) '
                f'FROM "{name}" AS t').fetchall()[0])
    return out


def seen(ws: Workspace) -> Seen:
    with duckdb.connect(str(ws.analytics_path), read_only=True) as con:
        current = read.runs.publication(con)
        run = read.runs.latest_run_id(con) if "pipeline_runs" in read.tables(con) else None
        prints = fingerprints(con)
        engine = make_engine(ws.database_url)
        try:
            with session_scope(engine) as session:
                try:
                    rating_run = latest_run_id(session, con)
                except Exception:  # noqa: BLE001 - no rating run yet
                    rating_run = None
        finally:
            engine.dispose()
    return Seen(current["publication_id"] if current else None, run, prints, rating_run)


def normalised(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    frame = read.attainment.table(con, name)
    return frame.sort_values(KEYS[name]).reset_index(drop=True)


def problems_with(ws: Workspace) -> list[str]:
    """What is not whole about the set a reader sees now (empty: one whole publication)."""
    problems: list[str] = []
    AnalyticsStore.open(ws.analytics_path).ensure_schema()  # opens read-write: replays or discards the log
    with duckdb.connect(str(ws.analytics_path), read_only=True) as con:
        current = read.runs.publication(con)
        if current is None:
            return ["no publication is recorded"]
        pub, run = current["publication_id"], current["pipeline_run"]
        if read.runs.latest_run_id(con) != run:
            problems.append(f"the newest pipeline run is {read.runs.latest_run_id(con)}, the publication's {run}")
        stamps = read.runs.table_stamps(con)
        for name in (*PIPELINE_TABLES, *MISSION, *MODELS):
            if stamps.get(name) != {"publication": pub, "pipeline_run": run}:
                problems.append(f"{name} is stamped {stamps.get(name)}, not publication {pub} of run {run}")
        if current["attainment_run"] != run:
            problems.append(f"attainment is from pipeline run {current['attainment_run']}, results from {run}")

        # the mission's tables and ratings are what the published values give
        engine = make_engine(ws.database_url)
        try:
            with session_scope(engine) as session:
                frameworks = published_frameworks(session)
                rule_set, catalogue = load_rule_set(), load_catalogue()
                inputs = read_inputs(con, sorted({c.indicator for f in frameworks for c in f.commitments}))
                attainment = compute_attainment(
                    frameworks, catalogue, inputs.values, spc=inputs.spc, peers=inputs.peers,
                    organisations=inputs.organisations, rating_year_start_month=rule_set.rating_year_start_month)
                rated = rate(attainment, rule_set, catalogue, frameworks)
                with duckdb.connect() as memory:
                    for name, frame in zip(MISSION, (attainment, rated.missed_opportunities, rated.watch_list),
                                           strict=True):
                        write_table(memory, name, frame)
                        try:
                            pd.testing.assert_frame_equal(normalised(memory, name), normalised(con, name),
                                                          check_exact=False, rtol=1e-12)
                        except AssertionError as exc:
                            problems.append(f"{name} is not what the published values give: {str(exc)[:300]}")
                rating_run = latest_run_id(session, con)
                shown = session.get(RatingRun, rating_run)
                made = (shown.summary.get("publication"), shown.summary.get("pipeline_run"))
                if made != (pub, run) or current["rating_run"] != rating_run:
                    problems.append(f"the rating run shown, {rating_run}, is of publication and run {made}; "
                                    f"the publication is {pub} of run {run} with rating run {current['rating_run']}")
                drafts = ratings_table(session, ADMIN, status="all", results=con, with_trace=False)
                got = sorted(map(tuple, drafts[["org_code", "level", "period", "rating"]].astype(str).to_numpy()))
                want = sorted(map(tuple, rated.ratings[["org_code", "level", "period", "rating"]].astype(str)
                                  .to_numpy()))
                if got != want:
                    problems.append(f"the draft ratings shown ({len(got)}) are not what the published values give "
                                    f"({len(want)})")
        finally:
            engine.dispose()
        stored_attainment = normalised(con, "result_attainment")

    snapshot = load_snapshot(ws.analytics_path)  # what the web serves
    try:
        if snapshot.publication != pub:
            problems.append(f"the web's snapshot is publication {snapshot.publication}, not {pub}")
        copied = normalised(snapshot.cursor(), "result_attainment")
        if not copied.equals(stored_attainment):
            problems.append("the web's snapshot has other attainment than the store")
    finally:
        snapshot.connection.close()
    return problems


# --- the tests ----------------------------------------------------------------------------------------------


def kill_at(forker: Forker, ws: Workspace, *, point: str | None = None, delay: float | None = None,
            tmp: Path) -> str:
    """Run `uptake compute` and SIGKILL it at a pause point or after `delay` seconds; say what happened."""
    env = {}
    signal_file = tmp / "paused"
    signal_file.unlink(missing_ok=True)
    if point is not None:
        env = {PAUSE_ENV: point, PAUSE_SIGNAL_ENV: str(signal_file)}
    child = forker.start("compute", "--workspace", str(ws.root), **env)
    try:
        if point is not None:
            deadline = child.started + 300
            while not signal_file.exists() and child.wait(timeout=0.02) is None and time.monotonic() < deadline:
                pass
            if not signal_file.exists():
                return f"point {point}: never reached (exit {child.kill()}) {child.text[-500:]}"
        elif child.wait(timeout=delay) is not None:
            return f"after {delay:.2f} s: finished first (exit {child.code}) {child.text[-300:] if child.code else ''}"
        code = child.kill()
        if point is None and code == 0:
            # the compute ended between the wait's timeout and the kill: it finished first, and the check that
            # follows sees its whole new set (paused at a point, it cannot end by itself)
            return f"after {delay:.2f} s: finished just before the kill (exit 0)"
        assert code == -signal.SIGKILL, (code, child.text[-2000:])
        return f"point {point}" if point is not None else f"after {delay:.2f} s"
    finally:
        child.kill()


def test_a_compute_killed_at_any_point_leaves_one_whole_publication(forker, workspace, tmp_path) -> None:
    ws, length = workspace
    rng = random.Random(SEED)
    plan: list[tuple[str | None, float | None]] = [(point, None) for point in PAUSE_POINTS]
    plan += [(None, rng.uniform(0.0, length)) for _ in range(RANDOM_KILLS)]
    rng.shuffle(plan)
    report, failures = [], []
    started = time.monotonic()
    before = seen(ws)
    assert problems_with(ws) == []
    for i, (point, delay) in enumerate(plan):
        perturb(ws, seed=i + 1)  # the next compute's values differ from the last one's
        what = kill_at(forker, ws, point=point, delay=delay, tmp=tmp_path)
        AnalyticsStore.open(ws.analytics_path).ensure_schema()  # opens cleanly read-write (log replayed or not)
        after = seen(ws)
        changed = sorted(n for n in set(before.fingerprints) | set(after.fingerprints)
                         if n != "publications" and after.fingerprints.get(n) != before.fingerprints.get(n))
        problems: list[str] = []
        if after.publication == before.publication:
            # the old set, byte for byte (it was checked whole), and the same rating run shown
            if changed or after.rating_run != before.rating_run:
                problems.append(f"the publication stayed {after.publication} but "
                                f"{changed or 'the rating run shown'} changed")
                problems += problems_with(ws)
            outcome = f"old set {after.publication} whole"
        else:
            problems += problems_with(ws)
            if after.pipeline_run != (before.pipeline_run or 0) + 1:
                problems.append(f"publication {after.publication} is of pipeline run {after.pipeline_run}, "
                                f"not the next one after {before.pipeline_run}")
            if not {"result_values", "result_attainment"} <= set(changed):
                problems.append(f"a new publication whose values or attainment did not change ({changed})")
            outcome = f"new set {after.publication} whole"
        report.append(f"kill {i + 1:2d} {what}: {outcome if not problems else 'MIXED: ' + '; '.join(problems)}")
        if problems:
            failures.append(report[-1])
        before = after
    elapsed = time.monotonic() - started
    print(f"\na whole compute: {length:.1f} s; {len(plan)} kills in {elapsed:.0f} s\n" + "\n".join(report))
    assert not failures, "\n".join(failures)
    # every pause point was reached and killed there; old and new sets were both seen
    assert all("never reached" not in line for line in report)
    assert any("old set" in line for line in report) and any("new set" in line for line in report)


def test_a_compute_not_killed_publishes_everything(workspace) -> None:
    ws, _ = workspace
    before = seen(ws)
    perturb(ws, seed=9999)
    done = run_uptake("compute", "--workspace", str(ws.root))  # a whole `uptake` process, not a forked one
    assert done.returncode == 0, done.stdout + done.stderr
    after = seen(ws)
    assert after.publication > (before.publication or 0)
    assert problems_with(ws) == []
    with duckdb.connect(str(ws.analytics_path), read_only=True) as con:
        current = read.runs.publication(con)
        assert sorted(current["tables"]) == sorted((*PIPELINE_TABLES, *MISSION, *MODELS))
        assert current["kind"] == "compute" and current["rating_run"] == after.rating_run
        states = dict(con.execute("SELECT publication_id, state FROM publications").fetchall())
    assert "staged" not in states.values()  # a killed one's staged row was marked abandoned by the next
    assert after.fingerprints["result_attainment"] != before.fingerprints["result_attainment"]
