"""``uptake fund``: the transformation fund (docs/fund.md). ICB analysts and provider leads apply for their own
organisation (``--as`` their email), national reviewers review, approve or decline with a reason, applicants
justify against a decline, and ``uptake fund allocate`` runs the allocation over the applications in the
competition: each decision explained, with the decisions that flip within the benefits' intervals.

    uptake fund apply --from application.yaml --as lead@icb.nhs.uk
    uptake fund allocate --budget 2.5e9,2.5e9,2.5e9,2.5e9 --deprived-share 0.2 --output out/

Bad input (an unknown organisation or innovation, a negative cost, years outside the fund's NSF period, a
budget over the fund) is a user error (exit 1) that names the field and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
import yaml
from rich.table import Table

from uptake.cli._common import AsOption, WorkspaceOption, console, sub_app, who, workflow_session
from uptake.errors import UptakeError
from uptake.models import fund_applications as fa

fund_app = sub_app(help="The transformation fund: applications, reviews and the allocation.")

IdArgument = Annotated[int, typer.Argument(help="application id (see `uptake fund list`)")]


def _numbers(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UptakeError(f"{option}: {text!r} is not a comma-separated list of pounds (e.g. 2.5e9,2.5e9,2.5e9,"
                          "2.5e9)") from None


def _regions(items: list[str] | None) -> dict[str, float]:
    out = {}
    for item in items or []:
        code, _, value = item.partition("=")
        try:
            out[code.strip().upper()] = float(value)
        except ValueError:
            raise UptakeError(f"--region-minimum: {item!r} is not REGION=POUNDS (e.g. Y63=100e6)") from None
    return out


@fund_app.command("apply")
def fund_apply(
    source: Annotated[Path, typer.Option("--from", help="a YAML file: org_code, innovation_id, title, first_year, "
                                                         "last_year, implementation_costs, double_running_costs, "
                                                         "decommissioning_costs (a list per year), benefit, "
                                                         "benefit_low, benefit_high, benefit_source, "
                                                         "benefit_reference")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Make a draft application for your organisation (an ICB's analyst or a trust's provider lead)."""
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UptakeError(f"cannot read {source}: {exc}") from None
    if not isinstance(data, dict):
        raise UptakeError(f"{source}: expected a mapping of fields (see docs/fund.md)")
    with workflow_session(workspace) as (_, session):
        try:
            app = fa.apply(session, who(session, as_user), fa.fund_setup(), data)
        except fa.FieldProblems as exc:
            raise UptakeError(f"{source}: nothing saved:\n" + "\n".join(f"  {f}: {m}" for f, m in exc.problems)) \
                from None
        typer.echo(f"application {app.id}: {app.title} ({app.org_code}), {app.status}")


def _step(action: str, application_id: int, comment: str | None, workspace: Path | None, as_user: str | None):
    with workflow_session(workspace) as (_, session):
        app = fa.step(session, who(session, as_user), application_id, action, comment)
        typer.echo(f"application {app.id} ({app.org_code}) is now {app.status}")


@fund_app.command("submit")
def fund_submit(application_id: IdArgument, workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Submit a draft for review (the applicant)."""
    _step("submit", application_id, None, workspace, as_user)


@fund_app.command("review")
def fund_review(application_id: IdArgument, comment: Annotated[str | None, typer.Option("--comment")] = None,
                workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Take a submitted or justified application under review (national reviewer)."""
    _step("review", application_id, comment, workspace, as_user)


@fund_app.command("approve")
def fund_approve(application_id: IdArgument, comment: Annotated[str | None, typer.Option("--comment")] = None,
                 workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Approve an application (national reviewer)."""
    _step("approve", application_id, comment, workspace, as_user)


@fund_app.command("decline")
def fund_decline(application_id: IdArgument,
                 reason: Annotated[str, typer.Option("--reason", help="why, and what would have to change")],
                 workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Decline an application with the reason (national reviewer)."""
    _step("decline", application_id, reason, workspace, as_user)


@fund_app.command("justify")
def fund_justify(application_id: IdArgument,
                 reason: Annotated[str, typer.Option("--reason", help="why the decision should change")],
                 workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Answer a decline with a justification (the applicant): it goes back to the reviewers."""
    _step("justify", application_id, reason, workspace, as_user)


@fund_app.command("list")
def fund_list(status: Annotated[str | None, typer.Option("--status")] = None,
              workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """The applications you may see: id, organisation, innovation, status, total cost, benefit (95% interval)."""
    if status is not None and status not in fa.FUND_STATUSES:
        raise UptakeError(f"--status: {status!r} is not one of {', '.join(fa.FUND_STATUSES)}")
    with workflow_session(workspace) as (_, session):
        for a in fa.applications(session, who(session, as_user), status=status):
            flag = "\tDEMO" if a.synthetic else ""
            typer.echo(f"{a.id}\t{a.org_code}\t{a.innovation_id}\t{a.status}\t£{sum(a.costs_per_year()):,.0f}\t"
                       f"benefit {a.benefit:g} ({a.benefit_low:g}-{a.benefit_high:g})\t{a.title}{flag}")


@fund_app.command("allocate")
def fund_allocate(
    budget: Annotated[str | None, typer.Option("--budget", help="pounds per year, comma-separated (default: "
                                                                   "params/fund.yaml, 2.5 bn a year)")] = None,
    deprived_share: Annotated[float | None, typer.Option("--deprived-share", help="least share of the money "
                                                                                   "for the most deprived quintile")] = None,
    region_minimum: Annotated[list[str] | None, typer.Option("--region-minimum", help="REGION=POUNDS, "
                                                                                       "repeatable")] = None,
    sensitivity: Annotated[bool, typer.Option("--sensitivity/--no-sensitivity")] = True,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="folder for CSV and Excel")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Allocate the fund over the applications in the competition: the largest expected benefit under each
    year's budget, the regional minimums and the equity share; every decision explained."""
    setup = fa.fund_setup(budget_per_year=_numbers(budget, "--budget"), deprived_share=deprived_share,
                          region_minimum=_regions(region_minimum))   # checked before anything is read
    with workflow_session(workspace) as (_, session):
        result = fa.run_allocation(session, who(session, as_user), setup, with_sensitivity=sensitivity, record=True,
                                   sensitivity_limit=None)
    if result.message:
        console.print(result.message, highlight=False)
        return
    flag = " DEMO/SYNTHETIC applications" if result.synthetic else ""
    table = Table(title=f"Transformation fund allocation{flag}: {len(result.funded)} of {len(result.rows)} "
                        f"funded, expected benefit {result.benefit:,.1f} {setup.measure}")
    for heading in ("id", "org", "innovation", "total £", "benefit (95%)", "funded", "why", "flips?"):
        table.add_column(heading)
    for r in result.rows:
        flips = "-" if r["flips_within_interval"] is None else ("yes" if r["flips_within_interval"] else "no")
        table.add_row(str(r["id"]), r["org_code"], r["innovation_id"], f"{r['total_cost']:,.0f}",
                      f"{r['benefit']:g} ({r['benefit_low']:g}-{r['benefit_high']:g})",
                      "yes" if r["funded"] else "no", r["explanation"], flips)
    console.print(table)
    for year, budget_t, spent in zip(setup.years, setup.fund.budget_per_year, result.spend_per_year):
        console.print(f"{year}: £{spent:,.0f} awarded of £{budget_t:,.0f}", highlight=False)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        frames = fa.result_frames(result)
        for name, frame in frames.items():
            frame.to_csv(output / f"fund-allocation-{name}.csv", index=False)
        with pd.ExcelWriter(output / "fund-allocation.xlsx", engine="openpyxl") as writer:
            for name, frame in frames.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        console.print(f"Wrote {len(frames) + 1} files to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``uptake fund``."""
    app.add_typer(fund_app, name="fund")
