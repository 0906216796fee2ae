"""``uptake pack ORG``: an organisation's board pack as a PDF (uptake.web.board_pack, printed by
uptake.web.pdf with headless Chromium), from the workspace's published results and workflow database. The
command line builds it as the workspace's operator, so every section is filled (the web serves each person
what their role covers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from uptake.cli._common import WorkspaceOption, console, existing_workspace
from uptake.errors import UptakeError
from uptake.web.app import create_app
from uptake.web.board_pack import OPERATOR, pack_filename, render_board_pack
from uptake.web.pdf import html_to_pdf

OutOption = Annotated[
    Optional[Path],
    typer.Option("--out", "-o", help="Where to write the PDF (default ./uptake-board-pack-ORG.pdf)."),
]
HtmlOption = Annotated[
    bool, typer.Option("--html", help="Write the pack's HTML (self-contained) instead of printing it to PDF.")]


def pack_command(
    org: Annotated[str, typer.Argument(help="ODS code of the organisation (an ICB, sub-ICB location, practice, trust, ...).")],
    out: OutOption = None,
    html: HtmlOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Write ORG's board pack: its area profile, deciles charts, tartan rug, commitments, forecasts, rating,
    plan and opportunity, as a PDF (needs Chromium: Debian's chromium package, or $UPTAKE_CHROMIUM)."""
    ws = existing_workspace(workspace)
    if not ws.analytics_path.exists():
        raise UptakeError(f"the workspace at {ws.root} has no results yet; run `uptake compute` first")
    web = create_app(ws).state.web
    web.snapshots.current  # noqa: B018 - load the results now, so a missing store fails here
    code = org.strip().upper()
    try:
        document = render_board_pack(web, code, OPERATOR)
    except Exception as exc:  # the page's 404 for an unknown organisation
        if getattr(exc, "status_code", None) == 404:
            raise UptakeError(f"unknown organisation code {org!r}; find codes with `uptake orgs list`") from None
        raise
    target = out or Path(pack_filename(code).replace(".pdf", ".html" if html else ".pdf"))
    if html:
        target.write_text(document, encoding="utf-8")
    else:
        body = html_to_pdf(document)
        target.write_bytes(body)
    console.print(f"Board pack of {code} written to {target} ({target.stat().st_size:,} bytes)")


def register(app: typer.Typer) -> None:
    """Add ``uptake pack``."""
    app.command("pack")(pack_command)
