"""The one way Uptake reads a date someone typed (a command-line option, a query parameter, a form field):
ISO 8601, YYYY-MM-DD. Callers turn the error into their own answer (exit 2 on the command line, 422 on the
web)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.errors import UptakeError


class DateError(UptakeError, ValueError):
    """A value that is not a date in YYYY-MM-DD form."""


def parse_date(value: Any, what: str = "period") -> dt.date | None:
    """``value`` as a date: None for None or "", a date as it is, text in YYYY-MM-DD form; else DateError."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DateError(f"{what} {str(value)!r} is not a date (YYYY-MM-DD)") from None
