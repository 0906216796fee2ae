"""Load batches (provenance) and the period versions they make current: records and queries."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from uptake.analytics.schema import BATCH_COLUMNS
from uptake.analytics.sql import row, scalar


@dataclass(frozen=True)
class Batch:
    """One load: what was loaded, from where, by whom and when (``loaded_at`` is timezone-aware UTC)."""

    batch_id: int
    indicator: str
    source: str
    file_name: str
    file_sha256: str
    row_count: int
    periods: tuple[dt.date, ...]
    loaded_at: dt.datetime
    loaded_by: str
    mapping: dict[str, Any] = field(default_factory=dict)
    #: loaded with --partial: its periods are provisional (kept off headline figures)
    provisional: bool = False
    #: the plausibility checks' overrides and outcome (partial, allow_jumps, the jumps allowed)
    checks: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOutcome:
    batch_id: int
    rows: int
    periods: tuple[dt.date, ...]
    #: periods that had a current version before this load, with the batch that was current
    replaced: dict[dt.date, int]
    loaded_at: dt.datetime


def batch_from_row(values: tuple) -> Batch:
    """A ``Batch`` from a row of ``SELECT {BATCH_COLUMNS} FROM batches``."""
    mapping, checks = values[9], values[11]
    if isinstance(mapping, str):
        mapping = json.loads(mapping)
    if isinstance(checks, str):
        checks = json.loads(checks)
    return Batch(
        batch_id=int(values[0]),
        indicator=values[1],
        source=values[2],
        file_name=values[3],
        file_sha256=values[4],
        row_count=int(values[5]),
        periods=tuple(sorted(values[6])),
        loaded_at=values[7].replace(tzinfo=dt.UTC),
        loaded_by=values[8],
        mapping=mapping or {},
        provisional=bool(values[10]),
        checks=checks or {},
    )


def list_batches(con: duckdb.DuckDBPyConnection, indicator: str | None = None) -> list[Batch]:
    """Every batch (newest last), optionally for one indicator; none before the schema exists."""
    sql = f"SELECT {BATCH_COLUMNS} FROM batches"
    params: list = []
    if indicator is not None:
        sql += " WHERE indicator = ?"
        params.append(indicator)
    try:
        rows = con.execute(sql + " ORDER BY batch_id", params).fetchall()
    except duckdb.CatalogException:
        return []
    return [batch_from_row(values) for values in rows]


def get_batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> Batch | None:
    values = row(con, f"SELECT {BATCH_COLUMNS} FROM batches WHERE batch_id = ?", [batch_id])
    return None if values is None else batch_from_row(values)


def find_batch(con: duckdb.DuckDBPyConnection, indicator: str, file_sha256: str) -> tuple[Batch, bool] | None:
    """The latest batch of ``indicator`` with this checksum, and whether it is still current for every
    one of its periods; None if no such batch."""
    values = row(
        con,
        f"SELECT {BATCH_COLUMNS} FROM batches WHERE indicator = ? AND file_sha256 = ? "
        "ORDER BY batch_id DESC LIMIT 1",
        [indicator, file_sha256],
    )
    if values is None:
        return None
    batch = batch_from_row(values)
    current = scalar(
        con,
        "SELECT count(*) FROM period_versions WHERE indicator = ? AND batch_id = ?",
        [indicator, batch.batch_id],
    )
    return batch, current == len(batch.periods)


def batch_exists(con: duckdb.DuckDBPyConnection, batch_id: int) -> bool:
    return scalar(con, "SELECT count(*) FROM batches WHERE batch_id = ?", [batch_id]) != 0


def current_period_counts(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    """For each batch, how many of its periods it is still the current version of."""
    rows = con.execute("SELECT batch_id, count(*) FROM period_versions GROUP BY batch_id").fetchall()
    return {int(batch_id): int(count) for batch_id, count in rows}


def period_versions(con: duckdb.DuckDBPyConnection, indicator: str | None = None) -> pd.DataFrame:
    """The current batch of each indicator and period, and whether that version is provisional."""
    sql = "SELECT indicator, period, batch_id, loaded_at, provisional FROM period_versions"
    params: list = []
    if indicator is not None:
        sql += " WHERE indicator = ?"
        params.append(indicator)
    return con.execute(sql + " ORDER BY indicator, period", params).df()


def provisional_periods(con: duckdb.DuckDBPyConnection, indicator: str) -> list[dt.date]:
    """The periods of ``indicator`` whose current version is provisional."""
    found = con.execute(
        "SELECT period FROM period_versions WHERE indicator = ? AND provisional ORDER BY period", [indicator]
    ).fetchall()
    return [period for (period,) in found]
