"""Provenance: the load batches (analytics store), the pipeline's runs (pipeline_runs) and the publications.

Serves the data page and the "how was this calculated" details, the API's /batches, the mission's record
of which pipeline run its ratings came from, and the demo's check that results are unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from uptake.results.read._sql import Cursor, Row, one, rows, tables


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
    ((run,),) = cur.execute("SELECT max(run_id) FROM pipeline_runs").fetchall()
    return None if run is None else int(run)


def latest_run_stamp(cur: Cursor) -> tuple[Any, Any]:
    """The newest run's id and finish time (both None if there is no run): what changes with every run."""
    return cur.execute("SELECT max(run_id), max(finished_at) FROM pipeline_runs").fetchall()[0]


# --- publications: which set of result tables is the visible one ------------------------------------------


def publication(cur: Cursor) -> Row | None:
    """The current publication (the newest published one): its id, kind, pipeline run, the pipeline run the
    mission's tables were computed from (``attainment_run``), the draft rating run made with it, when it was
    published and the tables it replaced. None when the store records no publication (nothing computed yet,
    or a store from before publications)."""
    if "publications" not in tables(cur):
        return None
    return one(
        cur,
        "SELECT publication_id, kind, state, created_at, published_at, pipeline_run, attainment_run, rating_run, "
        "tables FROM publications WHERE state = 'published' ORDER BY publication_id DESC LIMIT 1",
        lasting=True,
    )


def publication_states(cur: Cursor) -> tuple[int, frozenset[int]] | None:
    """The newest published publication's id (0 if none yet) and the ids below it that were never published
    (abandoned, or still being written): together they say which publications were published (every id up to
    the newest but those). None when the store has no publications table (a store from before them)."""
    if "publications" not in tables(cur):
        return None
    newest = one(cur, "SELECT coalesce(max(publication_id), 0) AS newest FROM publications WHERE state = 'published'",
                 lasting=True)
    top = int(newest["newest"]) if newest else 0
    found = rows(cur, "SELECT publication_id FROM publications WHERE state <> 'published' AND publication_id < ?",
                 [top], lasting=True)
    return top, frozenset(int(r["publication_id"]) for r in found)


def table_stamps(cur: Cursor) -> dict[str, dict[str, Any]]:
    """For each result table and view of the store file, the publication that made it and the pipeline run it
    was computed from, as recorded in its comment when it was published: name -> {"publication": id,
    "pipeline_run": id}. (The web's in-memory snapshot keeps no comments: read this from the store.)"""
    found = cur.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database() "
        "UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal "
        "AND database_name = current_database()"
    ).fetchall()
    out: dict[str, dict[str, Any]] = {}
    for name, comment in found:
        if comment and comment.startswith("{"):
            try:
                stamp = json.loads(comment)
            except ValueError:
                continue
            if isinstance(stamp, dict) and "publication" in stamp:
                out[name] = stamp
    return out
