"""Row helpers shared by the readers: run a statement and return plain rows (dicts), and build conditions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from uptake.results.schema import Shape

Row = dict[str, Any]
#: A DuckDB connection or cursor to read through (the web's snapshot, or a read-only store connection).
Cursor = duckdb.DuckDBPyConnection

#: The current version of an organisation (organisations keeps closed ones, with valid_to set).
CURRENT_ORG = "valid_to IS NULL"


def rows(cur, sql: str, params: Sequence[Any] = (), *, lasting: bool = False) -> list[Row]:
    """The rows of a statement as dicts. A cursor with a ``memo`` (the web's per-request cursor, see
    ``MemoCursor``) answers a statement it has already run with the same parameters from memory;
    ``lasting`` statements (facts of the whole snapshot: latest periods, batches, pipeline settings) are
    remembered for the snapshot's life, the others for the request's."""
    memo = getattr(cur, "lasting" if lasting else "memo", None)
    key = (sql, tuple(tuple(p) if isinstance(p, list) else p for p in params)) if memo is not None else None
    if key is not None and key in memo:
        return [dict(row) for row in memo[key]]
    result = cur.execute(sql, list(params))
    names = [d[0] for d in result.description]
    found = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
    if key is not None:
        memo[key] = [dict(row) for row in found]
    return found


class MemoCursor:
    """A cursor for one request over an immutable snapshot: the same question asked twice by two sections
    of a page (the organisation, its SPC series) is answered once, and facts of the whole snapshot come
    from ``lasting`` (the snapshot's own memo, shared by its requests). Only ``rows``/``one`` use the
    memos; everything else goes straight to the cursor it wraps."""

    def __init__(self, cur, lasting: dict | None = None):
        self._cur = cur
        self.memo: dict[tuple, list[Row]] = {}
        self.lasting: dict[tuple, list[Row]] = lasting if lasting is not None else self.memo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def one(cur, sql: str, params: Sequence[Any] = (), *, lasting: bool = False) -> Row | None:
    found = rows(cur, sql, params, lasting=lasting)
    return found[0] if found else None


def equal_to(*pairs: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """SQL conditions "column = ?" and their parameters, for each (column, value) whose value is given."""
    given = [(name, value) for name, value in pairs if value is not None]
    return [f"{name} = ?" for name, _ in given], [value for _, value in given]


def in_list(name: str, values: Sequence[Any] | None) -> tuple[str, list[Any]]:
    """A ``name IN (...)`` condition (or TRUE when values is None)."""
    if values is None:
        return "TRUE", []
    if not values:
        return "FALSE", []
    return f"{name} IN ({', '.join('?' for _ in values)})", list(values)


def tables(cur: Cursor) -> set[str]:
    """The tables and views of the connection's main schema."""
    found = cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    return {name for (name,) in found}


def select_list(shape: Shape, columns: Sequence[str] | None = None) -> str:
    """``a, b, c``: the shape's columns (all, or those asked for, which must be its own)."""
    names = shape.column_names
    chosen = list(columns) if columns is not None else names
    unknown = [name for name in chosen if name not in names]
    if unknown:
        raise ValueError(f"{shape.name} has no columns {unknown}")
    return ", ".join(chosen)


def aliased(shape: Shape, prefix: str, expressions: dict[str, str] | None = None) -> str:
    """``a.x, o.name AS y, ...``: the shape's columns, each ``prefix.name`` unless an expression is given."""
    expressions = expressions or {}
    unknown = [name for name in expressions if name not in shape.column_names]
    if unknown:
        raise ValueError(f"{shape.name} has no columns {unknown}")
    return ", ".join(f"{expressions[name]} AS {name}" if name in expressions else f"{prefix}.{name}"
                     for name in shape.column_names)
