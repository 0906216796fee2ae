"""``uptake simulate`` through the real root app on the real DOAC series: two scenarios compared with the base,
tables written as CSV and Excel; a bad scenario is a user error and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from uptake.models.simulation.example import doac_store
from uptake.cli import app
from uptake.store import upgrade
from uptake.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("simulate") / "ws").ensure()
        doac_store(ws.analytics_path)
        upgrade(ws.database_url)
        yield ws


def _write(path: Path, **scenario) -> Path:
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return path


def test_simulate_compares_scenarios_with_the_base(workspace, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    fund = _write(tmp_path / "fund.yaml", name="Fund the North East", indicator="doac-share", level="sub-icb",
                  months=30, runs=20, seed=5, levers=[{"lever": "fund", "where": ["all"], "from": "2022-10",
                                                       "to": "2024-09", "pounds": 200_000_000}])
    mission = _write(tmp_path / "mission.yaml", name="Mission mode", indicator="doac-share", level="sub-icb",
                     months=30, runs=20, levers=[{"lever": "mission-mode", "from": "2022-10", "to": "2023-09"}])
    out = tmp_path / "out"
    result = runner.invoke(app, ["simulate", str(fund), str(mission), "--workspace", str(workspace.root),
                                 "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "Fund the North East" in result.stdout and "Mission mode" in result.stdout
    assert "chance of meeting the deadline 2025-03-31" in result.stdout
    assert "cost per life saved" in result.stdout
    summary = pd.read_csv(out / "fund-the-north-east-summary.csv")
    assert summary.loc[0, "cost_pounds_mean"] >= 200_000_000 and summary.loc[0, "lives_mean"] > 0
    targets = pd.read_csv(out / "mission-mode-targets.csv")
    assert set(targets["arm"]) == {"base", "scenario"}
    assert sorted(pd.ExcelFile(out / "mission-mode.xlsx").sheet_names) == ["organisations", "summary", "targets",
                                                                          "trajectories"]


def test_a_bad_scenario_is_a_user_error_and_nothing_runs(workspace, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    bad = _write(tmp_path / "bad.yaml", name="Bad", indicator="doac-share", level="sub-icb", months=12, runs=5,
                 levers=[{"lever": "fund", "where": ["NOT-AN-ORG"], "from": "2022-10", "to": "2023-03",
                          "pounds": 1000}])
    out = tmp_path / "out"
    result = runner.invoke(app, ["simulate", str(bad), "--workspace", str(workspace.root), "--output", str(out)])
    assert result.exit_code == 1
    assert "unknown organisation 'NOT-AN-ORG'" in result.stderr
    assert not out.exists()
    negative = _write(tmp_path / "neg.yaml", name="Neg", indicator="doac-share", level="sub-icb",
                      levers=[{"lever": "incentive", "where": ["all"], "from": "2022-10", "to": "2023-03",
                               "pounds_per_point": -1}])
    result = runner.invoke(app, ["simulate", str(negative), "--workspace", str(workspace.root)])
    assert result.exit_code == 1 and "negative" in result.stderr


def test_the_documented_example_scenario_is_valid() -> None:
    from uptake.models.simulation import load_scenario

    example = load_scenario(Path(__file__).parents[1] / "docs" / "scenarios" / "doac-fund-north-east.yaml")
    assert example.level == "practice" and example.runs == 1000 and example.months == 120
    assert [lever.kind for lever in example.levers] == ["fund", "ringfenced-time"]
