"""Publications (uptake.pipeline.publication): what a compute writes becomes visible at once, each table stamped
with its publication; a rating run whose publication never committed is not shown, on SQLite and PostgreSQL;
a failure inside the publication leaves everything as it was; the web's snapshot names its publication; and
a writer waits for a reader of the store file instead of failing. (Killing `uptake compute` at every point is
tests/test_publication_kill.py.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from publication_support import build, perturb, subprocess_env
from test_mission_support import ADMIN, mission_workflow, small_store

from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError
from uptake.mission.ratings import (
    compute_ratings,
    freshness,
    latest_run_id,
    rate_in_publication,
    ratings_table,
    review_ratings,
)
from uptake.mission.results import Published, published_publications, read_table
from uptake.pipeline import publication
from uptake.pipeline.run import run_pipeline
from uptake.results import read
from uptake.results.schema import MISSION_TABLES, VIEWS
from uptake.store import session_scope
from uptake.store.mission_models import RatingRun
from uptake.web.snapshot import load_snapshot

MISSION = sorted(t.name for t in MISSION_TABLES)


def _publications(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT publication_id, kind, state, pipeline_run, attainment_run, rating_run "
                           "FROM publications ORDER BY publication_id").fetchall()


def test_a_ratings_publication_stamps_its_tables_and_its_run(workflow_engine, tmp_path: Path) -> None:
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")  # results without a pipeline run or a publication
    with session_scope(engine) as session:
        summary = compute_ratings(session, store, who=ADMIN)
    assert summary.publication == 1
    assert _publications(store.path) == [(1, "ratings", "published", None, None, summary.run_id)]
    with duckdb.connect(str(store.path), read_only=True) as con:
        current = read.runs.publication(con)
        stamps = read.runs.table_stamps(con)
    assert current["tables"] == MISSION and current["published_at"] >= current["created_at"]
    assert {name: stamps[name] for name in MISSION} == {name: {"publication": 1, "pipeline_run": None}
                                                         for name in MISSION}
    assert "result_values" not in stamps  # written by the test, not by a publication
    with session_scope(engine) as session:
        run = session.get(RatingRun, summary.run_id)
        assert run.summary["publication"] == 1
        assert latest_run_id(session, store) == summary.run_id
    assert published_publications(store) == Published(1, frozenset())
    assert 1 in Published(1) and 2 not in Published(1) and 1 not in Published(3, frozenset({1}))


def test_a_rating_run_whose_publication_never_committed_is_not_shown(workflow_engine, tmp_path: Path) -> None:
    """As if `uptake compute` were killed after committing its draft rating run to the workflow database and
    before the analytics store committed the publication: the run is there, and nobody sees it."""
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")
    with session_scope(engine) as session:
        shown = compute_ratings(session, store, who=ADMIN).run_id
    with store.writing("test"), store.connect() as con:
        doomed = publication.begin(con, "ratings")
        with pytest.raises(RuntimeError, match="killed"), publication.publishing(con, doomed, "ratings") as pub, \
                session_scope(engine) as session:
            orphan = rate_in_publication(pub, session, ADMIN).run_id  # commits the workflow side
            raise RuntimeError("killed before the analytics store committed")
    assert _publications(store.path)[-1][:3] == (doomed, "ratings", "staged")
    assert read_table(store, "result_attainment").shape[0] > 0  # the first publication's, whole
    with session_scope(engine) as session:
        assert session.get(RatingRun, orphan).summary["publication"] == doomed
        assert latest_run_id(session, store) == shown
        assert latest_run_id(session) == orphan  # without the store every run counts
        drafts = ratings_table(session, ADMIN, status="draft", results=store)
        assert set(drafts["run_id"]) == {shown}
        assert ratings_table(session, ADMIN, status="all", run_id=orphan, results=store).empty
        with pytest.raises(UptakeError, match=f"publication {doomed}, which was never published"):
            review_ratings(session, ADMIN, orphan, results=store)
        fresh = freshness(session, store)
        assert fresh.newest_rating_run == shown and fresh.waiting == len(drafts)
        with duckdb.connect(str(store.path), read_only=True) as con:  # a connection does as well as the store
            assert latest_run_id(session, con) == shown
    # the next publication marks the one left staged abandoned; its run is still not shown, the new one is
    with session_scope(engine) as session:
        newest = compute_ratings(session, store, who=ADMIN).run_id
    states = {pid: state for pid, _, state, *_ in _publications(store.path)}
    assert states == {1: "published", doomed: "abandoned", doomed + 1: "published"}
    assert published_publications(store) == Published(doomed + 1, frozenset({doomed}))
    with session_scope(engine) as session:
        assert latest_run_id(session, store) == newest
        assert review_ratings(session, ADMIN, results=store) > 0
        assert ratings_table(session, ADMIN, status="all", run_id=orphan, results=store).empty


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    """The publication tests' small workspace with one compute (pipeline and mission) done in this process."""
    from uptake.mission.permissions import operator
    from uptake.store import make_engine

    ws = build(tmp_path_factory.mktemp("publication-unit") / "ws")
    engine = make_engine(ws.database_url)

    def mission(pub):
        with session_scope(engine) as session:
            rate_in_publication(pub, session, operator())

    run_pipeline(ws, engine="duckdb", publish_with=mission)
    yield ws, engine, mission
    engine.dispose()


def _state(path: Path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        counts = {name: con.execute(f'SELECT count(*), sum(hash(t::VARCHAR)) FROM "{name}" AS t').fetchall()[0]
                  for name in ("result_values", "result_points", "pipeline_runs", *MISSION)}
        staging = [n for n in read.tables(con) if n.startswith("_staging_")]
        return {"tables": counts, "stamps": read.runs.table_stamps(con), "staging": staging,
                "current": read.runs.publication(con)}


def test_a_failure_inside_the_publication_changes_nothing(computed) -> None:
    ws, engine, mission = computed
    before = _state(ws.analytics_path)
    perturb(ws, seed=3)

    def fails(pub):
        mission(pub)  # the mission's tables written and its rating run committed, then:
        raise RuntimeError("the mission failed")

    with pytest.raises(RuntimeError, match="the mission failed"):
        run_pipeline(ws, engine="duckdb", publish_with=fails)
    after = _state(ws.analytics_path)
    assert after == before and after["staging"] == []
    with session_scope(engine) as session:
        store = AnalyticsStore(ws.analytics_path)
        assert latest_run_id(session, store) == before["current"]["rating_run"]


def test_without_the_mission_the_publication_keeps_the_mission_tables_as_they_were(computed) -> None:
    """`uptake compute --no-ratings`: the pipeline's tables are replaced, the mission's stay (stamped with the
    publication and pipeline run that made them), and the publication says attainment is from the older run."""
    ws, engine, _ = computed
    before = _state(ws.analytics_path)
    run = run_pipeline(ws, engine="duckdb")
    after = _state(ws.analytics_path)
    assert run.publication == after["current"]["publication_id"] > before["current"]["publication_id"]
    assert after["current"]["pipeline_run"] == run.run_id
    assert after["current"]["attainment_run"] == before["current"]["attainment_run"] < run.run_id
    assert after["current"]["rating_run"] is None and "result_attainment" not in after["current"]["tables"]
    assert {n: after["stamps"][n] for n in MISSION} == {n: before["stamps"][n] for n in MISSION}
    assert after["stamps"]["result_values"] == {"publication": run.publication, "pipeline_run": run.run_id}
    with session_scope(engine) as session:
        assert freshness(session, AnalyticsStore(ws.analytics_path)).attainment_behind


def test_the_web_snapshot_names_its_publication(computed) -> None:
    ws, _, _ = computed
    snapshot = load_snapshot(ws.analytics_path)
    try:
        current = _state(ws.analytics_path)["current"]
        assert snapshot.publication == current["publication_id"]
        assert snapshot.version.startswith(f"p{current['publication_id']}-")
        assert snapshot.has("publications") and read.runs.publication(snapshot.cursor()) == current
    finally:
        snapshot.connection.close()


@pytest.mark.parametrize("in_files", [True, False], ids=["file copy", "in memory"])
def test_the_web_snapshot_copies_no_wide_view_and_answers_as_the_store(computed, tmp_path: Path,
                                                                       in_files: bool) -> None:
    """The snapshot keeps result_points as a table and the wide results as views over it (issue 17: copying the
    views as tables would be tens of GiB nationally), as a read-only byte copy of the file (the web app) or
    tables copied into memory with the views made again; every view answers exactly as the store's own."""
    ws, _, _ = computed
    snapshot = load_snapshot(ws.analytics_path, tmp_path / "snapshots" if in_files else None)
    store = duckdb.connect(str(ws.analytics_path), read_only=True)
    try:
        if in_files:
            assert snapshot.file is not None and snapshot.file.parent == tmp_path / "snapshots"
            with pytest.raises(duckdb.Error):  # read-only: nothing a request does can change it
                snapshot.cursor().execute("DELETE FROM result_points")
        else:
            assert snapshot.file is None
        kinds = dict(snapshot.cursor().execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'").fetchall())
        assert kinds["result_points"] == "BASE TABLE"
        for view in VIEWS:
            assert kinds[view.name] == "VIEW", view.name
            ordered = ", ".join(f'"{c}"' for c in view.column_names)
            sql = f'SELECT * FROM "{view.name}" ORDER BY {ordered}'
            mine, theirs = snapshot.cursor().execute(sql).fetchall(), store.execute(sql).fetchall()
            assert len(theirs) > 0 or view.name == "result_changes"
            assert repr(mine) == repr(theirs), view.name  # repr: NaN equals NaN, every float to its last bit
    finally:
        store.close()
        snapshot.connection.close()


def test_a_reload_that_finds_the_same_content_keeps_the_snapshot(computed, tmp_path: Path) -> None:
    """A write that changes the file but not what readers see (a compute's staging) keeps the snapshot, its
    version and so every cached page; a change of what it copies makes a new one and deletes the old file."""
    import shutil

    from uptake.web.snapshot import SnapshotHolder

    ws, _, _ = computed
    path = tmp_path / "uptake.duckdb"
    shutil.copy(ws.analytics_path, path)
    holder = SnapshotHolder(path, check_seconds=0, directory=tmp_path / "snapshots")
    first = holder.current
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE staging_scratch AS SELECT 1 AS x")  # not something the snapshot copies
    con.close()
    assert holder.reload() is first and holder.current.version == first.version
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM result_points WHERE org_id = (SELECT min(org_id) FROM result_points)")
    con.close()
    second = holder.reload()
    assert second is not first and second.version != first.version
    assert not first.file.exists() and second.file.exists()


HOLD = """
import sys, time, duckdb
con = duckdb.connect(":memory:")
con.execute(f"ATTACH '{sys.argv[1]}' AS store (READ_ONLY)")  # as the web's snapshot copies the file
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.mark.slow
def test_a_writer_waits_for_a_reader_of_the_file_instead_of_failing(computed, monkeypatch) -> None:
    ws, _, _ = computed
    path = ws.analytics_path

    def hold(seconds: float) -> subprocess.Popen:
        reader = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], env=subprocess_env(),
                                  stdout=subprocess.PIPE, text=True)
        assert reader.stdout.readline().strip() == "holding"
        return reader

    reader = hold(2.0)
    try:
        with pytest.raises(UptakeError, match="open in another process"):  # not a writer: refused at once
            AnalyticsStore(path).batches()
        tick = time.monotonic()
        store = AnalyticsStore(path)
        with store.writing("test"), store.connect() as con:  # a writer waits for the reader
            assert con.execute("SELECT count(*) FROM publications").fetchall()[0][0] >= 1
        assert time.monotonic() - tick > 0.5
    finally:
        reader.wait(timeout=60)
    monkeypatch.setenv("UPTAKE_STORE_WAIT_SECONDS", "0.3")
    reader = hold(5.0)
    try:
        store = AnalyticsStore(path)
        with pytest.raises(UptakeError, match="open in another process"), store.writing("test"):
            with store.connect():
                pass
    finally:
        reader.kill()
        reader.wait(timeout=60)
