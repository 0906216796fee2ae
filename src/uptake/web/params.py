"""Query parameters read the one way: a date typed into a URL (``?period=2024-03-01``) through
``uptake.dates``, answering 422 with what is wrong when it is not a date (as any parameter that is not valid:
``{"detail": [{"where": "query.period", "problem": "..."}]}`` from the API, the error page elsewhere)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.exceptions import RequestValidationError

from uptake.dates import DateError, parse_date


def date_param(value: Any, what: str = "period") -> dt.date | None:
    """``value`` as a date (None when absent); otherwise 422, the query parameter ``what`` "period '...' is not
    a date (YYYY-MM-DD)"."""
    try:
        return parse_date(value, what)
    except DateError as exc:
        raise RequestValidationError([{"loc": ("query", what), "msg": str(exc), "type": "value_error"}]) from None
