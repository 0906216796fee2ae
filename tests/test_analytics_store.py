"""The analytics store: schema, reference sync, versioned batches, provenance, locking, export."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers_ingest import (
    GOOD_LINES,
    make_catalogue,
    make_indicator,
    make_store,
    organisations,
    relationships,
    write_csv,
)

from uptake.analytics import SCHEMA_VERSION, AnalyticsStore, StoreBusy
from uptake.analytics import loading as loading_module
from uptake.errors import UptakeError
from uptake.ingest import IngestRejected, ingest_file

IND = "doac-share"
JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)


@pytest.fixture()
def store(tmp_path):
    return make_store(tmp_path / "ws")


@pytest.fixture()
def catalogue():
    return make_catalogue(make_indicator(), make_indicator(id="other-share"))


def load(store, catalogue, path, indicator=IND, **kwargs):
    return ingest_file(
        store, catalogue, path, indicator, loaded_by=kwargs.pop("loaded_by", "tester"), **kwargs
    )


# ------------------------------------------------------------------------------------------ schema
def test_schema_creation_is_idempotent(tmp_path):
    store = AnalyticsStore(tmp_path / "a" / "uptake.duckdb")
    assert store.schema_version() is None and not store.has_organisations()
    store.ensure_schema()
    store.ensure_schema()
    AnalyticsStore(store.path).ensure_schema()
    assert store.schema_version() == SCHEMA_VERSION
    tables = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
    assert {"schema_version", "organisations", "relationships", "batches", "observations", "period_versions",
            "observations_current"} <= tables
    assert len(store.query("SELECT * FROM schema_version")) == 1


def test_a_newer_schema_is_refused(tmp_path):
    store = AnalyticsStore(tmp_path / "uptake.duckdb")
    store.ensure_schema()
    con = duckdb.connect(str(store.path))
    con.execute("INSERT INTO schema_version VALUES (99, now()::TIMESTAMP, 'future')")
    con.close()
    with pytest.raises(UptakeError, match="schema version 99, newer than this Uptake"):
        AnalyticsStore(store.path).ensure_schema()


# ------------------------------------------------------------------------------------------ reference
def test_sync_reference_replaces_both_tables(store):
    assert store.has_organisations()
    orgs = store.query("SELECT * FROM organisations ORDER BY code")
    assert len(orgs) == len(organisations())
    assert orgs["valid_to"].isna().all()  # empty strings became NULL
    assert str(orgs["valid_from"].dtype).startswith("datetime64")
    fewer = organisations().iloc[:3]
    assert store.sync_reference(fewer, relationships().iloc[:2]) == (3, 2)
    assert len(store.query("SELECT * FROM organisations")) == 3
    assert len(store.query("SELECT * FROM relationships")) == 2


def test_sync_reference_rejects_bad_frames_and_keeps_the_old_ones(store):
    before = store.fingerprint()
    with pytest.raises(UptakeError, match="lacks required columns level"):
        store.sync_reference(organisations().drop(columns=["level"]), relationships())
    bad_level = organisations()
    bad_level.loc[0, "level"] = "county"
    with pytest.raises(UptakeError, match="unknown levels in level: county"):
        store.sync_reference(bad_level, relationships())
    bad_date = relationships()
    bad_date.loc[0, "valid_from"] = "not a date"
    with pytest.raises(UptakeError, match="could not store the reference organisations"):
        store.sync_reference(organisations().iloc[:2], bad_date)
    assert store.fingerprint() == before  # the organisations were not replaced either: one transaction


# ------------------------------------------------------------------------------------- versioning
def test_reingesting_an_identical_file_is_a_noop(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "jan.csv", GOOD_LINES)
    first = load(store, catalogue, path)
    before = store.fingerprint()
    again = load(store, catalogue, path)
    assert again.no_op and again.batch_id == first.batch_id
    assert f"already loaded as batch {first.batch_id}" in again.message
    assert store.fingerprint() == before
    copy = tmp_path / "copy-with-another-name.csv"
    copy.write_bytes(path.read_bytes())
    assert load(store, catalogue, copy).no_op
    # the same bytes for another indicator are a different load
    assert not load(store, catalogue, path, "other-share").no_op


def test_corrected_resubmission_replaces_the_period_and_keeps_the_old_version(store, catalogue, tmp_path):
    original = load(store, catalogue, write_csv(tmp_path / "v1.csv", GOOD_LINES))  # Jan and Feb
    assert original.periods == (JAN, FEB) and original.replaced_periods == {}
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    # January corrected: 00L changes, 02G is dropped; February is not in the file
    corrected = load(
        store, catalogue, write_csv(tmp_path / "v2.csv", ["00L,2024-01-01,60,100", "01A,2024-01-01,30,40"])
    )
    assert corrected.periods == (JAN,)
    assert corrected.replaced_periods == {JAN: original.batch_id}

    current = store.observations_current(IND)
    jan = current[current["period"] == pd.Timestamp(JAN)]
    assert sorted(jan["org_code"]) == ["00L", "01A"]  # the whole period was replaced: 02G is gone
    assert jan.set_index("org_code").loc["00L", "numerator"] == 60
    assert set(jan["batch_id"]) == {corrected.batch_id}
    feb = current[current["period"] == pd.Timestamp(FEB)]
    assert set(feb["batch_id"]) == {original.batch_id} and len(feb) == 2

    old = store.observations_as_of(IND, original.batch_id)
    assert len(old) == 5 and set(old["batch_id"]) == {original.batch_id}
    assert old[(old["org_code"] == "00L") & (old["period"] == pd.Timestamp(JAN))]["numerator"].item() == 50
    assert store.observations_as_of(IND, between).equals(old)
    pd.testing.assert_frame_equal(store.observations_as_of(IND, corrected.batch_id), current)
    assert len(store.observations_of_batch(original.batch_id)) == 5
    versions = store.period_versions(IND)
    assert dict(zip(versions["period"].dt.date, versions["batch_id"])) == {
        JAN: corrected.batch_id, FEB: original.batch_id
    }
    assert store.current_period_counts() == {original.batch_id: 1, corrected.batch_id: 1}


def test_reloading_a_superseded_file_restores_it_as_a_new_batch(store, catalogue, tmp_path):
    v1 = write_csv(tmp_path / "v1.csv", GOOD_LINES)
    first = load(store, catalogue, v1)
    load(store, catalogue, write_csv(tmp_path / "v2.csv", ["00L,2024-01-01,60,100"]))
    restored = load(store, catalogue, v1)
    assert not restored.no_op and restored.same_as_batch == first.batch_id
    assert restored.replaced_periods == {JAN: 2, FEB: 1}
    assert len(store.observations_current(IND)) == 5


def test_indicators_are_versioned_independently(store, catalogue, tmp_path):
    load(store, catalogue, write_csv(tmp_path / "a.csv", GOOD_LINES))
    other = load(store, catalogue, write_csv(tmp_path / "b.csv", ["00L,2024-01-01,1,2"]), "other-share")
    assert other.replaced_periods == {}
    assert len(store.observations_current(IND)) == 5
    assert len(store.observations_current("other-share")) == 1


def test_as_of_errors(store):
    with pytest.raises(UptakeError, match="no batch 42"):
        store.observations_as_of(IND, 42)
    with pytest.raises(UptakeError, match="batch id or a date/time"):
        store.observations_as_of(IND, "yesterday")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- provenance
def test_provenance_is_recorded(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "epd-jan.csv", GOOD_LINES)
    started = dt.datetime.now(dt.UTC)
    result = load(
        store, catalogue, path, source="NHSBSA English Prescribing Dataset, Jan 2024", loaded_by="j.smith"
    )
    finished = dt.datetime.now(dt.UTC)
    (batch,) = store.batches(IND)
    assert batch.batch_id == result.batch_id == 1
    assert batch.indicator == IND
    assert batch.source == "NHSBSA English Prescribing Dataset, Jan 2024"
    assert batch.file_name == "epd-jan.csv"
    assert batch.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == result.file_sha256
    assert batch.row_count == 5 and batch.periods == (JAN, FEB)
    assert batch.loaded_by == "j.smith"
    assert batch.loaded_at.tzinfo is dt.UTC and started <= batch.loaded_at <= finished
    assert batch.mapping["columns"] == {"org_code": "org_code", "period": "period", "numerator": "numerator",
                                        "denominator": "denominator"}
    raw = store.query(
        "SELECT typeof(loaded_at) AS t, typeof(periods) AS p, typeof(mapping) AS m FROM batches"
    )
    assert raw.iloc[0].tolist() == ["TIMESTAMP", "DATE[]", "JSON"]


def test_default_source_is_the_indicators_source(store, catalogue, tmp_path):
    result = load(store, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES))
    assert store.batch(result.batch_id).source == "English Prescribing Dataset"


# ------------------------------------------------------------------------------------- atomicity
def test_an_error_inside_the_transaction_leaves_the_store_unchanged(store, catalogue, tmp_path, monkeypatch):
    load(store, catalogue, write_csv(tmp_path / "v1.csv", GOOD_LINES))
    before = store.fingerprint()

    def fail(batch_id, point):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(loading_module, "_test_pause_in_transaction", fail)
    with pytest.raises(RuntimeError, match="simulated"):
        load(
            store, catalogue, write_csv(tmp_path / "v2.csv", ["00L,2024-01-01,60,100", "00L,2024-03-01,1,2"])
        )
    assert store.fingerprint() == before
    assert not store.lock_path.exists() or store.lock_path.read_text() == ""  # lock released


def test_a_rejected_file_leaves_the_store_unchanged(store, catalogue, tmp_path):
    load(store, catalogue, write_csv(tmp_path / "v1.csv", GOOD_LINES))
    before = store.fingerprint()
    with pytest.raises(IngestRejected):
        bad = write_csv(tmp_path / "bad.csv", ["00L,2024-01-01,60,100", "nope,2024-01-01,1,2"])
        load(store, catalogue, bad)
    assert store.fingerprint() == before


# ------------------------------------------------------------------------------------------ locking
def test_a_second_writer_in_the_same_process_is_refused(store, catalogue, tmp_path):
    other = AnalyticsStore(store.path)
    with store.writing("a long load"):
        with pytest.raises(StoreBusy, match="another load is running") as info:
            load(other, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES))
        assert f"process {os.getpid()}" in str(info.value) and "a long load" in str(info.value)
    assert load(other, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES)).rows == 5


def test_lock_file_conflict_with_another_process(store, catalogue, tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from uptake.analytics import AnalyticsStore
        store = AnalyticsStore({str(store.path)!r})
        with store.writing("loading big.csv for doac-share"):
            print("locked", flush=True)
            sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before_lock = store.lock_path.read_text()
        assert str(holder.pid) in before_lock
        with pytest.raises(StoreBusy) as info:
            load(store, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES))
        message = str(info.value)
        assert "another load is running" in message
        assert f"process {holder.pid}" in message and "loading big.csv for doac-share" in message
        assert "Wait for it to finish" in message
    finally:
        holder.communicate("done\n", timeout=30)
    assert holder.returncode == 0
    assert load(store, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES)).rows == 5


def test_read_only_store(store, catalogue, tmp_path):
    load(store, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES))
    reader = AnalyticsStore(store.path, read_only=True)
    assert len(reader.observations_current(IND)) == 5
    with pytest.raises(UptakeError, match="read-only"):
        reader.ensure_schema()
    with pytest.raises(UptakeError, match="run `uptake init`"):
        AnalyticsStore(tmp_path / "absent.duckdb", read_only=True).observations_current()


# ------------------------------------------------------------------------------------------- export
def test_export_parquet(store, catalogue, tmp_path):
    load(store, catalogue, write_csv(tmp_path / "v1.csv", GOOD_LINES))
    load(store, catalogue, write_csv(tmp_path / "v2.csv", ["00L,2024-01-01,60,100"]))
    written = store.export_parquet(tmp_path / "export")
    assert set(written) == {"observations_current", "organisations", "relationships", "batches"}
    exported = pq.read_table(written["observations_current"]).to_pandas()
    current = store.observations_current()
    assert len(exported) == len(current) == 3
    assert exported["numerator"].tolist() == current["numerator"].tolist()
    assert [f.name for f in (tmp_path / "export").iterdir() if f.name.startswith(".")] == []
    assert len(pq.read_table(written["relationships"])) == len(relationships())


def test_load_observations_directly(store):
    frame = pd.DataFrame(
        {"org_code": ["00L"], "period": [JAN], "numerator": [1], "denominator": [2]}
    )
    outcome = store.load_observations(
        frame, indicator=IND, source="s", file_name="f", file_sha256="0" * 64, loaded_by="me"
    )
    assert outcome.batch_id == 1 and outcome.rows == 1 and outcome.periods == (JAN,)
    with pytest.raises(UptakeError, match="lack columns denominator"):
        store.load_observations(
            frame.drop(columns=["denominator"]), indicator=IND, source="s", file_name="f", file_sha256="1",
            loaded_by="me",
        )


def test_loaded_at_increases_with_batch_id(store, catalogue, tmp_path):
    for i in range(3):
        load(store, catalogue, write_csv(tmp_path / f"f{i}.csv", [f"00L,2024-0{i + 1}-01,1,2"]))
    stamps = [b.loaded_at for b in store.batches()]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


def test_helpers_write_paths(tmp_path):
    # the demo and the kill test rely on write_csv writing exactly these bytes
    path = write_csv(tmp_path / "x.csv", ["a,b"], header="h1,h2")
    assert Path(path).read_text() == "h1,h2\na,b\n"


PROBE = """
import sys
from uptake.analytics import AnalyticsStore
from uptake.errors import UptakeError
try:
    print(len(AnalyticsStore(sys.argv[1]).batches()))
except UptakeError as error:
    print("error:", error)
"""


def probe(path: Path) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=120)
    return done.stdout.strip()


def test_open_as_a_context_manager_keeps_one_connection(tmp_path, catalogue):
    path = tmp_path / "ws" / "analytics" / "uptake.duckdb"
    with AnalyticsStore.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        store.sync_reference(organisations(), relationships())
        result = load(store, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES))
        with store:  # nested use keeps the same connection
            count = store.connection.execute("SELECT count(*) FROM observations_current").fetchall()
        assert count == [(5,)] and store.batch(result.batch_id).row_count == 5
        assert "open in another process" in probe(path)  # the open connection holds the file
    assert probe(path) == "1"  # closed at the end of the block: another process can use the store
