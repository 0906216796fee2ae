"""``uptake pathway``: the model run now, national table with intervals and SAMueL's figures, per unit, CSV;
an unknown scenario is a usage error (2), an unknown unit a user error (1)."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from uptake.cli import app

runner = CliRunner()
ENV = {"COLUMNS": "220"}


def test_pathway_prints_every_scenario_and_writes_units(tmp_path):
    out = tmp_path / "units.csv"
    result = runner.invoke(app, ["pathway", "--trials", "3", "--scenario", "onset", "--output", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    for words in ("Base", "Speed and onset", "Onset known", "11.60", "9.40", "14.52", "13.98", "Each unit", "AGNOF1041H"):
        assert words in result.stdout, words
    frame = pd.read_csv(out)
    assert len(frame) == 132 and set(frame["scenario"]) == {"onset"}
    assert (frame["thrombolysis_pct_low"] <= frame["thrombolysis_pct"]).all()


def test_pathway_national_csv_when_no_unit_is_listed(tmp_path):
    out = tmp_path / "national.csv"
    result = runner.invoke(app, ["pathway", "--trials", "2", "--output", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out)["scenario"]) == ["base", "speed", "onset", "speed_onset"]


def test_pathway_errors():
    result = runner.invoke(app, ["pathway", "--scenario", "benchmark"], env=ENV)
    assert result.exit_code == 2 and "unknown scenario 'benchmark'" in result.stderr
    result = runner.invoke(app, ["pathway", "--trials", "1", "--unit", "NOPE"], env=ENV)
    assert result.exit_code == 1 and "error: unknown unit 'NOPE'" in result.stderr
    assert runner.invoke(app, ["pathway", "--trials", "0"], env=ENV).exit_code == 2
