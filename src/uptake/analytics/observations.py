"""Reading observations back: the current versions, as they were at a batch or moment, one batch's rows,
a fingerprint of the contents, and the Parquet export."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pandas as pd

from uptake.analytics.schema import BATCH_COLUMNS
from uptake.analytics.sql import as_utc_naive, row, scalar

#: Tables whose row counts make part of a fingerprint.
_COUNTED = ("organisations", "relationships", "batches", "observations", "period_versions")

#: The Parquet exports: name -> query.
_EXPORTS = {
    "observations_current": "SELECT * FROM observations_current ORDER BY indicator, period, org_code",
    "organisations": "SELECT * FROM organisations ORDER BY code, valid_from",
    "relationships": "SELECT * FROM relationships ORDER BY child_code, parent_level, valid_from",
    "batches": f"SELECT {BATCH_COLUMNS} FROM batches ORDER BY batch_id",
}


def current(con: duckdb.DuckDBPyConnection, indicator: str | None = None) -> pd.DataFrame:
    """The current observations (of one indicator, or all), ordered by indicator, period, org_code."""
    sql = "SELECT * FROM observations_current"
    params: list = []
    if indicator is not None:
        sql += " WHERE indicator = ?"
        params.append(indicator)
    return con.execute(sql + " ORDER BY indicator, period, org_code", params).df()


def as_of(
    con: duckdb.DuckDBPyConnection, indicator: str, moment: int | dt.datetime | dt.date
) -> pd.DataFrame:
    """The observations of ``indicator`` right after batch ``moment`` (an int, known to exist) was loaded,
    or at a moment in time (a datetime; naive means UTC). Ordered by period, org_code."""
    if isinstance(moment, int):
        condition, value = "batch_id <= ?", moment
    else:
        condition, value = "loaded_at <= ?", as_utc_naive(moment)
    return con.execute(
        f"""
        WITH loaded AS (
            SELECT batch_id, unnest(periods) AS period FROM batches
            WHERE indicator = ? AND {condition}
        ), versions AS (
            SELECT period, max(batch_id) AS batch_id FROM loaded GROUP BY period
        )
        SELECT o.* FROM observations AS o JOIN versions AS v
          ON o.batch_id = v.batch_id AND o.period = v.period
        WHERE o.indicator = ?
        ORDER BY o.period, o.org_code
        """,
        [indicator, value, indicator],
    ).df()


def of_batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> pd.DataFrame:
    """Exactly the rows loaded by one batch."""
    return con.execute(
        "SELECT * FROM observations WHERE batch_id = ? ORDER BY period, org_code", [batch_id]
    ).df()


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of every table and an order-independent checksum of observations_current."""
    counts = {table: scalar(con, f"SELECT count(*) FROM {table}") for table in _COUNTED}
    found = row(
        con,
        "SELECT count(*), coalesce(bit_xor(hash(batch_id, indicator, org_code, period, numerator, "
        "denominator)), 0) FROM observations_current",
    )
    return {
        **counts,
        "observations_current": int(found[0]),
        "observations_current_hash": int(found[1]),
    }


def export_parquet(con: duckdb.DuckDBPyConnection, directory: Path) -> dict[str, Path]:
    """Write each export to ``directory`` under a temporary name, then rename it (a reader never sees
    half a file). Returns table name -> path."""
    written: dict[str, Path] = {}
    for name, sql in _EXPORTS.items():
        target = directory / f"{name}.parquet"
        temporary = directory / f".{name}.parquet.tmp-{os.getpid()}"
        path_literal = str(temporary).replace("'", "''")
        con.execute(f"COPY ({sql}) TO '{path_literal}' (FORMAT parquet, COMPRESSION zstd)")
        os.replace(temporary, target)
        written[name] = target
    return written
