"""Command functions of the mission, mounted by uptake.cli (see docs/mission.md):

    from uptake.cli import mission as mission_cli
    app.add_typer(mission_cli.nsf_app, name="nsf", help="National Service Frameworks.")
    app.add_typer(mission_cli.ratings_app, name="ratings", help="Innovation ratings.")
    app.add_typer(mission_cli.plans_app, name="plans", help="Comply or justify: ICB plans and justifications.")
    app.add_typer(mission_cli.assessments_app, name="assessments", help="Value assessments and availability gaps.")
    app.command("export")(mission_cli.export_command)  # the pipeline's `uptake export TABLE`, plus `ratings`

Commands that change records take `--as EMAIL` to act as a user of the workflow database (their role
and scope are checked). Without it the command acts as the operating-system user with national-admin
authority: whoever can run commands on the server can change the database anyway, and the audit log
records their account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from uptake.errors import UptakeError
from uptake.workspace import Workspace
from uptake.store.db import make_engine, session_scope
from uptake.mission.permissions import operator, who_for_email
from uptake.mission.framework_repository import list_frameworks
from uptake.catalogue import load_catalogue
from uptake.mission.framework_repository import framework_history, framework_version
from uptake.mission.framework_files import describe_diff
from uptake.mission.framework_repository import load_frameworks
from uptake.mission.framework_files import read_frameworks
from uptake.mission.permissions import require, may_manage_frameworks
from uptake.mission.results import open_store
import datetime as dt
from uptake.mission.ratings import compute_ratings
from uptake.mission.rule_set import load_rule_set
from uptake.mission.ratings import publish_ratings, review_ratings
from uptake.mission.ratings import ratings_table
from uptake.mission.results import read_table
from uptake.cli.export_files import write_frame
import tempfile
from uptake.cli.compute import export
import yaml
from uptake.mission.plans import save_filing
from uptake.mission.plans import transition
from uptake.mission.plans import filings
from uptake.mission.plans import filing_history, get_filing, plan_against_actual
from uptake.mission.plans import icbs_with_nothing_filed
from uptake.mission.plans import review_queue
from uptake.mission.assessments import add_assessment, due_date
from uptake.mission.assessments import assessments_frame
import pandas as pd
from uptake.mission.assessments import duplicates
from uptake.mission.assessments import availability_gap_report

console = Console()

WorkspaceOption = Annotated[
    Optional[Path],
    typer.Option("--workspace", "-w", help="Workspace directory (default ./uptake-workspace or $UPTAKE_WORKSPACE)."),
]
AsOption = Annotated[
    Optional[str],
    typer.Option("--as", help="Act as this user of the workflow database (email); default: you, as national admin."),
]

nsf_app = typer.Typer(no_args_is_help=True, help="National Service Frameworks: list, show, load.")
ratings_app = typer.Typer(no_args_is_help=True, help="Innovation ratings: compute, review, publish, list.")
plans_app = typer.Typer(no_args_is_help=True, help="Comply or justify: ICB plans and justifications.")
assessments_app = typer.Typer(no_args_is_help=True, help="Value assessments, availability gaps, duplicates.")


def _workspace(workspace: Path | None) -> Workspace:
    ws = Workspace.resolve(workspace)
    if not ws.root.exists():
        raise UptakeError(f"there is no workspace at {ws.root}; run `uptake init` or `uptake demo` first")
    return ws


@contextmanager
def _session(workspace: Path | None) -> Iterator[tuple[Workspace, Session]]:
    ws = _workspace(workspace)
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            yield ws, session
    finally:
        engine.dispose()


def _who(session: Session, as_user: str | None):
    return who_for_email(session, as_user) if as_user else operator()


# --- uptake nsf ------------------------------------------------------------------------------------


@nsf_app.command("list")
def nsf_list(workspace: WorkspaceOption = None) -> None:
    """One line per framework: id, title, current version and status."""
    with _session(workspace) as (_, session):
        summaries = list_frameworks(session)
    if not summaries:
        console.print("No frameworks loaded; run `uptake nsf load`.")
        return
    for item in summaries:
        typer.echo(f"{item.id}\t{item.title}\tv{item.version}\t{item.status}")


@nsf_app.command("show")
def nsf_show(
    framework_id: Annotated[str, typer.Argument(help="framework id, e.g. stroke")],
    version: Annotated[Optional[int], typer.Option("--version", help="a version (default: current)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the stored definition as JSON")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """A framework version in full: its commitments, standards, targets, deadlines, milestones and history."""
    catalogue = load_catalogue()
    with _session(workspace) as (_, session):
        row = framework_version(session, framework_id, version)
        history = framework_history(session, framework_id)
        if as_json:
            typer.echo(json.dumps(row.definition, indent=2))
            return
        d = row.definition
        console.print(f"[bold]{d['title']}[/bold] ({d['id']} v{d['version']}, {d['status']})")
        console.print(f"{d['condition']}; {d['start']} to {d['end']}; owner: {d['owner']}")
        console.print(d["summary"])
        table = Table("commitment", "indicator", "scope", "minimum", "target", "deadline", "milestones")
        for c in d["commitments"]:
            ind = catalogue.indicators.get(c["indicator"])
            fmt = ind.format_value if ind else str
            table.add_row(
                f"{c['id']}\n{c['title']}", c["indicator"] + (" (SYNTHETIC data)" if ind and ind.synthetic else ""),
                ", ".join(c["scope"]["levels"]), fmt(c["minimum_standard"]), fmt(c["target"]), c["deadline"],
                "\n".join(f"{m['date']}: {fmt(m['value'])}" for m in c["milestones"]) or "-",
            )
        console.print(table)
        for c in d["commitments"]:
            console.print(f"[bold]{c['id']}[/bold]: {c['rationale']}")
            for e in c["evidence"]:
                console.print(f"  - {e['claim']}: {e['source']}" + (f" <{e['url']}>" if e.get("url") else ""))
        console.print("[bold]History[/bold]")
        for v in history:
            console.print(f"  v{v.version} {v.status}, loaded {v.loaded_at:%Y-%m-%d %H:%M} UTC by {v.loaded_by}: "
                          + "; ".join(describe_diff(v.changes)))


@nsf_app.command("load")
def nsf_load(
    directory: Annotated[Optional[Path], typer.Argument(help="a directory of <id>-v<version>.yaml files "
                                                             "(default: the bundled frameworks)")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Check and load framework files; all or nothing. A new version records what changed."""
    frameworks = read_frameworks(directory)
    with _session(workspace) as (_, session):
        who = _who(session, as_user)
        require(may_manage_frameworks(who), who, "load National Service Frameworks")
        results = load_frameworks(session, frameworks, actor=who.actor)
    for result in results:
        typer.echo(result.describe())


# --- uptake ratings ---------------------------------------------------------------------------------


def _store(ws: Workspace):
    return open_store(ws)


def _parse_date(text: str | None, what: str = "--period"):
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UptakeError(f"{what} must be a date like 2021-04-01, not {text!r}") from None


@ratings_app.command("compute")
def ratings_compute(
    rules: Annotated[Optional[Path], typer.Option("--rules", help="a rule set file (default: the bundled one)")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Attainment of every published framework, then draft ratings with their traces."""
    rule_set = load_rule_set(rules)
    with _session(workspace) as (ws, session):
        who = _who(session, as_user)
        with console.status("Computing attainment and ratings"):
            summary = compute_ratings(session, _store(ws), who=who, rule_set=rule_set)
    table = Table("level", *("outstanding", "good", "requires-improvement", "inadequate"),
                  title=f"Rating run {summary.run_id} ({rule_set.id} v{rule_set.version}): drafts")
    for level, counts in sorted(summary.by_level.items()):
        table.add_row(level, *(str(counts.get(r, 0)) for r in ("outstanding", "good", "requires-improvement",
                                                                  "inadequate")))
    console.print(table)
    console.print(f"{summary.ratings:,} ratings from {summary.attainment_rows:,} attainment rows; "
                  f"{summary.missed_opportunities:,} missed opportunities; {summary.watch_list:,} on the "
                  "decertification watch list. Review them with `uptake ratings review`.")


RunOption = Annotated[Optional[int], typer.Option("--run", help="rating run id (default: the newest)")]
LevelOption = Annotated[Optional[str], typer.Option("--level", help="one organisation level")]
PeriodOption = Annotated[Optional[str], typer.Option("--period", help="rating year start, e.g. 2021-04-01")]
OrgOption = Annotated[Optional[list[str]], typer.Option("--org", help="organisation code (repeatable)")]


def _move(action: str, run: int | None, level: str | None, period: str | None, org: list[str] | None,
          workspace: Path | None, as_user: str | None) -> None:
    step = review_ratings if action == "review" else publish_ratings
    with _session(workspace) as (_, session):
        who = _who(session, as_user)
        moved = step(session, who, run, level=level, period=_parse_date(period), org_codes=org or None)
    typer.echo(f"{moved} ratings {'reviewed' if action == 'review' else 'published'}")


@ratings_app.command("review")
def ratings_review(run: RunOption = None, level: LevelOption = None, period: PeriodOption = None,
                   org: OrgOption = None, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Mark draft ratings as reviewed (national reviewer)."""
    _move("review", run, level, period, org, workspace, as_user)


@ratings_app.command("publish")
def ratings_publish(run: RunOption = None, level: LevelOption = None, period: PeriodOption = None,
                    org: OrgOption = None, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Publish reviewed ratings: they become public."""
    _move("publish", run, level, period, org, workspace, as_user)


StatusOption = Annotated[str, typer.Option("--status", help="published (default), reviewed, draft or all")]


@ratings_app.command("list")
def ratings_list(status: StatusOption = "published", run: RunOption = None, level: LevelOption = None,
                 period: PeriodOption = None, org: Annotated[Optional[str], typer.Option("--org")] = None,
                 workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """One line per rating: organisation, level, rating year, rating, status."""
    with _session(workspace) as (_, session):
        frame = ratings_table(session, _who(session, as_user), status=status, run_id=run, level=level,
                              period=_parse_date(period), org_code=org)
    for row in frame.itertuples(index=False):
        typer.echo(f"{row.org_code}\t{row.level}\t{row.period}\t{row.rating}\t{row.status}\t{row.org_name or ''}")


@ratings_app.command("explain")
def ratings_explain(org: Annotated[str, typer.Argument(help="organisation code")], status: StatusOption = "published",
                    level: LevelOption = None, period: PeriodOption = None, workspace: WorkspaceOption = None,
                    as_user: AsOption = None) -> None:
    """The plain-English explanation of an organisation's ratings."""
    with _session(workspace) as (_, session):
        frame = ratings_table(session, _who(session, as_user), status=status, level=level,
                              period=_parse_date(period), org_code=org)
    if frame.empty:
        raise UptakeError(f"no {status} ratings for {org}")
    for text in frame["explanation"]:
        typer.echo(text + "\n")


@ratings_app.command("watch-list")
def ratings_watch_list(workspace: WorkspaceOption = None) -> None:
    """The decertification watch list: below the minimum standard for the rule set's consecutive periods."""
    frame = read_table(_store(_workspace(workspace)), "result_watch_list",
                       "ORDER BY framework, commitment, level, org_code")
    for row in frame.itertuples(index=False):
        typer.echo(f"{row.org_code}\t{row.level}\t{row.framework}/{row.commitment}\t{row.period:%Y-%m-%d}\t"
                   f"{row.periods_below_minimum} periods below the minimum\t{row.org_name or ''}")
    if frame.empty:
        typer.echo("Nobody is on the decertification watch list.")


@ratings_app.command("missed-opportunities")
def ratings_missed_opportunities(level: LevelOption = None, period: PeriodOption = None,
                                 workspace: WorkspaceOption = None) -> None:
    """Commitments an organisation did not meet while most of its similar peers did."""
    where, params = [], []
    if level:
        where.append("level = ?")
        params.append(level)
    if period:
        where.append("rating_year = ?")
        params.append(_parse_date(period))
    sql = ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY level, org_code, framework, commitment, period"
    frame = read_table(_store(_workspace(workspace)), "result_missed_opportunities", sql, params)
    for row in frame.itertuples(index=False):
        typer.echo(f"{row.org_code}\t{row.level}\t{row.framework}/{row.commitment}\t{row.period:%Y-%m-%d}\t"
                   f"{row.status}\t{row.peers_met} of {row.peers_assessed} peers met\t{row.org_name or ''}")


# --- uptake export ratings ------------------------------------------------------------------------------


def export_ratings(
    format: Annotated[str, typer.Option("--format", help="csv, parquet or json")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="file to write "
                                                   "(default: WORKSPACE/exports/ratings.<format>)")] = None,
    status: StatusOption = "published",
    level: LevelOption = None,
    period: PeriodOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Export ratings with org_code, org_name, level, period, rating, status, rule set, explanation and
    trace (published ones unless --status says otherwise)."""
    with _session(workspace) as (ws, session):
        frame = ratings_table(session, _who(session, as_user), status=status, level=level, period=_parse_date(period))
    if output is not None and str(output) == "-":
        if format == "parquet":
            raise UptakeError("Parquet cannot go to standard output; give --output FILE")

        with tempfile.TemporaryDirectory() as tmp:
            path = write_frame(frame, Path(tmp) / f"ratings.{format}", format)
            typer.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    path = output or ws.exports_dir / f"ratings.{format}"
    write_frame(frame, path, format)
    typer.echo(f"Wrote {len(frame):,} ratings to {path}")


def export_command(
    table: Annotated[str, typer.Argument(help="Result table: values, deciles, funnel, spc, peers, opportunity, "
                                              "adoption, equity, or ratings (innovation ratings with traces).")],
    indicator: Annotated[Optional[str], typer.Option("--indicator", help="Indicator id (not for peers, ratings).")] = None,
    level: Annotated[str, typer.Option("--level", help="Organisation level, e.g. sub-icb (optional for ratings).")] = "",
    period: Annotated[Optional[str], typer.Option("--period", help="One period (ratings: a rating year start), "
                                                                   "YYYY-MM-DD.")] = None,
    format: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write.")] = None,
    status: StatusOption = "published",
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Export a result table (csv, parquet or json): a pipeline table for an indicator and level, or `ratings`
    (innovation ratings with their traces; published ones unless --status says otherwise)."""
    if table == "ratings":
        export_ratings(format=format, output=output, status=status, level=level or None, period=period,
                       workspace=workspace, as_user=as_user)
        return

    export(table, indicator=indicator, level=level, period=period, format=format, output=output, workspace=workspace)


# --- uptake plans ---------------------------------------------------------------------------------------


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
    try:
        data = yaml.safe_load(content.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UptakeError(f"cannot read {content}: {exc}") from None
    with _session(workspace) as (_, session):
        who = _who(session, as_user)
        filing = save_filing(session, who, framework_id, commitment, icb, kind, data)
        typer.echo(f"filing {filing.id}: {filing.kind} of {filing.icb_code} for {framework_id}/{commitment}, "
                   f"{filing.status}, revision {filing.revision}")


def _step(action: str, filing_id: int, comment: str | None, workspace: Path | None, as_user: str | None) -> None:
    with _session(workspace) as (_, session):
        filing = transition(session, _who(session, as_user), filing_id, action, comment)
        typer.echo(f"filing {filing.id} ({filing.icb_code}, {filing.framework_id}/{filing.commitment_key}) is now "
                   f"{filing.status}")


FilingArgument = Annotated[int, typer.Argument(help="filing id (see `uptake plans list`)")]
CommentOption = Annotated[Optional[str], typer.Option("--comment", help="a comment for the ICB")]


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
    with _session(workspace) as (_, session):
        for f in filings(session, _who(session, as_user), icb_code=icb, status=status):
            typer.echo(f"{f.id}\t{f.icb_code}\t{f.framework_id}/{f.commitment_key}\t{f.kind}\t{f.status}\t"
                       f"revision {f.revision}\t{f.updated_at:%Y-%m-%d} by {f.updated_by}")


@plans_app.command("show")
def plans_show(filing_id: FilingArgument, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """A filing's content, its history and, for a plan, the plan against the results."""
    with _session(workspace) as (ws, session):
        who = _who(session, as_user)
        filing = get_filing(session, who, filing_id)
        typer.echo(f"filing {filing.id}: {filing.kind} of {filing.icb_code} for {filing.framework_id}/"
                   f"{filing.commitment_key}, {filing.status}, revision {filing.revision}")
        typer.echo(json.dumps(filing.content, indent=2))
        if filing.review_comment:
            typer.echo(f"review comment ({filing.reviewed_by}): {filing.review_comment}")
        typer.echo("history:")
        for r in filing_history(session, who, filing_id):
            typer.echo(f"  {r.occurred_at:%Y-%m-%d %H:%M} UTC  {r.action:<10} -> {r.status:<12} {r.actor}"
                       + (f"  ({r.comment})" if r.comment else ""))
        if filing.kind == "plan":
            try:
                tracked = plan_against_actual(session, _store(ws), who, filing_id)
            except UptakeError as exc:
                typer.echo(f"plan against actual: {exc}")
            else:
                typer.echo("plan against actual:")
                typer.echo(tracked.to_string(index=False))


@plans_app.command("missing")
def plans_missing(workspace: WorkspaceOption = None) -> None:
    """ICBs that have filed nothing (beyond a draft) for a commitment of a published framework."""
    with _session(workspace) as (_, session):
        missing = icbs_with_nothing_filed(session)
    for m in missing:
        typer.echo(f"{m.icb_code}\t{m.framework_id}/{m.commitment_key}\t{m.state}\t{m.icb_name}")
    typer.echo(f"{len({m.icb_code for m in missing})} ICBs, {len(missing)} commitment filings outstanding")


@plans_app.command("queue")
def plans_queue(workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Filings waiting for national review."""
    with _session(workspace) as (_, session):
        for f in review_queue(session, _who(session, as_user)):
            typer.echo(f"{f.id}\t{f.icb_code}\t{f.framework_id}/{f.commitment_key}\t{f.kind}\t{f.status}\t"
                       f"submitted {f.submitted_at:%Y-%m-%d}")


# --- uptake assessments ---------------------------------------------------------------------------------


@assessments_app.command("add")
def assessments_add(
    innovation: Annotated[str, typer.Option("--innovation", help="innovation id")],
    body: Annotated[str, typer.Option("--body", help="assessing body, e.g. NICE")],
    decision: Annotated[str, typer.Option("--decision", help="recommended, optimised, not-recommended, "
                                                             "only-in-research or terminated")],
    decided_on: Annotated[str, typer.Option("--date", help="date of the decision, e.g. 2012-09-26")],
    scope: Annotated[str, typer.Option("--scope", help="national or local")] = "national",
    org: Annotated[Optional[str], typer.Option("--org", help="the organisation of a local assessment")] = None,
    icer: Annotated[Optional[float], typer.Option("--icer", help="pounds per QALY")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="pounds per QALY")] = None,
    conditions: Annotated[Optional[str], typer.Option("--conditions")] = None,
    reference: Annotated[Optional[str], typer.Option("--reference", help="e.g. TA264")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Record a value assessment. A local one of an innovation assessed nationally is flagged as a duplicate."""
    with _session(workspace) as (_, session):
        added = add_assessment(
            session, _who(session, as_user), innovation_id=innovation, body=body, scope=scope, decision=decision,
            decided_on=_parse_date(decided_on, "--date"), icer=icer, threshold=threshold, conditions=conditions,
            reference=reference, org_code=org,
        )
        a = added.assessment
        typer.echo(f"assessment {a.id}: {a.scope} {a.innovation_id} {a.decision} on {a.decided_on}")
        if scope == "national" and decision in ("recommended", "optimised"):
            typer.echo(f"due everywhere by {due_date(a.decided_on)}")
        if added.duplicate_of is not None:
            d = added.duplicate_of
            typer.echo(f"DUPLICATE: {innovation} was assessed nationally by {d.body} ({d.reference or 'no reference'}) "
                       f"on {d.decided_on}")
        for local in added.flagged:
            typer.echo(f"flagged local assessment {local.id} ({local.body}, {local.decided_on}) as a duplicate")


@assessments_app.command("list")
def assessments_list(workspace: WorkspaceOption = None) -> None:
    """Every value assessment, with due dates and duplicates."""
    with _session(workspace) as (_, session):
        frame = assessments_frame(session)
    for a in frame.itertuples(index=False):
        due = f"due {a.due_date}" if _given(a.due_date) else ""
        dup = f"DUPLICATE of {int(a.duplicate_of)}" if _given(a.duplicate_of) else ""
        icer = f"ICER {a.icer:,.0f}/QALY" if _given(a.icer) else ""
        typer.echo("\t".join(_text(x) for x in (a.id, a.scope, a.org_code, a.innovation, a.body, a.reference,
                                                a.decision, a.decided_on, icer, due, dup)))


def _given(value) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


def _text(value) -> str:
    return str(value) if _given(value) else ""


@assessments_app.command("duplicates")
def assessments_duplicates(workspace: WorkspaceOption = None) -> None:
    """Local assessments of innovations already assessed nationally."""
    with _session(workspace) as (_, session):
        frame = duplicates(session)
    for a in frame.itertuples(index=False):
        typer.echo(f"{a.id}\t{a.org_code}\t{a.innovation}\t{a.body}, {a.decided_on}\tduplicates {a.national_body} "
                   f"{_text(a.national_reference)} of {a.national_decided_on}")
    if frame.empty:
        typer.echo("No duplicate local assessments.")


@assessments_app.command("gaps")
def assessments_gaps(
    include_caught_up: Annotated[bool, typer.Option("--all", help="also organisations that caught up")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the report to a file")] = None,
    format: Annotated[str, typer.Option("--format", help="csv, parquet or json (with --output)")] = "csv",
    workspace: WorkspaceOption = None,
) -> None:
    """The availability-gap report: organisations with no or low uptake after an innovation became due."""
    with _session(workspace) as (ws, session):
        frame = availability_gap_report(session, _store(ws), include_caught_up=include_caught_up)
    if output:
        write_frame(frame, output, format)
        typer.echo(f"Wrote {len(frame):,} rows to {output}")
        return
    for r in frame.itertuples(index=False):
        value = f"{r.latest_value:.1%} ({r.latest_period})" if _given(r.latest_value) else "no result after the due date"
        typer.echo(f"{r.innovation}\t{r.indicator}\t{r.org_code}\t{r.gap}\t{value}\t"
                   f"due {r.due_date} ({_text(r.reference) or r.body})\t{r.org_name}"
                   + ("\tSYNTHETIC" if r.synthetic else ""))
    typer.echo(f"{len(frame):,} organisations")
