"""`uptake compute` writes the models' tables (result_outcomes, result_impact) inside its publication: stamped
with it, computed from the results it publishes, and England's outcomes are the sum of the organisations'."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from publication_support import build
from uptake.cli import app
from uptake.models.outcomes import registry
from uptake.results import read


@pytest.fixture(scope="module")
def computed(tmp_path_factory) -> Path:
    ws = build(tmp_path_factory.mktemp("models-publish") / "ws")
    result = CliRunner().invoke(app, ["compute", "--workspace", str(ws.root), "--no-ratings"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Outcome models: result_outcomes" in result.stdout
    return ws.analytics_path


def test_compute_publishes_the_outcomes_with_its_results(computed: Path) -> None:
    with duckdb.connect(str(computed), read_only=True) as con:
        current = read.runs.publication(con)
        assert {"result_outcomes", "result_impact"} <= set(current["tables"])
        stamps = read.runs.table_stamps(con)
        assert stamps["result_outcomes"] == stamps["result_values"]
        rows, total = read.outcomes.outcomes(con, indicator="doac-share")
        assert total > 0 and {r["model"] for r in rows} == {"doac"}
        gaps = con.execute("SELECT org_code, period, gap_top_decile FROM result_opportunity "
                           "WHERE indicator = 'doac-share' AND level = 'sub-icb'").fetchall()
    by_org = {(r["org_code"], r["period"]): r for r in rows
              if r["benchmark"] == "top-decile" and r["outcome"] == "deaths_avoided" and r["level"] == "sub-icb"}
    for org, period, gap in gaps:  # each organisation's row is its own gap in the published opportunity
        if gap is not None:
            assert by_org[(org, period)]["extra_units"] == pytest.approx(max(gap, 0.0))
    latest = max(p for _, p in by_org)
    national = by_org.pop(("ENG", latest))
    assert national["mean"] == pytest.approx(sum(r["mean"] for (o, p), r in by_org.items() if p == latest), rel=1e-9)


def test_compute_publishes_the_measured_impact(computed: Path) -> None:
    with duckdb.connect(str(computed), read_only=True) as con:
        impact = read.outcomes.impact(con)
    doac = {r["measure"]: r for r in impact if r["indicator"] == "doac-share"}
    assert doac["deaths_avoided"]["low"] < doac["deaths_avoided"]["mean"] < doac["deaths_avoided"]["high"]
    assert doac["economic_value_pounds"]["mean"] > 0 and doac["deaths_avoided"]["benchmark"] == "top-decile"


def test_thrombolysis_outcomes_once_the_stroke_model_is_merged(computed: Path) -> None:
    if registry.model_for("thrombolysis-rate") is None:
        pytest.skip("the stroke outcome model (uptake.models.outcomes.stroke) is not merged yet")
    with duckdb.connect(str(computed), read_only=True) as con:
        rows, total = read.outcomes.outcomes(con, indicator="thrombolysis-rate")
        impact = [r for r in read.outcomes.impact(con) if r["indicator"] == "thrombolysis-rate"]
    assert total > 0 and impact and all(r["mean"] is not None for r in impact)
