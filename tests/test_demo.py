"""The main job end to end: `uptake demo --no-serve` builds a workspace from the bundled real data."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp("demo") / "ws"
    env = {k: v for k, v in os.environ.items() if k != "UPTAKE_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "uptake.cli", "demo", "--no-serve", "--workspace", str(ws)],
        capture_output=True, text=True, env=env, timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ws, proc.stdout


def test_demo_reports_the_real_nhs(demo_workspace):
    ws, out = demo_workspace
    con = duckdb.connect(str(ws / "analytics" / "uptake.duckdb"), read_only=True)
    counts = dict(con.execute(
        "SELECT level, count(*) FROM organisations WHERE valid_to IS NULL GROUP BY level"
    ).fetchall())
    assert counts["icb"] == 42
    assert counts["sub-icb"] == 106
    assert counts["region"] == 7
    assert counts["practice"] >= 6000
    assert counts["trust"] >= 200
    assert counts["stroke-unit"] >= 100
    typed = con.execute(
        "SELECT count(*) FROM organisations WHERE level = 'trust' AND valid_to IS NULL AND trust_type IS NOT NULL"
    ).fetchone()[0]
    assert typed == counts["trust"]
    # the printed summary names every level with its count
    for level in ("icb", "sub-icb", "practice", "trust", "stroke-unit"):
        assert level in out
    assert f"{counts['practice']:,}" in out


def test_demo_loads_every_catalogue_indicator(demo_workspace):
    from uptake.catalogue import load_catalogue

    ws, out = demo_workspace
    con = duckdb.connect(str(ws / "analytics" / "uptake.duckdb"), read_only=True)
    loaded = {row[0] for row in con.execute("SELECT DISTINCT indicator FROM observations_current").fetchall()}
    from uptake.sources import SOURCES

    # every indicator but the large practice series, which `uptake demo --with-practice-series` adds
    optional = {name for name, source in SOURCES.items() if not source.in_demo}
    assert optional == {"doac-share-practice", "cgm-sensors-per-1000-practice"}
    assert set(load_catalogue().indicators) - optional <= loaded
    assert not optional & loaded
    assert "SYNTHETIC" in out


def test_demo_is_repeatable(demo_workspace):
    """A second run over the same workspace loads nothing twice (identical data is a no-op)."""
    ws, _ = demo_workspace
    con = duckdb.connect(str(ws / "analytics" / "uptake.duckdb"), read_only=True)
    before = con.execute("SELECT count(*) FROM batches").fetchone()[0]
    con.close()
    env = {k: v for k, v in os.environ.items() if k != "UPTAKE_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "uptake.cli", "demo", "--no-serve", "--workspace", str(ws)],
        capture_output=True, text=True, env=env, timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    con = duckdb.connect(str(ws / "analytics" / "uptake.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM batches").fetchone()[0] == before
    assert "already loaded" in proc.stdout


def test_doac_export_reproduces_the_source_counts(demo_workspace, tmp_path):
    """Issue 3, done when: `uptake export values --indicator doac-share --level sub-icb` reproduces the
    NHSBSA counts exactly for every sub-ICB location and month, and the ICB level equals their sums."""
    import importlib.resources

    import pandas as pd

    ws, _ = demo_workspace
    env = {k: v for k, v in os.environ.items() if k != "UPTAKE_DATABASE_URL"}
    frames = {}
    for level in ("sub-icb", "icb", "england"):
        out = tmp_path / f"{level}.csv"
        proc = subprocess.run(
            [sys.executable, "-m", "uptake.cli", "export", "values", "--indicator", "doac-share", "--level", level,
             "--format", "csv", "--output", str(out), "--workspace", str(ws)],
            capture_output=True, text=True, env=env, timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        frames[level] = pd.read_csv(out, dtype={"org_code": str})
    raw = pd.read_csv(
        importlib.resources.files("uptake.sources") / "data" / "doac_warfarin_items_sicbl_monthly_2017-10_2022-09.csv",
        dtype={"ods_code": str},
    )
    raw["doac_items"] = raw["items"].where(raw["chemical"] != "Warfarin sodium", 0)
    source = raw.groupby(["ods_code", "date"], as_index=False).agg(
        numerator=("doac_items", "sum"), denominator=("items", "sum"))
    sub_icb = frames["sub-icb"].merge(
        source, left_on=["org_code", "period"], right_on=["ods_code", "date"], how="outer", indicator=True)
    assert (sub_icb["_merge"] == "both").all()
    assert (sub_icb["numerator_x"] == sub_icb["numerator_y"]).all()
    assert (sub_icb["denominator_x"] == sub_icb["denominator_y"]).all()
    assert ((sub_icb["value"] - sub_icb["numerator_y"] / sub_icb["denominator_y"]).abs() < 1e-12).all()
    assert sub_icb["ci95_low"].le(sub_icb["value"]).all() and sub_icb["ci95_high"].ge(sub_icb["value"]).all()
    # ICB = sum of its sub-ICB locations (through the bundled hierarchy); England = sum of all
    from uptake.reference import load_reference

    rels = load_reference().relationships
    links = rels[(rels["child_level"] == "sub-icb") & (rels["parent_level"] == "icb") & rels["valid_to"].isna()]
    rolled = frames["sub-icb"].merge(links, left_on="org_code", right_on="child_code").groupby(
        ["parent_code", "period"], as_index=False)[["numerator", "denominator"]].sum()
    icb = frames["icb"].merge(rolled, left_on=["org_code", "period"], right_on=["parent_code", "period"])
    assert len(icb) == len(frames["icb"]) == 42 * 60
    assert (icb["numerator_x"] == icb["numerator_y"]).all()
    england = frames["england"].set_index("period")["numerator"]
    assert (england == source.groupby("date")["numerator"].sum()).all()


def test_demo_runs_a_demo_round_and_labels_its_records(demo_workspace):
    """The networks part of the demo: one DEMO Health Innovation Challenge round for stroke over the real ISDNs,
    DEMO adoptions and SYNTHETIC barrier assessments, each flagged in the workflow database."""
    from sqlalchemy import select

    from uptake.ecosystem.anchors import partnership_pairs
    from uptake.store.db import make_engine, session_scope
    from uptake.store.ecosystem_network_models import AdoptionRecord, AnchorRound, BarrierAssessment
    from uptake.workspace import Workspace

    ws, out = demo_workspace
    assert "DEMO Health Innovation Challenge round" in out
    engine = make_engine(Workspace.resolve(ws).database_url)
    try:
        with session_scope(engine) as session:
            rounds = list(session.scalars(select(AnchorRound)))
            assert len(rounds) == 1 and rounds[0].synthetic and rounds[0].indicator_id == "thrombolysis-rate"
            assert all(d.footprint_code.startswith("ISDN-") for d in rounds[0].designations)  # the real ISDNs
            pairs = partnership_pairs(session)
            assert pairs and all(a != p for a, p in pairs)
            assert all(r.synthetic for r in session.scalars(select(AdoptionRecord)))
            assert all(b.synthetic for b in session.scalars(select(BarrierAssessment)))
    finally:
        engine.dispose()


def test_demo_values_the_real_doac_gap_and_labels_lung_synthetic(demo_workspace):
    """The demo's compute writes the outcome models' tables: DOACs from the real prescribing data (not
    synthetic), lung cancer from the synthetic series (labelled), each with its interval."""
    ws, _ = demo_workspace
    con = duckdb.connect(str(ws / "analytics" / "uptake.duckdb"), read_only=True)
    flags = dict(con.execute("SELECT indicator, bool_or(synthetic) FROM result_outcomes WHERE org_code = 'ENG' "
                             "GROUP BY indicator").fetchall())
    assert flags["doac-share"] is False and flags["lung-cancer-early-stage"] is True
    bad = con.execute("SELECT count(*) FROM result_outcomes WHERE NOT (low <= mean AND mean <= high)").fetchone()[0]
    assert bad == 0
    deaths = con.execute("SELECT mean FROM result_impact WHERE indicator = 'doac-share' "
                         "AND measure = 'deaths_avoided'").fetchone()[0]
    assert deaths > 0


def test_demo_board_pack_carries_the_mission(demo_workspace, tmp_path):
    """The board pack of the ICB whose plan the demo files: its commitments with their status and forecasts, its
    published rating with the rules as evaluated, its plan, its outcomes, and the profile and rug of its real
    data (the HTML the PDF is printed from: tests/web/test_board_pack.py prints and reads PDFs)."""
    import sqlite3

    ws, _ = demo_workspace
    with sqlite3.connect(ws / "workflow.sqlite") as db:
        (icb,) = db.execute("SELECT icb_code FROM cj_filings WHERE kind = 'plan' AND status = 'published' "
                            "ORDER BY id LIMIT 1").fetchone()
    out = tmp_path / "pack.html"
    env = {k: v for k, v in os.environ.items() if k != "UPTAKE_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "uptake.cli", "pack", icb, "--html", "--out", str(out), "--workspace", str(ws)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = out.read_text(encoding="utf-8")
    rating = html.split('id="rating"')[1].split("</section>")[0]
    assert "Rating year" in rating and "The evidence: every rule, as evaluated" in rating
    commitments = html.split('id="commitments"')[1].split("</section>")[0]
    assert "National commitments" in commitments and "nhsuk-tag" in commitments
    assert "Intravenous thrombolysis" in commitments or "thrombolysis" in commitments.lower()
    plan = html.split('id="plan"')[1].split("</section>")[0]
    assert f"Plan filed by {icb}" in plan and "DEMO RECORD" in plan and "Expected trajectory" in plan
    rug = html.split('id="rug"')[1].split("</section>")[0]
    assert "sub-ICB locations on every indicator" in rug and rug.count("uptake-rug__cell--") > 20
    forecasts = html.split('id="forecasts"')[1].split("</section>")[0]
    assert "reaches each commitment" in forecasts and "Its fitted diffusion curve on each indicator" in forecasts
    assert "What closing the gap to the top decile is worth" in html.split('id="opportunity"')[1]
    assert html.count('class="uptake-spine"') >= 8  # a spine per indicator of the ICB's
    assert html.count('role="img" aria-labelledby="deciles-') >= 8  # a deciles chart per indicator


def test_demo_seeds_labelled_fund_applications_and_allocates_them(demo_workspace):
    """The fund's part of the demo: DEMO applications from real ICBs and trusts, flagged synthetic, taken
    through the workflow; the allocation over them is labelled DEMO/SYNTHETIC."""
    from sqlalchemy import select

    from uptake.models import fund_applications as fa
    from uptake.store.db import make_engine, session_scope
    from uptake.store.fund_models import FundApplication
    from uptake.workspace import Workspace

    ws, out = demo_workspace
    assert "DEMO fund applications" in out
    engine = make_engine(Workspace.resolve(ws).database_url)
    reviewer = type("Reviewer", (), {"role": "national-admin", "actor": "test"})()
    try:
        with session_scope(engine) as session:
            apps = list(session.scalars(select(FundApplication)))
            assert apps and all(a.synthetic and a.title.startswith("DEMO") for a in apps)
            result = fa.run_allocation(session, reviewer, fa.fund_setup())
            assert result.synthetic and result.rows and all(r["explanation"] for r in result.rows)
    finally:
        engine.dispose()


def test_demo_saves_a_finished_demo_scenario_against_the_base(demo_workspace):
    """The demo runs one policy-simulator scenario (its name says DEMO) so /simulator has a comparison to show:
    finished, its spec as the demo states it, and a result whose scenario beats the base on the levers it pulls."""
    from sqlalchemy import select

    from uptake.demo import DEMO_SCENARIO
    from uptake.store.db import make_engine, session_scope
    from uptake.store.scenario_models import SimulationScenario
    from uptake.workspace import Workspace

    ws, out = demo_workspace
    assert "DEMO scenario saved" in out
    engine = make_engine(Workspace.resolve(ws).database_url)
    try:
        with session_scope(engine) as session:
            rows = list(session.scalars(select(SimulationScenario)))
    finally:
        engine.dispose()
    assert len(rows) == 1
    row = rows[0]
    assert row.name.startswith("DEMO") and row.status == "done" and row.progress == 1.0
    assert row.spec["runs"] == DEMO_SCENARIO["runs"] and row.spec["indicator"] == DEMO_SCENARIO["indicator"]
    assert row.result and row.result["start"]
    (summary,) = row.result["summary"]
    assert summary["organisations"] == 106 and summary["runs"] == 1000
    assert 0 < summary["extra_unit_years_low"] <= summary["extra_unit_years_mean"] <= summary["extra_unit_years_high"]
    assert 0 < summary["lives_low"] <= summary["lives_mean"] <= summary["lives_high"]
    arms = {t["arm"]: t for t in row.result["targets"] if t["months_to_target_median"] is not None}
    assert arms["scenario"]["months_to_target_median"] <= arms["base"]["months_to_target_median"]


def test_demo_saves_one_labelled_custom_group(demo_workspace):
    """Issue 16: /groups shows something and it can be chosen as a benchmark."""
    import sqlite3

    ws, out = demo_workspace
    assert "demo group" in out and "benchmark=group:" in out
    con = sqlite3.connect(str(ws / "workflow.sqlite"))
    try:
        groups = con.execute("SELECT g.id, g.title, g.description, u.email, g.level FROM org_groups g "
                             "JOIN users u ON u.id = g.owner_id").fetchall()
        assert len(groups) == 1
        group_id, title, description, owner, level = groups[0]
        assert "DEMO" in title and "DEMO" in description and owner == "icb@demo.uptake.example"
        members = [c for (c,) in con.execute("SELECT org_code FROM org_group_members WHERE group_id = ?",
                                             [group_id]).fetchall()]
    finally:
        con.close()
    assert 2 <= len(members) <= 5
    results = duckdb.connect(str(ws / "analytics" / "uptake.duckdb"), read_only=True)
    with_values = {c for (c,) in results.execute(
        "SELECT DISTINCT org_code FROM result_values WHERE level = ?", [level]).fetchall()}
    results.close()
    assert set(members) <= with_values  # each member has results to pool
