"""``uptake alerts``: send the alert digests of the current publication (docs/alerts.md), and list who follows
what. A server that cannot be reached, or a message it refuses, is a user error (exit code 1): what was not
sent is not marked as sent, so the next run sends it.
"""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from uptake.catalogue import Catalogue, load_catalogue
from uptake.cli._common import WorkspaceOption, console, existing_workspace, sub_app, user_error
from uptake.mission.alerts import SendSummary, send_digests
from uptake.mission.results import open_store, reading
from uptake.settings import Settings, get_settings
from uptake.store.alert_models import AlertSubscription
from uptake.store.db import make_engine, session_scope
from uptake.workspace import Workspace

alerts_app = sub_app(help="Alerts: email digests of what is new for the organisations, innovations and groups "
                          "people follow.")


def send_for(ws: Workspace, catalogue: Catalogue | None = None, settings: Settings | None = None) -> SendSummary:
    """Send the digests of the workspace's current publication, printing a progress line per subscriber and a
    summary; raises UptakeError when the server cannot be reached."""
    settings = settings or get_settings()
    engine = make_engine(ws.database_url)
    try:
        with reading(open_store(ws)) as con:
            def progress(n: int, total: int, email: str) -> None:
                console.print(f"[{n}/{total}] {email}", highlight=False)

            summary = send_digests(engine, con, catalogue or load_catalogue(), settings, progress=progress)
    finally:
        engine.dispose()
    console.print(
        f"Publication {summary.publication_id}: {len(summary.sent)} digest(s) sent through "
        f"{settings.smtp_host}:{settings.smtp_port}, {len(summary.nothing_new)} subscriber(s) with nothing new, "
        f"{len(summary.already_sent)} already sent for this publication, {len(summary.failed)} failed.",
        highlight=False)
    for email, why in summary.failed:
        console.print(f"[red]not sent to {email}: {why} (not marked as sent; run again to retry)[/red]",
                      highlight=False)
    return summary


@alerts_app.command("send")
def alerts_send(workspace: WorkspaceOption = None) -> None:
    """Email each subscriber the digest of the current publication: special-cause changes, new ratings,
    commitments off trajectory, worse than England and getting worse. At most one per subscriber and
    publication, so it is safe to run again. SMTP settings: UPTAKE_SMTP_HOST, _PORT, _FROM, _STARTTLS, _USER,
    _PASSWORD; links start with UPTAKE_PUBLIC_URL."""
    summary = send_for(existing_workspace(workspace))
    if summary.failed:
        raise user_error(f"{len(summary.failed)} digest(s) could not be sent")


@alerts_app.command("list")
def alerts_list(workspace: WorkspaceOption = None) -> None:
    """How many people follow each organisation, innovation and group."""
    engine = make_engine(existing_workspace(workspace).database_url)
    try:
        with session_scope(engine) as session:
            found = session.execute(select(AlertSubscription.target_kind, AlertSubscription.target_id,
                                           func.count()).group_by(AlertSubscription.target_kind,
                                                                  AlertSubscription.target_id)
                                    .order_by(AlertSubscription.target_kind, AlertSubscription.target_id)).all()
    finally:
        engine.dispose()
    for kind, target, n in found:
        typer.echo(f"{kind}\t{target}\t{n} subscriber(s)")
    if not found:
        typer.echo("Nobody follows anything yet.")


def register(app: typer.Typer) -> None:
    """Add ``uptake alerts``."""
    app.add_typer(alerts_app, name="alerts", help="Alerts: email digests of what is new for what people follow.")
