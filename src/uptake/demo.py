"""The main job: build a workspace from the bundled real NHS data and the labelled synthetic series.

Everything goes through the same paths a user's own data takes: the reference hierarchy and the
catalogue are synced into both stores, and every indicator's observations pass the normal ingest
validation and atomic load (`uptake.ingest.ingest_frame`).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from sqlalchemy import select
from rich.table import Table

from uptake.workspace import Workspace
from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import load_catalogue
from uptake.reference import load_reference
from uptake.store.db import make_engine, session_scope
from uptake.store.group_models import OrgGroup, OrgGroupMember
from uptake.store.models import User
from uptake.store.repository import record_audit
from uptake.store.migrate import upgrade
from uptake.store.repository import sync_catalogue, sync_reference
from uptake.ingest import ingest_frame
from uptake.sources import SOURCES
from uptake.models.pathway.results import publish_pathway
from uptake.models.publish import write_model_tables
from uptake.models.forecasts import refresh_forecasts
from uptake.pipeline import run_pipeline
from uptake.ecosystem.frontline_demo import seed_frontline
from uptake.ecosystem.network_demo import seed_demo_networks
from uptake.mission.demo import seed_demo_mission
from uptake.models.fund_demo import seed_demo_fund
from uptake.mission.results import open_store, reading
from sqlalchemy import select

from uptake.store.scenario_models import SimulationScenario
from uptake.ecosystem.anchors import partnership_pairs
from uptake.models.simulation import build_inputs, compile_levers, load_levers, parse_scenario
from uptake.models.simulation.saved import record_finished_run
from uptake.results.read import tables


@dataclass
class DemoSummary:
    workspace: Path
    organisations: dict[str, int] = field(default_factory=dict)
    trust_types: dict[str, int] = field(default_factory=dict)
    indicators: list[dict] = field(default_factory=list)


def init_workspace(path: Path | str | None, console: Console | None = None) -> Workspace:
    """Create the workspace, migrate the workflow database and load the reference data and catalogue."""
    console = console or Console()
    ws = Workspace.resolve(path).ensure()
    reference = load_reference()
    catalogue = load_catalogue()
    with console.status("Migrating the workflow database"):
        upgrade(ws.database_url)
    engine = make_engine(ws.database_url)
    try:
        with console.status("Loading organisations and the catalogue into the workflow database"):
            with session_scope(engine) as session:
                sync_reference(session, reference.organisations, reference.relationships, actor="system")
                sync_catalogue(session, catalogue, actor="system")
    finally:
        engine.dispose()
    with console.status("Loading organisations into the analytics store"):
        with AnalyticsStore.open(ws.analytics_path) as store:
            store.sync_reference(reference.organisations, reference.relationships)
    return ws


def build_demo(path: Path | str | None, console: Console | None = None, *,
               with_practice_series: bool = False) -> tuple[Workspace, DemoSummary]:
    """The demo workspace. The large practice-level monthly series (``DemoSource.in_demo`` False: about 380,000
    rows each) are loaded only ``with_practice_series``: they make the build about 3 times as long
    (docs/spread-innovations.md, "In the demo")."""
    console = console or Console()
    ws = init_workspace(path, console=console)
    catalogue = load_catalogue()
    user = _user()
    with AnalyticsStore.open(ws.analytics_path) as store:
        for indicator_id, source in SOURCES.items():
            if not (source.in_demo or with_practice_series):
                continue
            with console.status(f"Building {indicator_id} from {source.name}"):
                frame = source.build()
            result = ingest_frame(
                store, catalogue, frame, indicator_id, source=source.name, loaded_by=user,
                name=" + ".join(source.files) if source.files else f"generated: {indicator_id} (synthetic)",
            )
            state = "already loaded" if result.no_op else f"loaded {result.rows:,} rows"
            console.print(f"  {indicator_id}: {state} (batch {result.batch_id})")

    with console.status("Computing variation, funnels, SPC, peers, opportunity, adoption, outcomes and the stroke pathway model (uptake compute)"):
        run = run_pipeline(ws, catalogue=catalogue, publish_with=_models_step(catalogue))
    console.print(f"  results computed in {run.elapsed:.1f} s "
                  f"(run {run.run_id}, engine {run.engine})")

    for line in seed_demo_mission(ws, console=console).lines():
        console.print(f"  {line}")
    with console.status("Fitting the Bass diffusion forecasts"), AnalyticsStore.open(ws.analytics_path) as store:
        written = refresh_forecasts(store)
    console.print(f"  Bass forecasts: {written['result_forecast_fits']:,} series, "
                  f"{written['result_forecast_targets']:,} commitment forecasts")
    for line in _seed_frontline(ws):  # the Innovation Award, leads, time to innovate (SYNTHETIC records)
        console.print(f"  {line}")
    with console.status("Networks: a DEMO Health Innovation Challenge round, DEMO adoptions, SYNTHETIC barriers"):
        for line in seed_demo_networks(ws).lines():
            console.print(f"  {line}")
    with console.status("Policy simulator: a DEMO scenario against the base (1,000 runs)"):
        console.print(f"  {_seed_scenario(ws)}")
    for line in _seed_fund(ws):  # the transformation fund's DEMO applications
        console.print(f"  {line}")
    with AnalyticsStore.open(ws.analytics_path) as store:
        summary = summarise(store, ws, catalogue)
    return ws, summary


# The demo's saved scenario (docs/simulator.md): transformation fund money and ringfenced time for the
# sub-ICB locations of the North East and North Cumbria ICB, against the base. Its name says DEMO.
DEMO_SCENARIO = {
    "name": "DEMO: DOAC fund and ringfenced time in the North East",
    "indicator": "doac-share", "level": "sub-icb", "months": 120, "runs": 1000, "seed": 20261207,
    "levers": [
        {"lever": "fund", "where": ["icb:QHM"], "from": "2023-04", "to": "2025-03", "pounds": 20_000_000},
        {"lever": "ringfenced-time", "where": ["icb:QHM"], "from": "2023-04", "to": "2024-03", "share": 0.1},
    ],
}


def _seed_scenario(ws: Workspace) -> str:
    """Run and save the DEMO scenario once (a second build keeps the first)."""
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine, write=True) as session:
            found = session.scalar(select(SimulationScenario.id).where(
                SimulationScenario.name == DEMO_SCENARIO["name"]))
            if found is not None:
                return f"simulator: DEMO scenario already saved (scenario {found})"
            scenario = parse_scenario(DEMO_SCENARIO, "the demo scenario")
            params = load_levers()
            with reading(open_store(ws)) as cur:
                inputs = build_inputs(cur, scenario.indicator, scenario.level, partnership_pairs(session))
            compile_levers(scenario, inputs.network, inputs.start, params)
            scenario_id = record_finished_run(session, scenario, inputs, params, "demo")
            return f"simulator: DEMO scenario saved (scenario {scenario_id}, {scenario.runs:,} runs)"
    finally:
        engine.dispose()


def _models_step(catalogue):
    """As `uptake compute` does: the outcome models' tables written inside the compute's publication."""
    def step(pub) -> None:
        publish_pathway(pub)
        pub.replaced(write_model_tables(pub.con, catalogue), pub.pipeline_run)

    return step
def _seed_frontline(ws: Workspace) -> list[str]:
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session, reading(open_store(ws)) as cur:
            return seed_frontline(session, cur)
    finally:
        engine.dispose()


def _seed_fund(ws: Workspace) -> list[str]:
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            return seed_demo_fund(session)
    finally:
        engine.dispose()


def summarise(store, ws: Workspace, catalogue) -> DemoSummary:
    summary = DemoSummary(workspace=ws.root)
    con = store.connection
    for level, count in con.execute(
        "SELECT level, count(*) FROM organisations WHERE valid_to IS NULL GROUP BY level ORDER BY level"
    ).fetchall():
        summary.organisations[level] = count
    for trust_type, count in con.execute(
        "SELECT coalesce(trust_type, 'no type'), count(*) FROM organisations "
        "WHERE level = 'trust' AND valid_to IS NULL GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall():
        summary.trust_types[trust_type] = count
    rows = con.execute(
        """
        WITH latest AS (
            SELECT indicator, max(period) AS period FROM observations_current GROUP BY indicator
        )
        SELECT o.indicator, count(*) AS observations, min(o.period), max(o.period),
               sum(o.numerator) FILTER (WHERE o.period = l.period),
               sum(o.denominator) FILTER (WHERE o.period = l.period)
        FROM observations_current o JOIN latest l USING (indicator)
        GROUP BY o.indicator ORDER BY o.indicator
        """
    ).fetchall()
    for indicator_id, n, first, last, num, den in rows:
        ind = catalogue.indicators.get(indicator_id)
        value = (num / den) if den else None
        summary.indicators.append(
            {
                "indicator": indicator_id,
                "observations": n,
                "first_period": first,
                "last_period": last,
                "national_value": value,
                "display": ind.format_value(value) if ind else str(value),
                "synthetic": bool(ind and ind.synthetic),
            }
        )
    return summary


def print_summary(summary: DemoSummary, console: Console) -> None:
    orgs = Table("level", "organisations", title="Organisations (current)")
    for level, count in summary.organisations.items():
        orgs.add_row(level, f"{count:,}")
    console.print(orgs)
    if summary.trust_types:
        types = ", ".join(f"{name} {count:,}" for name, count in summary.trust_types.items())
        console.print(f"Trusts by type: {types}")
    inds = Table(title="Indicators (national value = pooled numerator / denominator, latest period)")
    inds.add_column("indicator", no_wrap=True)
    for name in ("observations", "periods", "latest national value", "data"):
        inds.add_column(name)
    for row in summary.indicators:
        inds.add_row(
            row["indicator"], f"{row['observations']:,}", f"{row['first_period']} to {row['last_period']}",
            row["display"], "[bold magenta]SYNTHETIC[/bold magenta]" if row["synthetic"] else "real",
        )
    console.print(inds)
    console.print(f"Workspace: {summary.workspace}")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


#: the title of the custom group the demo saves (issue 16: a group to see on /groups and to use as a benchmark)
DEMO_GROUP_TITLE = "DEMO provider collaborative"
DEMO_GROUP_SIZE = 5


def seed_demo_group(ws: Workspace, owner_email: str, icb_code: str | None = None) -> str:
    """Save one custom group, labelled DEMO, for the demo user ``owner_email``: up to five organisations of
    one level with results, near the demo ICB (its trusts, else its sub-ICB locations, else its practices;
    filled from its region when the ICB has fewer), so /groups shows something and it can be chosen as a
    benchmark (``?benchmark=group:ID``). Saving again replaces its members. Returns what was done."""
    members, level = _demo_group_members(ws, icb_code)
    if not members:
        return "demo group: no organisations with results to group"
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            owner = session.scalar(select(User).where(User.email == owner_email))
            if owner is None:
                return f"demo group: no user {owner_email}"
            group = session.scalar(select(OrgGroup).where(OrgGroup.owner_id == owner.id,
                                                          OrgGroup.title == DEMO_GROUP_TITLE))
            description = (f"DEMO: made by the demo build from {len(members)} {level} organisations near "
                           f"{icb_code or 'the demo ICB'}, not by a user; a provider collaborative or cluster "
                           "as an analyst would save it.")
            if group is None:
                group = OrgGroup(owner_id=owner.id, title=DEMO_GROUP_TITLE, description=description, level=level,
                                 members=[OrgGroupMember(org_code=c) for c in members])
                session.add(group)
                session.flush()
                record_audit(session, "uptake demo", "group.create", "org_group", str(group.id),
                             {"title": group.title, "level": level, "members": members})
            else:
                before = [m.org_code for m in group.members]
                group.level, group.description = level, description
                group.members = [OrgGroupMember(org_code=c) for c in members]
                record_audit(session, "uptake demo", "group.update", "org_group", str(group.id),
                             {"before": before, "after": members})
            return f"demo group {group.id}: {DEMO_GROUP_TITLE} ({len(members)} {level} organisations), " \
                   f"owned by {owner_email}; compare with it as ?benchmark=group:{group.id}"
    finally:
        engine.dispose()


def _demo_group_members(ws: Workspace, icb_code: str | None) -> tuple[list[str], str]:
    """The members of the demo group and their level (see ``seed_demo_group``)."""
    with reading(open_store(ws)) as con:
        if not {"result_values", "relationships"} <= tables(con):  # nothing computed: nothing to group
            return [], ""
        for level in ("trust", "sub-icb", "practice"):
            found = con.execute(
                """
                WITH mine AS (SELECT DISTINCT org_code FROM result_values WHERE level = ?),
                     near AS (
                    SELECT r.child_code AS code, 0 AS k FROM relationships r
                    WHERE r.parent_code = ? AND r.child_level = ? AND r.valid_to IS NULL
                    UNION ALL
                    SELECT r.child_code, 1 FROM relationships r
                    WHERE r.child_level = ? AND r.valid_to IS NULL AND r.parent_level = 'region'
                      AND r.parent_code IN (SELECT parent_code FROM relationships WHERE child_code = ?
                                            AND parent_level = 'region' AND valid_to IS NULL)
                )
                SELECT n.code FROM near n JOIN mine m ON m.org_code = n.code
                GROUP BY n.code ORDER BY min(n.k), n.code LIMIT ?
                """,
                [level, icb_code or "", level, level, icb_code or "", DEMO_GROUP_SIZE]).fetchall()
            if len(found) >= 2:
                return [c for (c,) in found], level
    return [], ""
