"""Provenance: the load batches (analytics store) and the pipeline's runs (pipeline_runs).

Serves the data page and the "how was this calculated" details, the API's /batches, the mission's record
of which pipeline run its ratings came from, and the demo's check that results are unchanged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.results.read._sql import Cursor, Row, one, rows


def batches(cur: Cursor, indicator: str | None = None) -> list[Row]:
    """Every load batch (of one indicator, or all), oldest first; ``provisional`` is true for a batch loaded
    with ``uptake ingest --partial``."""
    cond, params = ("indicator = ?", [indicator]) if indicator else ("TRUE", [])
    provisional = "provisional" if _batches_record_provisional(cur) else "false AS provisional"
    return rows(
        cur,
        "SELECT batch_id, indicator, source, file_name, file_sha256, row_count, "
        "list_min(periods) AS first_period, list_max(periods) AS last_period, len(periods) AS periods, "
        f"loaded_at, loaded_by, {provisional} FROM batches WHERE {cond} ORDER BY batch_id",
        params,
    )


def batches_for_period(cur: Cursor, indicator: str, period: dt.date | None) -> list[Row]:
    """The batches whose rows made the results of ``indicator`` for ``period`` (the current version)."""
    if period is None:
        return []
    return rows(
        cur,
        "SELECT batch_id, source, file_name, file_sha256, loaded_at, loaded_by FROM batches "
        "WHERE indicator = ? AND list_contains(periods, ?::DATE) ORDER BY batch_id DESC LIMIT 1",
        [indicator, period],
        lasting=True,
    )


def provisional_periods(cur: Cursor, indicator: str) -> list[dt.date]:
    """The periods of ``indicator`` whose current version is provisional: loaded with ``uptake ingest
    --partial`` (incomplete) and not yet replaced by a complete file. A period's current version is the
    latest batch holding it (a batch replaces each of its periods as a whole)."""
    if not _batches_record_provisional(cur):
        return []
    found = rows(
        cur,
        "WITH held AS (SELECT batch_id, provisional, unnest(periods) AS period FROM batches "
        "WHERE indicator = ?) "
        "SELECT period FROM held GROUP BY period HAVING arg_max(provisional, batch_id) ORDER BY period",
        [indicator],
        lasting=True,
    )
    return [r["period"] for r in found]


def _batches_record_provisional(cur: Cursor) -> bool:
    """Whether the batches table has the provisional column (stores of schema version 2 on)."""
    found = rows(
        cur,
        "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'batches' "
        "AND column_name = 'provisional'",
        lasting=True,
    )
    return bool(found and found[0]["n"])


def pipeline_settings(cur: Cursor) -> str | None:
    """The settings (JSON) of the latest pipeline run."""
    row = one(cur, "SELECT settings FROM pipeline_runs ORDER BY run_id DESC LIMIT 1", lasting=True)
    return row["settings"] if row else None


def pipeline_runs(cur: Cursor, limit: int = 10) -> list[Row]:
    return rows(
        cur,
        "SELECT run_id, engine, started_at, finished_at, input_rows, len(indicators) AS indicators, "
        "uptake_version FROM pipeline_runs ORDER BY run_id DESC LIMIT ?",
        [limit],
    )


def latest_run_id(cur: Cursor) -> int | None:
    """The id of the newest pipeline run (None if there is none)."""
    (run,) = cur.execute("SELECT max(run_id) FROM pipeline_runs").fetchone()
    return None if run is None else int(run)


def latest_run_stamp(cur: Cursor) -> tuple[Any, Any]:
    """The newest run's id and finish time (both None if there is no run): what changes with every run."""
    return cur.execute("SELECT max(run_id), max(finished_at) FROM pipeline_runs").fetchall()[0]
