"""`uptake impact`: the report beside the model, totals with intervals, the measured gaps, a CSV; usage
errors exit 2."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from uptake.cli import app

runner = CliRunner()


def test_impact_prints_the_tables_and_writes_every_figure_to_csv(tmp_path: Path) -> None:
    out = tmp_path / "impact.csv"
    result = runner.invoke(app, ["impact", "--workspace", str(tmp_path / "none"), "--draws", "2000", "--csv",
                                 str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "IPPR table 2.1" in result.stdout and "not determined" in result.stdout
    assert "no analytics store" in result.stdout  # no measured gaps without a workspace
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    cells = [r for r in rows if r["section"].startswith("IPPR")]
    assert len(cells) == 24
    total = next(r for r in rows if r["section"] == "totals" and "figure 2.1" in r["row"])
    assert float(total["low"]) < float(total["model"]) < float(total["high"])


def test_impact_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (["impact", "--table", "2.9"], ["impact", "--draws", "10"]):
        result = runner.invoke(app, args, env={"UPTAKE_WORKSPACE": str(tmp_path), "COLUMNS": "200"})
        assert result.exit_code == 2, result.output
