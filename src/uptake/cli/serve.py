"""``uptake serve``: the web app and the JSON API; and, for ``uptake demo``, ``create_demo_users`` (new demo
users, one per role) and ``print_sign_ins`` (printed before the same server, or alone with --no-serve)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
import pandas as pd
from sqlalchemy import select

from uptake.catalogue import load_catalogue
from uptake.cli._common import WorkspaceOption, console
from uptake.errors import UptakeError
from uptake.results import read
from uptake.store.db import make_engine, session_scope
from uptake.store.models import User
from uptake.web.accounts import ensure_demo_users
from uptake.web.app import create_app
from uptake.web.snapshot import Snapshot, load_snapshot, remove_snapshot_file
from uptake.workspace import Workspace

HostOption = Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


def check_port(host: str, port: int) -> None:
    """Refuse (UptakeError) an address this process cannot listen on: another program holds the port."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise UptakeError(
                f"cannot listen on {host}:{port} ({exc.strerror}); another program is using it. "
                f"Stop it, or choose another port with --port"
            ) from None


def run_server(ws: Workspace, host: str, port: int, *, sign_ins: list | None = None,
               out: Console | None = None) -> None:
    """Serve the app over ``ws`` with uvicorn until interrupted (Ctrl+C)."""
    # deferred: uvicorn is heavy and only this path needs it
    import uvicorn

    out = out or console
    if not ws.root.exists():
        raise UptakeError(f"there is no workspace at {ws.root}; run `uptake demo` or `uptake init` first")
    check_port(host, port)
    app = create_app(ws)
    missing = app.state.web.assets.missing()
    if missing:
        out.print(f"[yellow]Static files missing ({', '.join(missing)}): run `npm ci` in the project root "
                  "(make install does it). Pages will work without styling.[/yellow]")
    shown_host = f"[{host}]" if ":" in host else host
    out.print(f"\nUptake is running at [bold]http://{shown_host}:{port}/[/bold]  (API documentation: /docs)")
    if sign_ins:
        print_sign_ins(sign_ins, out)
    out.print("Press Ctrl+C to stop.\n")
    # X-Forwarded-* are believed only from UPTAKE_TRUSTED_PROXIES, by the app itself (uptake.web.limits)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)


def print_sign_ins(sign_ins: list, out: Console | None = None) -> None:
    """The demo users' sign-ins (role, email, password, scope) as a table."""
    table = Table("role", "email", "password", "sees the innovation packs of", title="Demo sign-ins")
    for user in sign_ins:
        table.add_row(user.role, user.email, user.password, user.scope)
    (out or console).print(table)


def serve(workspace: WorkspaceOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Serve the web app and the JSON API (/api/v1, documented at /docs)."""
    ws = Workspace.resolve(workspace)
    run_server(ws, host, port, sign_ins=_mention_demo_users(ws))


def _mention_demo_users(ws: Workspace) -> list:
    """The demo users' emails (passwords are not stored in clear, so they are printed by `uptake demo`)."""
    try:
        engine = make_engine(ws.database_url)
        try:
            with session_scope(engine) as db:
                users = db.scalars(select(User).where(User.email.like("%@demo.uptake.example"))).all()
                if users:
                    console.print("Demo users: " + ", ".join(f"{u.email} ({u.role})" for u in users)
                                  + " - their passwords are printed by `uptake demo`.")
        finally:
            engine.dispose()
    except Exception:
        pass
    return []


def create_demo_users(ws: Workspace) -> list:
    """One demo user per role, scoped to organisations and an innovation that have results. Returns the
    DemoUser records with their (new, random) passwords, for the demo to print."""
    icb, provider, innovation = _demo_scopes(ws)
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as db:
            return ensure_demo_users(db, icb_code=icb, provider_code=provider, innovation_id=innovation)
    finally:
        engine.dispose()


def _demo_scopes(ws: Workspace) -> tuple[str, str, str]:
    """An ICB, a provider (trust, else practice) and an innovation for the demo users, preferring ones
    with results, so each demo role has something to see."""
    snapshot = load_snapshot(ws.analytics_path, ws.snapshot_dir)  # a read-only copy: never the views as tables
    try:
        return _demo_scopes_in(snapshot)
    finally:
        snapshot.connection.close()
        remove_snapshot_file(snapshot)


def _demo_scopes_in(snapshot: Snapshot) -> tuple[str, str, str]:
    cur = snapshot.cursor()
    has_values = snapshot.has("result_values")
    current = (read.organisations.current_frame(cur) if snapshot.has("organisations")
               else pd.DataFrame(columns=["code", "level", "name"]))

    def first_with_results(level: str) -> str | None:
        codes = read.values.org_codes(cur, level) if has_values else []
        return codes[0] if codes else None

    def first_of(levels: tuple[str, ...]) -> str | None:
        codes = sorted(current.loc[current["level"].isin(levels), "code"])
        return codes[0] if codes else None

    icb = first_with_results("icb") or first_of(("icb",))
    provider = None
    for level in ("trust", "stroke-unit", "practice"):
        provider = first_with_results(level)
        if provider:
            break
    provider = provider or first_of(("trust", "practice"))
    catalogue = load_catalogue()
    # the flagship real case (DOACs) when it has results, else the first indicator with results
    measured = sorted({r["indicator"] for r in read.values.indicator_levels(cur)}) if has_values else []
    with_results = "doac-share" if "doac-share" in measured else (measured[0] if measured else None)
    innovation = (catalogue.indicators[with_results].innovation if with_results in catalogue.indicators
                  else next(iter(catalogue.innovations), None))
    if not (icb and provider and innovation):
        raise UptakeError("the workspace has no ICB, provider or innovation to scope demo users to; "
                          "run `uptake demo` to build it")
    return icb, provider, innovation


def register(app: typer.Typer) -> None:
    """Add ``uptake serve``."""
    app.command("serve")(serve)
