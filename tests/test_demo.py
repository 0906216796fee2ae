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
    assert set(load_catalogue().indicators) <= loaded
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
