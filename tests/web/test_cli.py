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


# --- uptake demo: --host/--port, and the demo sign-ins without serving ----------------------------------


@pytest.fixture(scope="module")
def bare_workspace(tmp_path_factory):
    """A workspace as `uptake init` makes it (organisations and catalogue, no results): enough for the demo
    users, whose scopes fall back to the first ICB and trust. Its own SQLite database, so the shared demo
    users' passwords are left alone."""
    from uptake.demo import init_workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        root = tmp_path_factory.mktemp("demo-cli") / "ws"
        init_workspace(root)
        yield root


def _demo_cli(monkeypatch, workspace_root, served: list):
    """The root app with the demo's minutes of building replaced by the workspace already built, and uvicorn
    replaced by a recorder."""
    import uvicorn

    from uptake.cli import app
    from uptake.cli import demo as demo_cli

    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    built: list = []

    def build(workspace, console=None, with_practice_series=False):
        built.append(workspace)
        return Workspace.resolve(workspace), None

    monkeypatch.setattr(demo_cli, "build_demo", build)
    monkeypatch.setattr(demo_cli, "print_summary", lambda summary, console: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(kwargs))
    return app, built


def _printed_sign_ins(output: str) -> dict[str, str]:
    """email -> password from the printed 'Demo sign-ins' table."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if len(cells) >= 3 and cells[1].endswith("@demo.uptake.example"):
            found[cells[1]] = cells[2]
    return found


def test_demo_no_serve_still_creates_and_prints_the_sign_ins(bare_workspace, monkeypatch):
    served: list = []
    app, built = _demo_cli(monkeypatch, bare_workspace, served)
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--workspace", str(bare_workspace)])
    assert result.exit_code == 0, result.output
    assert built and not served
    printed = _printed_sign_ins(result.output)
    assert set(printed) == {"admin@demo.uptake.example", "icb@demo.uptake.example",
                            "provider@demo.uptake.example", "innovator@demo.uptake.example"}
    assert "uptake serve --workspace" in result.output
    engine = make_engine(Workspace.resolve(bare_workspace).database_url)
    try:
        with session_scope(engine) as db:  # `uptake serve` afterwards: each printed sign-in works
            for email, password in printed.items():
                assert authenticate(db, email, password) is not None, email
    finally:
        engine.dispose()


def test_demo_serves_on_the_host_and_port_given(bare_workspace, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served: list = []
    app, _ = _demo_cli(monkeypatch, bare_workspace, served)
    result = CliRunner().invoke(app, ["demo", "--host", "127.0.0.1", "--port", str(port),
                                      "--workspace", str(bare_workspace)])
    assert result.exit_code == 0, result.output
    assert [(s["host"], s["port"]) for s in served] == [("127.0.0.1", port)]
    assert f"http://127.0.0.1:{port}/" in result.output
    assert len(_printed_sign_ins(result.output)) == 4


def test_demo_refuses_a_busy_port_before_building(bare_workspace, monkeypatch):
    served: list = []
    app, built = _demo_cli(monkeypatch, bare_workspace, served)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["demo", "--port", str(port), "--workspace", str(bare_workspace)])
    assert result.exit_code == 1, result.output
    assert "another program is using it" in result.output and "--port" in result.output
    assert not built and not served
