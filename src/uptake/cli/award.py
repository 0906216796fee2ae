"""``uptake award``: the Innovation Award (uptake.ecosystem.award; docs/frontline.md): load a scheme version,
nominate, see the scores with their sources, decide the awards, and the fairness audit. A --format outside
csv, parquet, json or xlsx is a usage error (exit 2); a nomination with a problem is a user error (exit 1)
naming each field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from uptake.catalogue import load_catalogue
from uptake.cli._common import (
    AsOption,
    FormatOption,
    OutputOption,
    WorkspaceOption,
    check_output_format,
    sub_app,
    who,
    workflow_session,
    write_table,
)
from uptake.ecosystem.award import (
    CRITERIA,
    allocate,
    all_nominations,
    awarded_frame,
    bundled_scheme,
    current_scheme,
    decide,
    fairness_audit,
    latest_round,
    load_scheme,
    nominate,
    read_scheme,
    score_nominations,
)
from uptake.errors import UptakeError
from uptake.mission.results import open_store, reading

award_app = sub_app(help="The Innovation Award: scheme, nominations, scores, awards, fairness audit.")


def _units() -> dict[str, str]:
    return {i: (ind.counts.plural if ind.counts else "counts of the numerator")
            for i, ind in load_catalogue().indicators.items()}


def _scheme(session):
    scheme = current_scheme(session)
    if scheme is None:
        raise UptakeError("no award scheme is loaded; run `uptake award load-scheme`")
    return scheme


def _scores(ws, session, scheme):
    nominations = all_nominations(session, scheme)
    with reading(open_store(ws)) as cur:
        return nominations, score_nominations(cur, scheme, nominations, _units())


@award_app.command("load-scheme")
def award_load_scheme(
    path: Annotated[Optional[Path], typer.Argument(help="a scheme file <id>-v<version>.yaml (default: bundled)")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Load a version of an award scheme (national admin)."""
    scheme = read_scheme(path) if path else bundled_scheme()
    with workflow_session(workspace) as (_, session):
        _, added = load_scheme(session, who(session, as_user), scheme)
    typer.echo(f"{'loaded' if added else 'already loaded'}: {scheme.id} version {scheme.version} ({scheme.title}), "
               f"budget £{scheme.budget_pounds:,.0f}" + (" ILLUSTRATIVE" if scheme.illustrative else ""))


@award_app.command("nominate")
def award_nominate(
    name: Annotated[str, typer.Option("--name", help="the person or team nominated")],
    org: Annotated[str, typer.Option("--org", help="ODS code of the organisation")],
    commitment: Annotated[str, typer.Option("--commitment", help="framework/commitment, e.g. stroke/thrombolysis")],
    evidence: Annotated[str, typer.Option("--evidence", help="what they did and what changed")],
    kind: Annotated[str, typer.Option("--kind", help="person or team")] = "team",
    sex: Annotated[str, typer.Option("--sex")] = "prefer-not-to-say",
    ethnic_group: Annotated[str, typer.Option("--ethnic-group")] = "prefer-not-to-say",
    profession: Annotated[str, typer.Option("--profession")] = "prefer-not-to-say",
    region: Annotated[str, typer.Option("--region")] = "prefer-not-to-say",
    trust_type: Annotated[str, typer.Option("--trust-type")] = "prefer-not-to-say",
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
) -> None:
    """Nominate a team or person for the current scheme (a provider lead for their organisation)."""
    with workflow_session(workspace) as (_, session):
        row = nominate(session, who(session, as_user), _scheme(session), {
            "nominee_name": name, "nominee_kind": kind, "org_code": org, "commitment": commitment,
            "evidence": evidence, "sex": sex, "ethnic_group": ethnic_group, "profession": profession,
            "region": region, "trust_type": trust_type})
        typer.echo(f"nomination {row.id}: {row.nominee_name} ({row.org_code}, {commitment})")


@award_app.command("scores")
def award_scores(output: OutputOption = None, format: FormatOption = "csv", workspace: WorkspaceOption = None) -> None:
    """Every nomination's score, criterion by criterion with its source, and the proposed award."""
    check_output_format(output, format)
    with workflow_session(workspace) as (ws, session):
        scheme = _scheme(session)
        nominations, scored = _scores(ws, session, scheme)
    allocations = {a.nomination_id: a for a in allocate(scheme, [(s.nomination_id, s.score) for s in scored])}
    rows = []
    for s in scored:
        n = nominations.set_index("id").loc[s.nomination_id]
        a = allocations[s.nomination_id]
        rows.append({"id": s.nomination_id, "rank": a.rank, "nominee_name": n.nominee_name, "org_code": n.org_code,
                     "commitment": f"{n.framework}/{n.commitment}", "score": s.score,
                     **{f"{c}_score": s.criteria[c]["score"] for c in CRITERIA},
                     **{f"{c}_source": s.criteria[c]["source"] for c in CRITERIA},
                     "proposed_level": a.level, "proposed_pounds": a.amount_pounds, "reason": a.reason,
                     "synthetic": bool(n.synthetic)})
    frame = pd.DataFrame(rows).sort_values("rank") if rows else pd.DataFrame()
    if write_table(frame, output, format, f"{scheme.title}: scores"):
        return
    for r in frame.itertuples(index=False):
        typer.echo(f"{r.rank}\t{r.score:.1f}\t{r.nominee_name}\t{r.org_code}\t{r.commitment}\t"
                   f"{r.proposed_level or 'none'}\t£{r.proposed_pounds:,.0f}" + ("\tSYNTHETIC" if r.synthetic else ""))
    if frame.empty:
        typer.echo("No nominations.")


@award_app.command("decide")
def award_decide(workspace: WorkspaceOption = None, as_user: AsOption = None) -> None:
    """Decide the awards of the current scheme from today's results (national admin)."""
    with workflow_session(workspace) as (ws, session):
        scheme = _scheme(session)
        nominations, scored = _scores(ws, session, scheme)
        round_ = decide(session, who(session, as_user), scheme, scored,
                        synthetic=bool(nominations["synthetic"].any()))
        awarded = sum(1 for d in round_.decisions if d.level)
        typer.echo(f"round {round_.id}: {awarded} of {len(round_.decisions)} nominations awarded, "
                   f"£{round_.awarded_pounds:,.0f} of £{round_.budget_pounds:,.0f}")


@award_app.command("fairness")
def award_fairness(output: OutputOption = None, format: FormatOption = "csv", workspace: WorkspaceOption = None) -> None:
    """The fairness audit: award rates by group, Wilson 95% intervals, the four-fifths rule."""
    check_output_format(output, format)
    with workflow_session(workspace) as (ws, session):
        scheme = _scheme(session)
        proposed = None
        if latest_round(session, scheme) is None:
            _, scored = _scores(ws, session, scheme)
            proposed = allocate(scheme, [(s.nomination_id, s.score) for s in scored])
        marked, basis = awarded_frame(session, scheme, proposed)
    table = fairness_audit(marked).assign(basis=basis)
    if write_table(table, output, format, f"{scheme.title}: fairness audit"):
        return
    typer.echo(f"awards {basis}; {len(marked)} nominations" + (" (some SYNTHETIC)" if marked["synthetic"].any() else ""))
    for r in table[table["nominated"] > 0].itertuples(index=False):
        typer.echo(f"{r.attribute}\t{r.group}\t{r.awarded}/{r.nominated}\t{r.rate:.1%} "
                   f"({r.ci95_low:.1%} to {r.ci95_high:.1%})\t{r.four_fifths}")


def register(app: typer.Typer) -> None:
    """Add ``uptake award``."""
    app.add_typer(award_app, name="award", help="The Innovation Award.")
