"""Acceptance on the real demo data (issue 5, "done when"): four published NSFs; every stroke unit and
sub-ICB location with a result in scope gets a published rating with a trace that reproduces it, on the
real stroke and DOAC data; the availability-gap report lists real organisations; seeding is repeatable.
Runs the demo build and the pipeline once (about a minute); the workflow database is SQLite, and also
PostgreSQL when UPTAKE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from rich.console import Console

from uptake.mission.demo import seed_demo_mission
from uptake.workspace import Workspace

pytestmark = pytest.mark.slow


def _root_conftest():
    """tests/conftest.py by path: a plain `import conftest` can pick up tests/web/conftest.py instead."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("uptake_root_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_conftest = _root_conftest()
POSTGRES_ENV, _postgres_url = _conftest.POSTGRES_ENV, _conftest._postgres_url


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from uptake.demo import build_demo

    # The demo build ingests, computes and seeds its own workflow database; the tests below seed a
    # fresh workflow database of their own over the same analytics store.
    root = tmp_path_factory.mktemp("mission-demo") / "ws"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        build_demo(root, console=Console(quiet=True))
    return root


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request, demo: Path):
    from uptake.demo import init_workspace

    with pytest.MonkeyPatch.context() as mp:
        if request.param == "sqlite":
            fresh = demo.parent / "mission-test.sqlite"
            mp.setenv("UPTAKE_DATABASE_URL", f"sqlite:///{fresh}")
            init_workspace(demo, console=Console(quiet=True))
            yield _seed(demo)
        else:
            if not os.environ.get(POSTGRES_ENV):
                pytest.skip("set UPTAKE_TEST_DATABASE_URL to run the PostgreSQL variant")
            urls = _postgres_url()
            url = next(urls)
            mp.setenv("UPTAKE_DATABASE_URL", url)
            init_workspace(demo, console=Console(quiet=True))
            try:
                yield _seed(demo)
            finally:
                urls.close()


def _seed(root: Path):
    ws = Workspace.resolve(root)
    first = seed_demo_mission(ws)
    second = seed_demo_mission(ws)
    return ws, first, second


def _session(ws: Workspace):
    from uptake.store import make_engine, session_scope

    return make_engine(ws.database_url), session_scope


def test_four_published_frameworks_and_a_repeatable_seed(seeded) -> None:
    ws, first, second = seeded
    assert first.frameworks == ["cancer v1", "cardiovascular-disease v1", "dementia v1", "stroke v1"]
    assert first.ratings_published > 5000 and first.rating_run is not None
    assert second.rating_run is None and second.assessments_added == 0 and second.filings == []
    assert len(first.filings) == 3


def test_every_provider_in_scope_has_a_published_rating_with_a_trace(seeded) -> None:
    from uptake.mission.ratings import ratings_table, reevaluate_trace, run_rule_set

    ws, first, _ = seeded
    engine, session_scope = _session(ws)
    try:
        with session_scope(engine) as session:
            ratings = ratings_table(session)
            rules = run_rule_set(session, int(ratings["run_id"].iloc[0]))
    finally:
        engine.dispose()
    con = duckdb.connect(str(ws.analytics_path), read_only=True)
    in_scope = con.execute(
        "SELECT DISTINCT level, org_code, rating_year FROM result_attainment "
        "WHERE level IN ('stroke-unit', 'sub-icb', 'practice', 'icb')").df()
    stroke = con.execute("SELECT DISTINCT org_code FROM result_values WHERE indicator = 'thrombolysis-rate' "
                         "AND level = 'stroke-unit' AND period >= '2019-01-01'").df()
    doac = con.execute("SELECT DISTINCT org_code FROM result_values WHERE indicator = 'doac-share' "
                       "AND level = 'sub-icb' AND period >= '2019-04-01'").df()
    con.close()
    rated = set(zip(ratings["level"], ratings["org_code"], pd.to_datetime(ratings["period"]), strict=True))
    wanted = set(zip(in_scope["level"], in_scope["org_code"], pd.to_datetime(in_scope["rating_year"]), strict=True))
    assert wanted == rated
    assert set(stroke["org_code"]) <= set(ratings.loc[ratings["level"] == "stroke-unit", "org_code"])
    assert set(doac["org_code"]) == set(ratings.loc[ratings["level"] == "sub-icb", "org_code"])
    assert len(doac) == 106
    for trace, rating in zip(ratings["trace"], ratings["rating"], strict=True):
        assert reevaluate_trace(trace, rules)["rating"] == rating
    assert set(ratings["rating"]) == {"outstanding", "good", "requires-improvement", "inadequate"}


def test_export_ratings_on_the_real_data(seeded, tmp_path: Path) -> None:
    from uptake.cli.export_files import write_frame
    from uptake.mission.ratings import ratings_table

    ws, _, _ = seeded
    engine, session_scope = _session(ws)
    try:
        with session_scope(engine) as session:
            frame = ratings_table(session, level="stroke-unit")
    finally:
        engine.dispose()
    path = write_frame(frame, tmp_path / "ratings.csv", "csv")
    back = pd.read_csv(path)
    assert {"org_code", "level", "period", "rating", "trace"} <= set(back.columns)
    trace = json.loads(back["trace"].iloc[0])
    assert trace["evidence"][0]["indicator"] == "thrombolysis-rate"


def test_the_availability_gap_report_lists_real_organisations(seeded) -> None:
    from uptake.mission.assessments import availability_gap_report, duplicates
    from uptake.mission.results import open_store

    ws, _, _ = seeded
    engine, session_scope = _session(ws)
    try:
        with session_scope(engine) as session:
            report = availability_gap_report(session, open_store(ws))
            dupes = duplicates(session)
    finally:
        engine.dispose()
    thrombolysis = report.loc[(report["indicator"] == "thrombolysis-rate") & (report["gap"] == "low uptake")]
    assert len(thrombolysis) > 50  # most English stroke units were below 20% in 2021
    assert thrombolysis["org_name"].str.contains("Hospital").any()
    assert (thrombolysis["latest_value"] < 0.2).all()
    assert len(dupes) == 1 and dupes["national_reference"].iloc[0] == "TA355"


def test_compute_recomputes_attainment_and_drafts_ratings_and_pages_say_so(demo: Path, tmp_path: Path,
                                                                            monkeypatch) -> None:
    """`uptake compute` on a demo workspace: attainment is recomputed from the new pipeline run (the same
    observations give the same attainment), a new draft rating run records that pipeline run, the published
    ratings stay as they were until it is published, and the ratings page says so meanwhile."""
    import shutil

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    import typer

    from uptake.web.mission.pages import mount
    from uptake.cli.compute import compute
    from uptake.mission.permissions import operator
    from uptake.mission.ratings import freshness, publish_ratings, ratings_table, review_ratings
    from uptake.mission.results import latest_pipeline_run, open_store
    from uptake.store import make_engine, session_scope
    from uptake.web.app import create_app

    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    cli_app = typer.Typer()
    cli_app.command("compute")(compute)
    cli_app.command("version")(lambda: None)  # a second command keeps "compute" a named subcommand
    root = tmp_path / "ws"
    shutil.copytree(demo, root)
    ws = Workspace.resolve(root)
    store = open_store(ws)
    columns = "framework, commitment, level, org_code, period, status, value"
    with store.connect() as con:
        before = con.execute(f"SELECT {columns} FROM result_attainment ORDER BY ALL").df()
    first_pipeline = latest_pipeline_run(store)
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            fresh = freshness(session, store)
            published_before = ratings_table(session)
        assert fresh.published_pipeline_run == first_pipeline and not fresh.published_behind
        assert not fresh.attainment_behind

        result = CliRunner().invoke(cli_app, ["compute", "--workspace", str(root)])
        assert result.exit_code == 0, result.output
        assert "draft rating run" in result.output
        with store.connect() as con:
            after = con.execute(f"SELECT {columns} FROM result_attainment ORDER BY ALL").df()
        pd.testing.assert_frame_equal(before, after)
        second_pipeline = latest_pipeline_run(store)
        assert second_pipeline == first_pipeline + 1
        with session_scope(engine) as session:
            fresh = freshness(session, store)
            published = ratings_table(session)
        assert fresh.published_behind and not fresh.attainment_behind
        assert fresh.newest_rating_pipeline_run == second_pipeline and fresh.waiting == len(published_before)
        pd.testing.assert_frame_equal(published, published_before)

        app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
        mount(app)
        with TestClient(app) as client:
            page = client.get("/ratings").text
        assert f"The published ratings come from results run {first_pipeline}" in page
        assert f"{len(published_before):,} ratings await national review" in page

        with session_scope(engine) as session:
            review_ratings(session, operator())
            publish_ratings(session, operator())
        with session_scope(engine) as session:
            fresh = freshness(session, store)
            assert not fresh.published_behind and fresh.waiting == 0
            assert set(ratings_table(session)["run_id"]) == {fresh.newest_rating_run}

        # --no-ratings leaves attainment behind the results, and the commitment page says so
        result = CliRunner().invoke(cli_app, ["compute", "--no-ratings", "--workspace", str(root)])
        assert result.exit_code == 0 and "draft rating run" not in result.output
        with session_scope(engine) as session:
            assert freshness(session, store).attainment_behind
        app.state.web.snapshots.reload()  # as the site does within seconds of the store changing
        with TestClient(app) as client:
            assert "computed from older results than the newest" in client.get("/nsf/stroke/thrombolysis").text
    finally:
        engine.dispose()
