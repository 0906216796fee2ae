"""``uptake ratings``: compute, review, publish, list and explain innovation ratings (see docs/mission.md).

A --period not written YYYY-MM-DD or a --status outside published, reviewed, draft and all is a usage
error (exit code 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from uptake.cli._common import (
    AsOption,
    WorkspaceOption,
    console,
    existing_workspace,
    option_date,
    sub_app,
    usage_error,
    who,
    workflow_session,
)
from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError
from uptake.results import read
from uptake.mission.ratings import compute_ratings, publish_ratings, ratings_table, review_ratings
from uptake.mission.results import open_store, reading
from uptake.mission.rule_set import load_rule_set
from uptake.workspace import Workspace

ratings_app = sub_app(help="Innovation ratings: compute, review, publish, list.")

#: The --status values: published (the newest published rating of each organisation and year), the
#: reviewed or draft ones of a run, or all of a run's.
STATUSES = ("published", "reviewed", "draft", "all")

RunOption = Annotated[Optional[int], typer.Option("--run", help="rating run id (default: the newest)")]
LevelOption = Annotated[Optional[str], typer.Option("--level", help="one organisation level")]
PeriodOption = Annotated[Optional[str], typer.Option("--period", help="rating year start, e.g. 2021-04-01")]
OrgOption = Annotated[Optional[list[str]], typer.Option("--org", help="organisation code (repeatable)")]
StatusOption = Annotated[str, typer.Option("--status", help="published (default), reviewed, draft or all")]


def rating_year(period: str | None):
    """The rating year a --period option gives (None when not given)."""
    return option_date(period, "--period", example="2021-04-01")


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise usage_error(f"status must be published, reviewed, draft or all, not {status!r}")
    return status


@ratings_app.command("compute")
def ratings_compute(
    rules: Annotated[Optional[Path], typer.Option("--rules", help="a rule set file (default: the bundled one)")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Attainment of every published framework, then draft ratings with their traces."""
    rule_set = load_rule_set(rules)
    with workflow_session(workspace) as (ws, session):
        actor = who(session, as_user)
        with console.status("Computing attainment and ratings"):
            summary = compute_ratings(session, open_store(ws), who=actor, rule_set=rule_set)
    table = Table("level", *("outstanding", "good", "requires-improvement", "inadequate"),
                  title=f"Rating run {summary.run_id} ({rule_set.id} v{rule_set.version}): drafts")
    for level, counts in sorted(summary.by_level.items()):
        table.add_row(level, *(str(counts.get(r, 0)) for r in ("outstanding", "good", "requires-improvement",
                                                                  "inadequate")))
    console.print(table)
    console.print(f"{summary.ratings:,} ratings from {summary.attainment_rows:,} attainment rows; "
                  f"{summary.missed_opportunities:,} missed opportunities; {summary.watch_list:,} on the "
                  "decertification watch list. Review them with `uptake ratings review`.")


def published_results(ws: Workspace) -> AnalyticsStore | None:
    """The store that says which publications were published (a rating run whose publication never was is not
    shown); None without one."""
    return open_store(ws) if ws.analytics_path.exists() else None


def _move(action: str, run: int | None, level: str | None, period: str | None, org: list[str] | None,
          workspace: Path | None, as_user: str | None) -> None:
    step = review_ratings if action == "review" else publish_ratings
    year = rating_year(period)
    with workflow_session(workspace) as (ws, session):
        moved = step(session, who(session, as_user), run, level=level, period=year, org_codes=org or None,
                     results=published_results(ws))
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


@ratings_app.command("list")
def ratings_list(status: StatusOption = "published", run: RunOption = None, level: LevelOption = None,
                 period: PeriodOption = None, org: Annotated[Optional[str], typer.Option("--org")] = None,
                 workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """One line per rating: organisation, level, rating year, rating, status, name (and SYNTHETIC when
    the rating rests wholly or partly on synthetic data)."""
    check_status(status)
    year = rating_year(period)
    with workflow_session(workspace) as (ws, session):
        frame = ratings_table(session, who(session, as_user), status=status, run_id=run, level=level,
                              period=year, org_code=org, results=published_results(ws))
    for row in frame.itertuples(index=False):
        synthetic = "\tSYNTHETIC" if row.synthetic else ""
        typer.echo(f"{row.org_code}\t{row.level}\t{row.period}\t{row.rating}\t{row.status}\t"
                   f"{row.org_name or ''}{synthetic}")


@ratings_app.command("explain")
def ratings_explain(org: Annotated[str, typer.Argument(help="organisation code")], status: StatusOption = "published",
                    level: LevelOption = None, period: PeriodOption = None, workspace: WorkspaceOption = None,
                    as_user: AsOption = None) -> None:
    """The plain-English explanation of an organisation's ratings."""
    check_status(status)
    year = rating_year(period)
    with workflow_session(workspace) as (ws, session):
        frame = ratings_table(session, who(session, as_user), status=status, level=level, period=year,
                              org_code=org, results=published_results(ws))
    if frame.empty:
        raise UptakeError(f"no {status} ratings for {org}")
    for text in frame["explanation"]:
        typer.echo(text + "\n")


@ratings_app.command("watch-list")
def ratings_watch_list(workspace: WorkspaceOption = None) -> None:
    """The decertification watch list: below the minimum standard for the rule set's consecutive periods."""
    with reading(open_store(existing_workspace(workspace))) as con:
        frame = read.attainment.watch_list(con, ordered=True)
    for row in frame.itertuples(index=False):
        typer.echo(f"{row.org_code}\t{row.level}\t{row.framework}/{row.commitment}\t{row.period:%Y-%m-%d}\t"
                   f"{row.periods_below_minimum} periods below the minimum\t{row.org_name or ''}")
    if frame.empty:
        typer.echo("Nobody is on the decertification watch list.")


@ratings_app.command("missed-opportunities")
def ratings_missed_opportunities(level: LevelOption = None, period: PeriodOption = None,
                                 workspace: WorkspaceOption = None) -> None:
    """Commitments an organisation did not meet while most of its similar peers did."""
    year = rating_year(period or None)
    with reading(open_store(existing_workspace(workspace))) as con:
        frame = read.attainment.missed_opportunities(con, level=level or None, rating_year=year, ordered=True)
    for row in frame.itertuples(index=False):
        typer.echo(f"{row.org_code}\t{row.level}\t{row.framework}/{row.commitment}\t{row.period:%Y-%m-%d}\t"
                   f"{row.status}\t{row.peers_met} of {row.peers_assessed} peers met\t{row.org_name or ''}")


def register(app: typer.Typer) -> None:
    """Add ``uptake ratings``."""
    app.add_typer(ratings_app, name="ratings", help="Innovation ratings: compute, review, publish, list.")
