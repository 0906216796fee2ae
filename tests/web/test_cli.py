"""`uptake users add`, the demo users, and `uptake serve` (added to a Typer app by their modules'
register(), as uptake.cli adds them to the root app)."""

from __future__ import annotations

import socket

import pytest
import typer
from typer.testing import CliRunner

from uptake.cli import serve as serve_cli
from uptake.cli import users as users_cli
from uptake.cli.serve import run_server
from uptake.errors import UptakeError
from uptake.store.db import make_engine, session_scope
from uptake.web.accounts import authenticate, ensure_demo_users
from uptake.workspace import Workspace


def _app():
    app = typer.Typer()
    serve_cli.register(app)
    users_cli.register(app)
    return app


def test_users_add_prompts_for_a_password(demo):
    result = CliRunner().invoke(
        _app(), ["users", "add", "cli.user@nhs.example", "--name", "CLI User", "--role", "provider-lead",
                 "--scope", "RH5", "--workspace", str(demo.workspace.root)],
        input="a very long password\na very long password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Added cli.user@nhs.example" in result.output
    engine = make_engine(demo.workspace.database_url)
    with session_scope(engine) as db:
        user = authenticate(db, "cli.user@nhs.example", "a very long password")
        assert user is not None and user.scope_org_code == "RH5"
    engine.dispose()


@pytest.mark.parametrize("args,code,message", [
    (["--role", "provider-lead", "--scope", "QMJ"], 1, "needs the code of a current"),
    (["--role", "innovator", "--scope", "nope"], 1, "no innovation"),
    (["--role", "national-admin", "--scope", "QMJ"], 2, "leave --scope out"),
    (["--role", "icb-analyst", "--scope", "QMJ", "--password", "short"], 1, "at least 12"),
    (["--role", "admin"], 2, "unknown role 'admin'"),
])
def test_users_add_explains_mistakes(demo, args, code, message):
    result = CliRunner().invoke(
        _app(), ["users", "add", "bad.user@nhs.example", "--name", "Bad", *args,
                 "--workspace", str(demo.workspace.root)] + ([] if "--password" in args else ["--password", "x" * 14]),
    )
    assert result.exit_code == code, result.output
    assert "error:" in result.output and message in result.output


def test_demo_users_rotate_passwords(demo):
    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as db:
            users = ensure_demo_users(db, icb_code="QMJ", provider_code="RAL", innovation_id="doacs")
        assert {u.role for u in users} == {"national-admin", "icb-analyst", "provider-lead", "innovator"}
        assert len({u.password for u in users}) == 4
        with session_scope(engine) as db:
            for u in users:
                assert authenticate(db, u.email, u.password) is not None
    finally:
        # put the known test passwords back for the other tests
        with session_scope(engine) as db:
            ensure_demo_users(db, icb_code="QMJ", provider_code="RAL", innovation_id="doacs",
                              password_factory=lambda: "correct horse battery staple")
        engine.dispose()


def test_serve_refuses_a_busy_port(demo):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UptakeError, match="another program is using it"):
            run_server(demo.workspace, "127.0.0.1", port)


def test_serve_needs_a_workspace(tmp_path):
    with pytest.raises(UptakeError, match="no workspace"):
        run_server(Workspace(root=tmp_path / "missing"), "127.0.0.1", 8000)
