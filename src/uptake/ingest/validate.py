"""Validation: every rule over whole columns at once (pandas / Arrow), collecting every problem.

Rules work on unique values where they need Python (organisation codes, periods: thousands of distinct
values, not millions of rows), and on vectorised column operations everywhere else. The steps, each in
its own module:

* ``columns``: which file column holds each field (``--map``, names, suggestions);
* ``coerce``: cells as text, blanks, counts as numbers;
* ``row_rules`` and ``period_rules``: what each row must meet on its own;
* ``cross_rules``: what rows must meet together (one row per organisation and period);
* ``plausibility``: numbers within reason (every indicator), and the bounds the catalogue states for
  the indicator: value range, sizes per head, jumps against the organisation's recent values, complete
  periods;
* this module: the order of the steps, and the validated table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from uptake.catalogue.schemas import Indicator
from uptake.ingest.coerce import Numbers
from uptake.ingest.columns import (
    FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    SYNONYMS,
    auto_name,
    parse_mapping,
    resolve_columns,
)
from uptake.ingest.cross_rules import check_duplicates
from uptake.ingest.findings import Findings
from uptake.ingest.period_rules import Periods, check_periods
from uptake.ingest.plausibility import (
    CheckRecord,
    check_completeness,
    check_history,
    check_magnitude,
    check_per_head,
    check_value_range,
    judged_rows,
)
from uptake.ingest.problems import Problem, Problems
from uptake.ingest.readers import RawTable
from uptake.ingest.row_rules import Codes, check_codes, check_counts, check_indicator_column, check_ratio

__all__ = [
    "FIELDS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "SYNONYMS",
    "ProgressCallback",
    "Validated",
    "parse_mapping",
    "resolve_columns",
    "validate",
]

ProgressCallback = Callable[[str, float, float | None], None]

#: Progress steps of validate: codes, periods, counts, ratios, duplicates, plausibility, completeness,
#: the table.
_STEPS = 8


@dataclass
class Validated:
    """The outcome of validation: ``table`` (org_code, period, numerator, denominator) when there are no
    problems, else None; ``problems`` always."""

    table: pa.Table | None
    problems: Problems
    columns: dict[str, str]
    periods: tuple[dt.date, ...] = ()
    #: what the plausibility checks were asked to let through, and let through (recorded with the batch)
    checks: CheckRecord = field(default_factory=CheckRecord)

    @property
    def ok(self) -> bool:
        return self.table is not None


def validate(
    raw: RawTable,
    indicator: Indicator,
    organisations: pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    history: pd.DataFrame | None = None,
    partial: bool = False,
    allow_jumps: bool = False,
) -> Validated:
    """Check ``raw`` against every rule for ``indicator``.

    ``organisations`` has columns code and level, and for the plausibility checks population and valid_to
    (``AnalyticsStore.organisation_facts``); ``history`` is the indicator's current observations in the
    store (org_code, period, numerator, denominator), for the jump and completeness checks. ``partial``
    skips the completeness check (the caller marks the periods provisional); ``allow_jumps`` lets jumps
    and size changes through, listing them in ``Validated.checks``.
    """
    problems: list[Problem | pd.DataFrame] = list(raw.problems)
    record = CheckRecord(partial=partial, allow_jumps=allow_jumps)
    if raw.unreadable:
        return Validated(None, Problems(problems), {}, checks=record)
    resolved, checkable = _check_header(raw, dict(mapping or {}), problems)
    if not checkable:
        return Validated(None, Problems(problems), resolved, checks=record)

    advance = _Progress(progress)
    frame = raw.frame
    findings = Findings(raw.rows, np.ones(len(frame), dtype=bool) if raw.excluded is None else ~raw.excluded)
    if "indicator" in resolved:
        check_indicator_column(findings, frame[resolved["indicator"]], resolved["indicator"], indicator)
    codes = check_codes(findings, frame[resolved["org_code"]], resolved["org_code"], indicator, organisations)
    advance()
    periods = check_periods(findings, frame[resolved["period"]], resolved["period"], indicator)
    advance()
    numbers = {name: check_counts(findings, frame[resolved[name]], resolved[name], name)
               for name in ("numerator", "denominator")}
    for name, parsed in numbers.items():
        check_magnitude(findings, parsed, resolved[name], name, indicator)
    advance()
    check_ratio(findings, numbers["numerator"], numbers["denominator"], resolved["numerator"],
                resolved["denominator"], indicator)
    advance()
    check_duplicates(findings, codes, periods, resolved["org_code"], resolved["period"])
    advance()
    rows = judged_rows(codes, periods, numbers["numerator"], numbers["denominator"], findings)
    columns = {name: resolved[name] for name in ("numerator", "denominator")}
    check_value_range(findings, rows, numbers["numerator"], numbers["denominator"],
                      (columns["numerator"], columns["denominator"]), indicator)
    check_per_head(findings, rows, numbers, columns, indicator, organisations)
    check_history(findings, rows, numbers, columns, indicator, history, record)
    advance()
    keyed = judged_rows(codes, periods, numbers["numerator"], numbers["denominator"], findings, counts=False)
    check_completeness(findings, keyed, resolved["period"], indicator, organisations, history, record)
    advance()

    all_problems = Problems(problems + findings.frames)
    if len(all_problems):
        return Validated(None, all_problems, resolved, checks=record)
    table = _observations(codes, periods, numbers["numerator"], numbers["denominator"])
    dates = tuple(sorted(d.astype(object) for d in np.unique(periods.days)))
    advance()
    return Validated(table, all_problems, resolved, dates, checks=record)


def _check_header(
    raw: RawTable, mapping: dict[str, str], problems: list[Problem | pd.DataFrame]
) -> tuple[dict[str, str], bool]:
    """The file's field -> column, and whether its rows can be checked: not when the file has no data
    rows or its header has problems (appended to ``problems``)."""
    columns = [str(c) for c in raw.frame.columns]
    if raw.frame.empty and all(auto_name(c) for c in columns):
        problems.append(
            Problem(None, None, None, "the file has no header row and no data",
                    "check you exported the right file: it needs a header row (org_code, period, numerator, "
                    "denominator) and one row per organisation and period", "empty-file")
        )
        return {}, False
    resolved, header_problems = resolve_columns(columns, mapping, raw.header_row)
    problems.extend(header_problems)
    if raw.frame.empty:
        problems.append(
            Problem(
                None, None, None, "the file has a header row but no data rows",
                "check you exported the right file: after the header there must be one row per "
                "organisation and period",
                "empty-file",
            )
        )
    return resolved, not header_problems and not raw.frame.empty


class _Progress:
    """Reports each finished step of validation as ("validate", step, _STEPS)."""

    def __init__(self, progress: ProgressCallback | None):
        self.progress = progress
        self.step = 0

    def __call__(self) -> None:
        self.step += 1
        if self.progress:
            self.progress("validate", self.step, _STEPS)


def _observations(codes: Codes, periods: Periods, numerator: Numbers, denominator: Numbers) -> pa.Table:
    """The validated rows as the analytics store loads them."""
    return pa.table(
        {
            "org_code": pa.array(codes.text, type=pa.string()),
            "period": pa.array(periods.days, type=pa.date32()),
            "numerator": pa.array(numerator.values, type=pa.float64()),
            "denominator": pa.array(denominator.values, type=pa.float64()),
        }
    )
