"""The fund's pages with the demo's DEMO applications (a copy of the web test workspace, so the shared one keeps
no DEMO rows): the page, an application's page and the downloads answer, and every DEMO figure says so."""

from __future__ import annotations

import re
import shutil

from fastapi.testclient import TestClient
from sqlalchemy import select

from uptake.models.fund_demo import seed_demo_fund
from uptake.store.db import make_engine, session_scope
from uptake.store.fund_models import FundApplication
from uptake.web.app import create_app
from uptake.workspace import Workspace
import workspace_builder


def test_the_fund_pages_show_demo_applications_labelled(demo, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(demo.workspace.root, root)
    ws = Workspace.resolve(root)
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine, write=True) as session:
            seed_demo_fund(session, count=6)
        with session_scope(engine) as session:
            ids = list(session.scalars(select(FundApplication.id).where(FundApplication.synthetic)))
    finally:
        engine.dispose()
    assert ids
    app = create_app(ws, catalogue=demo.built.catalogue, boundaries=workspace_builder.boundaries,
                     secret_key="test-secret-key-" + "x" * 32)
    with TestClient(app) as client:
        page = client.get("/fund")
        assert page.status_code == 200, page.text[-2000:]
        assert "DEMO/SYNTHETIC" in page.text and len(re.findall(r">\s*DEMO\s*</strong>", page.text)) >= len(ids)
        one = client.get(f"/fund/applications/{ids[0]}")
        assert one.status_code == 200 and "DEMO/SYNTHETIC" in one.text
        assert client.get("/fund/download/decisions.csv").status_code == 200
