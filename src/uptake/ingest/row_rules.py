"""Rules each row must meet on its own: the indicator column, the organisation code, the counts.

(Periods have their own module, ``period_rules``; rules across rows are in ``cross_rules``.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from uptake.catalogue.schemas import Indicator, Measure
from uptake.ingest.coerce import Numbers, as_text, blank, per_row
from uptake.ingest.findings import Findings, joined
from uptake.levels import Level

_THOUSANDS = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"

#: Code status per row.
CODE_OK, CODE_UNKNOWN, CODE_WRONG_LEVEL = 0, 1, 2


@dataclass(frozen=True)
class Codes:
    """The organisation code column: ``text`` as in the file, ``missing`` (empty), ``index`` (the code's
    position among the distinct codes, -1 if none) and ``status`` per row (CODE_OK, ...)."""

    text: pd.Series
    missing: np.ndarray
    index: np.ndarray
    status: np.ndarray


def check_indicator_column(findings: Findings, values: pd.Series, column: str, indicator: Indicator) -> None:
    """The optional indicator column must name the indicator being loaded."""
    text = as_text(values)
    given = text.str.strip()
    wrong = (~blank(text)) & (given != indicator.id).fillna(False).to_numpy(dtype=bool)
    findings.add(
        "wrong-indicator", wrong, column, text,
        joined("the row is for indicator '", given, f"', but this load is for '{indicator.id}'"),
        "load each indicator separately (filter the file to this indicator), "
        "or remove the indicator column",
    )


def check_codes(
    findings: Findings, values: pd.Series, column: str, indicator: Indicator, organisations: pd.DataFrame
) -> Codes:
    """Organisation codes: present, known, and of a level the indicator is loaded at."""
    codes = as_text(values)
    missing = blank(codes)
    findings.add("missing-value", missing, column, codes, "the organisation code is empty",
                 "enter the organisation's ODS code, or remove the row")
    index, status, reason, action = _judge_codes(codes, missing, indicator, organisations)
    findings.add("unknown-organisation", status == CODE_UNKNOWN, column, codes, reason, action)
    findings.add("wrong-level", status == CODE_WRONG_LEVEL, column, codes, reason, action)
    return Codes(codes, missing, index, status)


def _judge_codes(
    codes: pd.Series, missing: np.ndarray, indicator: Indicator, organisations: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the code's index among the distinct codes (-1 if empty), status (CODE_OK, CODE_UNKNOWN,
    CODE_WRONG_LEVEL), reason and action."""
    accepted = {Level(level).value for level in indicator.levels}
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
        status_u[i], reason_u[i], action_u[i] = _judge_code(
            str(code), indicator, accepted, levels_of, normalised
        )
    present = (index >= 0) & ~missing
    return (
        index,
        per_row(index, present, status_u, 0),
        per_row(index, present, reason_u, None),
        per_row(index, present, action_u, None),
    )


def _judge_code(
    code: str,
    indicator: Indicator,
    accepted: set[str],
    levels_of: dict[str, set[str]],
    normalised: dict[str, list[str]],
) -> tuple[int, str | None, str | None]:
    """One distinct code: (status, reason, action)."""
    accepted_text = " or ".join(_level_name(level) for level in sorted(accepted))
    levels = levels_of.get(code)
    if levels is None:
        reason = f"'{code}' is not a known organisation code"
        similar = normalised.get(re.sub(r"\s+", "", code).upper(), [])
        close = [c for c in similar if accepted & levels_of[c]] or similar
        if close:
            action = f"did you mean '{close[0]}'? Codes must match exactly (capitals, no spaces)"
            return CODE_UNKNOWN, reason, action
        return CODE_UNKNOWN, reason, (
            f"check the ODS code; this indicator takes {accepted_text} codes, and organisations "
            "closed before the reference data's date are not known"
        )
    if not (levels & accepted):
        name = _level_name(sorted(levels)[0])
        reason = (
            f"'{code}' is {_article(name)} {name} code, but indicator {indicator.id} is loaded at "
            f"{accepted_text} level"
        )
        return CODE_WRONG_LEVEL, reason, (
            f"give {accepted_text} codes only; figures for other levels are rolled up from them by Uptake"
        )
    return CODE_OK, None, None


def _level_name(level: str) -> str:
    names = {"icb": "ICB", "sub-icb": "sub-ICB", "pcn": "PCN", "isdn": "ISDN", "stroke-unit": "stroke unit",
             "practice": "GP practice"}
    return names.get(level, level)


def level_plural(level: str) -> str:
    """Organisations of a level, in a sentence: 'sub-ICB locations', 'GP practices'."""
    names = {"icb": "ICBs", "sub-icb": "sub-ICB locations", "pcn": "PCNs", "isdn": "ISDNs",
             "stroke-unit": "stroke units", "practice": "GP practices", "trust": "NHS trusts",
             "region": "NHS regions"}
    return names.get(level, level + "s")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" or word.startswith(("ICB", "ISDN")) else "a"


def check_counts(findings: Findings, values: pd.Series, column: str, field: str) -> Numbers:
    """A count (``field`` is numerator or denominator): present, a number, not negative."""
    parsed = Numbers(values)
    if parsed.missing.any():
        if field == "numerator":
            findings.add("missing-value", parsed.missing, column, None, "the numerator is empty",
                         "enter the count (0 if there were none), or remove the row if there is no data")
        else:
            findings.add("zero-denominator", parsed.missing, column, None, "the denominator is empty",
                         "enter the denominator; if the organisation had none in this period, remove the row")
    if parsed.not_number.any():
        text = parsed.text
        thousands = text.str.strip().str.match(_THOUSANDS).fillna(False)
        findings.add(
            "not-a-number", parsed.not_number, column, text,
            joined(f"the {field} '", text, "' is not a number",
                   np.where(parsed.non_finite, " (it reads as infinite or undefined, which no count can be)",
                            "")),
            np.where(
                thousands.to_numpy(dtype=bool),
                "remove the thousands separators (write 1234, not 1,234)",
                "enter a number such as 42 (digits only: no text, symbols or spaces)",
            ),
        )
    negative = np.nan_to_num(parsed.values, nan=0.0) < 0
    if negative.any():
        text = parsed.text
        findings.add("negative", negative, column, text, joined(f"the {field} is negative (", text, ")"),
                     "counts are zero or more: correct the value")
    return parsed


def check_ratio(
    findings: Findings,
    numerator: Numbers,
    denominator: Numbers,
    numerator_column: str,
    denominator_column: str,
    indicator: Indicator,
) -> None:
    """The denominator is not 0, and a proportion's numerator is not above its denominator."""
    zero = denominator.values == 0
    if zero.any():
        findings.add("zero-denominator", zero, denominator_column, denominator.text, "the denominator is 0",
                     "an organisation with a denominator of 0 has no value for this period: remove the row, "
                     "or correct the denominator")
    if indicator.measure != Measure.PROPORTION:
        return
    with np.errstate(invalid="ignore"):
        above = (numerator.values > denominator.values) & (denominator.values > 0) & (numerator.values >= 0)
    if above.any():
        findings.add(
            "numerator-above-denominator", above, numerator_column, numerator.text,
            joined("the numerator ", numerator.text, " is above the denominator ", denominator.text,
                   "; this indicator is a proportion, so the numerator counts part of the denominator"),
            "check the numerator and denominator are not swapped and are for the same organisation "
            "and period",
        )
