"""Query parameters read the one way: a date typed into a URL (``?period=2024-03-01``) through
``uptake.dates``, answering 422 with what is wrong when it is not a date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import HTTPException

from uptake.dates import DateError, parse_date


def date_param(value: Any, what: str = "period") -> dt.date | None:
    """``value`` as a date (None when absent); 422 "period '...' is not a date (YYYY-MM-DD)" otherwise."""
    try:
        return parse_date(value, what)
    except DateError as exc:
        raise HTTPException(422, str(exc)) from None
