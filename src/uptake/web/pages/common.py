"""What the pages share: the app state of a request, whether it is an htmx request for a fragment, the levels
an indicator has results for, and the contents of a "how was this calculated" disclosure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web.methods import METHODS, SHARE_ONLY_NOTE  # noqa: F401 (pages import it from here)


def web_of(request: Request):
    return request.app.state.web


def levels_with_results(cur, indicator_id: str) -> list[dict]:
    return [r for r in read.values.indicator_levels(cur) if r["indicator"] == indicator_id]


def how(cur, indicator: Indicator, method_keys: list[str], inputs: dict[str, Any], period: dt.date | None) -> dict:
    """The contents of a "how was this calculated" disclosure."""
    return {
        "methods": [METHODS[k] for k in method_keys],
        "inputs": inputs,
        "indicator": indicator,
        "batches": (read.runs.batches_for_period(cur, indicator.id, period) if period
                    else read.runs.batches(cur, indicator.id)[-1:]),
    }


def partial(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get("hx-history-restore-request")
