"""`uptake compute` end to end on a small workspace: exact counts, roll-ups, atomic replacement, the run
record, a published SPC example through the whole pipeline, the CLI and export, and the docs."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

import reference_pipeline as ref
from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.pipeline import PIPELINE_RUNS, RESULT_TABLES, PipelineSettings, run_pipeline
from uptake.pipeline import indicator as indicator_module
from uptake.pipeline import run as run_module
from uptake.cli import app as uptake_app
from uptake.results.schema import FORECAST_TABLES, MISSION_TABLES, MODEL_TABLES, PATHWAY_TABLES, PUBLICATIONS, VIEW_LOOKUPS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """A workspace (directory layout) with a practice proportion and a trust rate, computed once."""
    root = tmp_path_factory.mktemp("workspace")
    (root / "analytics").mkdir()
    orgs, rels = ref.make_reference(ref.Shape(), seed=21)
    periods = ref.months(dt.date(2021, 1, 1), 14)
    observations = {
        "prop": ref.make_observations(list(orgs[orgs.level == "practice"].code), periods, seed=3),
        "rate": ref.make_observations(list(orgs[orgs.level == "trust"].code), periods, seed=4, measure="rate"),
    }
    catalogue = ref.catalogue_of(
        ref.indicator("prop", Level.PRACTICE), ref.indicator("rate", Level.TRUST, measure="rate")
    )
    path = root / "analytics" / "uptake.duckdb"
    ref.build_workspace(path, orgs, rels, observations)
    run = run_pipeline(root, engine="duckdb", catalogue=catalogue)
    return root, path, orgs, rels, observations, catalogue, run


def query(path: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def test_data_level_reproduces_source_counts_exactly(small) -> None:
    _, path, _, _, observations, _, _ = small
    for ind, level in (("prop", "practice"), ("rate", "trust")):
        got = query(path, "SELECT org_code, period, numerator, denominator, members, value FROM result_values "
                          "WHERE indicator = ? AND level = ? ORDER BY org_code, period", [ind, level])
        want = observations[ind].sort_values(["org_code", "period"], ignore_index=True)
        assert len(got) == len(want)
        assert list(got.org_code) == list(want.org_code)
        assert [d.date() if hasattr(d, "date") else d for d in got.period] == list(want.period)
        assert (got.numerator.to_numpy() == want.numerator.to_numpy()).all()
        assert (got.denominator.to_numpy() == want.denominator.to_numpy()).all()
        assert (got.members == 1).all()
        share = want.numerator / want.denominator.where(want.denominator > 0)
        pd.testing.assert_series_equal(got.value, share, check_names=False)


def test_rolled_up_levels_equal_sums_of_their_members(small) -> None:
    _, path, _, _, _, _, _ = small
    mismatches = query(
        path,
        """
        WITH members AS (
            SELECT v.indicator, r.parent_level AS level, r.parent_code AS org_code, v.period,
                   sum(v.numerator) AS numerator, sum(v.denominator) AS denominator, count(*) AS members
            FROM result_values AS v
            JOIN result_indicators AS i ON i.indicator = v.indicator AND list_contains(i.levels, v.level)
            JOIN relationships AS r ON r.child_code = v.org_code AND r.child_level = v.level
                                    AND r.valid_to IS NULL AND r.parent_level <> 'england'
            GROUP BY ALL
        )
        SELECT * FROM members AS m FULL JOIN result_values AS v USING (indicator, level, org_code, period)
        WHERE v.level NOT IN ('practice', 'trust', 'england')
          AND (m.numerator IS DISTINCT FROM v.numerator OR m.denominator IS DISTINCT FROM v.denominator
               OR m.members IS DISTINCT FROM v.members)
        """,
    )
    assert mismatches.empty, mismatches.head()
    england = query(
        path,
        """
        SELECT e.indicator, e.period, e.numerator, d.numerator AS total, e.denominator, d.denominator AS total_den
        FROM result_values AS e JOIN (
            SELECT v.indicator, v.period, sum(v.numerator) AS numerator, sum(v.denominator) AS denominator
            FROM result_values AS v JOIN result_indicators AS i
              ON i.indicator = v.indicator AND list_contains(i.levels, v.level)
            GROUP BY ALL) AS d USING (indicator, period)
        WHERE e.level = 'england' AND (e.numerator <> d.numerator OR e.denominator <> d.denominator)
        """,
    )
    assert england.empty
    levels = set(query(path, "SELECT DISTINCT level FROM result_values WHERE indicator = 'prop'").level)
    assert levels == {"practice", "pcn", "sub-icb", "icb", "region", "england"}


def test_pipeline_runs_row_and_run_record(small) -> None:
    _, path, _, _, observations, _, run = small
    row = query(path, "SELECT * FROM pipeline_runs").iloc[-1]
    assert list(query(path, "SELECT * FROM pipeline_runs LIMIT 0").columns) == PIPELINE_RUNS.column_names
    assert row.engine == "duckdb" and run.engine == "duckdb"
    assert list(row.input_batch_ids) == list(run.input_batch_ids) == [1, 2]
    assert row.input_rows == sum(len(f) for f in observations.values()) == run.input_rows
    assert sorted(row.indicators) == ["prop", "rate"]
    counts = json.loads(row.row_counts)
    for table in RESULT_TABLES:
        assert counts[table.name] == len(query(path, f"SELECT * FROM {table.name}")), table.name
    assert json.loads(row.settings)["spc_rule_length"] == 7
    assert row.finished_at >= row.started_at


def test_a_failed_run_leaves_the_previous_results(small, monkeypatch: pytest.MonkeyPatch) -> None:
    _, path, _, _, _, catalogue, _ = small
    before = query(path, "SELECT * FROM result_values ORDER BY ALL")
    runs_before = len(query(path, "SELECT * FROM pipeline_runs"))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(indicator_module.equity, "compute", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_pipeline(path, engine="duckdb", catalogue=catalogue)
    after = query(path, "SELECT * FROM result_values ORDER BY ALL")
    pd.testing.assert_frame_equal(before, after)
    assert len(query(path, "SELECT * FROM pipeline_runs")) == runs_before
    leftovers = query(path, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '_staging_%'")
    assert leftovers.empty


def test_rerun_replaces_results_and_honours_settings(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=1), seed=2)
    periods = ref.months(dt.date(2021, 1, 1), 14)
    obs = {"x": ref.make_observations(list(orgs[orgs.level == "practice"].code), periods, seed=5)}
    path = tmp_path / "store.duckdb"
    ref.build_workspace(path, orgs, rels, obs)
    one = ref.catalogue_of(ref.indicator("x", Level.PRACTICE))
    run_pipeline(path, engine="duckdb", catalogue=one)
    first = len(query(path, "SELECT * FROM result_values"))
    second = run_pipeline(path, engine="duckdb", catalogue=one,
                          settings=PipelineSettings(spc_rule_length=6, targets={"x": 0.5}))
    assert len(query(path, "SELECT * FROM result_values")) == first  # replaced, not appended
    assert second.run_id == 2
    series = query(path, "SELECT DISTINCT rule_length, target FROM result_spc_series")
    assert list(series.rule_length) == [6] and list(series.target) == [0.5]
    icons = query(path, "SELECT assurance_icon FROM result_spc_series WHERE points >= 13").assurance_icon
    assert icons.notna().all() and set(icons) <= {"consistently-pass", "consistently-fail", "hit-and-miss"}
    assert query(path, "SELECT count(*) AS n FROM result_opportunity WHERE gap_target IS NULL").n[0] == 0


def test_indicators_outside_the_catalogue_are_skipped_with_a_warning(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=1), seed=2)
    periods = ref.months(dt.date(2021, 1, 1), 3)
    codes = list(orgs[orgs.level == "practice"].code)
    obs = {"known": ref.make_observations(codes, periods, seed=1),
           "stranger": ref.make_observations(codes, periods, seed=2)}
    path = tmp_path / "store.duckdb"
    ref.build_workspace(path, orgs, rels, obs)
    run = run_pipeline(path, engine="duckdb", catalogue=ref.catalogue_of(ref.indicator("known", Level.PRACTICE)))
    assert run.indicators == ("known",)
    assert "stranger" in run.skipped
    assert any(w.startswith("stranger:") for w in run.warnings)
    assert set(query(path, "SELECT DISTINCT indicator FROM result_values").indicator) == {"known"}


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UptakeError, match="uptake init"):
        run_pipeline(tmp_path / "nowhere.duckdb")
    with pytest.raises(UptakeError, match="unknown engine"):
        run_pipeline(tmp_path, engine="spark")


# ---------------------------------------------------------------------- a published example, end to end

# NHSRplotthedots vignette "Deviations from Excel defaults" (NHS-R community): with outlying moving ranges
# screened, "the upper process limit as 4.6, the mean as 1.94 and the lower process limit as -0.72", one
# special cause improvement point (the fifth) and common cause elsewhere. Fed in as a rate with
# denominator 1 for one practice, it must come out of result_spc unchanged at every level.
NHSR_EXAMPLE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_published_making_data_count_example_through_the_pipeline(tmp_path: Path) -> None:
    shape = ref.Shape(regions=1, icbs_per_region=1, sub_icbs_per_icb=1, practices_per_sub_icb=1, pcn_share=1.0)
    orgs, rels = ref.make_reference(shape, seed=1)
    practice = orgs[orgs.level == "practice"].code.iloc[0]
    periods = ref.months(dt.date(2020, 1, 1), len(NHSR_EXAMPLE))
    obs = pd.DataFrame({"org_code": practice, "period": periods, "numerator": [float(v) for v in NHSR_EXAMPLE],
                        "denominator": 1.0})
    path = tmp_path / "store.duckdb"
    ref.build_workspace(path, orgs, rels, {"nhsr": obs})
    catalogue = ref.catalogue_of(ref.indicator("nhsr", Level.PRACTICE, measure="rate", adoption_threshold=None))
    run_pipeline(path, engine="duckdb", catalogue=catalogue,
                 settings=PipelineSettings(spc_screen_moving_ranges=True))
    spc = query(path, "SELECT * FROM result_spc ORDER BY level, period")
    assert set(spc.level) == {"practice", "pcn", "sub-icb", "icb", "region", "england"}
    for _, chart in spc.groupby("level"):
        assert round(chart.upper_limit.iloc[0], 2) == 4.6
        assert round(chart.centre.iloc[0], 2) == 1.94
        assert round(chart.lower_limit.iloc[0], 2) == -0.72
        assert list(chart.special_cause) == ["common-cause"] * 4 + ["improvement"] + ["common-cause"] * 13
        assert chart.rule.iloc[4] == "outside-limits"
    icons = query(path, "SELECT DISTINCT variation_icon FROM result_spc_series")
    assert list(icons.variation_icon) == ["common-cause"]


# --------------------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def cli_app() -> typer.Typer:
    return uptake_app


def test_cli_compute_prints_a_summary(tmp_path: Path, cli_app, monkeypatch: pytest.MonkeyPatch) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=1), seed=2)
    obs = {"x": ref.make_observations(list(orgs[orgs.level == "practice"].code),
                                      ref.months(dt.date(2021, 1, 1), 4), seed=5)}
    (tmp_path / "analytics").mkdir()
    ref.build_workspace(tmp_path / "analytics" / "uptake.duckdb", orgs, rels, obs)
    monkeypatch.setattr(run_module, "load_catalogue", lambda: ref.catalogue_of(ref.indicator("x", Level.PRACTICE)))
    result = CliRunner().invoke(cli_app, ["compute", "--workspace", str(tmp_path), "--trend-length", "6"])
    assert result.exit_code == 0, result.output
    assert "result_values" in result.output and "Pipeline run 1 on duckdb" in result.output
    assert query(tmp_path / "analytics" / "uptake.duckdb", "SELECT rule_length FROM result_spc_series LIMIT 1") \
        .rule_length[0] == 6
    # the Bass forecasts are written inside the same publication (4 months: every series too short to fit)
    assert "Bass forecasts:" in result.output
    fits = query(tmp_path / "analytics" / "uptake.duckdb", "SELECT DISTINCT status FROM result_forecast_fits")
    assert list(fits.status) == ["too short"]
    tables = query(tmp_path / "analytics" / "uptake.duckdb",
                   "SELECT tables FROM publications WHERE state = 'published' ORDER BY publication_id DESC LIMIT 1")
    assert {"result_forecast_fits", "result_forecasts", "result_forecast_targets", "result_values"} <= set(
        tables.tables[0])
    bad = CliRunner().invoke(cli_app, ["compute", "--workspace", str(tmp_path), "--engine", "oracle"])
    assert bad.exit_code == 2 and "unknown engine" in bad.output


def test_cli_export_formats(small, cli_app, tmp_path: Path) -> None:
    root = small[0]
    runner = CliRunner()
    csv = runner.invoke(cli_app, ["export", "values", "--indicator", "prop", "--level", "ICB",
                                  "--workspace", str(root)])
    assert csv.exit_code == 0, csv.output
    lines = csv.stdout.strip().splitlines()
    assert lines[0].startswith('"indicator","level","org_code","org_name","period"')
    n_icb = len(query(small[1], "SELECT * FROM result_values WHERE indicator='prop' AND level='icb'"))
    assert len(lines) == n_icb + 1

    js = runner.invoke(cli_app, ["export", "spc", "--indicator", "prop", "--level", "sub-icb", "--period",
                                 "2021-03-01", "--format", "json", "--workspace", str(root)])
    assert js.exit_code == 0, js.output
    records = json.loads(js.stdout)
    assert records and {r["period"] for r in records} == {"2021-03-01"}
    assert {"variation_icon", "upper_limit", "special_cause"} <= set(records[0])

    out = tmp_path / "peers.parquet"
    pq_run = runner.invoke(cli_app, ["export", "peers", "--level", "practice", "--format", "parquet",
                                     "--output", str(out), "--workspace", str(root)])
    assert pq_run.exit_code == 0, pq_run.output
    assert pq.read_table(out).num_rows == len(query(small[1], "SELECT * FROM result_peers WHERE level='practice'"))

    default = runner.invoke(cli_app, ["export", "deciles", "--indicator", "prop", "--level", "pcn",
                                      "--format", "parquet", "--workspace", str(root)])
    assert default.exit_code == 0, default.output
    assert (root / "exports" / "deciles-prop-pcn.parquet").exists()

    for name in ("funnel", "opportunity", "adoption", "equity", "changes", "funnel-curve", "funnel-summary",
                 "spc-series", "opportunity-totals"):
        level = "practice"
        res = runner.invoke(cli_app, ["export", name, "--indicator", "prop", "--level", level,
                                      "--workspace", str(root)])
        assert res.exit_code == 0, (name, res.output)
        assert res.stdout.count("\n") >= 2, name


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["export", "nonsense", "--indicator", "prop", "--level", "icb"], 2, "unknown table"),
        (["export", "values", "--indicator", "nope", "--level", "icb"], 1, "unknown indicator"),
        (["export", "values", "--indicator", "prop", "--level", "galaxy"], 2, "unknown organisation level"),
        (["export", "values", "--indicator", "prop", "--level", "icb", "--format", "xml"], 2, "unknown format"),
        (["export", "values", "--level", "icb"], 2, "needs --indicator"),
        (["export", "values", "--indicator", "prop"], 2, "give --level LEVEL"),
        (["export", "peers", "--level", "icb", "--period", "2021-01-01"], 2, "has no periods"),
        (["export", "values", "--indicator", "prop", "--level", "icb", "--period", "March"], 2, "YYYY-MM-DD"),
        (["export", "values", "--indicator", "prop", "--level", "icb", "--format", "parquet"], 0, None),
    ],
)
def test_cli_export_errors_exit_1_for_the_data_and_2_for_the_command_line(small, cli_app, args, code,
                                                                          message) -> None:
    result = CliRunner().invoke(cli_app, [*args, "--workspace", str(small[0])])
    assert result.exit_code == code, result.output
    if message is not None:  # (parquet to the exports folder is fine)
        assert message in result.output


def test_cli_export_before_compute_says_so(tmp_path: Path, cli_app) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=1), seed=2)
    (tmp_path / "analytics").mkdir()
    ref.build_workspace(tmp_path / "analytics" / "uptake.duckdb", orgs, rels, {})
    result = CliRunner().invoke(cli_app, ["export", "values", "--indicator", "x", "--level", "icb",
                                          "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert "run `uptake compute` first" in result.output


# -------------------------------------------------------------------------------------------- docs


def test_every_result_column_is_documented() -> None:
    """Every table of the one declaration (uptake.results.schema: the pipeline's, its run log and the
    mission's) has a section in docs/results.md naming each of its columns; the views' storage tables are
    listed together."""
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    for table in (*RESULT_TABLES, PIPELINE_RUNS, PUBLICATIONS, *MISSION_TABLES, *MODEL_TABLES, *PATHWAY_TABLES, *FORECAST_TABLES):
        heading = re.search(rf"^## {table.name}$", text, flags=re.M)
        assert heading or table in VIEW_LOOKUPS, f"docs/results.md has no section ## {table.name}"
        if heading:  # the section, up to the next heading
            following = re.search(r"^## ", text[heading.end():], flags=re.M)
            section = text[heading.end():heading.end() + following.start()] if following else text[heading.end():]
        else:
            section = next(line for line in text.splitlines() if line.startswith(f"| `{table.name}` |"))
        for column in table.column_names:
            assert f"`{column}`" in section, f"{table.name}.{column} is not described in docs/results.md"


def test_unknown_codes_zero_denominators_and_an_empty_store(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=1), seed=2)
    periods = ref.months(dt.date(2021, 1, 1), 3)
    practices = list(orgs[orgs.level == "practice"].code)
    obs = {
        "ghost": pd.DataFrame({"org_code": ["NOPE1", practices[0]], "period": [periods[0]] * 2,
                               "numerator": [1.0, 2.0], "denominator": [3.0, 4.0]}),
        "zeros": pd.DataFrame({"org_code": practices, "period": periods[0], "numerator": 0.0, "denominator": 0.0}),
    }
    path = tmp_path / "store.duckdb"
    ref.build_workspace(path, orgs, rels, obs)
    catalogue = ref.catalogue_of(ref.indicator("ghost", Level.PRACTICE), ref.indicator("zeros", Level.PRACTICE))
    run = run_pipeline(path, engine="duckdb", catalogue=catalogue)
    assert any(w.startswith("ghost: 1 observation rows name organisations") for w in run.warnings)
    zeros = query(path, "SELECT * FROM result_values WHERE indicator = 'zeros'")
    assert zeros.value.isna().all() and (zeros.comparison == "not compared").all()
    assert query(path, "SELECT count(*) AS n FROM result_spc WHERE indicator = 'zeros'").n[0] == 0
    assert set(query(path, "SELECT DISTINCT band FROM result_funnel WHERE indicator = 'zeros'").band) == {
        "not compared"}

    empty = tmp_path / "empty.duckdb"
    ref.build_workspace(empty, orgs, rels, {})
    run = run_pipeline(empty, engine="duckdb", catalogue=catalogue)
    assert run.indicators == () and run.input_rows == 0
    assert len(query(empty, "SELECT * FROM result_values")) == 0
