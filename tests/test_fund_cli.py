"""``uptake fund`` through the real root app: an ICB's analyst applies from a YAML file and submits, the
operator (national admin) approves and allocates, writing CSV and Excel; bad input (an unknown organisation,
a negative cost, years outside the fund's NSF period, a budget over the fund) is a user error with a clear
message, and changes nothing."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from uptake.catalogue import load_catalogue
from uptake.cli import app
from uptake.reference import load_reference
from uptake.store import add_user, make_engine, session_scope, sync_catalogue, sync_reference, upgrade
from uptake.store.fund_models import FundApplication
from uptake.store.models import AuditEvent
from uptake.workspace import Workspace

runner = CliRunner()
LEAD = "lead@qe1.example"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("fund") / "ws").ensure()
        upgrade(ws.database_url)
        engine = make_engine(ws.database_url)
        reference = load_reference()
        with session_scope(engine) as session:
            sync_reference(session, reference.organisations, reference.relationships, actor="system")
            sync_catalogue(session, load_catalogue(), actor="system")
            add_user(session, LEAD, "Lead", "icb-analyst", "QE1", actor="test")
        engine.dispose()
        yield ws


def _count(ws: Workspace, model) -> int:
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            return session.scalar(select(func.count()).select_from(model))
    finally:
        engine.dispose()


APPLICATION = {"org_code": "QE1", "innovation_id": "doacs", "title": "DOACs in the North East",
               "first_year": 2026, "last_year": 2027, "implementation_costs": [1_500_000, 500_000, 0, 0],
               "double_running_costs": [200_000, 0, 0, 0], "decommissioning_costs": [0, 80_000, 0, 0],
               "benefit": 11.0, "benefit_low": 7.0, "benefit_high": 15.0, "benefit_source": "outcome-model",
               "benefit_reference": "cardiovascular-disease/anticoagulation-doacs"}


def _run(ws: Workspace, *args: str):
    return runner.invoke(app, ["fund", *args, "--workspace", str(ws.root)])


def test_apply_submit_approve_and_allocate(workspace, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    source = tmp_path / "application.yaml"
    source.write_text(yaml.safe_dump(APPLICATION), encoding="utf-8")
    result = _run(workspace, "apply", "--from", str(source), "--as", LEAD)
    assert result.exit_code == 0, result.stderr
    app_id = result.stdout.split()[1].rstrip(":")
    assert _run(workspace, "submit", app_id, "--as", LEAD).exit_code == 0
    refused = _run(workspace, "approve", app_id, "--as", LEAD)
    assert refused.exit_code == 1 and "national reviewer" in refused.stderr
    assert "now approved" in _run(workspace, "approve", app_id).stdout
    listed = _run(workspace, "list")
    assert "DOACs in the North East" in listed.stdout and "£2,280,000" in listed.stdout
    out = tmp_path / "out"
    result = _run(workspace, "allocate", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert "1 of 1" in result.stdout and "2026/27" in result.stdout
    decisions = pd.read_csv(out / "fund-allocation-decisions.csv")
    assert decisions.loc[0, "funded"] and decisions.loc[0, "explanation"]
    assert sorted(pd.ExcelFile(out / "fund-allocation.xlsx").sheet_names) == ["decisions", "summary", "years"]
    assert _count(workspace, AuditEvent) > 0


@pytest.mark.parametrize("changes, words", [
    ({"org_code": "QZZ9"}, "unknown organisation 'QZZ9'"),
    ({"implementation_costs": [-1, 0, 0, 0]}, "negative"),
    ({"first_year": 2031}, "outside the fund's NSF period 2026/27 to 2029/30"),
])
def test_bad_applications_are_user_errors_and_save_nothing(workspace, tmp_path, monkeypatch, changes, words) -> None:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    before = _count(workspace, FundApplication)
    source = tmp_path / "bad.yaml"
    source.write_text(yaml.safe_dump({**APPLICATION, **changes}), encoding="utf-8")
    result = _run(workspace, "apply", "--from", str(source), "--as", LEAD)
    assert result.exit_code == 1 and words in result.stderr and "nothing saved" in result.stderr, result.stderr
    assert _count(workspace, FundApplication) == before


@pytest.mark.parametrize("args, words", [
    (["--budget", "3e9,3e9,3e9,3e9"], "over the fund's"),
    (["--budget", "1e9,1e9"], "give 4 yearly budgets"),
    (["--deprived-share", "1.5"], "between 0 and 1"),
    (["--budget", "lots"], "not a comma-separated list"),
])
def test_a_bad_fund_is_refused_before_anything_runs(workspace, monkeypatch, args, words) -> None:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    before = _count(workspace, AuditEvent)
    result = _run(workspace, "allocate", *args)
    assert result.exit_code == 1 and words in result.stderr, result.stderr
    assert _count(workspace, AuditEvent) == before
