"""Atomicity under SIGKILL: a load killed inside its transaction leaves the store exactly as it was.

A real subprocess loads a 3-million-row CSV. The store's test hook (UPTAKE_TEST_PAUSE_IN_LOAD) makes it
sleep inside the open DuckDB transaction and create a signal file; the test then kills it with SIGKILL,
reopens the store and compares row counts, batches, period versions and a checksum of
observations_current with what they were before. Two points are tested: after the first million rows
were inserted (no batch row yet) and just before COMMIT (everything written, nothing committed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_ingest import (
    make_catalogue,
    make_indicator,
    make_store,
    practice_organisations,
    write_csv,
    write_large_csv,
)

from uptake.analytics import AnalyticsStore
from uptake.analytics.store import PAUSE_ENV, PAUSE_POINT_ENV, PAUSE_SIGNAL_ENV
from uptake.ingest import ingest_file

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"),
]

ORGS = 5_000
MONTHS = 600  # 1970-01 .. 2019-12: 3,000,000 rows
INDICATOR = dict(id="practice-monthly", levels=["practice"], first_period="1970-01-01")
TESTS_DIR = Path(__file__).resolve().parent

LOADER = """
import sys
from helpers_ingest import make_catalogue, make_indicator
from uptake.analytics import AnalyticsStore
from uptake.ingest import ingest_file

indicator = make_indicator(**{indicator!r})
store = AnalyticsStore(sys.argv[1])
ingest_file(
    store, make_catalogue(indicator), sys.argv[2], indicator.id, loaded_by="doomed", source="kill test"
)
print("the load finished: the test should have killed it", flush=True)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "big.csv"
    assert write_large_csv(path, ORGS, MONTHS, first="1970-01-01") == ORGS * MONTHS
    return path


def snapshot(store: AnalyticsStore) -> dict:
    """Everything a reader could see: counts, batches, period versions and a content checksum."""
    checksum = store.query(
        "SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', batch_id, indicator, org_code, period, "
        "numerator, denominator), ';' ORDER BY indicator, period, org_code), '')) AS md5 "
        "FROM observations_current"
    ).iloc[0]
    return {
        "fingerprint": store.fingerprint(),
        "current_rows": int(checksum["n"]),
        "current_md5": checksum["md5"],
        "batches": [
            (b.batch_id, b.file_sha256, b.row_count, b.periods, b.loaded_by) for b in store.batches()
        ],
        "period_versions": store.period_versions().to_dict("records"),
    }


def store_files_size(store: AnalyticsStore) -> int:
    return sum(p.stat().st_size for p in store.path.parent.glob(store.path.name + "*") if p.is_file())


@pytest.mark.parametrize("point", ["after-first-chunk", "before-commit"])
def test_sigkill_inside_the_load_transaction_changes_nothing(tmp_path, big_csv, point):
    indicator = make_indicator(**INDICATOR)
    catalogue = make_catalogue(indicator)
    store = make_store(tmp_path / "ws", practice_organisations(ORGS))
    # an existing state worth protecting: two periods, one of them also in the big file
    first = ingest_file(
        store, catalogue,
        write_csv(
            tmp_path / "small.csv",
            ["P00001,1970-01-01,5,10", "P00002,1970-01-01,6,10", "P00001,2020-01-01,7,10"],
        ),
        indicator.id, loaded_by="before", source="small",
    )
    before = snapshot(store)
    assert before["current_rows"] == 3
    size_before = store_files_size(store)

    signal_file = tmp_path / "in-transaction"
    env = {
        **os.environ,
        PAUSE_ENV: "300",
        PAUSE_POINT_ENV: point,
        PAUSE_SIGNAL_ENV: str(signal_file),
        "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    loader = subprocess.Popen(
        [sys.executable, "-c", LOADER.format(indicator=INDICATOR), str(store.path), str(big_csv)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not signal_file.exists():
            if loader.poll() is not None:
                out, err = loader.communicate()
                pytest.fail(
                    f"the loader ended before reaching the transaction (rc {loader.returncode}):\n{out}\n{err}"
                )
            if time.monotonic() > deadline:
                pytest.fail("the loader did not reach the load transaction within 240 s")
            time.sleep(0.05)
        time.sleep(0.2)  # let it settle into the sleep
        size_during = store_files_size(store)
        os.kill(loader.pid, signal.SIGKILL)
        loader.wait(timeout=60)
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()
    assert loader.returncode == -signal.SIGKILL
    print(
        f"\n{point}: store files {size_before:,} bytes before, "
        f"{size_during:,} bytes while the transaction was open"
    )

    reopened = AnalyticsStore(store.path)
    assert snapshot(reopened) == before

    # the lock died with the process, and the same file now loads normally (it was never committed)
    result = ingest_file(reopened, catalogue, big_csv, indicator.id, loaded_by="after", source="big")
    assert not result.no_op and result.rows == ORGS * MONTHS
    assert result.replaced_periods == {first.periods[0]: first.batch_id}
    after = snapshot(reopened)
    assert after["current_rows"] == ORGS * MONTHS + 1  # the big file plus 2020-01 from the small batch
    assert [b[0] for b in after["batches"]] == [first.batch_id, result.batch_id]
