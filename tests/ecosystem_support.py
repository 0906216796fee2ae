"""Builders shared by the frontline tests (no tests here): the mission's small world (stroke units U01-U12 in
ICBs QAA, QBB, QCC with three years of thrombolysis results, the bundled frameworks) with attainment computed,
and the bundled award scheme loaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from uptake.ecosystem.award import bundled_scheme, load_scheme
from uptake.mission.permissions import Who
from uptake.mission.ratings import compute_ratings
from uptake.store import make_engine, session_scope, upgrade

TESTS = Path(__file__).resolve().parent
ADMIN = Who(role="national-admin", email="panel@england.nhs.uk")
LEAD_U01 = Who(role="provider-lead", email="lead@u01.nhs.uk", scope_org_code="U01")


def mission_support():
    spec = importlib.util.spec_from_file_location("uptake_test_mission_support_eco", TESTS / "test_mission_support.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_world(workspace):
    """(engine, store) of a workspace holding the mission's small world, attainment and the award scheme."""
    support = mission_support()
    store = support.small_store(workspace.analytics_path)
    upgrade(workspace.database_url)
    engine = support.mission_workflow(make_engine(workspace.database_url))
    with session_scope(engine) as session:
        compute_ratings(session, store, who=support.ADMIN)
    with session_scope(engine) as session:
        load_scheme(session, ADMIN, bundled_scheme())
    return engine, store
