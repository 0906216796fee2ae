"""Ingest: one test per validation rule (exact row and column), file formats, mapping, frames."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers_ingest import (
    GOOD_LINES,
    HEADER,
    make_catalogue,
    make_indicator,
    make_store,
    practice_organisations,
    write_csv,
    write_large_csv,
)

from uptake.analytics import AnalyticsStore
from uptake.errors import UptakeError
from uptake.ingest import IngestRejected, Problem, Problems, ingest_file, ingest_frame, parse_mapping

IND = "doac-share"


@pytest.fixture()
def store(tmp_path):
    return make_store(tmp_path / "ws")


@pytest.fixture()
def catalogue():
    return make_catalogue(
        make_indicator(),
        make_indicator(
            id="thrombolysis-rate", levels=["stroke-unit"], measure="rate", multiplier=1000, unit="per 1,000"
        ),
        make_indicator(id="cvd-quarterly", levels=["practice", "sub-icb"], period="quarter"),
        make_indicator(id="qof-yearly", levels=["practice"], period="year", year_start_month=4),
        make_indicator(id="narrow", first_period="2023-01-01", last_period="2023-12-01"),
    )


def rejected(store, catalogue, path, indicator=IND, **kwargs) -> list[Problem]:
    before = store.fingerprint()
    with pytest.raises(IngestRejected) as info:
        ingest_file(store, catalogue, path, indicator, loaded_by="tester", **kwargs)
    assert store.fingerprint() == before, "a rejected file must leave the store unchanged"
    assert "nothing was loaded" in str(info.value)
    return list(info.value.problems)


def only(problems: list[Problem], rule: str) -> list[Problem]:
    return [p for p in problems if p.rule == rule]


# ------------------------------------------------------------------------------------ file-level rules
def test_missing_required_columns_lists_found_columns_and_suggests_map(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,5"], header="Practice code,period,numerator")
    problems = rejected(store, catalogue, path)
    missing = only(problems, "missing-column")
    assert [(p.row, p.column) for p in missing] == [(1, "org_code"), (1, "denominator")]
    assert "'Practice code', 'period', 'numerator'" in missing[0].reason
    assert '--map "Practice code=org_code"' in missing[0].action
    assert "--map COLUMN=denominator" in missing[1].action
    assert len(problems) == 2  # rows are not checked when the columns are not there


def test_semicolon_separated_header_gets_a_hint(store, catalogue, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", ["00L;2024-01-01;5;10"], header="org_code;period;numerator;denominator"
    )
    problems = rejected(store, catalogue, path)
    assert all(p.rule == "missing-column" for p in problems)
    assert "separated by something other than commas" in problems[0].reason


def test_two_columns_for_one_field(store, catalogue, tmp_path):
    header = "org_code,org_code,period,numerator,denominator"
    path = write_csv(tmp_path / "f.csv", ["00L,01A,2024-01-01,5,10"], header=header)
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row, problem.column) == ("duplicate-column", 1, "org_code")
    assert "'org_code', 'org_code.1'" in problem.reason and '--map "org_code=org_code"' in problem.action
    header = "Org Code,org_code,period,numerator,denominator"
    path = write_csv(tmp_path / "g.csv", ["00L,01A,2024-01-01,5,10"], header=header)
    (problem,) = rejected(store, catalogue, path)
    assert problem.rule == "duplicate-column" and "'Org Code', 'org_code'" in problem.reason


def test_empty_file(store, catalogue, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row, problem.column) == ("empty-file", None, None)
    assert "empty" in problem.reason


def test_file_of_blank_lines(store, catalogue, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\n   \n\n")
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row) == ("empty-file", None)


def test_header_but_no_rows(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "header-only.csv", [])
    (problem,) = rejected(store, catalogue, path)
    assert problem.rule == "empty-file"
    assert "no data rows" in problem.reason


def test_undecodable_bytes_name_the_row_not_a_traceback(store, catalogue, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + "\n00L,2024-01-01,5,10\n").encode() + b"01A\xe9,2024-01-01,3,4\n" + b"02G,2024-01-01,1,2\n"
    )
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column) for p in problems] == [("undecodable", 3, "org_code")]
    assert "UTF-8" in problems[0].reason and "CSV UTF-8" in problems[0].action


def test_utf16_file_is_named_as_such(store, catalogue, tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes((HEADER + "\n00L,2024-01-01,5,10\n").encode("utf-16"))
    (problem,) = rejected(store, catalogue, path)
    assert problem.rule == "undecodable" and "UTF-16" in problem.reason


def test_row_with_extra_cells_is_reported_and_later_rows_keep_their_numbers(store, catalogue, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", ["00L,2024-01-01,5,10", "01A,2024-01-01,3,4,oops", "02G,2024-01-01,x,4"]
    )
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("malformed-row", 3, None),
        ("not-a-number", 4, "numerator"),
    ]


def test_blank_lines_are_skipped_but_counted(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,5,10", "", "01A,2024-01-01,-3,4", ""])
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row, problem.column) == ("negative", 4, "numerator")


# ------------------------------------------------------------------------------------- count rules
def test_non_numeric_count(store, catalogue, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", ["00L,2024-01-01,5,10", "01A,2024-01-01,five,10", "02G,2024-01-01,3,n/a"]
    )
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column, p.value) for p in problems] == [
        ("not-a-number", 3, "numerator", "five"),
        ("not-a-number", 4, "denominator", "n/a"),
    ]
    assert problems[0].reason == "the numerator 'five' is not a number"


def test_thousands_separator_gets_a_specific_action(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ['00L,2024-01-01,5,"1,000"'])
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row, problem.column) == ("not-a-number", 2, "denominator")
    assert "thousands separators" in problem.action


def test_negative_count(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,5,10", "01A,2024-01-01,-1,10"])
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row, problem.column, problem.value) == ("negative", 3, "numerator", "-1")


def test_numerator_above_denominator_for_a_proportion(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,11,10", "01A,2024-01-01,10,10"])
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row, problem.column) == ("numerator-above-denominator", 2, "numerator")
    assert "11" in problem.reason and "10" in problem.reason


def test_numerator_may_exceed_denominator_for_a_rate(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["RXX01,2024-01-01,11,10"])
    result = ingest_file(store, catalogue, path, "thrombolysis-rate", loaded_by="tester")
    assert result.rows == 1


def test_zero_or_missing_denominator(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,0,0", "01A,2024-01-01,3,", "02G,2024-01-01,3,4"])
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("zero-denominator", 2, "denominator"),
        ("zero-denominator", 3, "denominator"),
    ]
    assert problems[0].reason == "the denominator is 0"
    assert problems[1].reason == "the denominator is empty"


def test_missing_values(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", [",2024-01-01,5,10", "01A,,5,10", "02G,2024-01-01,,10"])
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("missing-value", 2, "org_code"),
        ("missing-value", 3, "period"),
        ("missing-value", 4, "numerator"),
    ]


# ------------------------------------------------------------------------------ organisation rules
def test_unknown_organisation_suggests_case_and_space_matches(store, catalogue, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", ["00l,2024-01-01,5,10", " 01A,2024-01-01,5,10", "ZZZ,2024-01-01,5,10"]
    )
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column, p.value) for p in problems] == [
        ("unknown-organisation", 2, "org_code", "00l"),
        ("unknown-organisation", 3, "org_code", " 01A"),
        ("unknown-organisation", 4, "org_code", "ZZZ"),
    ]
    assert "did you mean '00L'" in problems[0].action
    assert "did you mean '01A'" in problems[1].action
    assert "did you mean" not in problems[2].action


def test_organisation_of_the_wrong_level(store, catalogue, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", ["00L,2024-01-01,5,10", "QMJ,2024-01-01,5,10", "A81001,2024-01-01,1,2"]
    )
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("wrong-level", 3, "org_code"),
        ("wrong-level", 4, "org_code"),
    ]
    assert problems[0].reason == "'QMJ' is an ICB code, but indicator doac-share is loaded at sub-ICB level"
    assert "GP practice" in problems[1].reason


def test_indicator_with_two_levels_accepts_both(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,5,10", "A81001,2024-01-01,1,2"])
    assert ingest_file(store, catalogue, path, "cvd-quarterly", loaded_by="t").rows == 2


# ------------------------------------------------------------------------------------ period rules
def test_periods_that_do_not_parse(store, catalogue, tmp_path):
    lines = [
        "00L,Jan 2024,1,2", "01A,2024-13,1,2", "02G,2024-02-30,1,2", "93C,01/02/2024,1,2", "00L,2024-03,1,2"
    ]
    problems = rejected(store, catalogue, write_csv(tmp_path / "f.csv", lines))
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("bad-period", row, "period") for row in (2, 3, 4, 5)
    ]
    assert "YYYY-MM-DD" in problems[0].reason and "2024-04-01" in problems[0].action
    assert problems[2].reason == "'2024-02-30' is not a real date"
    assert problems[3].action == "write it as 2024-02-01 (YYYY-MM-DD)"


def test_periods_misaligned_or_out_of_range(store, catalogue, tmp_path):
    lines = ["00L,2024-01-15,1,2", "01A,2019-01-01,1,2", "02G,2099-01-01,1,2", "93C,2024-01-01,1,2"]
    problems = rejected(store, catalogue, write_csv(tmp_path / "f.csv", lines))
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("invalid-period", row, "period") for row in (2, 3, 4)
    ]
    assert "starts on the 1st" in problems[0].reason and "use 2024-01-01" in problems[0].action
    assert "before the indicator's first period 2019-04-01" in problems[1].reason
    assert "in the future" in problems[2].reason


def test_quarter_and_year_alignment(store, catalogue, tmp_path):
    problems = rejected(
        store, catalogue, write_csv(tmp_path / "q.csv", ["00L,2024-02-01,1,2"]), "cvd-quarterly"
    )
    assert [(p.rule, p.row) for p in problems] == [("invalid-period", 2)]
    assert "use 2024-01-01" in problems[0].action
    problems = rejected(
        store, catalogue, write_csv(tmp_path / "y.csv", ["A81001,2024-01-01,1,2"]), "qof-yearly"
    )
    assert "starts on 1 April" in problems[0].reason and "use 2023-04-01" in problems[0].action


def test_period_after_last_period(store, catalogue, tmp_path):
    (problem,) = rejected(store, catalogue, write_csv(tmp_path / "f.csv", ["00L,2024-01-01,1,2"]), "narrow")
    assert problem.rule == "invalid-period"
    assert "after the indicator's last period 2023-12-01" in problem.reason


# ------------------------------------------------------------------------------- duplicates, indicator
def test_duplicate_keys_name_both_rows(store, catalogue, tmp_path):
    lines = ["00L,2024-01-01,1,2", "01A,2024-01-01,1,2", "00L,2024-01,3,4", "00L,2024-02-01,1,2"]
    (problem,) = rejected(store, catalogue, write_csv(tmp_path / "f.csv", lines))
    assert (problem.rule, problem.row, problem.column) == ("duplicate", 4, "org_code, period")
    assert problem.reason == "the same organisation and period as row 2"


def test_indicator_column_must_match(store, catalogue, tmp_path):
    header = "indicator," + HEADER
    ok = write_csv(tmp_path / "ok.csv", ["doac-share,00L,2024-01-01,1,2"], header=header)
    assert ingest_file(store, catalogue, ok, IND, loaded_by="t").rows == 1
    bad = write_csv(
        tmp_path / "bad.csv", ["doac-share,00L,2024-02-01,1,2", "other,01A,2024-02-01,1,2"], header=header
    )
    (problem,) = rejected(store, catalogue, bad)
    assert (problem.rule, problem.row, problem.column, problem.value) == (
        "wrong-indicator", 3, "indicator", "other"
    )


# ------------------------------------------------------------------------ many problems, then fixed
FIVE_PROBLEMS = [
    "00L,2024-01-01,50,100",
    "01a,2024-01-01,30,40",  # row 3: unknown organisation (did you mean 01A)
    "02G,2024-01-01,abc,25",  # row 4: numerator not a number
    "93C,2024-01-01,60,50",  # row 5: numerator above denominator
    "00L,2024-02-01,55,0",  # row 6: zero denominator
    "01A,2024/02/01,31,40",  # row 7: period not readable
]
FIVE_FIXED = [
    "00L,2024-01-01,50,100",
    "01A,2024-01-01,30,40",
    "02G,2024-01-01,12,25",
    "93C,2024-01-01,40,50",
    "00L,2024-02-01,55,60",
    "01A,2024-02-01,31,40",
]


def test_five_problems_all_reported_then_the_corrected_file_loads(store, catalogue, tmp_path):
    baseline = ingest_file(
        store, catalogue, write_csv(tmp_path / "base.csv", ["02G,2023-12-01,1,2"]), IND, loaded_by="t"
    )
    before = store.fingerprint()
    problems = rejected(store, catalogue, write_csv(tmp_path / "five.csv", FIVE_PROBLEMS))
    assert [(p.row, p.column, p.rule) for p in problems] == [
        (3, "org_code", "unknown-organisation"),
        (4, "numerator", "not-a-number"),
        (5, "numerator", "numerator-above-denominator"),
        (6, "denominator", "zero-denominator"),
        (7, "period", "bad-period"),
    ]
    assert all(p.reason and p.action for p in problems)
    assert store.fingerprint() == before
    assert [b.batch_id for b in store.batches()] == [baseline.batch_id]

    result = ingest_file(store, catalogue, write_csv(tmp_path / "fixed.csv", FIVE_FIXED), IND, loaded_by="t")
    assert (result.rows, result.periods) == (6, (dt.date(2024, 1, 1), dt.date(2024, 2, 1)))
    assert len(store.observations_current(IND)) == 7


# ------------------------------------------------------------------------------------ other formats
def _write_xlsx(path, rows, *, sheet_title="Data", extra_sheet_first=False):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if extra_sheet_first:
        sheet.title = "Notes"
        sheet.append(["These notes are not data"])
        sheet = workbook.create_sheet(sheet_title)
    else:
        sheet.title = sheet_title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_excel_loads_with_typed_cells(store, catalogue, tmp_path):
    path = _write_xlsx(
        tmp_path / "f.xlsx",
        [
            ["org_code", "period", "numerator", "denominator"],
            ["00L", dt.datetime(2024, 1, 1), 50, 100],
            ["01A", "2024-01", 30.0, 40],
        ],
    )
    result = ingest_file(store, catalogue, path, IND, loaded_by="t")
    assert (result.rows, result.periods) == (2, (dt.date(2024, 1, 1),))
    current = store.observations_current(IND)
    assert current["numerator"].tolist() == [50.0, 30.0]


def test_excel_problems_use_sheet_row_numbers_and_sheet_option(store, catalogue, tmp_path):
    rows = [
        ["org_code", "period", "numerator", "denominator"],
        ["00L", "2024-01-01", 5, 10],
        [None, None, None, None],
        ["01A", "2024-01-01", "#DIV/0!", 10],
    ]
    path = _write_xlsx(tmp_path / "f.xlsx", rows, extra_sheet_first=True)
    problems = rejected(store, catalogue, path, sheet="Data")
    assert [(p.rule, p.row, p.column, p.value) for p in problems] == [
        ("not-a-number", 4, "numerator", "#DIV/0!")
    ]
    # the first sheet (notes) has no usable columns
    problems = rejected(store, catalogue, path)
    assert {p.rule for p in problems} == {"missing-column", "empty-file"}
    (problem,) = rejected(store, catalogue, path, sheet="Nope")
    assert problem.rule == "unreadable" and "'Notes', 'Data'" in problem.action


def test_parquet_loads_with_typed_columns(store, catalogue, tmp_path):
    path = tmp_path / "f.parquet"
    table = pa.table(
        {
            "org_code": ["00L", "01A"],
            "period": pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 1)], pa.date32()),
            "numerator": pa.array([5, 3], pa.int64()),
            "denominator": pa.array([10.0, 4.0], pa.float64()),
        }
    )
    pq.write_table(table, path)
    result = ingest_file(store, catalogue, path, IND, loaded_by="t")
    assert result.rows == 2 and result.periods == (dt.date(2024, 1, 1),)


def test_parquet_problems(store, catalogue, tmp_path):
    path = tmp_path / "f.parquet"
    pq.write_table(
        pa.table({"org_code": ["00L", "01A"], "period": ["2024-01-01", "2024-01-01"], "numerator": [5, -3],
                  "denominator": [10, 4]}),
        path,
    )
    (problem,) = rejected(store, catalogue, path)
    assert (problem.rule, problem.row, problem.column, problem.value) == ("negative", 3, "numerator", "-3")


def test_map_columns(store, catalogue, tmp_path):
    path = write_csv(
        tmp_path / "f.csv",
        ["00L,2024-01,50,100", "01A,2024-01,30,40"],
        header="Sub ICB,Month,DOAC items,All items",
    )
    problems = rejected(store, catalogue, path)
    assert {p.column for p in problems} == {"org_code", "period", "numerator", "denominator"}
    mapping = ["Sub ICB=org_code", "Month=period", "DOAC items=numerator", "All items=denominator"]
    result = ingest_file(store, catalogue, path, IND, mapping=mapping, loaded_by="t")
    assert result.rows == 2
    recorded = store.batch(result.batch_id).mapping
    assert recorded["columns"]["org_code"] == "Sub ICB"
    assert recorded["map"]["DOAC items"] == "numerator"


def test_map_problems_report_the_mapped_column_name(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01,x,100"], header="Sub ICB,period,Items,denominator")
    problems = rejected(store, catalogue, path, mapping={"Sub ICB": "org_code", "Items": "numerator"})
    assert [(p.rule, p.row, p.column) for p in problems] == [("not-a-number", 2, "Items")]
    problems = rejected(store, catalogue, path, mapping={"Sub-ICB code": "org_code", "Items": "numerator"})
    assert [(p.rule, p.column) for p in problems] == [("bad-mapping", "Sub-ICB code")]


def test_parse_mapping_errors():
    assert parse_mapping(["A=b=org_code"]) == {"A=b": "org_code"}
    with pytest.raises(UptakeError, match="not a field"):
        parse_mapping(["A=organisation"])
    with pytest.raises(UptakeError, match="not COLUMN=FIELD"):
        parse_mapping(["A"])
    with pytest.raises(UptakeError, match="two columns for org_code"):
        parse_mapping(["A=org_code", "B=org_code"])


def test_utf8_bom_is_accepted(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "bom.csv", GOOD_LINES, encoding="utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert ingest_file(store, catalogue, path, IND, loaded_by="t").rows == 5


def test_header_names_ignore_case_and_spaces(store, catalogue, tmp_path):
    path = write_csv(tmp_path / "f.csv", GOOD_LINES, header=" Org Code ,PERIOD,Numerator,denominator")
    assert ingest_file(store, catalogue, path, IND, loaded_by="t").rows == 5


# ------------------------------------------------------------------------------------------- frames
def test_ingest_frame_validates_like_a_file(store, catalogue):
    frame = pd.DataFrame(
        {
            "org_code": ["00L", "01A", "ZZZ"],
            "period": ["2024-01-01"] * 3,
            "numerator": [1, 2, 3],
            "denominator": [2, 4, 6],
        }
    )
    with pytest.raises(IngestRejected) as info:
        ingest_frame(store, catalogue, frame, IND, source="demo: NHSBSA EPD", loaded_by="demo")
    assert [(p.rule, p.row, p.column) for p in info.value.problems] == [
        ("unknown-organisation", 4, "org_code")
    ]
    good = frame.iloc[:2]
    result = ingest_frame(
        store, catalogue, good, IND, source="demo: NHSBSA EPD", name="epd-2024-01", loaded_by="demo"
    )
    assert (result.rows, result.file_name, result.no_op) == (2, "epd-2024-01", False)
    batch = store.batch(result.batch_id)
    assert batch.source == "demo: NHSBSA EPD" and len(batch.file_sha256) == 64
    again = ingest_frame(store, catalogue, good.copy(), IND, source="demo: NHSBSA EPD", loaded_by="demo")
    assert again.no_op and again.batch_id == result.batch_id


def test_frame_with_dates_and_numbers(store, catalogue):
    frame = pd.DataFrame(
        {
            "org_code": ["00L", "01A"],
            "period": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "numerator": [1.0, 2.0],
            "denominator": [2, 4],
        }
    )
    result = ingest_frame(store, catalogue, frame, IND, source="s", loaded_by="t")
    assert result.periods == (dt.date(2024, 1, 1), dt.date(2024, 2, 1))


# ----------------------------------------------------------------------------------- reporting, misc
def test_problems_are_counted_in_full_and_written_in_full(store, catalogue, tmp_path):
    lines = [f"00L,2024-01-01,{-i - 1},10" for i in range(500)]
    with pytest.raises(IngestRejected) as info:
        ingest_file(store, catalogue, write_csv(tmp_path / "f.csv", lines), IND, loaded_by="t")
    problems = info.value.problems
    assert isinstance(problems, Problems)
    assert problems.counts() == {"negative": 500, "duplicate": 499}
    sample = problems.sample(20)
    assert len(sample) == 40 and [p.row for p in sample if p.rule == "negative"] == list(range(2, 22))
    report = problems.to_csv(tmp_path / "report.csv")
    written = pd.read_csv(report, encoding="utf-8-sig")
    assert len(written) == 999 and list(written.columns) == [
        "row", "column", "value", "reason", "action", "rule"
    ]


def test_progress_is_reported(store, catalogue, tmp_path):
    calls = []
    path = write_csv(tmp_path / "f.csv", GOOD_LINES)
    ingest_file(store, catalogue, path, IND, loaded_by="t", progress=lambda s, d, t: calls.append((s, d, t)))
    stages = [c[0] for c in calls]
    for stage in ("checksum", "read", "validate", "load"):
        assert stage in stages
    assert calls[-1] == ("load", 5, 5)


def test_unknown_indicator_and_missing_file(store, catalogue, tmp_path):
    with pytest.raises(UptakeError, match="unknown indicator 'nope'"):
        ingest_file(store, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES), "nope", loaded_by="t")
    with pytest.raises(UptakeError, match="there is no file"):
        ingest_file(store, catalogue, tmp_path / "absent.csv", IND, loaded_by="t")
    with pytest.raises(UptakeError, match=r"\.xls workbooks"):
        (tmp_path / "old.xls").write_bytes(b"x")
        ingest_file(store, catalogue, tmp_path / "old.xls", IND, loaded_by="t")


def test_store_without_organisations_says_run_init(catalogue, tmp_path):
    store = AnalyticsStore(tmp_path / "new" / "uptake.duckdb")
    with pytest.raises(UptakeError, match="run `uptake init` or `uptake demo` first"):
        ingest_file(store, catalogue, write_csv(tmp_path / "f.csv", GOOD_LINES), IND, loaded_by="t")


@pytest.mark.slow
def test_two_million_rows_validate_and_load_quickly(tmp_path, catalogue):
    indicator = make_indicator(id="practice-monthly", levels=["practice"], first_period="2000-01-01")
    catalogue = make_catalogue(indicator)
    store = make_store(tmp_path / "ws", practice_organisations(10_000))
    path = tmp_path / "big.csv"
    rows = write_large_csv(path, 10_000, 200)
    started = time.perf_counter()
    result = ingest_file(store, catalogue, path, indicator.id, loaded_by="t")
    elapsed = time.perf_counter() - started
    assert result.rows == rows == 2_000_000
    assert elapsed < 60, f"2M rows took {elapsed:.1f}s"
    print(f"\n2,000,000-row CSV validated and loaded in {elapsed:.1f}s")
