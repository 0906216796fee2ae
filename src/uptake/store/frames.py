"""Read `uptake.reference` frames into rows of database values, checking every cell first.

Frames arrive with NaN or pd.NA for blanks, dates as ISO strings or Timestamps and integers as floats; the
database wants None, datetime.date and int. Each column is factorised and each distinct value parsed once
(codes, levels and dates repeat a great deal), which keeps England's 46,000 rows well under a second.
Pure: no database, no files.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from uptake.dates import DateError, parse_date
from uptake.errors import UptakeError
from uptake.levels import Level

# The column contract of uptake.reference (see its module docstring). Kept here as well so the store does
# not import the loader; tests/test_store.py checks that the two agree.
ORG_COLUMNS = (
    "code", "level", "name", "ons_code", "postcode", "lat", "lon", "imd_score", "imd_quintile",
    "population", "trust_type", "valid_from", "valid_to",
)
REL_COLUMNS = ("child_code", "child_level", "parent_code", "parent_level", "valid_from", "valid_to")

#: What identifies one version of a row (the unique constraints of the two tables).
ORG_KEY = ("code", "valid_from")
REL_KEY = ("child_code", "child_level", "parent_code", "parent_level", "valid_from")

TRUST_TYPES = ("acute", "mental-health", "community", "ambulance", "other")

MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Rows:
    """Checked rows: one tuple of database values per frame row, in the order of `columns`."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def read_organisations(frame: pd.DataFrame) -> Rows:
    return _read(frame, "organisations", ORG_COLUMNS, _ORG_PARSERS, ORG_KEY)


def read_relationships(frame: pd.DataFrame) -> Rows:
    return _read(frame, "relationships", REL_COLUMNS, _REL_PARSERS, REL_KEY)


def check_relationships_name_organisations(organisations: Rows, relationships: Rows) -> None:
    """Every child and parent of a link must be an organisation (by code and level) in the frame."""
    known = set(zip(organisations.column("code"), organisations.column("level"), strict=True))
    ends = set()
    for end in ("child", "parent"):
        ends |= set(zip(relationships.column(f"{end}_code"), relationships.column(f"{end}_level"), strict=True))
    unknown = sorted(ends - known)
    if unknown:
        shown = ", ".join(f"{level} {code}" for code, level in unknown[:MAX_PROBLEMS])
        more = f" and {len(unknown) - MAX_PROBLEMS} more" if len(unknown) > MAX_PROBLEMS else ""
        raise UptakeError(
            f"relationships name organisations that are not in the organisations frame: {shown}{more}"
        )


def picker(indexes: Sequence[int]) -> Callable[[tuple], tuple]:
    """A function taking those positions of a row, always as a tuple (itemgetter alone would not for one)."""
    if len(indexes) == 1:
        (only,) = indexes
        return lambda row: (row[only],)
    return operator.itemgetter(*indexes)


# --- cell parsers: raise ValueError with a reason --------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return False


def _text(value: Any) -> str:
    return str(value).strip()


def _level(value: Any) -> str:
    return Level.parse(str(value)).value


def _date(value: Any) -> dt.date:
    try:
        return parse_date(value)
    except DateError:
        raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


def _float(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _int(value: Any) -> int:
    number = _float(value)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _trust_type(value: Any) -> str:
    text = _text(value)
    if text not in TRUST_TYPES:
        raise ValueError(f"{text!r} is not a trust type; use one of: {', '.join(TRUST_TYPES)}")
    return text


# column -> (parser, required)
_Parsers = dict[str, tuple[Callable[[Any], Any], bool]]
_ORG_PARSERS: _Parsers = {
    "code": (_text, True), "level": (_level, True), "name": (_text, True), "ons_code": (_text, False),
    "postcode": (_text, False), "lat": (_float, False), "lon": (_float, False),
    "imd_score": (_float, False), "imd_quintile": (_int, False), "population": (_int, False),
    "trust_type": (_trust_type, False), "valid_from": (_date, True), "valid_to": (_date, False),
}
_REL_PARSERS: _Parsers = {
    "child_code": (_text, True), "child_level": (_level, True), "parent_code": (_text, True),
    "parent_level": (_level, True), "valid_from": (_date, True), "valid_to": (_date, False),
}


def _read(
    frame: pd.DataFrame, name: str, columns: Sequence[str], parsers: _Parsers, key: Sequence[str]
) -> Rows:
    """The frame's rows, or UptakeError listing the problems (by row label and column) if there are any."""
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise UptakeError(f"the {name} frame lacks column(s) {', '.join(absent)}; expected: {', '.join(columns)}")
    problems: list[tuple[int, str]] = []  # (position, text)
    values = [_parse_column(frame[column], column, *parsers[column], problems) for column in columns]
    rows = list(zip(*values, strict=True))

    valid_from, valid_to = columns.index("valid_from"), columns.index("valid_to")
    key_of = picker([columns.index(c) for c in key])
    first_seen: dict[tuple, int] = {}
    for position, row in enumerate(rows):
        if row[valid_to] is not None and row[valid_from] is not None and row[valid_to] < row[valid_from]:
            problems.append((position, f"column valid_to: {row[valid_to]} is before valid_from"))
        seen = first_seen.setdefault(key_of(row), position)
        if seen != position:
            problems.append((position, f"repeats row {frame.index[seen]} ({', '.join(key)})"))

    if problems:
        problems.sort()
        shown = "\n  ".join(f"{name} row {frame.index[pos]}: {text}" for pos, text in problems[:MAX_PROBLEMS])
        more = f"\n  ... and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        raise UptakeError(f"the {name} frame has {len(problems)} problem(s); nothing was written:\n  {shown}{more}")
    return Rows(columns=tuple(columns), key=tuple(key), rows=rows)


def _parse_column(
    series: pd.Series,
    column: str,
    parse: Callable[[Any], Any],
    required: bool,
    problems: list[tuple[int, str]],
) -> list[Any]:
    codes, uniques = pd.factorize(series)  # code -1: missing (NaN, None, pd.NA, NaT)
    lookup = np.empty(len(uniques) + 1, dtype=object)  # the last slot, None, is what code -1 takes
    failed: list[tuple[int, str]] = []
    for index, value in enumerate(uniques.tolist()):
        if _missing(value):  # e.g. "" or "  ", which factorize keeps as values
            if required:
                failed.append((index, "empty, a value is required"))
            continue
        try:
            lookup[index] = parse(value)
        except ValueError as exc:
            failed.append((index, str(exc)))
    if required:
        failed.append((-1, "empty, a value is required"))
    for index, reason in failed:
        problems.extend((int(pos), f"column {column}: {reason}") for pos in np.flatnonzero(codes == index))
    return lookup[codes].tolist()
