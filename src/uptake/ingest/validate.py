"""Validation: every rule over whole columns at once (pandas / Arrow), collecting every problem.

Rules work on unique values where they need Python (organisation codes, periods: thousands of distinct
values, not millions of rows), and on vectorised column operations everywhere else.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from uptake.catalogue.schemas import Indicator, Measure, Period
from uptake.errors import UptakeError
from uptake.ingest.problems import Problem, Problems, problem_frame
from uptake.ingest.readers import RawTable
from uptake.levels import Level

#: Fields every file must provide, and the optional indicator column.
REQUIRED_FIELDS = ("org_code", "period", "numerator", "denominator")
OPTIONAL_FIELDS = ("indicator",)
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS

#: Column names often used for each field: suggested (never applied silently) when a field is missing.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "org_code": (
        "code", "org", "organisation", "organisation_code", "organization_code", "ods_code", "ods",
        "practice", "practice_code", "sub_icb_code", "sub_icb_location_code", "icb_code", "ccg_code",
        "trust", "trust_code", "provider_code", "site_code", "stroke_team", "team_code", "pcn_code",
        "row_name",
    ),
    "period": (
        "month", "date", "period_start", "year_month", "quarter", "year", "reporting_period",
        "achievement_date", "financial_year",
    ),
    "numerator": ("num", "count", "items", "events", "achieved", "treated", "thrombolysed", "achievement"),
    "denominator": (
        "den", "denom", "total", "eligible", "population", "list_size", "admissions", "registered_patients",
        "total_items",
    ),
}

ProgressCallback = Callable[[str, float, float | None], None]

_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_UK_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_THOUSANDS = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"
_PERIOD_FORMAT = "write the period's first day as YYYY-MM-DD (e.g. 2024-04-01), or the month as YYYY-MM"


def parse_mapping(items: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``--map COLUMN=FIELD`` options (or a column -> field dict) as a checked column -> field dict."""
    if not items:
        return {}
    pairs: list[tuple[str, str]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), str(v)) for k, v in items.items()]
    else:
        for item in items:
            if "=" not in item:
                raise UptakeError(
                    f"--map {item!r} is not COLUMN=FIELD (e.g. --map \"Practice code=org_code\")"
                )
            column, field = item.rsplit("=", 1)
            pairs.append((column, field))
    mapping: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for column, field in pairs:
        column, field = column.strip(), field.strip().lower()
        if not column:
            raise UptakeError(f"--map ={field}: the column name before '=' is empty")
        if field not in FIELDS:
            raise UptakeError(
                f"--map {column}={field}: {field!r} is not a field; fields are {', '.join(FIELDS)}"
            )
        if field in claimed:
            raise UptakeError(f"--map gives two columns for {field}: {claimed[field]!r} and {column!r}")
        claimed[field] = column
        mapping[column] = field
    return mapping


def _norm(name: object) -> str:
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class Validated:
    """The outcome of validation: ``table`` (org_code, period, numerator, denominator) when there are no
    problems, else None; ``problems`` always."""

    table: pa.Table | None
    problems: Problems
    columns: dict[str, str]
    periods: tuple[dt.date, ...] = ()

    @property
    def ok(self) -> bool:
        return self.table is not None


def resolve_columns(
    columns: list[str], mapping: Mapping[str, str], header_row: int = 1
) -> tuple[dict[str, str], list[Problem]]:
    """Field -> file column, from --map first and then names equal to the field (ignoring case, spaces
    and hyphens); problems for mapped columns not in the file and for missing required fields."""
    problems: list[Problem] = []
    resolved: dict[str, str] = {}
    listing = ", ".join(repr(c) for c in columns) if columns else "(none)"
    by_norm: dict[str, list[str]] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), []).append(column)
    for column, field in mapping.items():
        if column in columns:
            resolved[field] = column
            continue
        candidates = by_norm.get(_norm(column), [])
        if len(candidates) == 1:
            resolved[field] = candidates[0]
            continue
        close = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(
            Problem(
                header_row, column, None,
                f"--map names column {column!r}, which is not in the file; the file has columns: {listing}",
                f"use one of the file's column names in --map{hint}", "bad-mapping",
            )
        )
    used = set(resolved.values())
    for field in FIELDS:
        if field in resolved:
            continue
        candidates = [c for c in by_norm.get(field, []) if c not in used]
        if not candidates:
            continue
        chosen = candidates[0]
        # columns with the same name are read as NAME, NAME.1, ... (as pandas does)
        twins = [c for c in columns if c != chosen and re.fullmatch(re.escape(chosen) + r"\.\d+", c)]
        others = candidates[1:] + twins
        if others:
            names = ", ".join(repr(c) for c in [chosen, *others])
            problems.append(
                Problem(
                    header_row, chosen, None, f"more than one column could be {field}: {names}",
                    f"remove or rename the extra column, or choose one with --map \"{chosen}={field}\"",
                    "duplicate-column",
                )
            )
        resolved[field] = chosen
        used.add(chosen)
    mapped_fields = set(mapping.values())
    for field in REQUIRED_FIELDS:
        if field in resolved or field in mapped_fields:
            continue  # a bad --map for this field is already reported
        free = [c for c in columns if c not in used]
        suggestion = _suggest_column(field, free)
        action = (
            f'use --map "{suggestion}={field}" (or rename that column to {field})'
            if suggestion
            else f"add a column named {field}, or name the column that holds it with --map COLUMN={field}"
        )
        reason = f"the required column {field} is missing; the file has columns: {listing}"
        if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
            reason += "; the header looks separated by something other than commas"
            action = "save the file as comma-separated CSV UTF-8, " + action
        problems.append(Problem(header_row, field, None, reason, action, "missing-column"))
    return resolved, problems


def _auto_name(column: str) -> bool:
    """A column name made up by a reader for an empty header cell."""
    return not column.strip() or re.fullmatch(r"(column \d+|Unnamed: \d+)", column) is not None


def _suggest_column(field: str, columns: list[str]) -> str | None:
    synonyms = set(SYNONYMS.get(field, ()))
    for column in columns:
        if _norm(column) in synonyms:
            return column
    normed = {_norm(c): c for c in columns}
    close = difflib.get_close_matches(field, list(normed), n=1, cutoff=0.75)
    return normed[close[0]] if close else None


# ---------------------------------------------------------------------------------------- helpers
def _as_text(values: pd.Series) -> pd.Series:
    """Any column as text (str dtype, missing as NA); dates as ISO dates, whole floats without '.0'."""
    if isinstance(values.dtype, pd.StringDtype):
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    codes, uniques = pd.factorize(values)
    texts = np.array([_text_of(v) for v in uniques], dtype=object)
    out = np.full(len(values), None, dtype=object)
    present = codes >= 0
    if len(texts):
        out[present] = texts[codes[present]]
    return pd.Series(out, dtype="str")


def _text_of(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def _blank(text: pd.Series) -> np.ndarray:
    return (text.isna() | (text.str.strip() == "")).fillna(True).to_numpy(dtype=bool)


class _Numbers:
    """A count column parsed to float64 (NaN where missing or not a number)."""

    def __init__(self, values: pd.Series):
        self.source = values
        self._text: pd.Series | None = None
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            floats = values.to_numpy(dtype=np.float64, na_value=np.nan)
            self.missing = np.isnan(floats)
        else:
            self._text = _as_text(values)
            stripped = self._text.str.strip()
            self.missing = _blank(self._text)
            arrow = pa.array(stripped.where(~self.missing, None), type=pa.string(), from_pandas=True)
            try:
                floats = pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                floats = pd.to_numeric(stripped.where(~self.missing, None), errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            floats = np.asarray(floats, dtype=np.float64)
        finite = np.isfinite(floats)
        self.not_number = ~self.missing & ~finite
        self.values = np.where(finite, floats, np.nan)

    @property
    def text(self) -> pd.Series:
        """How each value looked in the file (converted only when a problem needs it)."""
        if self._text is None:
            self._text = _as_text(self.source)
        return self._text


def _aligned_start(day: dt.date, indicator: Indicator) -> dt.date:
    if indicator.period == Period.MONTH:
        return day.replace(day=1)
    if indicator.period == Period.QUARTER:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    start = indicator.year_start_month
    year = day.year if day.month >= start else day.year - 1
    return dt.date(year, start, 1)


def _level_name(level: str) -> str:
    names = {"icb": "ICB", "sub-icb": "sub-ICB", "pcn": "PCN", "isdn": "ISDN", "stroke-unit": "stroke unit",
             "practice": "GP practice"}
    return names.get(level, level)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" or word.startswith(("ICB", "ISDN")) else "a"


# ------------------------------------------------------------------------------------- validation
def validate(
    raw: RawTable,
    indicator: Indicator,
    organisations: pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> Validated:
    """Check ``raw`` against every rule for ``indicator``; ``organisations`` has columns code and level."""
    problems: list[Problem | pd.DataFrame] = list(raw.problems)
    mapping = dict(mapping or {})
    if raw.unreadable:
        return Validated(None, Problems(problems), {})
    columns = [str(c) for c in raw.frame.columns]
    frame = raw.frame
    if frame.empty and all(_auto_name(c) for c in columns):
        problems.append(
            Problem(None, None, None, "the file has no header row and no data",
                    "check you exported the right file: it needs a header row (org_code, period, numerator, "
                    "denominator) and one row per organisation and period", "empty-file")
        )
        return Validated(None, Problems(problems), {})
    resolved, header_problems = resolve_columns(columns, mapping, raw.header_row)
    problems.extend(header_problems)
    if frame.empty:
        problems.append(
            Problem(
                None, None, None, "the file has a header row but no data rows",
                "check you exported the right file: after the header there must be one row per "
                "organisation and period",
                "empty-file",
            )
        )
    if header_problems or frame.empty:
        return Validated(None, Problems(problems), resolved)

    steps = 6
    step = 0

    def advance() -> None:
        nonlocal step
        step += 1
        if progress:
            progress("validate", step, steps)

    rows = raw.rows
    checked = np.ones(len(frame), dtype=bool) if raw.excluded is None else ~raw.excluded
    found: list[pd.DataFrame] = []

    def add(rule: str, mask: np.ndarray, column: str, value, reason, action) -> None:
        """Record a problem for each row in ``mask``; value/reason/action are a scalar, a full-length
        array, or a function of the selected positions (so messages are built only for problem rows)."""
        mask = mask & checked
        if not mask.any():
            return
        pick = np.flatnonzero(mask)

        def take(item):
            if callable(item):
                return np.asarray(item(pick), dtype=object)
            if isinstance(item, pd.Series):
                return item.iloc[pick].to_numpy(dtype=object, na_value=None)
            if isinstance(item, np.ndarray):
                return item[pick]
            return item

        found.append(problem_frame(rule, rows[pick], column, take(value), take(reason), take(action)))

    def concat(*parts):
        """A function of positions that joins text parts (strings, or arrays of one value per row)."""

        def build(pick: np.ndarray) -> np.ndarray:
            out = np.full(len(pick), "", dtype=object)
            for part in parts:
                if isinstance(part, str):
                    out = out + part
                else:
                    if isinstance(part, pd.Series):
                        chosen = part.iloc[pick].to_numpy(dtype=object)
                    else:
                        chosen = part[pick]
                    texts = ["" if v is None or v is pd.NA or v != v else str(v) for v in chosen]
                    out = out + np.array(texts, dtype=object)
            return out

        return build

    # -- indicator column (optional): must agree with the indicator being loaded
    if "indicator" in resolved:
        column = resolved["indicator"]
        text = _as_text(frame[column])
        given = text.str.strip()
        wrong = (~_blank(text)) & (given != indicator.id).fillna(False).to_numpy(dtype=bool)
        add(
            "wrong-indicator", wrong, column, text,
            concat("the row is for indicator '", given, f"', but this load is for '{indicator.id}'"),
            "load each indicator separately (filter the file to this indicator), "
            "or remove the indicator column",
        )

    # -- organisation codes: known, and of a level the indicator is loaded at
    org_column = resolved["org_code"]
    codes = _as_text(frame[org_column])
    code_missing = _blank(codes)
    add("missing-value", code_missing, org_column, codes, "the organisation code is empty",
        "enter the organisation's ODS code, or remove the row")
    code_index, org_status, org_reason, org_action = _check_codes(
        codes, code_missing, indicator, organisations
    )
    add("unknown-organisation", org_status == 1, org_column, codes, org_reason, org_action)
    add("wrong-level", org_status == 2, org_column, codes, org_reason, org_action)
    advance()

    # -- periods: ISO form, then the indicator's alignment and range
    period_column = resolved["period"]
    period_text = _as_text(frame[period_column])
    period_missing = _blank(period_text)
    add("missing-value", period_missing, period_column, period_text, "the period is empty",
        _PERIOD_FORMAT[0].upper() + _PERIOD_FORMAT[1:])
    period_days, period_status, period_reason, period_action = _check_periods(
        period_text, period_missing, indicator
    )
    add("bad-period", period_status == 1, period_column, period_text, period_reason, period_action)
    add("invalid-period", period_status == 2, period_column, period_text, period_reason, period_action)
    advance()

    # -- counts: present, numbers, not negative
    numbers: dict[str, _Numbers] = {}
    for field in ("numerator", "denominator"):
        column = resolved[field]
        parsed = _Numbers(frame[column])
        numbers[field] = parsed
        if parsed.missing.any():
            if field == "numerator":
                add("missing-value", parsed.missing, column, None, "the numerator is empty",
                    "enter the count (0 if there were none), or remove the row if there is no data")
            else:
                add("zero-denominator", parsed.missing, column, None, "the denominator is empty",
                    "enter the denominator; if the organisation had none in this period, remove the row")
        if parsed.not_number.any():
            text = parsed.text
            thousands = text.str.strip().str.match(_THOUSANDS).fillna(False)
            add(
                "not-a-number", parsed.not_number, column, text,
                concat(f"the {field} '", text, "' is not a number"),
                np.where(
                    thousands.to_numpy(dtype=bool),
                    "remove the thousands separators (write 1234, not 1,234)",
                    "enter a number such as 42 (digits only: no text, symbols or spaces)",
                ),
            )
        negative = np.nan_to_num(parsed.values, nan=0.0) < 0
        if negative.any():
            text = parsed.text
            add("negative", negative, column, text, concat(f"the {field} is negative (", text, ")"),
                "counts are zero or more: correct the value")
    advance()

    numerator, denominator = numbers["numerator"], numbers["denominator"]
    zero = denominator.values == 0
    if zero.any():
        add("zero-denominator", zero, resolved["denominator"], denominator.text, "the denominator is 0",
            "an organisation with a denominator of 0 has no value for this period: remove the row, "
            "or correct the denominator")
    if indicator.measure == Measure.PROPORTION:
        with np.errstate(invalid="ignore"):
            above = (
                (numerator.values > denominator.values) & (denominator.values > 0) & (numerator.values >= 0)
            )
        if above.any():
            add(
                "numerator-above-denominator", above, resolved["numerator"], numerator.text,
                concat("the numerator ", numerator.text, " is above the denominator ", denominator.text,
                       "; this indicator is a proportion, so the numerator counts part of the denominator"),
                "check the numerator and denominator are not swapped and are for the same organisation "
                "and period",
            )
    advance()

    # -- duplicate (organisation, period) keys: each later row names the first row with that key
    keyed = ~code_missing & (period_status == 0) & checked
    if keyed.any():
        positions = np.flatnonzero(keyed)
        keys = pd.DataFrame({"code": code_index[positions], "day": period_days[positions].astype(np.int64)})
        duplicated = keys.duplicated(keep=False).to_numpy()
        if duplicated.any():
            dup_positions = positions[duplicated]
            sub = keys.loc[duplicated].assign(row=rows[dup_positions])
            first = sub.groupby(["code", "day"], sort=False)["row"].transform("min").to_numpy()
            later = rows[dup_positions] != first
            first_row = np.zeros(len(frame), dtype=np.int64)
            first_row[dup_positions[later]] = first[later]
            mask = np.zeros(len(frame), dtype=bool)
            mask[dup_positions[later]] = True
            add(
                "duplicate", mask, f"{org_column}, {period_column}",
                concat(codes, " ", period_text),
                concat("the same organisation and period as row ", first_row),
                "keep one row per organisation and period: remove the duplicate, or add the rows together",
            )
    advance()

    all_problems = Problems(problems + found)
    if len(all_problems):
        return Validated(None, all_problems, resolved)
    table = pa.table(
        {
            "org_code": pa.array(codes, type=pa.string()),
            "period": pa.array(period_days, type=pa.date32()),
            "numerator": pa.array(numerator.values, type=pa.float64()),
            "denominator": pa.array(denominator.values, type=pa.float64()),
        }
    )
    periods = tuple(sorted(d.astype(object) for d in np.unique(period_days)))
    advance()
    return Validated(table, all_problems, resolved, periods)


def _check_codes(
    codes: pd.Series, missing: np.ndarray, indicator: Indicator, organisations: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the code's index among the distinct codes (-1 if empty), status (0 fine, 1 unknown,
    2 wrong level), reason and action."""
    accepted = {Level(level).value for level in indicator.levels}
    accepted_text = " or ".join(_level_name(level) for level in sorted(accepted))
    levels_of: dict[str, set[str]] = {}
    for code, level in zip(organisations["code"].astype(str), organisations["level"].astype(str)):
        levels_of.setdefault(code, set()).add(level)
    normalised: dict[str, list[str]] = {}
    for code in levels_of:
        normalised.setdefault(re.sub(r"\s+", "", code).upper(), []).append(code)

    index, uniques = pd.factorize(codes)
    status_u = np.zeros(len(uniques), dtype=np.int8)
    reason_u = np.full(len(uniques), None, dtype=object)
    action_u = np.full(len(uniques), None, dtype=object)
    for i, code in enumerate(uniques):
        if code is None or not str(code).strip():
            continue
        code = str(code)
        levels = levels_of.get(code)
        if levels is None:
            status_u[i] = 1
            reason_u[i] = f"'{code}' is not a known organisation code"
            similar = normalised.get(re.sub(r"\s+", "", code).upper(), [])
            close = [c for c in similar if accepted & levels_of[c]] or similar
            if close:
                action_u[i] = f"did you mean '{close[0]}'? Codes must match exactly (capitals, no spaces)"
            else:
                action_u[i] = (
                    f"check the ODS code; this indicator takes {accepted_text} codes, and organisations "
                    "closed before the reference data's date are not known"
                )
        elif not (levels & accepted):
            status_u[i] = 2
            level = sorted(levels)[0]
            name = _level_name(level)
            reason_u[i] = (
                f"'{code}' is {_article(name)} {name} code, but indicator {indicator.id} is loaded at "
                f"{accepted_text} level"
            )
            action_u[i] = (
                f"give {accepted_text} codes only; figures for other levels are rolled up from them by Uptake"
            )
    status = np.zeros(len(codes), dtype=np.int8)
    reason = np.full(len(codes), None, dtype=object)
    action = np.full(len(codes), None, dtype=object)
    present = (index >= 0) & ~missing
    status[present] = status_u[index[present]]
    reason[present] = reason_u[index[present]]
    action[present] = action_u[index[present]]
    return index, status, reason, action


def _check_periods(
    text: pd.Series, missing: np.ndarray, indicator: Indicator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the period's first day (datetime64[D], NaT if none), status (0 fine, 1 not readable,
    2 not a valid period of this indicator), reason and action."""
    stripped = text.str.strip()
    index, uniques = pd.factorize(stripped)
    day_u = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[D]")
    status_u = np.zeros(len(uniques), dtype=np.int8)
    reason_u = np.full(len(uniques), None, dtype=object)
    action_u = np.full(len(uniques), None, dtype=object)
    for i, value in enumerate(uniques):
        if value is None or value is pd.NA or value != value or value == "":
            continue
        day, problem = _parse_period(str(value))
        if day is None:
            status_u[i] = 1
            reason_u[i] = problem
            uk = _UK_DAY.match(str(value))
            day_month_year = [int(g) for g in uk.groups()] if uk else None
            if day_month_year and _real_date(*reversed(day_month_year)):
                iso = dt.date(*reversed(day_month_year)).isoformat()
                action_u[i] = f"write it as {iso} (YYYY-MM-DD)"
            else:
                action_u[i] = _PERIOD_FORMAT[0].upper() + _PERIOD_FORMAT[1:]
            continue
        day_u[i] = np.datetime64(day, "D")
        invalid = indicator.period_ok(day)
        if invalid:
            status_u[i] = 2
            reason_u[i] = f"{day.isoformat()} is not a valid period for {indicator.id}: {invalid}"
            aligned = _aligned_start(day, indicator)
            if aligned != day and indicator.period_ok(aligned) is None:
                action_u[i] = (
                    f"use {aligned.isoformat()}, the first day of the {indicator.period.value} it falls in"
                )
            else:
                last = indicator.last_period.isoformat() if indicator.last_period else "now"
                action_u[i] = (
                    f"this indicator's periods are {indicator.period.value}s from "
                    f"{indicator.first_period.isoformat()} to {last}: remove rows outside that range"
                )
    days = np.full(len(stripped), np.datetime64("NaT"), dtype="datetime64[D]")
    status = np.zeros(len(stripped), dtype=np.int8)
    reason = np.full(len(stripped), None, dtype=object)
    action = np.full(len(stripped), None, dtype=object)
    present = (index >= 0) & ~missing
    days[present] = day_u[index[present]]
    status[present] = status_u[index[present]]
    reason[present] = reason_u[index[present]]
    action[present] = action_u[index[present]]
    return days, status, reason, action


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
