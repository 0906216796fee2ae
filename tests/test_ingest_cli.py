"""The `uptake ingest` and `uptake batches` commands (run through the stand-alone Typer app)."""

from __future__ import annotations

import importlib

import pandas as pd
import pytest
from helpers_ingest import GOOD_LINES, make_catalogue, make_indicator, make_store, write_csv
from typer.testing import CliRunner

#: the module (``uptake.cli`` itself exports the ``ingest`` command function under the same name)
cli = importlib.import_module("uptake.cli.ingest")
runner = CliRunner()
WIDE = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    root = tmp_path / "ws"
    store = make_store(root)
    assert store.path == root / "analytics" / "uptake.duckdb"  # Workspace.analytics_path
    monkeypatch.setattr(cli, "load_catalogue", lambda: make_catalogue(make_indicator()))
    return root


def run(*args):
    return runner.invoke(cli.app, [str(a) for a in args], env=WIDE)


def test_rejection_prints_every_problem_and_exits_1(workspace, tmp_path):
    path = write_csv(
        tmp_path / "bad.csv", ["00L,2024-01-01,50,100", "01a,2024-01-01,30,40", "02G,2024-01-01,x,25"]
    )
    report = tmp_path / "problems.csv"
    result = run("ingest", path, "--indicator", "doac-share", "--workspace", workspace, "--report", report)
    assert result.exit_code == 1, result.output
    out = result.output
    assert "2 problem(s) found" in out
    assert "did you mean '00L'" not in out and "did you mean '01A'" in out
    assert "the numerator 'x' is not a number" in out
    assert "unknown-organisation" in out and "not-a-number" in out
    assert "Nothing was loaded." in out
    written = pd.read_csv(report, encoding="utf-8-sig")
    assert written[["row", "column", "rule"]].values.tolist() == [
        [3, "org_code", "unknown-organisation"],
        [4, "numerator", "not-a-number"],
    ]


def test_many_problems_are_capped_in_the_table_and_counted(workspace, tmp_path):
    lines = [f"ZZ{i},2024-01-01,1,2" for i in range(30)]
    result = run("ingest", write_csv(tmp_path / "bad.csv", lines), "-i", "doac-share", "-w", workspace)
    assert result.exit_code == 1
    assert result.output.count("is not a known organisation code") == cli.SHOWN_PER_RULE
    assert "Add --report problems.csv to list all 30 problems." in result.output


def test_success_prints_batch_rows_periods_and_replaced(workspace, tmp_path):
    first = run("ingest", write_csv(tmp_path / "v1.csv", GOOD_LINES), "-i", "doac-share", "-w", workspace,
                "--source", "EPD January", "--loaded-by", "j.smith")
    assert first.exit_code == 0, first.output
    assert "Loaded batch 1" in first.output and "rows" in first.output
    assert "2024-01-01, 2024-02-01" in first.output
    again = run("ingest", tmp_path / "v1.csv", "-i", "doac-share", "-w", workspace)
    assert again.exit_code == 0 and "already loaded as batch 1" in " ".join(again.output.split())
    second = run("ingest", write_csv(
        tmp_path / "v2.csv", ["Sub ICB,Month,n,d", "00L,2024-01,1,2"], header=None
    ),
                 "-i", "doac-share", "-w", workspace, "--map", "Sub ICB=org_code", "--map", "Month=period",
                 "--map", "n=numerator", "--map", "d=denominator")
    assert second.exit_code == 0, second.output
    assert "Loaded batch 2" in second.output and "2024-01-01 (was batch 1)" in second.output

    listing = run("batches", "-w", workspace)
    assert listing.exit_code == 0
    assert "EPD January" in listing.output and "j.smith" in listing.output
    assert "1/2" in listing.output and "1/1" in listing.output  # batch 1 is current for 1 of its 2 periods
    assert "No batches loaded for other." in run("batches", "-i", "other", "-w", workspace).output


def test_workspace_without_organisations(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "load_catalogue", lambda: make_catalogue(make_indicator()))
    result = run(
        "ingest", write_csv(tmp_path / "f.csv", GOOD_LINES), "-i", "doac-share", "-w", tmp_path / "empty"
    )
    assert result.exit_code == 1
    assert "run `uptake init` or `uptake demo` first" in " ".join(result.output.split())


def test_usage_errors_are_readable(workspace, tmp_path):
    result = run("ingest", write_csv(tmp_path / "f.csv", GOOD_LINES), "-i", "doac-share", "-w", workspace,
                 "--map", "Practice=practice")
    assert result.exit_code == 1 and "'practice' is not a field" in " ".join(result.output.split())
    result = run("ingest", tmp_path / "f.csv", "-i", "nope", "-w", workspace)
    assert result.exit_code == 1 and "unknown indicator 'nope'" in result.output
