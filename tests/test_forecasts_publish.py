"""The forecasts end to end on the real DOAC series: written as a publication over published results (the
demo's and `uptake forecast compute`'s path), with every sub-ICB location's chance of meeting the CVD
framework's DOAC commitment; then read by the commitment page (table and map), the API, the downloads, the
command line, and the policy simulator's parameters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from test_mission_support import mission_workflow
from uptake.analytics.store import AnalyticsStore
from uptake.cli import app as cli_app
from uptake.models.forecasts import organisation_parameters, refresh_forecasts
from uptake.models.forecasts.checks import doac_subicb_values
from uptake.reference import load_reference
from uptake.results.schema import ATTAINMENT, FORECAST_TABLES
from uptake.store import make_engine, upgrade
from uptake.web.mission.pages import mount
from uptake.workspace import Workspace

FRAMEWORK, COMMITMENT = "cardiovascular-disease", "anticoagulation-doacs"


def _store(ws: Workspace) -> AnalyticsStore:
    reference = load_reference().current()
    store = AnalyticsStore.open(ws.analytics_path)
    store.sync_reference(reference.organisations, reference.relationships)
    values = doac_subicb_values().assign(indicator="doac-share", synthetic=False)
    codes = set(values.loc[values["level"] == "sub-icb", "org_code"])
    latest = values.loc[(values["level"] == "sub-icb") & (values["period"] == dt.date(2022, 9, 1))]
    # the mission's attainment of the latest month, as far as the forecasts and the page read it
    attainment = latest[["org_code", "value"]].assign(
        framework=FRAMEWORK, framework_version=1, commitment=COMMITMENT, indicator="doac-share", level="sub-icb",
        period=dt.date(2022, 9, 1), as_of=dt.date(2022, 9, 30), ci95_low=latest["value"], ci95_high=latest["value"],
        status="off-trajectory", rank=2, peers_assessed=0, peers_met=0, target=0.85,
        deadline=dt.date(2023, 3, 31), synthetic=False)
    assert len(attainment) == len(codes)
    with store.writing("test results"), store.connect() as con:
        con.register("_v", values)
        con.execute("CREATE TABLE result_values AS SELECT indicator, level, org_code, period, value, synthetic FROM _v")
        con.unregister("_v")
        con.execute("CREATE TABLE result_indicators AS SELECT 'doac-share' AS indicator, 'DOACs' AS title, "
                    "'proportion' AS measure, 'high-is-good' AS polarity, 100.0 AS multiplier, '%' AS unit, "
                    "0.6 AS adoption_threshold, false AS synthetic")
        con.execute(ATTAINMENT.ddl())
        con.register("_a", attainment)
        con.execute("INSERT INTO result_attainment BY NAME SELECT * FROM _a")
        con.unregister("_a")
    return store


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Workspace, dict[str, int]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("forecasts") / "ws").ensure()
        store = _store(ws)
        written = refresh_forecasts(store, draws=100)
        upgrade(ws.database_url)
        mission_workflow(make_engine(ws.database_url)).dispose()
        yield ws, written


def _query(ws: Workspace, sql: str) -> pd.DataFrame:
    with AnalyticsStore(ws.analytics_path, read_only=True).connect() as con:
        return con.execute(sql).df()


def test_the_forecasts_are_one_publication(published) -> None:
    ws, written = published
    assert written["result_forecast_fits"] == 107  # England and 106 sub-ICB locations
    pub = _query(ws, "SELECT kind, state, tables FROM publications ORDER BY publication_id DESC LIMIT 1").iloc[0]
    assert pub["kind"] == "forecasts" and pub["state"] == "published"
    assert set(pub["tables"]) == {t.name for t in FORECAST_TABLES}


def test_every_location_has_a_chance_and_it_follows_where_it_stands(published) -> None:
    ws, _ = published
    targets = _query(ws, "SELECT * FROM result_forecast_targets WHERE level = 'sub-icb'")
    assert len(targets) == 106
    assert targets["probability"].between(0, 1).all()
    assert not targets["deadline_passed"].any() and not targets["synthetic"].any()
    # nearer the target in September 2022, likelier to reach it by March 2023
    rank = targets[["last_value", "probability"]].rank().corr().iloc[0, 1]
    assert rank > 0.8
    # those already at 85% are likely; those under 75% six months out are very unlikely
    assert (targets.loc[targets["last_value"] >= 0.87, "probability"] > 0.5).all()
    assert (targets.loc[targets["last_value"] < 0.75, "status"] == "very unlikely").all()


def test_the_commitment_page_api_download_and_command_line(published) -> None:
    from uptake.web.app import create_app

    ws, _ = published
    app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
    mount(app)
    with TestClient(app) as client:
        page = client.get(f"/nsf/{FRAMEWORK}/{COMMITMENT}?level=sub-icb").text
        assert "Will it be met by 31 March 2023?" in page
        assert 'id="forecast-map"' in page and "chance of meeting the deadline" in page
        assert "How was this probability of meeting the deadline calculated?" in page
        api = client.get(f"/api/v1/forecasts/targets?framework={FRAMEWORK}&commitment={COMMITMENT}&level=sub-icb")
        assert api.status_code == 200 and api.json()["total"] == 106
        fits = client.get("/api/v1/forecasts?indicator=doac-share&level=england").json()["items"]
        assert fits[0]["status"] == "fitted" and fits[0]["m_low"] <= fits[0]["m"] <= fits[0]["m_high"]
        csv = client.get(f"/download/forecast-targets.csv?framework={FRAMEWORK}&commitment={COMMITMENT}"
                         "&level=sub-icb")
        assert csv.status_code == 200 and csv.text.count("\n") >= 107
        assert client.get("/api/v1/forecasts?indicator=no-such").status_code == 404
    out = CliRunner().invoke(cli_app, ["forecast", "targets", "--level", "sub-icb", "--format", "csv",
                                       "--workspace", str(ws.root)])
    assert out.exit_code == 0, out.output
    assert len(out.stdout.strip().splitlines()) == 107
    trajectory = CliRunner().invoke(cli_app, ["forecast", "show", "--indicator", "doac-share", "--org", "ENG",
                                              "--format", "json", "--workspace", str(ws.root)])
    assert trajectory.exit_code == 0 and '"forecast": true' in trajectory.stdout


def test_a_workspace_without_forecasts_says_what_to_do(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path / "ws").ensure()
    AnalyticsStore.open(ws.analytics_path)
    out = CliRunner().invoke(cli_app, ["forecast", "targets", "--workspace", str(ws.root)])
    assert out.exit_code == 1 and "has no forecasts; run `uptake compute`" in out.stderr


def test_the_simulator_gets_per_organisation_parameters(published) -> None:
    ws, _ = published
    with AnalyticsStore(ws.analytics_path, read_only=True).connect() as con:
        params = organisation_parameters(con, "doac-share", "sub-icb")
    assert len(params.codes) == 106 and params.origin is not None and params.origin <= dt.date(2017, 10, 1)
    assert np.all((params.m > 0) & (params.m <= 1) & (params.p > 0) & (params.q > 0))
    assert not params.synthetic
