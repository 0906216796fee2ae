"""Writing tables to files (CSV, Parquet, JSON, Excel) for `uptake export` and the mission's commands. Nested
columns (a rating's trace, a filing's content) are JSON text in CSV, Parquet and Excel and nested objects in
JSON. Text a spreadsheet could run as a formula is neutralised in CSV and Excel (uptake.safe_cells), and Excel
cells holding text are always written as text, never as formulas."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from uptake import ATTRIBUTION
from uptake.errors import UptakeError
from uptake.safe_cells import safe_cell, safe_frame

FORMATS = ("csv", "parquet", "json", "xlsx")
#: formats that cannot go to standard output
BINARY_FORMATS = ("parquet", "xlsx")
#: rows an Excel sheet holds below its header
EXCEL_MAX_ROWS = 1_048_575


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (dict, list)):
        return value.item()
    return value


def check_format(fmt: str) -> str:
    """``fmt`` when it is one of FORMATS, else an UptakeError naming them."""
    if fmt not in FORMATS:
        raise UptakeError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return fmt


def write_frame(frame: pd.DataFrame, path: Path | str, fmt: str, *, title: str | None = None) -> Path:
    """Write `frame` to `path` in `fmt` (written to a temporary name, then renamed). ``title`` heads the
    workbook's About sheet (Excel)."""
    check_format(fmt)
    if fmt == "xlsx" and len(frame) > EXCEL_MAX_ROWS:
        raise UptakeError(f"{len(frame):,} rows are more than an Excel sheet holds ({EXCEL_MAX_ROWS:,}); "
                          "narrow the selection (--period) or use --format csv or parquet")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    nested = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, (dict, list))).any()]
    if fmt == "json":
        records = [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]
        temporary.write_text(json.dumps(records, indent=1, default=str), encoding="utf-8")
    else:
        flat = frame.copy()
        for column in nested:
            flat[column] = flat[column].map(lambda v: json.dumps(v, sort_keys=True, default=str))
        for column in flat.columns:  # dates as ISO text in CSV; as dates in Parquet
            if fmt == "csv" and flat[column].map(lambda v: isinstance(v, dt.date)).any():
                flat[column] = flat[column].map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
        if fmt == "csv":
            safe_frame(flat).to_csv(temporary, index=False)  # formula-like text neutralised (CSV injection)
        elif fmt == "xlsx":
            temporary.write_bytes(xlsx_bytes(flat, title or path.stem))
        else:
            flat.to_parquet(temporary, index=False)
    os.replace(temporary, path)
    return path


def _excel_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes, dt.date)):
        value = value.item()  # numpy scalars
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones: kept as written (UTC)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def xlsx_bytes(frame: pd.DataFrame, title: str) -> bytes:
    """``frame`` as an Excel workbook: one sheet of its rows (header in bold) and an About sheet with the
    title and the attribution. Every text cell goes through uptake.safe_cells and is written as text
    (never as a formula); numbers, dates and booleans stay what they are."""
    # deferred: openpyxl is heavy and only Excel exports need it
    from openpyxl import Workbook
    # deferred: (openpyxl)
    from openpyxl.cell import WriteOnlyCell
    # deferred: (openpyxl)
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(title or "export")[:31])
    bold = Font(bold=True)
    header = []
    for name in frame.columns:
        cell = WriteOnlyCell(sheet, value=str(name))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in frame.itertuples(index=False, name=None):
        cells = []
        for value in row:
            value = _excel_value(value)
            if isinstance(value, str):
                value = WriteOnlyCell(sheet, value=safe_cell(value))
                value.data_type = "s"  # openpyxl would make text starting with "=" a formula
            cells.append(value)
        sheet.append(cells)
    about = book.create_sheet(title="About")
    about.append([title])
    about.append(["Values are fractions (0.5 = 50%) where the indicator is a proportion; dates are period starts."])
    about.append([ATTRIBUTION])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
