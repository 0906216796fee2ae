"""Loading a batch of observations: one transaction inserts the rows, the batch and the new current
version of every period it contains.

A load for an indicator replaces, as a whole, every period it contains: the current view shows only the
new batch's rows for those periods (an organisation absent from the correction is absent from the view),
while the earlier batch's rows stay in ``observations`` and can be read with ``observations_as_of``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from uptake.analytics.batches import LoadOutcome
from uptake.analytics.schema import OBSERVATION_COLUMNS, OBSERVATION_SCHEMA
from uptake.analytics.sql import scalar, utcnow
from uptake.errors import UptakeError

ProgressCallback = Callable[[str, float, float | None], None]

#: Test hook: seconds to sleep inside the load transaction, just before COMMIT (used by the SIGKILL test).
PAUSE_ENV = "UPTAKE_TEST_PAUSE_IN_LOAD"
#: Test hook: a file to create when the pause starts, so a test knows the transaction is open.
PAUSE_SIGNAL_ENV = "UPTAKE_TEST_PAUSE_SIGNAL"
#: Test hook: where to pause: "before-commit" (default: everything written, not committed) or
#: "after-first-chunk" (part of the observations inserted, no batch row yet).
PAUSE_POINT_ENV = "UPTAKE_TEST_PAUSE_POINT"

_INSERT_CHUNK_ROWS = 1_000_000


def observation_table(observations: pa.Table | pd.DataFrame) -> pa.Table:
    """The observations as an Arrow table of OBSERVATION_SCHEMA (columns by name, types enforced)."""
    if isinstance(observations, pd.DataFrame):
        names = [str(c) for c in observations.columns]
    else:
        names = observations.column_names
    missing = [name for name in OBSERVATION_COLUMNS if name not in names]
    if missing:
        raise UptakeError(f"observations lack columns {', '.join(missing)}")
    if isinstance(observations, pd.DataFrame):
        observations = pa.Table.from_pandas(observations[list(OBSERVATION_COLUMNS)], preserve_index=False)
    try:
        return observations.select(list(OBSERVATION_COLUMNS)).cast(OBSERVATION_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UptakeError(f"observations have the wrong column types: {exc}") from None


def insert_batch(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    periods: tuple[dt.date, ...],
    *,
    indicator: str,
    source: str,
    file_name: str,
    file_sha256: str,
    loaded_by: str,
    mapping: dict[str, Any] | None,
    progress: ProgressCallback | None,
    provisional: bool = False,
    checks: dict[str, Any] | None = None,
) -> LoadOutcome:
    """Store ``table`` (from ``observation_table``, holding ``periods``) as a new batch in one transaction,
    rolled back if anything fails. ``provisional`` marks its periods' versions provisional (a partial
    load); ``checks`` records the plausibility checks' overrides. The caller holds the write lock."""
    rows = table.num_rows
    con.begin()
    try:
        batch_id = scalar(con, "SELECT coalesce(max(batch_id), 0) + 1 FROM batches")
        loaded_at = utcnow()
        last = scalar(con, "SELECT max(loaded_at) FROM batches")
        if last is not None and loaded_at <= last:  # keep loaded_at increasing with batch_id
            loaded_at = last + dt.timedelta(microseconds=1)
        _insert_observations(con, table, batch_id, indicator, progress)
        replaced_rows = _make_current(con, indicator, periods, batch_id, loaded_at, provisional)
        con.execute(
            "INSERT INTO batches (batch_id, indicator, source, file_name, file_sha256, row_count, periods, "
            "loaded_at, loaded_by, mapping, provisional, checks) "
            "VALUES (?, ?, ?, ?, ?, ?, ?::DATE[], ?, ?, ?, ?, ?)",
            [
                batch_id,
                indicator,
                source,
                file_name,
                file_sha256,
                rows,
                list(periods),
                loaded_at,
                loaded_by,
                json.dumps(mapping or {}, sort_keys=True),
                bool(provisional),
                json.dumps(checks or {}, sort_keys=True, default=str),
            ],
        )
        _test_pause_in_transaction(batch_id, "before-commit")
        con.commit()
    except BaseException:
        try:
            con.rollback()
        except duckdb.Error:
            pass
        raise
    return LoadOutcome(
        batch_id=int(batch_id),
        rows=rows,
        periods=periods,
        replaced={period: int(old) for period, old in sorted(replaced_rows)},
        loaded_at=loaded_at.replace(tzinfo=dt.UTC),
    )


def _insert_observations(
    con: duckdb.DuckDBPyConnection, table: pa.Table, batch_id: int, indicator: str,
    progress: ProgressCallback | None,
) -> None:
    """Insert the rows in chunks, reporting ("load", rows done, rows)."""
    rows = table.num_rows
    done = 0
    if progress:
        progress("load", 0, rows)
    for offset in range(0, rows, _INSERT_CHUNK_ROWS):
        chunk = table.slice(offset, _INSERT_CHUNK_ROWS)
        con.register("incoming_observations", chunk)
        con.execute(
            "INSERT INTO observations SELECT ?, ?, org_code, period, numerator, denominator "
            "FROM incoming_observations",
            [batch_id, indicator],
        )
        con.unregister("incoming_observations")
        done += chunk.num_rows
        if progress:
            progress("load", done, rows)
        if offset == 0:
            _test_pause_in_transaction(batch_id, "after-first-chunk")


def _make_current(
    con: duckdb.DuckDBPyConnection, indicator: str, periods: tuple[dt.date, ...], batch_id: int,
    loaded_at: dt.datetime, provisional: bool = False,
) -> list[tuple]:
    """Make the batch the current version of its periods (provisional or not); the (period, batch) pairs
    it replaced."""
    replaced_rows = con.execute(
        "SELECT period, batch_id FROM period_versions "
        "WHERE indicator = ? AND list_contains(?::DATE[], period)",
        [indicator, list(periods)],
    ).fetchall()
    con.execute(
        "DELETE FROM period_versions WHERE indicator = ? AND list_contains(?::DATE[], period)",
        [indicator, list(periods)],
    )
    con.execute(
        "INSERT INTO period_versions (indicator, period, batch_id, loaded_at, provisional) "
        "SELECT ?, unnest(?::DATE[]), ?, ?, ?",
        [indicator, list(periods), batch_id, loaded_at, bool(provisional)],
    )
    return replaced_rows


def _test_pause_in_transaction(batch_id: int, point: str) -> None:
    """Test hook (see PAUSE_ENV): sleep inside the open transaction so a test can kill the process."""
    seconds = os.environ.get(PAUSE_ENV)
    if not seconds or os.environ.get(PAUSE_POINT_ENV, "before-commit") != point:
        return
    signal_file = os.environ.get(PAUSE_SIGNAL_ENV)
    print(
        f"uptake: test pause ({point}) inside the load transaction of batch {batch_id}",
        file=sys.stderr,
        flush=True,
    )
    if signal_file:
        Path(signal_file).write_text(f"{os.getpid()} {batch_id}\n", encoding="utf-8")
    time.sleep(float(seconds))
