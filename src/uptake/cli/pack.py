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
from uptake.store.db import session_scope
from uptake.store.group_models import OrgGroup
from uptake.web.board_pack import OPERATOR, group_pack_filename, pack_filename, render_board_pack, render_group_pack
from uptake.web.groups import figures_of
from uptake.web.pdf import html_to_pdf

OutOption = Annotated[
    Optional[Path],
    typer.Option("--out", "-o", help="Where to write the PDF (default ./uptake-board-pack-ORG.pdf)."),
]
HtmlOption = Annotated[
    bool, typer.Option("--html", help="Write the pack's HTML (self-contained) instead of printing it to PDF.")]


BenchmarkOption = Annotated[Optional[str], typer.Option(
    "--benchmark", "-b", help="Compare with: england (default), region, icb, peers (the similar-10, pooled) or "
                              "group:ID (a saved custom group, pooled).")]
GroupOption = Annotated[Optional[int], typer.Option(
    "--group", "-g", help="Write the pack of the saved custom group ID (its members, pooled figures against England "
                          "and each member) instead of an organisation's.")]


def pack_command(
    org: Annotated[Optional[str], typer.Argument(
        help="ODS code of the organisation (an ICB, sub-ICB location, practice, trust, ...).")] = None,
    out: OutOption = None,
    html: HtmlOption = False,
    benchmark: BenchmarkOption = None,
    group: GroupOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Write ORG's board pack: its area profile against the benchmark, deciles charts, tartan rug,
    commitments, forecasts, rating, plan and opportunity, as a PDF (needs Chromium: Debian's chromium package,
    or $UPTAKE_CHROMIUM). With --group ID, a custom group's pack instead."""
    if (org is None) == (group is None):
        raise UptakeError("give an organisation code (uptake pack QMJ) or --group ID (uptake pack --group 3), "
                          "not both and not neither")
    ws = existing_workspace(workspace)
    if not ws.analytics_path.exists():
        raise UptakeError(f"the workspace at {ws.root} has no results yet; run `uptake compute` first")
    web = create_app(ws).state.web
    web.snapshots.current  # noqa: B018 - load the results now, so a missing store fails here
    if group is not None:
        if benchmark:
            raise UptakeError("a group's pack compares the group with England; --benchmark is for an "
                              "organisation's pack")
        document, name = _group_document(web, group)
        code = f"group {group}"
    else:
        code = org.strip().upper()
        try:
            document = render_board_pack(web, code, OPERATOR, benchmark=benchmark, any_group=True)
        except Exception as exc:  # the page's 404 for an unknown organisation, 422 for a benchmark
            status = getattr(exc, "status_code", None)
            if status == 404:
                raise UptakeError(f"unknown organisation code {org!r}; find codes with `uptake orgs list`") from None
            if status == 422:
                raise UptakeError(f"--benchmark: {exc.detail}") from None
            raise
        name = pack_filename(code, benchmark)
    target = out or Path(name.replace(".pdf", ".html" if html else ".pdf"))
    if html:
        target.write_text(document, encoding="utf-8")
    else:
        body = html_to_pdf(document)
        target.write_bytes(body)
    console.print(f"Board pack of {code} written to {target} ({target.stat().st_size:,} bytes)")


def _group_document(web, group_id: int) -> tuple[str, str]:
    """The pack of saved group ``group_id`` (any owner's: the operator's command) and its file name."""
    with session_scope(web.engine) as session:
        found = session.get(OrgGroup, group_id)
        if found is None:
            raise UptakeError(f"--group {group_id}: there is no saved group {group_id} (the numbers are in the "
                              "groups' addresses, /groups/ID)")
        _ = found.members
        session.expunge(found)
    return (render_group_pack(web, found, figures_of(web, found), OPERATOR),
            group_pack_filename(found.id, found.title))


def register(app: typer.Typer) -> None:
    """Add ``uptake pack``."""
    app.command("pack")(pack_command)
