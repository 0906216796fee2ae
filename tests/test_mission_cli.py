"""The mission's commands end to end on a small workspace: nsf, ratings, export ratings, plans, assessments
(each module's register() adds them to a Typer app here, as uptake.cli adds them to the root app)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from test_mission_plans import JUSTIFICATION, PLAN
from test_mission_support import mission_workflow, small_store
from typer.testing import CliRunner

from uptake.cli import assessments, export, nsf, plans, ratings
from uptake.store import add_user, make_engine, session_scope, upgrade


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    ws = tmp_path / "ws"
    (ws / "analytics").mkdir(parents=True)
    small_store(ws / "analytics" / "uptake.duckdb")
    url = f"sqlite:///{ws / 'workflow.sqlite'}"
    upgrade(url)
    engine = mission_workflow(make_engine(url))
    with session_scope(engine) as session:
        add_user(session, "analyst@alpha.nhs.uk", "Alpha analyst", "icb-analyst", "QAA", actor="test")
        add_user(session, "reviewer@england.nhs.uk", "Reviewer", "national-admin", actor="test")
    engine.dispose()
    return ws


def app() -> typer.Typer:
    root = typer.Typer()
    for module in (nsf, ratings, plans, assessments, export):
        module.register(root)
    return root


def run(workspace: Path, *args: str) -> str:
    result = CliRunner().invoke(app(), [*args, "--workspace", str(workspace)])
    assert result.exit_code == 0, f"{args}: {result.output} {result.exception!r}"
    return result.output


def fails(workspace: Path, *args: str, code: int = 1) -> str:
    """The error message of a command refused with exit code 1 (a user error) or 2 (a usage error)."""
    result = CliRunner().invoke(app(), [*args, "--workspace", str(workspace)])
    assert result.exit_code == code, f"{args}: {result.output} {result.exception!r}"
    assert "error:" in result.output
    return result.output


def test_ratings_compute_review_publish_list_explain_export(workspace: Path) -> None:
    assert "stroke\tNational Service Framework for Stroke\tv1\tpublished" in run(workspace, "nsf", "list")
    out = run(workspace, "ratings", "compute")
    assert "49 ratings" in out and "Review them" in out
    assert run(workspace, "ratings", "list").strip() == ""  # nothing published yet
    assert "may not compute ratings" in fails(workspace, "ratings", "compute", "--as", "analyst@alpha.nhs.uk")
    assert "49 ratings reviewed" in run(workspace, "ratings", "review", "--as", "reviewer@england.nhs.uk")
    assert "49 ratings published" in run(workspace, "ratings", "publish")
    lines = run(workspace, "ratings", "list", "--level", "stroke-unit").splitlines()
    assert len(lines) == 36 and lines[0].startswith("U01\tstroke-unit\t2019-04-01\toutstanding\tpublished")
    assert "inadequate, by rule decertification-watch" in run(workspace, "ratings", "explain", "U05",
                                                                 "--period", "2021-04-01")
    assert "U05\tstroke-unit\tstroke/thrombolysis" in run(workspace, "ratings", "watch-list")
    assert "U11\tstroke-unit" in run(workspace, "ratings", "missed-opportunities", "--level", "stroke-unit")
    for fmt in ("csv", "parquet", "json"):
        assert "Wrote 49 ratings" in run(workspace, "export", "ratings", "--format", fmt)
    frame = pd.read_csv(workspace / "exports" / "ratings.csv")
    assert {"org_code", "level", "period", "rating", "trace"} <= set(frame.columns)
    assert json.loads(frame["trace"].iloc[0])["rule_set"]["id"] == "innovation-ratings"
    assert "--format must be one of" in fails(workspace, "export", "ratings", "--format", "xml", code=2)
    stdout = run(workspace, "export", "ratings", "--format", "json", "--output", "-", "--level", "stroke-unit")
    assert len(json.loads(stdout)) == 36
    # other tables go to the pipeline's export
    values = CliRunner().invoke(app(), ["export", "values", "--indicator", "thrombolysis-rate", "--level",
                                        "stroke-unit", "--workspace", str(workspace)])
    assert "U05" in values.output or values.exit_code != 0


def test_plans_from_filing_to_publication(workspace: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(PLAN))
    justification = tmp_path / "justification.yaml"
    justification.write_text(yaml.safe_dump(JUSTIFICATION))
    analyst, reviewer = ("--as", "analyst@alpha.nhs.uk"), ("--as", "reviewer@england.nhs.uk")
    assert "only an ICB analyst" in fails(workspace, "plans", "file", "stroke", "thrombolysis", "QAA",
                                          "--from", str(plan))
    assert "filing 1: plan of QAA" in run(workspace, "plans", "file", "stroke", "thrombolysis", "QAA", "--from",
                                          str(plan), *analyst)
    run(workspace, "plans", "submit", "1", *analyst)
    assert "1\tQAA\tstroke/thrombolysis\tplan\tsubmitted" in run(workspace, "plans", "queue")
    run(workspace, "plans", "challenge", "1", "--comment", "Fund the second year.", *reviewer)
    run(workspace, "plans", "file", "stroke", "thrombolysis", "QAA", "--from", str(justification), "--kind",
        "justification", *analyst)
    run(workspace, "plans", "resubmit", "1", *analyst)
    run(workspace, "plans", "accept", "1", *reviewer)
    assert "is now published" in run(workspace, "plans", "publish", "1", *reviewer)
    shown = run(workspace, "plans", "show", "1", "--as", "analyst@alpha.nhs.uk")
    assert "justification of QAA" in shown and "challenge" in shown and "Fund the second year." in shown
    assert "1\tQAA\tstroke/thrombolysis\tjustification\tpublished" in run(workspace, "plans", "list")
    missing = run(workspace, "plans", "missing")
    assert "QAA\tstroke/thrombolysis" not in missing and "QBB\tstroke/thrombolysis\tnothing" in missing


def test_assessments_and_gaps(workspace: Path, tmp_path: Path) -> None:
    out = run(workspace, "assessments", "add", "--innovation", "thrombolysis", "--body", "NICE", "--decision",
              "recommended", "--date", "2012-09-26", "--reference", "TA264")
    assert "due everywhere by 2012-12-25" in out
    out = run(workspace, "assessments", "add", "--innovation", "thrombolysis", "--body", "Alpha committee",
              "--scope", "local", "--org", "QAA", "--decision", "optimised", "--date", "2014-01-01", "--icer", "12000",
              "--threshold", "20000", "--as", "analyst@alpha.nhs.uk")
    assert "DUPLICATE: thrombolysis was assessed nationally by NICE (TA264)" in out
    assert "ICER 12,000/QALY" in run(workspace, "assessments", "list")
    assert "duplicates NICE TA264" in run(workspace, "assessments", "duplicates")
    gaps = run(workspace, "assessments", "gaps")
    assert "U05\tlow uptake" in gaps and "U01\t" not in gaps
    run(workspace, "assessments", "gaps", "--all", "--output", str(tmp_path / "gaps.json"), "--format", "json")
    assert {row["org_code"] for row in json.loads((tmp_path / "gaps.json").read_text())} >= {"U01", "U05"}
    assert "--date must be a date" in fails(workspace, "assessments", "add", "--innovation", "doacs", "--body", "NICE",
                                            "--decision", "recommended", "--date", "yesterday", code=2)
