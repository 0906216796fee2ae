"""The command line of the award, leads and time to innovate, on the mission's small world: each command does
its job, a bad record is a user error (exit 1) naming its fields and changes nothing, a bad --format a usage
error (exit 2)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecosystem_support import small_world
from uptake.cli import app
from uptake.workspace import Workspace

runner = CliRunner()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    workspace = Workspace(root=tmp_path_factory.mktemp("eco-cli") / "ws").ensure()
    engine, _ = small_world(workspace)
    engine.dispose()
    return workspace


def run(ws, *args: str, code: int = 0):
    result = runner.invoke(app, [*args, "--workspace", str(ws.root)])
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def test_award_commands(ws, tmp_path) -> None:
    assert "already loaded" in run(ws, "award", "load-scheme").stdout
    bad = run(ws, "award", "nominate", "--name", "X", "--org", "NOPE", "--commitment", "stroke/thrombolysis",
              "--evidence", "short", code=1)
    assert "org_code: There is no organisation NOPE" in bad.stderr and "evidence:" in bad.stderr
    for code in ("U01", "U05", "U11"):
        run(ws, "award", "nominate", "--name", f"Team {code}", "--org", code, "--commitment", "stroke/thrombolysis",
            "--evidence", "A door-to-needle protocol, audited monthly.", "--sex", "female")
    scores = run(ws, "award", "scores").stdout.splitlines()
    assert len(scores) == 3 and scores[0].split("\t")[2] == "Team U01"
    out = tmp_path / "scores.csv"
    run(ws, "award", "scores", "--output", str(out))
    frame = pd.read_csv(out)
    assert "status met" in frame.loc[frame["org_code"] == "U01", "attainment_source"].iloc[0]
    run(ws, "award", "scores", "--output", str(out), "--format", "docx", code=2)
    assert "awarded" in run(ws, "award", "decide").stdout
    fairness = run(ws, "award", "fairness").stdout
    assert fairness.startswith("awards decided; 3 nominations") and "sex\tfemale\t" in fairness


def test_leads_commands(ws, tmp_path) -> None:
    run(ws, "leads", "add", "--org", "ZZ9", "--name", "A", "--job-title", "B", "--since", "2024-01-01", code=1)
    added = run(ws, "leads", "add", "--org", "U01", "--name", "Dr A", "--job-title", "Consultant", "--since",
                "2024-01-01").stdout
    lead_id = added.split(":")[0].split()[-1]
    out = run(ws, "leads", "contribute", lead_id, "--kind", "taught", "--innovation", "thrombolysis",
              "--commitment", "stroke/thrombolysis", "--peer", "U05", "--description", "Taught U05.",
              "--date", "2024-06-01").stdout
    assert "SPREAD-3, SPREAD-4" in out
    assert "Dr A" in run(ws, "leads", "list").stdout
    target = tmp_path / "folio.xlsx"
    run(ws, "leads", "portfolio", lead_id, "--output", str(target), "--format", "xlsx")
    assert target.read_bytes()[:2] == b"PK"


def test_time_commands(ws) -> None:
    bad = run(ws, "time-to-innovate", "record", "--org", "U01", "--year", "2025-04-01", "--staff", "-5",
              "--staff-source", "NWS", "--planned-share", "20", "--planned-hours", "50", code=1)
    assert "staff_fte:" in bad.stderr and "planned_hours:" in bad.stderr
    assert "No time to innovate recorded." in run(ws, "time-to-innovate", "list").stdout
    run(ws, "time-to-innovate", "record", "--org", "U01", "--year", "2025-04-01", "--staff", "1000",
        "--staff-source", "NWS June 2025", "--planned-share", "20", "--planned-hours", "7.5")
    assert "planned £1,646,000" in run(ws, "time-to-innovate", "list").stdout  # 1000 * 0.2 * 0.2 * 41,150
    national = runner.invoke(app, ["time-to-innovate", "national-cost"])
    assert national.exit_code == 0 and "£1.72bn a year" in national.stdout
