"""`uptake export`: one result table for one indicator and level (optionally one period) as CSV,
Parquet or JSON, read from the analytics store."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError
from uptake.safe_cells import safe_arrow
from uptake.levels import Level
from uptake.results.schema import (
    ADOPTION,
    CHANGES,
    DECILES,
    EQUITY,
    FUNNEL,
    FUNNEL_CURVE,
    FUNNEL_SUMMARY,
    OPPORTUNITY,
    OPPORTUNITY_TOTALS,
    PEERS,
    SPC,
    SPC_SERIES,
    VALUES,
    ResultTable,
)

#: Export names -> result tables. The first eight are the documented ones; the rest are their companions.
EXPORT_TABLES: dict[str, ResultTable] = {
    "values": VALUES,
    "deciles": DECILES,
    "funnel": FUNNEL,
    "spc": SPC,
    "peers": PEERS,
    "opportunity": OPPORTUNITY,
    "adoption": ADOPTION,
    "equity": EQUITY,
    "changes": CHANGES,
    "funnel-curve": FUNNEL_CURVE,
    "funnel-summary": FUNNEL_SUMMARY,
    "spc-series": SPC_SERIES,
    "opportunity-totals": OPPORTUNITY_TOTALS,
}
FORMATS: tuple[str, ...] = ("csv", "parquet", "json")


@dataclass(frozen=True)
class Export:
    """The rows selected, and where they went (None: the caller prints ``text``)."""

    table: str
    rows: int
    path: Path | None
    text: str | None


def check_table(name: str) -> ResultTable:
    key = name.strip().lower()
    if key not in EXPORT_TABLES:
        raise UptakeError(f"unknown table {name!r}; use one of: {', '.join(EXPORT_TABLES)}")
    return EXPORT_TABLES[key]


def check_level(level: str) -> str:
    try:
        return Level.parse(level).value
    except ValueError as exc:
        raise UptakeError(str(exc)) from None


def check_format(fmt: str) -> str:
    key = fmt.strip().lower()
    if key not in FORMATS:
        raise UptakeError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return key


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name]
    ).fetchall()
    return rows[0][0] > 0


def select(
    store: AnalyticsStore,
    table_name: str,
    *,
    indicator: str | None,
    level: str,
    period: dt.date | None = None,
    known_indicators: tuple[str, ...] = (),
) -> tuple[ResultTable, pa.Table]:
    """The rows of one result table for an indicator, a level and optionally a period, in key order.

    Raises UptakeError (with what to do) for an unknown table, level or indicator, a period given to a
    table without periods, or a store without results.
    """
    table = check_table(table_name)
    level_value = check_level(level)
    if not store.path.exists():
        raise UptakeError(f"there is no analytics store at {store.path}; run `uptake demo` or `uptake init` first")
    has_indicator = "indicator" in table.column_names
    if has_indicator and not indicator:
        raise UptakeError(f"exporting {table_name} needs --indicator ID")
    if period is not None and "period" not in table.column_names:
        raise UptakeError(f"the {table_name} table has no periods; leave out --period")
    ro = AnalyticsStore(store.path, read_only=True)
    with ro.connect() as con:
        if not _has_table(con, table.name) or not _has_table(con, VALUES.name):
            raise UptakeError(f"there are no results in {store.path} yet; run `uptake compute` first")
        computed = [r[0] for r in con.execute(f"SELECT DISTINCT indicator FROM {VALUES.name} ORDER BY 1").fetchall()]
        if has_indicator and indicator not in computed:
            if indicator in known_indicators:
                raise UptakeError(
                    f"there are no results for indicator {indicator!r}: load its observations with "
                    "`uptake ingest`, then run `uptake compute`"
                )
            known = ", ".join(sorted(set(computed) | set(known_indicators)))
            raise UptakeError(f"unknown indicator {indicator!r}; indicators with results: {known or 'none'}")
        where, params = ["level = ?"], [level_value]
        if has_indicator:
            where.append("indicator = ?")
            params.append(indicator)
        if period is not None:
            where.append("period = ?")
            params.append(period)
        order = ", ".join(f'"{c}"' for c in table.key)
        sql = f'SELECT * FROM "{table.name}" WHERE {" AND ".join(where)} ORDER BY {order}'
        if table is SPC:
            # Each point with its series' icons and warnings, so one file draws the chart.
            sql = (
                f"SELECT p.*, s.variation_icon, s.assurance_icon, s.warnings FROM {SPC.name} AS p "
                f"LEFT JOIN {SPC_SERIES.name} AS s USING (indicator, level, org_code) "
                f"WHERE {' AND '.join('p.' + w for w in where)} ORDER BY {', '.join('p.' + c for c in table.key)}"
            )
        data = con.sql(sql, params=params).to_arrow_table()  # a relation: no extra copy of the rows
    return table, data


def render(data: pa.Table, fmt: str) -> bytes:
    """The rows as CSV or JSON bytes (JSON: an array of objects; dates as YYYY-MM-DD; no value -> null)."""
    if fmt == "csv":
        sink = io.BytesIO()
        pacsv.write_csv(safe_arrow(data), sink)  # formula-like text neutralised (CSV injection)
        return sink.getvalue()
    if fmt == "json":
        return (json.dumps(data.to_pylist(), default=_json_default, indent=1) + "\n").encode("utf-8")
    raise UptakeError("Parquet is binary: give --output FILE")


def _json_default(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def export_table(
    store: AnalyticsStore,
    table_name: str,
    *,
    indicator: str | None,
    level: str,
    period: dt.date | None = None,
    fmt: str = "csv",
    output: Path | None = None,
    default_dir: Path | None = None,
    known_indicators: tuple[str, ...] = (),
) -> Export:
    """Select and write (to ``output``; Parquet without one goes to ``default_dir``) or return the text."""
    fmt = check_format(fmt)
    table, data = select(store, table_name, indicator=indicator, level=level, period=period,
                         known_indicators=known_indicators)
    if output is None and fmt == "parquet":
        if default_dir is None:
            raise UptakeError("Parquet is binary: give --output FILE")
        parts = [table_name, indicator or "", check_level(level), period.isoformat() if period else ""]
        output = default_dir / ("-".join(p for p in parts if p) + ".parquet")
    if output is None:
        return Export(table_name, data.num_rows, None, render(data, fmt).decode("utf-8"))
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(data, output)
    else:
        output.write_bytes(render(data, fmt))
    return Export(table_name, data.num_rows, output, None)
