"""A table as a download: CSV or an Excel workbook of its raw values (fractions, ISO dates, codes), with text
that a spreadsheet could run as a formula neutralised (uptake.safe_cells)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from uptake.safe_cells import safe_cell
from uptake.web.tables.base import DataTable


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def to_csv(table: DataTable) -> bytes:
    """The rows as CSV; text that a spreadsheet could run as a formula is neutralised (uptake.safe_cells)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = table.raw_keys()
    writer.writerow(keys)
    for row in table.rows:
        writer.writerow(["" if (value := _cell(row.get(k))) is None else safe_cell(value) for k in keys])
    # A byte-order mark so Excel opens the UTF-8 file with the right characters (£, –).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: DataTable, attribution: str) -> bytes:
    """The rows as an Excel workbook (with an About sheet). Every text cell is written as text, never as a
    formula, and neutralised as in CSV (uptake.safe_cells), so it stays inert if copied or re-saved as CSV."""
    # deferred: openpyxl is heavy and only this path needs it
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=table.name[:31])
    keys = table.raw_keys()
    bold = Font(bold=True)
    header = []
    for key in keys:
        cell = WriteOnlyCell(sheet, value=key)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        values = []
        for key in keys:
            value = _cell(row.get(key))
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)
            if isinstance(value, str):
                value = WriteOnlyCell(sheet, value=safe_cell(value))
                value.data_type = "s"  # openpyxl would make text starting with "=" a formula
            values.append(value)
        sheet.append(values)
    about = book.create_sheet(title="About")
    about.append([table.title])
    if table.note:
        about.append([table.note])
    about.append(["Values are fractions (0.5 = 50%) where the indicator is a proportion; dates are period starts."])
    about.append([attribution])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
