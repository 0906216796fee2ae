"""Which file column holds each field: ``--map`` options, names equal to a field, and suggestions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from uptake.errors import UptakeError
from uptake.ingest.problems import Problem

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
    _apply_mapping(columns, mapping, by_norm, listing, header_row, resolved, problems)
    _match_field_names(columns, by_norm, header_row, resolved, problems)
    used = set(resolved.values())
    mapped_fields = set(mapping.values())
    for field in REQUIRED_FIELDS:
        if field in resolved or field in mapped_fields:
            continue  # a bad --map for this field is already reported
        free = [c for c in columns if c not in used]
        problems.append(_missing_field(field, free, columns, listing, header_row))
    return resolved, problems


def _apply_mapping(
    columns: list[str],
    mapping: Mapping[str, str],
    by_norm: dict[str, list[str]],
    listing: str,
    header_row: int,
    resolved: dict[str, str],
    problems: list[Problem],
) -> None:
    """The fields named by --map (exactly, else by the normalised name); a problem for a column that is
    not in the file."""
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


def _match_field_names(
    columns: list[str],
    by_norm: dict[str, list[str]],
    header_row: int,
    resolved: dict[str, str],
    problems: list[Problem],
) -> None:
    """The fields not mapped, from columns named like them; a problem when more than one could be it."""
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


def _missing_field(field: str, free: list[str], columns: list[str], listing: str, header_row: int) -> Problem:
    """The problem for a required field no column holds, suggesting a free column that may hold it."""
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
    return Problem(header_row, field, None, reason, action, "missing-column")


def auto_name(column: str) -> bool:
    """A column name made up by a reader for an empty header cell."""
    return not column.strip() or re.fullmatch(r"(column \d+|Unnamed: \d+)", column) is not None


def _norm(name: object) -> str:
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower()).strip("_")


def _suggest_column(field: str, columns: list[str]) -> str | None:
    synonyms = set(SYNONYMS.get(field, ()))
    for column in columns:
        if _norm(column) in synonyms:
            return column
    normed = {_norm(c): c for c in columns}
    close = difflib.get_close_matches(field, list(normed), n=1, cutoff=0.75)
    return normed[close[0]] if close else None
