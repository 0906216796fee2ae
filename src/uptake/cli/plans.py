"""``uptake plans``: comply or justify, ICB plans and justifications from filing to publication (see
docs/mission.md). A --kind other than plan or justification is a usage error (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from uptake.cli._common import AsOption, WorkspaceOption, sub_app, usage_error, who, workflow_session
from uptake.errors import UptakeError
from uptake.mission.plans import (
    filing_history,
    filings,
    get_filing,
    icbs_with_nothing_filed,
    plan_against_actual,
    review_queue,
    save_filing,
    transition,
)
from uptake.mission.results import open_store
from uptake.store.mission_models import FILING_KINDS

plans_app = sub_app(help="Comply or justify: ICB plans and justifications.")

FilingArgument = Annotated[int, typer.Argument(help="filing id (see `uptake plans list`)")]
CommentOption = Annotated[Optional[str], typer.Option("--comment", help="a comment for the ICB")]


@plans_app.command("file")
def plans_file(
    framework_id: Annotated[str, typer.Argument(help="framework id, e.g. stroke")],
    commitment: Annotated[str, typer.Argument(help="commitment id, e.g. thrombolysis")],
    icb: Annotated[str, typer.Argument(help="the ICB's code, e.g. QE1")],
    content: Annotated[Path, typer.Option("--from", help="a YAML or JSON file with the plan or justification")],
    kind: Annotated[str, typer.Option("--kind", help="plan or justification")] = "plan",
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Create or edit an ICB's draft plan or justification for a commitment (the ICB's analyst)."""
    if kind not in FILING_KINDS:
        raise usage_error(f"a filing is a plan or a justification, not {kind!r}")
    try:
        data = yaml.safe_load(content.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UptakeError(f"cannot read {content}: {exc}") from None
    with workflow_session(workspace) as (_, session):
        filing = save_filing(session, who(session, as_user), framework_id, commitment, icb, kind, data)
        typer.echo(f"filing {filing.id}: {filing.kind} of {filing.icb_code} for {framework_id}/{commitment}, "
                   f"{filing.status}, revision {filing.revision}")


def _step(action: str, filing_id: int, comment: str | None, workspace: Path | None, as_user: str | None) -> None:
    with workflow_session(workspace) as (_, session):
        filing = transition(session, who(session, as_user), filing_id, action, comment)
        typer.echo(f"filing {filing.id} ({filing.icb_code}, {filing.framework_id}/{filing.commitment_key}) is now "
                   f"{filing.status}")


@plans_app.command("submit")
def plans_submit(filing_id: FilingArgument, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Submit a draft for national review (the ICB's analyst)."""
    _step("submit", filing_id, None, workspace, as_user)


@plans_app.command("resubmit")
def plans_resubmit(filing_id: FilingArgument, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Resubmit a challenged filing after editing it (the ICB's analyst)."""
    _step("resubmit", filing_id, None, workspace, as_user)


@plans_app.command("accept")
def plans_accept(filing_id: FilingArgument, comment: CommentOption = None, workspace: WorkspaceOption = None,
                 as_user: AsOption = None) -> None:
    """Accept a submitted filing (national reviewer)."""
    _step("accept", filing_id, comment, workspace, as_user)


@plans_app.command("challenge")
def plans_challenge(filing_id: FilingArgument,
                    comment: Annotated[str, typer.Option("--comment", help="what the ICB must change")],
                    workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Challenge a submitted filing, saying what must change (national reviewer)."""
    _step("challenge", filing_id, comment, workspace, as_user)


@plans_app.command("publish")
def plans_publish(filing_id: FilingArgument, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Publish an accepted filing (national reviewer): the public can then see it."""
    _step("publish", filing_id, None, workspace, as_user)


@plans_app.command("list")
def plans_list(icb: Annotated[Optional[str], typer.Option("--icb")] = None,
               status: Annotated[Optional[str], typer.Option("--status")] = None,
               workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """The filings you may see: id, ICB, framework/commitment, kind, status, revision."""
    with workflow_session(workspace) as (_, session):
        for f in filings(session, who(session, as_user), icb_code=icb, status=status):
            typer.echo(f"{f.id}\t{f.icb_code}\t{f.framework_id}/{f.commitment_key}\t{f.kind}\t{f.status}\t"
                       f"revision {f.revision}\t{f.updated_at:%Y-%m-%d} by {f.updated_by}")


@plans_app.command("show")
def plans_show(filing_id: FilingArgument, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """A filing's content, its history and, for a plan, the plan against the results."""
    with workflow_session(workspace) as (ws, session):
        actor = who(session, as_user)
        filing = get_filing(session, actor, filing_id)
        typer.echo(f"filing {filing.id}: {filing.kind} of {filing.icb_code} for {filing.framework_id}/"
                   f"{filing.commitment_key}, {filing.status}, revision {filing.revision}")
        typer.echo(json.dumps(filing.content, indent=2))
        if filing.review_comment:
            typer.echo(f"review comment ({filing.reviewed_by}): {filing.review_comment}")
        typer.echo("history:")
        for r in filing_history(session, actor, filing_id):
            typer.echo(f"  {r.occurred_at:%Y-%m-%d %H:%M} UTC  {r.action:<10} -> {r.status:<12} {r.actor}"
                       + (f"  ({r.comment})" if r.comment else ""))
        if filing.kind == "plan":
            try:
                tracked = plan_against_actual(session, open_store(ws), actor, filing_id)
            except UptakeError as exc:
                typer.echo(f"plan against actual: {exc}")
            else:
                typer.echo("plan against actual:")
                typer.echo(tracked.to_string(index=False))


@plans_app.command("missing")
def plans_missing(workspace: WorkspaceOption = None) -> None:
    """ICBs that have filed nothing (beyond a draft) for a commitment of a published framework."""
    with workflow_session(workspace) as (_, session):
        missing = icbs_with_nothing_filed(session)
    for m in missing:
        typer.echo(f"{m.icb_code}\t{m.framework_id}/{m.commitment_key}\t{m.state}\t{m.icb_name}")
    typer.echo(f"{len({m.icb_code for m in missing})} ICBs, {len(missing)} commitment filings outstanding")


@plans_app.command("queue")
def plans_queue(workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Filings waiting for national review."""
    with workflow_session(workspace) as (_, session):
        for f in review_queue(session, who(session, as_user)):
            typer.echo(f"{f.id}\t{f.icb_code}\t{f.framework_id}/{f.commitment_key}\t{f.kind}\t{f.status}\t"
                       f"submitted {f.submitted_at:%Y-%m-%d}")


def register(app: typer.Typer) -> None:
    """Add ``uptake plans``."""
    app.add_typer(plans_app, name="plans", help="Comply or justify: ICB plans and justifications.")
