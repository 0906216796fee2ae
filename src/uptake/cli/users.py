"""``uptake users add``: people who can sign in to the web app. A --role outside national-admin,
icb-analyst, provider-lead and innovator, or a --scope for a national-admin, is a usage error (exit code 2)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from uptake.cli._common import WorkspaceOption, console, existing_workspace, sub_app, usage_error
from uptake.store.db import make_engine, session_scope
from uptake.store.models import ROLES
from uptake.store.repository import default_actor
from uptake.web.accounts import create_user

users_app = sub_app(help="People who can sign in to the web app.")


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The user's email address (their sign-in name).")],
    name: Annotated[str, typer.Option("--name", help="The user's full name.")],
    role: Annotated[str, typer.Option("--role", help="national-admin, icb-analyst, provider-lead or innovator.")],
    scope: Annotated[Optional[str], typer.Option(
        "--scope", help="ICB code (icb-analyst), organisation code (provider-lead) or innovation id (innovator).",
    )] = None,
    workspace: WorkspaceOption = None,
    password: Annotated[Optional[str], typer.Option(
        "--password", prompt=True, hide_input=True, confirmation_prompt=True,
        help="Asked for when not given (recommended: do not put passwords on a command line).",
    )] = None,
) -> None:
    """Add a user who can sign in to the web app (recorded in the audit log)."""
    if role not in ROLES:
        raise usage_error(f"user {email.strip().lower()}: unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if role == "national-admin" and scope:
        raise usage_error("a national-admin sees everything; leave --scope out")
    ws = existing_workspace(workspace, then="run `uptake init` first")
    org = scope if role in ("icb-analyst", "provider-lead") else None
    innovation = scope if role == "innovator" else None
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as db:
            user = create_user(db, email=email, name=name, role=role, password=password or "",
                               scope_org_code=org, scope_innovation=innovation, actor=default_actor())
            console.print(f"Added {user.email} ({user.role}{', ' + scope if scope else ''}).")
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    """Add ``uptake users``."""
    app.add_typer(users_app, name="users")
