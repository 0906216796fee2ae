"""The spec cases quoted in docs/methods.md ("Spec cases") are the cases that run: every input table marked
``<!-- spec-case: ID -->`` holds exactly the rows of the case with that id.

Two layouts are quoted: long (organisation | month | numerator | denominator) and wide (organisation, then one
column per month, cells numerator/denominator).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

METHODS = Path(__file__).resolve().parents[2] / "docs" / "methods.md"
FAMILIES = ("values", "deciles", "funnel", "spc", "changes", "peers", "opportunity", "adoption", "equity")


def all_cases() -> dict:
    cases = {}
    for family in FAMILIES:
        cases.update(importlib.import_module(f"test_spec_{family}").SPEC.cases)
    return cases


def quoted_tables(text: str) -> dict[str, list[list[str]]]:
    section = text.split("\n## Spec cases\n", 1)[1]
    tables = {}
    for match in re.finditer(r"<!-- spec-case: ([a-z0-9-]+) -->\n((?:\|.*\|\n)+)", section):
        lines = [line.strip().strip("|").split("|") for line in match.group(2).splitlines()]
        rows = [[cell.strip() for cell in line] for line in lines if not set("".join(line)) <= set("-: ")]
        tables[match.group(1)] = rows
    return tables


def rows_of(table: list[list[str]]) -> list[tuple[str, str, float, float]]:
    header, *body = table
    assert header[0] == "organisation", header
    if header[1] == "month":
        return sorted((org, month, float(num), float(den)) for org, month, num, den in body)
    out = []
    for org, *cells in body:
        for month, cell in zip(header[1:], cells, strict=True):
            num, den = cell.split("/")
            out.append((org, month, float(num), float(den)))
    return sorted(out)


def test_the_quoted_inputs_are_the_cases_inputs() -> None:
    tables = quoted_tables(METHODS.read_text(encoding="utf-8"))
    cases = all_cases()
    assert len(tables) >= 10, sorted(tables)
    assert {case_id.split("-")[0] for case_id in tables} >= set(FAMILIES) - {"peers"}  # peers quote a hierarchy
    for case_id, table in tables.items():
        assert case_id in cases, f"docs/methods.md quotes {case_id}, which is not a spec case"
        want = sorted((org, month, float(num), float(den)) for org, month, num, den in cases[case_id].rows)
        assert rows_of(table) == want, f"docs/methods.md quotes {case_id} with other rows than the case has"


def test_the_section_names_every_module() -> None:
    text = METHODS.read_text(encoding="utf-8")
    for family in FAMILIES:
        assert f"test_spec_{family}.py" in text
        assert (Path(__file__).parent / f"test_spec_{family}.py").exists()
