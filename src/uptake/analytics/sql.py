"""Small helpers for the analytics store's DuckDB queries and timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb


def row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, draining the result (DuckDB 2 wants every result finished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    """The first value of the first row of a query (None if no row)."""
    first = row(con, sql, params)
    return None if first is None else first[0]


def utcnow() -> dt.datetime:
    """Now in UTC, as a naive datetime (how the store keeps timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def as_utc_naive(moment: dt.datetime | dt.date) -> dt.datetime:
    """A date or datetime as the store keeps timestamps: naive UTC (a naive datetime is taken as UTC)."""
    if not isinstance(moment, dt.datetime):
        return dt.datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment
