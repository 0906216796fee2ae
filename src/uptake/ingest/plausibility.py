"""Plausibility and completeness: numbers within reason, sizes that fit the organisation, values that do not
jump away from its own recent ones, and periods that cover the organisations the indicator expects.

Two kinds of rule:

* every indicator (``check_magnitude``): a count no larger than ``MAX_COUNT`` (2^53: above it whole numbers
  are not exact and sums can overflow), and a whole number unless the catalogue says the count may be
  fractional (``plausibility.fractional``);
* stated per indicator in the catalogue (``Indicator.plausibility``; a check that is not stated is not
  made): the value's range, sizes per head of the organisation's population, the denominator's size and the
  value against the organisation's recent median (``check_history``: refused unless ``--allow-jumps``), and
  each period's completeness (``check_completeness``: refused unless ``--partial``).

The rules look only at rows that pass the row rules (a known code of the right level, a valid period,
counts that are numbers); history is the store's current observations of the indicator outside the file's
periods, plus the file's own rows, so a file of many periods is checked against itself as well.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from uptake.catalogue.schemas import CountField, Indicator
from uptake.ingest.coerce import Numbers
from uptake.ingest.findings import Findings, joined
from uptake.ingest.period_rules import PERIOD_OK, Periods
from uptake.ingest.problems import problem_frame
from uptake.ingest.row_rules import CODE_OK, Codes, level_plural
from uptake.levels import Level

#: The largest count accepted: 2^53, beyond which a float64 cannot hold every whole number and a national
#: sum can overflow to infinity.
MAX_COUNT = float(2**53)
#: At most this many jumps allowed with --allow-jumps are listed in the batch's record (all are counted).
RECORDED_JUMPS = 100
_SHOWN_MISSING = 10


@dataclass
class CheckRecord:
    """What the checks were asked to let through, and what they let through: recorded with the batch."""

    partial: bool = False
    allow_jumps: bool = False
    #: jumps and size changes that --allow-jumps let through: (row, org_code, period, rule)
    jumps_allowed: list[dict[str, Any]] = field(default_factory=list)
    jumps_allowed_count: int = 0
    #: per period: organisations found and expected (when a completeness check is stated)
    completeness: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"partial": self.partial, "allow_jumps": self.allow_jumps}
        if self.allow_jumps:
            record["jumps_allowed_count"] = self.jumps_allowed_count
            record["jumps_allowed"] = self.jumps_allowed[:RECORDED_JUMPS]
        if self.completeness:
            record["completeness"] = self.completeness
        return record


# ------------------------------------------------------------------------------------------- every indicator
def check_magnitude(
    findings: Findings, numbers: Numbers, column: str, name: str, indicator: Indicator
) -> None:
    """A count is at most MAX_COUNT, and whole unless the indicator says it may be fractional."""
    values = numbers.values
    present = ~np.isnan(values)
    huge = present & (np.abs(values) > MAX_COUNT)
    if huge.any():
        findings.add(
            "out-of-range", huge, column, numbers.text,
            joined(f"the {name} ", numbers.text, f" is too large to be a count (above {MAX_COUNT:,.0f}, "
                   "beyond which whole numbers cannot be stored exactly and totals overflow)"),
            f"check the {name}: was a value pasted into the wrong column, or written in scientific "
            "notation? Enter the count itself",
        )
    if CountField(name) in indicator.plausibility.fractional:
        return
    with np.errstate(invalid="ignore"):
        fractional = present & ~huge & (values != np.floor(values))
    if fractional.any():
        findings.add(
            "not-whole", fractional, column, numbers.text,
            joined(f"the {name} ", numbers.text, f" is not a whole number; the {name} of {indicator.id} "
                   f"counts ({_short(getattr(indicator, name))})"),
            f"enter the whole count (not an average, estimate or rounded-down share); if this indicator's "
            f"{name} can truly be fractional, the catalogue must say so (plausibility.fractional)",
        )


# ------------------------------------------------------------------------------------- stated per indicator
@dataclass(frozen=True)
class Rows:
    """The rows the plausibility rules judge: positions in the file, the organisation (its code, and a number
    for it: equal codes, equal numbers) and period keys, and the counts."""

    positions: np.ndarray
    codes: np.ndarray  # the code text (object)
    org: np.ndarray  # int64: the code's number among the file's distinct codes
    days: np.ndarray  # datetime64[D]
    numerator: np.ndarray
    denominator: np.ndarray


def judged_rows(codes: Codes, periods: Periods, numerator: Numbers, denominator: Numbers,
                findings: Findings, *, counts: bool = True) -> Rows:
    """Rows with a known code of the right level, a valid period and (if ``counts``) counts that pass the
    row rules."""
    good = findings.checked & ~codes.missing & (codes.status == CODE_OK) & (periods.status == PERIOD_OK)
    if counts:
        with np.errstate(invalid="ignore"):
            good &= (
                ~np.isnan(numerator.values) & ~np.isnan(denominator.values)
                & (numerator.values >= 0) & (denominator.values > 0)
                & (numerator.values <= MAX_COUNT) & (denominator.values <= MAX_COUNT)
            )
    positions = np.flatnonzero(good)
    org = codes.index[positions].astype(np.int64)
    # the text of each distinct code, read once (not once per row)
    distinct, first = np.unique(org, return_index=True)
    text = np.full(int(distinct.max()) + 1 if len(distinct) else 0, None, dtype=object)
    text[distinct] = codes.text.iloc[positions[first]].to_numpy(dtype=object)
    return Rows(positions, text[org], org, periods.days[positions], numerator.values[positions],
                denominator.values[positions])


def check_value_range(findings: Findings, rows: Rows, numerator: Numbers, denominator: Numbers,
                      columns: tuple[str, str], indicator: Indicator) -> None:
    """The value (numerator / denominator) lies within the stated range."""
    bounds = indicator.plausibility.value_range
    if bounds is None or not len(rows.positions):
        return
    value = rows.numerator / rows.denominator
    outside = (value < bounds[0]) | (value > bounds[1])
    if not outside.any():
        return
    mask = _mask(findings, rows.positions[outside])
    low, high = (indicator.format_value(b) for b in bounds)
    shown = _per_row(findings, rows.positions[outside], [indicator.format_value(v) for v in value[outside]])
    findings.add(
        "out-of-range", mask, f"{columns[0]}, {columns[1]}",
        joined(numerator.text, " / ", denominator.text),
        joined("the value ", shown, f" is outside the range {low} to {high} that {indicator.id} can take"),
        "check the numerator and denominator are the right counts, for this organisation and period and "
        "not swapped; the range is stated in the catalogue (plausibility.value_range)",
    )


def check_per_head(findings: Findings, rows: Rows, numbers: dict[str, Numbers], columns: dict[str, str],
                   indicator: Indicator, organisations: pd.DataFrame) -> None:
    """Numerator and denominator at most ``max_per_head`` x the organisation's population, where known."""
    limit = indicator.plausibility.max_per_head
    if limit is None or not len(rows.positions) or "population" not in organisations.columns:
        return
    accepted = {Level(level).value for level in indicator.levels}
    known = organisations[organisations["level"].astype(str).isin(accepted)]
    people = pd.to_numeric(known["population"], errors="coerce").astype("float64")  # unknown: NaN
    population_of = pd.Series(people.to_numpy(), index=known["code"].astype(str).to_numpy())
    population_of = population_of[~population_of.index.duplicated()]
    population = population_of.reindex(rows.codes).to_numpy(dtype=np.float64)
    for name, counts in (("numerator", rows.numerator), ("denominator", rows.denominator)):
        with np.errstate(invalid="ignore"):
            over = (population > 0) & (counts > limit * population)
        if not over.any():
            continue
        picked = rows.positions[over]
        people = _per_row(findings, picked, [f"{p:,.0f}" for p in population[over]])
        per_head = _per_row(findings, picked,
                            [_number(c / p) for c, p in zip(counts[over], population[over])])
        code_text = _per_row(findings, picked, list(rows.codes[over]))
        findings.add(
            "implausible-size", _mask(findings, picked), columns[name], numbers[name].text,
            joined(f"the {name} ", numbers[name].text, " is ", per_head, " per head of ", code_text,
                   "'s population of ", people,
                   f"; {indicator.id} expects at most {_number(limit)} per head"),
            f"check the {name} is this organisation's count for this period (not a national total, a cost or "
            f"a rate); the limit is stated in the catalogue (plausibility.max_per_head)",
        )


def check_history(
    findings: Findings, rows: Rows, numbers: dict[str, Numbers], columns: dict[str, str],
    indicator: Indicator, history: pd.DataFrame | None, record: CheckRecord,
) -> None:
    """The denominator's size and the value against the organisation's median over its recent periods.
    With ``record.allow_jumps`` the rows are let through and listed in the record instead."""
    checks = indicator.plausibility
    if (checks.jump is None and checks.max_size_change is None) or not len(rows.positions):
        return
    recent = _recent(rows, history, checks.recent_periods)
    if recent is None:
        return
    median_value, median_denominator, first, last = recent
    value = rows.numerator / rows.denominator
    has = ~np.isnan(median_denominator)

    if checks.max_size_change is not None:
        factor = checks.max_size_change
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = rows.denominator / median_denominator
            changed = has & ((ratio > factor) | (ratio < 1 / factor))
        if changed.any():
            picked = rows.positions[changed]
            how = _per_row(findings, picked, [_times(r) for r in ratio[changed]])
            median_text = _per_row(findings, picked, [f"{m:,.0f}" for m in median_denominator[changed]])
            _add_or_allow(
                findings, record, "size-change", picked, rows, changed, columns["denominator"],
                numbers["denominator"].text,
                joined("the denominator ", numbers["denominator"].text, " is ", how, " ",
                       _per_row(findings, picked, list(rows.codes[changed])), "'s median denominator of ",
                       median_text, " over ",
                       _per_row(findings, picked, _spans(first[changed], last[changed])),
                       f"; {indicator.id} refuses a denominator more than {_number(factor)} times its recent "
                       f"median, or less than 1/{_number(factor)} of it"),
                "check the denominator is this organisation's count for this period; if the change is real "
                "(a merger, a split, a new definition), load the file with --allow-jumps (recorded with the "
                "batch)",
            )

    jump = checks.jump
    if jump is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            far = (value > jump.factor * median_value) | (value < median_value / jump.factor)
            moved = np.abs(value - median_value) > jump.min_change
            counted = ((rows.denominator >= jump.min_denominator)
                       & (median_denominator >= jump.min_denominator))
            jumped = has & ~np.isnan(median_value) & far & moved & counted
        if jumped.any():
            picked = rows.positions[jumped]
            shown = _per_row(findings, picked, [indicator.format_value(v) for v in value[jumped]])
            median_text = _per_row(findings, picked,
                                   [indicator.format_value(m) for m in median_value[jumped]])
            change = _per_row(findings, picked, [_change(indicator, v, m)
                                                  for v, m in zip(value[jumped], median_value[jumped])])
            _add_or_allow(
                findings, record, "jump", picked, rows, jumped,
                f"{columns['numerator']}, {columns['denominator']}",
                joined(numbers["numerator"].text, " / ", numbers["denominator"].text),
                joined("the value ", shown, " is far from ",
                       _per_row(findings, picked, list(rows.codes[jumped])), "'s median of ", median_text,
                       " over ", _per_row(findings, picked, _spans(first[jumped], last[jumped])), " (",
                       change, f"); {indicator.id} refuses a value more than {_number(jump.factor)} times "
                       "(or less than "
                       f"1/{_number(jump.factor)} of) its recent median and more than "
                       f"{_gap(indicator, jump.min_change)} away from it"),
                "check the numerator and denominator for this organisation and period; if the change is "
                "real, load the file with --allow-jumps (recorded with the batch)",
            )


def check_completeness(
    findings: Findings, rows: Rows, period_column: str, indicator: Indicator, organisations: pd.DataFrame,
    history: pd.DataFrame | None, record: CheckRecord,
) -> None:
    """Each period in the file covers the stated share of the organisations expected at its level(s): of
    the reference's current organisations, and of those that reported the period before. Skipped (and
    the periods marked provisional by the caller) with ``record.partial``."""
    stated = indicator.plausibility.completeness
    if stated is None or not len(rows.positions):
        return
    accepted = [Level(level).value for level in indicator.levels]
    file_days, reporting_of = _reporters(rows.days, rows.codes)
    previous = _previous_reporters(file_days, reporting_of, history) if stated.of_previous else {}
    levels = ({level: _organisations_of(organisations, level) for level in accepted}
              if stated.of_reference else {})
    always_open = {level: set(codes) for level, (codes, closes) in levels.items() if np.isnat(closes).all()}
    reasons: list[tuple[str, str]] = []  # (period, reason)
    for day in file_days:
        period = pd.Timestamp(day).date()
        reporting = reporting_of[day]
        summary: dict[str, Any] = {"organisations": len(reporting)}
        for level, (codes, closes) in levels.items():
            expected = always_open.get(level)
            if expected is None:
                expected = set(codes[np.isnat(closes) | (closes > np.datetime64(period, "D"))])
            found = reporting & expected
            if not expected or (len(accepted) > 1 and not found):
                continue
            share = len(found) / len(expected)
            summary[f"expected_{level}"] = len(expected)
            if share < stated.of_reference:
                missing = sorted(expected - reporting)
                reasons.append((period.isoformat(), (
                    f"the file has {len(found):,} of the {len(expected):,} {level_plural(level)} in the "
                    f"reference data for {period.isoformat()} ({share:.1%}); {indicator.id} expects at least "
                    f"{stated.of_reference:.0%} of them in a complete period. Missing: {_listed(missing)}"
                )))
        if stated.of_previous and period in previous:
            before, reported = previous[period]
            found = reporting & reported
            share = len(found) / len(reported) if reported else 1.0
            summary["reported_before"] = len(reported)
            if share < stated.of_previous:
                missing = sorted(reported - reporting)
                reasons.append((period.isoformat(), (
                    f"the file has {len(found):,} of the {len(reported):,} organisations that reported "
                    f"{before.isoformat()} ({share:.1%}); {indicator.id} expects at least "
                    f"{stated.of_previous:.0%} of them to report {period.isoformat()} too. Missing: "
                    f"{_listed(missing)}"
                )))
        record.completeness[period.isoformat()] = summary
    if record.partial or not reasons:
        return
    findings.frames.append(problem_frame(
        "incomplete-period", None, period_column, np.array([p for p, _ in reasons], dtype=object),
        np.array([r for _, r in reasons], dtype=object),
        "load the complete period (a file replaces each of its periods as a whole, so it must hold every "
        "organisation's row), or, if the rest is not available yet, load it with --partial: the period is "
        "then provisional, kept off the headline figures until a complete file replaces it",
    ))


# ------------------------------------------------------------------------------------------------ helpers
def _recent(rows: Rows, history: pd.DataFrame | None, periods: int):
    """For each judged row: the median value and denominator of its organisation's latest ``periods``
    earlier periods (history outside the file's periods, plus the file), and the first and last of those
    periods as day numbers (NaN where it has none)."""
    file_days = np.unique(rows.days)
    # the file's own rows, one per organisation and period (a duplicate is refused anyway)
    own = pd.DataFrame({"org": rows.org, "day": rows.days.astype(np.int64), "num": rows.numerator,
                        "den": rows.denominator, "at": np.arange(len(rows.positions))})
    own = own.drop_duplicates(["org", "day"])
    parts = [own]
    if history is not None and len(history):
        days = pd.to_datetime(history["period"]).to_numpy().astype("datetime64[D]")
        keep = ~np.isin(days, file_days)
        # the history's codes in the file's numbering; codes not in the file get numbers after them
        known = pd.Index(pd.unique(rows.codes))
        file_number = pd.Series(rows.org).groupby(rows.codes).first()
        codes = history["org_code"].astype(str).to_numpy()[keep]
        where = known.get_indexer(codes)
        others, other_index = np.unique(codes[where < 0], return_inverse=True)
        number = np.empty(len(codes), dtype=np.int64)
        number[where >= 0] = file_number.reindex(known[where[where >= 0]]).to_numpy(dtype=np.int64)
        number[where < 0] = int(rows.org.max()) + 1 + other_index
        parts.append(pd.DataFrame({
            "org": number, "day": days[keep].astype(np.int64),
            "num": history["numerator"].to_numpy(dtype=np.float64)[keep],
            "den": history["denominator"].to_numpy(dtype=np.float64)[keep], "at": -1,
        }))
    both = pd.concat(parts, ignore_index=True) if len(parts) > 1 else own
    org = both["org"].to_numpy()
    day = both["day"].to_numpy()
    order = np.lexsort((day, org))
    org, day = org[order], day[order]
    den = both["den"].to_numpy(dtype=np.float64)[order]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = both["num"].to_numpy(dtype=np.float64)[order] / den
    at = both["at"].to_numpy()[order]
    mine = np.flatnonzero(at >= 0)
    lag_value = np.full((len(mine), periods), np.nan)
    lag_den = np.full((len(mine), periods), np.nan)
    first = np.full(len(mine), np.nan)
    last = np.full(len(mine), np.nan)
    for lag in range(1, periods + 1):
        source = mine - lag
        ok = source >= 0
        ok[ok] = org[source[ok]] == org[mine[ok]]
        if not ok.any():
            break
        lag_value[ok, lag - 1] = value[source[ok]]
        lag_den[ok, lag - 1] = den[source[ok]]
        first[ok] = day[source[ok]]  # the furthest period found so far
        if lag == 1:
            last[ok] = day[source[ok]]
    out = [np.full(len(rows.positions), np.nan) for _ in range(4)]
    for target, found in zip(out, (_row_medians(lag_value), _row_medians(lag_den), first, last)):
        target[at[mine]] = found
    return tuple(out)


def _row_medians(matrix: np.ndarray) -> np.ndarray:
    """The median of each row's non-NaN entries (NaN where there are none); fast for a few columns."""
    ordered = np.sort(matrix, axis=1)  # NaN sorts last
    count = (~np.isnan(ordered)).sum(axis=1)
    low = np.clip((count - 1) // 2, 0, None)
    high = np.clip(count // 2, 0, matrix.shape[1] - 1)
    median = (np.take_along_axis(ordered, low[:, None], 1)[:, 0]
              + np.take_along_axis(ordered, high[:, None], 1)[:, 0]) / 2
    return np.where(count > 0, median, np.nan)


def _reporters(days: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, dict]:
    """The distinct days, and the set of codes reporting each."""
    order = np.argsort(days, kind="stable")
    distinct, starts = np.unique(days[order], return_index=True)
    groups = np.split(codes[order], starts[1:])
    return distinct, {day: set(group) for day, group in zip(distinct, groups)}


def _previous_reporters(file_days: np.ndarray, reporting_of: dict, history: pd.DataFrame | None
                        ) -> dict[dt.date, tuple[dt.date, set[str]]]:
    """For each of the file's periods: the period before it (history outside the file's periods, or the
    file) and the organisations that reported it."""
    reporters: dict = {}
    if history is not None and len(history):
        days = pd.to_datetime(history["period"]).to_numpy().astype("datetime64[D]")
        keep = ~np.isin(days, file_days)
        distinct, groups = _reporters(days[keep], history["org_code"].astype(str).to_numpy()[keep])
        reporters.update(groups)
    reporters.update(reporting_of)
    ordered = sorted(reporters)
    found: dict[dt.date, tuple[dt.date, set[str]]] = {}
    for before, day in zip(ordered, ordered[1:]):
        if day in reporting_of:
            found[pd.Timestamp(day).date()] = (pd.Timestamp(before).date(), reporters[before])
    return found


def _organisations_of(organisations: pd.DataFrame, level: str) -> tuple[np.ndarray, np.ndarray]:
    """The codes of ``level`` in the reference data and the day each closes (NaT while open)."""
    at_level = organisations[organisations["level"].astype(str) == level]
    codes = at_level["code"].astype(str).to_numpy(dtype=object)
    if "valid_to" in at_level.columns:
        closes = pd.to_datetime(at_level["valid_to"], errors="coerce").to_numpy().astype("datetime64[D]")
    else:
        closes = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[D]")
    return codes, closes


def _add_or_allow(findings: Findings, record: CheckRecord, rule: str, picked: np.ndarray, rows: Rows,
                  which: np.ndarray, column: str, value, reason, action: str) -> None:
    """Report the rows, or (with --allow-jumps) let them through and list them in the record."""
    if not record.allow_jumps:
        findings.add(rule, _mask(findings, picked), column, value, reason, action)
        return
    record.jumps_allowed_count += int(len(picked))
    room = RECORDED_JUMPS - len(record.jumps_allowed)
    for position, code, day in list(zip(picked, rows.codes[which], rows.days[which]))[:max(room, 0)]:
        record.jumps_allowed.append({"row": int(findings.rows[position]), "org_code": str(code),
                                     "period": pd.Timestamp(day).date().isoformat(), "rule": rule})


def _mask(findings: Findings, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(findings.rows), dtype=bool)
    mask[positions] = True
    return mask


def _per_row(findings: Findings, positions: np.ndarray, texts: list[str]) -> np.ndarray:
    """Texts known for some positions, as a full-length array for ``joined`` (only those are read)."""
    out = np.full(len(findings.rows), "", dtype=object)
    out[positions] = texts
    return out


def _spans(first: np.ndarray, last: np.ndarray) -> list[str]:
    """'its periods 2024-01-01 to 2024-06-01' for each row (day numbers in, only for problem rows)."""
    out = []
    for start, end in zip(first, last):
        if np.isnan(start):
            out.append("")
            continue
        start_day = np.datetime64(int(start), "D").astype(object)
        end_day = np.datetime64(int(end), "D").astype(object)
        out.append(f"its period {start_day.isoformat()}" if start_day == end_day else
                   f"its periods {start_day.isoformat()} to {end_day.isoformat()}")
    return out


def _number(value: float) -> str:
    """A number for a sentence: 3 significant figures (2.47, 0.0312, 1,234), powers of ten when huge."""
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


def _times(ratio: float) -> str:
    if not np.isfinite(ratio):
        return "many times"
    return f"{_number(ratio)} times" if ratio > 0 else "none of"


def _change(indicator: Indicator, value: float, median: float) -> str:
    if median > 0:
        how = f"{_number(value / median)} times it" if value > 0 else "none where it had some"
    else:
        how = "some where it had none"
    return f"{how}, {_gap(indicator, abs(value - median))} away"


def _gap(indicator: Indicator, change: float) -> str:
    scaled = change * indicator.multiplier
    if indicator.unit == "%":
        return f"{scaled:,.1f} percentage points"
    return f"{scaled:,.1f} {indicator.unit}".strip()


def _listed(codes: list[str]) -> str:
    shown = ", ".join(codes[:_SHOWN_MISSING])
    return shown + (f" and {len(codes) - _SHOWN_MISSING:,} more" if len(codes) > _SHOWN_MISSING else "")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77].rstrip() + "..."
