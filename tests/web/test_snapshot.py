"""The results snapshot: an in-memory copy, reloaded in the background when the store file changes, so the
site never holds the file open and `uptake compute` can write while it serves."""

from __future__ import annotations

import shutil
import time

import duckdb

from uptake.web.snapshot import SnapshotHolder, load_snapshot


def test_snapshot_copies_store_and_result_tables(demo):
    snapshot = load_snapshot(demo.workspace.analytics_path)
    assert {"organisations", "relationships", "batches", "result_values", "result_spc"} <= snapshot.tables
    assert snapshot.cursor().execute("SELECT count(*) FROM result_values").fetchone()[0] > 0


def test_missing_store_gives_an_empty_snapshot(tmp_path):
    snapshot = load_snapshot(tmp_path / "nothing.duckdb")
    assert snapshot.tables == frozenset()


def test_the_file_is_free_for_a_writer_while_serving(demo, tmp_path):
    path = tmp_path / "uptake.duckdb"
    shutil.copy(demo.workspace.analytics_path, path)
    holder = SnapshotHolder(path, check_seconds=0)
    before = holder.current.version
    # a writer (as uptake compute is) can open the file read-write while the snapshot is in use
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM result_values WHERE level = 'practice'")
    con.close()
    deadline = time.monotonic() + 20
    while holder.current.version == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holder.current.version != before
    count = holder.current.cursor().execute("SELECT count(*) FROM result_values WHERE level = 'practice'").fetchone()
    assert count[0] == 0
