"""The period rules: present, readable (ISO day or month), and a valid period of the indicator (aligned
to its month, quarter or year, within its range)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from uptake.catalogue.schemas import Indicator, Period
from uptake.ingest.coerce import as_text, blank, per_row
from uptake.ingest.findings import Findings

_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_UK_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_PERIOD_FORMAT = "write the period's first day as YYYY-MM-DD (e.g. 2024-04-01), or the month as YYYY-MM"
_PERIOD_ACTION = _PERIOD_FORMAT[0].upper() + _PERIOD_FORMAT[1:]

#: Period status per row.
PERIOD_OK, PERIOD_UNREADABLE, PERIOD_INVALID = 0, 1, 2


@dataclass(frozen=True)
class Periods:
    """The period column: ``text`` as in the file, ``days`` (the period's first day, datetime64[D], NaT if
    none) and ``status`` per row (PERIOD_OK, ...)."""

    text: pd.Series
    days: np.ndarray
    status: np.ndarray


def check_periods(findings: Findings, values: pd.Series, column: str, indicator: Indicator) -> Periods:
    """Periods: present, in ISO form, then the indicator's alignment and range."""
    text = as_text(values)
    missing = blank(text)
    findings.add("missing-value", missing, column, text, "the period is empty", _PERIOD_ACTION)
    days, status, reason, action = _judge_periods(text, missing, indicator)
    findings.add("bad-period", status == PERIOD_UNREADABLE, column, text, reason, action)
    findings.add("invalid-period", status == PERIOD_INVALID, column, text, reason, action)
    return Periods(text, days, status)


def _judge_periods(
    text: pd.Series, missing: np.ndarray, indicator: Indicator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the period's first day (datetime64[D], NaT if none), status (PERIOD_OK, PERIOD_UNREADABLE,
    PERIOD_INVALID), reason and action."""
    stripped = text.str.strip()
    index, uniques = pd.factorize(stripped)
    day_u = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[D]")
    status_u = np.zeros(len(uniques), dtype=np.int8)
    reason_u = np.full(len(uniques), None, dtype=object)
    action_u = np.full(len(uniques), None, dtype=object)
    for i, value in enumerate(uniques):
        if value is None or value is pd.NA or value != value or value == "":
            continue
        day, status_u[i], reason_u[i], action_u[i] = _judge_period(str(value), indicator)
        if day is not None:
            day_u[i] = np.datetime64(day, "D")
    present = (index >= 0) & ~missing
    return (
        per_row(index, present, day_u, np.datetime64("NaT")),
        per_row(index, present, status_u, 0),
        per_row(index, present, reason_u, None),
        per_row(index, present, action_u, None),
    )


def _judge_period(value: str, indicator: Indicator) -> tuple[dt.date | None, int, str | None, str | None]:
    """One distinct period text: (first day if readable, status, reason, action)."""
    day, problem = _parse_period(value)
    if day is None:
        uk = _UK_DAY.match(value)
        day_month_year = [int(g) for g in uk.groups()] if uk else None
        if day_month_year and _real_date(*reversed(day_month_year)):
            iso = dt.date(*reversed(day_month_year)).isoformat()
            return None, PERIOD_UNREADABLE, problem, f"write it as {iso} (YYYY-MM-DD)"
        return None, PERIOD_UNREADABLE, problem, _PERIOD_ACTION
    invalid = indicator.period_ok(day)
    if not invalid:
        return day, PERIOD_OK, None, None
    reason = f"{day.isoformat()} is not a valid period for {indicator.id}: {invalid}"
    aligned = _aligned_start(day, indicator)
    if aligned != day and indicator.period_ok(aligned) is None:
        return day, PERIOD_INVALID, reason, (
            f"use {aligned.isoformat()}, the first day of the {indicator.period.value} it falls in"
        )
    last = indicator.last_period.isoformat() if indicator.last_period else "now"
    return day, PERIOD_INVALID, reason, (
        f"this indicator's periods are {indicator.period.value}s from "
        f"{indicator.first_period.isoformat()} to {last}: remove rows outside that range"
    )


def _aligned_start(day: dt.date, indicator: Indicator) -> dt.date:
    if indicator.period == Period.MONTH:
        return day.replace(day=1)
    if indicator.period == Period.QUARTER:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    start = indicator.year_start_month
    year = day.year if day.month >= start else day.year - 1
    return dt.date(year, start, 1)


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _parse_period(value: str) -> tuple[dt.date | None, str | None]:
    match = _ISO_DAY.match(value)
    if match:
        year, month, day = (int(g) for g in match.groups())
        if _real_date(year, month, day):
            return dt.date(year, month, day), None
        return None, f"'{value}' is not a real date"
    match = _ISO_MONTH.match(value)
    if match:
        year, month = (int(g) for g in match.groups())
        if 1 <= month <= 12:
            return dt.date(year, month, 1), None
        return None, f"'{value}' has no month {month}"
    return None, f"'{value}' is not a period in the form YYYY-MM-DD or YYYY-MM"
