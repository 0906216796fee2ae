"""SYNTHETIC follows the data (docs/mission.md): an attainment row, a rating, an opportunity figure that rests on
synthetic data says so wherever it is shown, exported or served."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_mission_support import ADMIN, ICBS, _values, mission_workflow, organisations, relationships, result_frames

import reference_pipeline as ref
from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import Catalogue, load_catalogue
from uptake.levels import Level
from uptake.mission.attainment import compute_attainment
from uptake.mission.framework_files import read_frameworks
from uptake.mission.ratings import compute_ratings, publish_ratings, rate, ratings_table, review_ratings
from uptake.mission.rule_set import load_rule_set
from uptake.pipeline import run_pipeline
from uptake.store import make_engine, session_scope, upgrade
from uptake.store.mission_models import InnovationRating
from uptake.workspace import Workspace

CATALOGUE = load_catalogue()
RULES = load_rule_set()
MONTHS_2021 = [dt.date(2021, m, 1) for m in range(4, 10)]


def frames_with_synthetic_doacs() -> dict[str, pd.DataFrame]:
    """The small country of test_mission_support with its DOAC series generated (synthetic), and DOAC rows for
    the ICB QAA in 2021, so that QAA's 2021/22 rating rests on a real commitment (thrombolysis) and a synthetic
    one (DOACs)."""
    frames = result_frames()
    values = frames["result_values"]
    icb = _values("doac-share", "icb", [("QAA", ICBS["QAA"], month, 770.0, 1000.0) for month in MONTHS_2021])
    values = pd.concat([values, icb], ignore_index=True)
    values["synthetic"] = values["indicator"] == "doac-share"
    frames["result_values"] = values
    spc = values[["indicator", "level", "org_code", "period"]].copy()
    spc["upper_limit"] = values["value"] + 0.03
    spc["lower_limit"] = values["value"] - 0.03
    frames["result_spc"] = spc
    return frames


def store_of(path: Path, frames: dict[str, pd.DataFrame]) -> AnalyticsStore:
    store = AnalyticsStore.open(path)
    store.sync_reference(organisations(), relationships())
    with store.writing("test results"), store.connect() as con:
        for name, frame in frames.items():
            con.register("_frame", frame)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
    return store


# ---------------------------------------------------------------------------------- attainment and ratings
def test_attainment_is_synthetic_when_the_catalogue_says_the_indicator_is() -> None:
    values = result_frames()["result_values"]  # every row says synthetic = False
    assert not values["synthetic"].any()
    doacs = CATALOGUE.indicators["doac-share"].model_copy(update={"synthetic": True})
    catalogue = Catalogue(innovations=CATALOGUE.innovations, indicators={**CATALOGUE.indicators, "doac-share": doacs})
    frame = compute_attainment(read_frameworks(), catalogue, values)
    by_indicator = frame.groupby("indicator")["synthetic"].agg(["all", "any"])
    assert by_indicator.loc["doac-share", "all"] and not by_indicator.loc["thrombolysis-rate", "any"]


def test_a_rating_resting_on_synthetic_commitments_says_so() -> None:
    values = frames_with_synthetic_doacs()["result_values"]
    frameworks = read_frameworks()
    attainment = compute_attainment(frameworks, CATALOGUE, values)
    ratings = rate(attainment, RULES, CATALOGUE, frameworks).ratings
    ratings["period"] = ratings["period"].astype(str)
    by = ratings.set_index(["org_code", "period"])
    partly = by.loc[("QAA", "2021-04-01")]
    assert partly["synthetic"] and partly["trace"]["synthetic"]
    assert {e["indicator"]: e["synthetic"] for e in partly["trace"]["evidence"]} == {
        "thrombolysis-rate": False, "doac-share": True}
    assert ("This rating rests partly on SYNTHETIC data: 1 of its 2 commitments are measured by generated series "
            "(doac-share)") in partly["explanation"]
    wholly = by.loc[("01A", "2022-04-01")]
    assert wholly["synthetic"] and "rests wholly on SYNTHETIC data: 1 of its 1 commitments" in wholly["explanation"]
    real = by.loc[("U05", "2021-04-01")]
    assert not real["synthetic"] and not real["trace"]["synthetic"] and "SYNTHETIC" not in real["explanation"]


# ----------------------------------------------------------------------------------- pages, downloads, API
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        yield from _site(tmp_path_factory.mktemp("synthetic-site"))


def _site(tmp_path: Path):
    from uptake.web.app import create_app
    from uptake.web.mission.pages import mount

    ws = Workspace.resolve(tmp_path / "ws").ensure()
    store = store_of(ws.analytics_path, frames_with_synthetic_doacs())
    upgrade(ws.database_url)
    engine = mission_workflow(make_engine(ws.database_url))
    with session_scope(engine) as session:
        compute_ratings(session, store, who=ADMIN)
        review_ratings(session, ADMIN)
        publish_ratings(session, ADMIN)
    app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
    mount(app)
    with TestClient(app) as client:
        yield client, engine
    engine.dispose()


def test_ratings_table_has_the_flag_with_and_without_traces(site) -> None:
    _, engine = site
    with session_scope(engine) as session:
        full = ratings_table(session).set_index(["level", "org_code", "period"])
        light = ratings_table(session, with_trace=False).set_index(["level", "org_code", "period"])
        assert full["synthetic"].equals(light["synthetic"])
        assert full.loc[("icb", "QAA", dt.date(2021, 4, 1)), "synthetic"]
        assert full.loc[("sub-icb", "01A", dt.date(2022, 4, 1)), "synthetic"]
        assert not full.loc[("stroke-unit", "U05", dt.date(2021, 4, 1)), "synthetic"]
        # A trace stored before the flag existed: the flag comes from its evidence.
        rid = session.scalar(select(InnovationRating.id).where(InnovationRating.org_code == "01A"))
        trace = dict(session.get(InnovationRating, rid).trace)
        trace.pop("synthetic")
        session.execute(update(InnovationRating).where(InnovationRating.id == rid).values(trace=trace))
        session.flush()
        old = ratings_table(session, with_trace=False, org_code="01A")
        assert old["synthetic"].all()


def test_the_ratings_pages_tag_synthetic_ratings(site) -> None:
    client, _ = site
    listing = client.get("/ratings", params={"level": "sub-icb"})
    assert listing.status_code == 200
    rows = [line for line in listing.text.split("<tr") if "/ratings/sub-icb/" in line]
    assert rows and all("uptake-synthetic" in row for row in rows)
    real = client.get("/ratings", params={"level": "stroke-unit"})
    rows = [line for line in real.text.split("<tr") if "/ratings/stroke-unit/" in line and "Rating" not in line]
    assert rows and not any("uptake-synthetic" in row for row in rows if "/nsf/" not in row)
    page = client.get("/ratings/icb/QAA")
    assert page.status_code == 200
    assert "uptake-synthetic" in page.text and "rests partly on SYNTHETIC data" in page.text
    assert "uptake-synthetic" not in client.get("/ratings/stroke-unit/U05").text.split("Not yet published")[0]


def test_the_commitment_page_tags_each_synthetic_row(site) -> None:
    client, _ = site
    page = client.get("/nsf/cardiovascular-disease/anticoagulation-doacs", params={"level": "sub-icb"})
    assert page.status_code == 200
    body = page.text.split("<tbody", 1)[1]
    rows = [row for row in body.split("<tr")[1:] if "/ratings/" in row]
    assert rows and all("uptake-synthetic" in row for row in rows)


def test_downloads_and_the_api_carry_the_flag(site) -> None:
    client, _ = site
    csv = pd.read_csv(io.StringIO(client.get("/mission/download/ratings.csv").text))
    flags = csv.set_index(["level", "org_code", "period"])["synthetic"]
    assert flags.loc[("icb", "QAA", "2021-04-01")] and not flags.loc[("stroke-unit", "U05", "2021-04-01")]
    attainment = pd.read_csv(io.StringIO(client.get("/mission/download/attainment.csv").text))
    assert (attainment["synthetic"] == (attainment["indicator"] == "doac-share")).all()
    api = client.get("/api/v1/ratings", params={"org_code": "QAA", "level": "icb"}).json()
    items = {item["period"]: item for item in api["items"]}
    assert items["2021-04-01"]["synthetic"] is True
    progress = client.get("/api/v1/nsf/cardiovascular-disease/progress").json()
    rows = progress if isinstance(progress, list) else progress.get("items", progress)
    assert rows and all(r["synthetic"] for r in rows)


# ------------------------------------------------------------------------------------------- opportunity
def test_opportunity_rows_and_totals_carry_the_flag(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(), seed=2)
    practices = list(orgs[orgs.level == "practice"].code)
    periods = ref.months(dt.date(2022, 1, 1), 3)
    observations = {"real": ref.make_observations(practices, periods, seed=1),
                    "generated": ref.make_observations(practices, periods, seed=2)}
    catalogue = ref.catalogue_of(ref.indicator("real", Level.PRACTICE, synthetic=False),
                                 ref.indicator("generated", Level.PRACTICE, synthetic=True))
    ref.build_workspace(tmp_path / "store.duckdb", orgs, rels, observations)
    run_pipeline(tmp_path / "store.duckdb", engine="duckdb", catalogue=catalogue)
    con = duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
    try:
        for table in ("result_opportunity", "result_opportunity_totals"):
            got = con.execute(f"SELECT indicator, bool_and(synthetic) AS all_, bool_or(synthetic) AS any_ "
                              f"FROM {table} GROUP BY indicator").df().set_index("indicator")
            assert got.loc["generated", "all_"] and not got.loc["real", "any_"], table
    finally:
        con.close()
    from uptake.results.read.opportunity import latest_national_opportunity, opportunity

    con = duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
    try:
        rows, _ = opportunity(con, indicator="generated")
        assert rows and all(r["synthetic"] for r in rows)
        assert all(r["synthetic"] for r in latest_national_opportunity(con, "generated"))
        assert not any(r["synthetic"] for r in latest_national_opportunity(con, "real"))
    finally:
        con.close()
