"""`seed_demo_mission(workspace)`: the mission part of `uptake demo`.

Run after the pipeline (`uptake compute` / `run_pipeline`). Through the normal paths, it loads the four
bundled National Service Frameworks, computes attainment and ratings and publishes them, records the
national value assessments of two innovations in the demo data (and one local duplicate), and files a few
comply-or-justify records for real ICBs, at different stages of review. Safe to run again: what is
already there is left as it is, and ratings are recomputed only when the pipeline results, the frameworks
or the rule set have changed.

The plans, justifications and the local assessment are DEMO RECORDS, written for the demo (their texts
say so); the frameworks' numbers, the NICE appraisals and all organisation results are real or labelled
synthetic as elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from uptake.errors import UptakeError
from uptake.mission.assessments import add_assessment
from uptake.mission.framework_repository import load_frameworks, published_frameworks
from uptake.mission.framework_files import read_frameworks
from uptake.mission.permissions import Who
from uptake.mission.plans import find_filing, save_filing, transition
from uptake.mission.ratings import compute_ratings, publish_ratings, review_ratings
from uptake.mission.results import open_store, reading
from uptake.mission.rule_set import load_rule_set
from uptake.results import read
from uptake.store.db import make_engine, session_scope
from uptake.store.migrate import upgrade
from uptake.store.mission_models import RatingRun, ValueAssessment
from uptake.workspace import Workspace

DEMO_REVIEWER = Who(role="national-admin", email="uptake demo")

#: NICE technology appraisals of innovations in the demo data (publication dates).
NATIONAL_ASSESSMENTS: list[dict[str, Any]] = [
    dict(innovation_id="thrombolysis", body="NICE", scope="national", decision="recommended",
         decided_on=dt.date(2012, 9, 26), reference="TA264", threshold=30000.0,
         conditions="Alteplase within 4.5 hours of the onset of an acute ischaemic stroke, after intracranial "
                    "haemorrhage has been excluded (NICE TA264; the ICER is not recorded in Uptake's demo)."),
    dict(innovation_id="doacs", body="NICE", scope="national", decision="recommended",
         decided_on=dt.date(2015, 9, 23), reference="TA355", threshold=30000.0,
         conditions="Edoxaban for preventing stroke and systemic embolism in non-valvular atrial fibrillation "
                    "with one or more risk factors (NICE TA355; the fourth DOAC appraised; the ICER is not "
                    "recorded in Uptake's demo)."),
]


@dataclass
class MissionSeed:
    frameworks: list[str] = field(default_factory=list)
    rating_run: int | None = None
    ratings_published: int = 0
    assessments_added: int = 0
    filings: list[str] = field(default_factory=list)
    demo_icb: str | None = None

    def lines(self) -> list[str]:
        out = [f"National Service Frameworks: {', '.join(self.frameworks)}"]
        if self.rating_run is not None:
            out.append(f"Innovation ratings: run {self.rating_run}, {self.ratings_published:,} published")
        else:
            out.append("Innovation ratings: unchanged (results, frameworks and rules as before)")
        out.append(f"Value assessments added: {self.assessments_added}")
        out += [f"Comply or justify: {f}" for f in self.filings]
        return out


def _workspace(workspace: Workspace | Path | str | None) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)


def _pipeline_fingerprint(store) -> str:
    with reading(store) as con:
        present = read.tables(con)
        if "result_values" not in present:
            raise UptakeError(f"the analytics store {store.path} has no results; run the pipeline (uptake compute) "
                              "before seeding the mission")
        run = read.runs.latest_run_stamp(con) if "pipeline_runs" in present else None
    return json.dumps([str(v) for v in (run or [])])


def seed_demo_mission(workspace: Workspace | Path | str | None, *, console: Console | None = None) -> MissionSeed:
    """Frameworks, attainment, published ratings, assessments and demo filings for a demo workspace."""
    console = console or Console(quiet=True)
    ws = _workspace(workspace)
    store = open_store(ws)
    fingerprint_inputs = _pipeline_fingerprint(store)
    rule_set = load_rule_set()
    seed = MissionSeed()
    upgrade(ws.database_url)  # the workflow tables of the mission (migration 0002); nothing if already there
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            load_frameworks(session, read_frameworks(), actor=DEMO_REVIEWER.actor)
            frameworks = published_frameworks(session)
            seed.frameworks = [f"{f.id} v{f.version}" for f in frameworks]
        fingerprint = hashlib.sha256(json.dumps(
            [fingerprint_inputs, rule_set.sha256, seed.frameworks]).encode()).hexdigest()
        with session_scope(engine) as session:
            latest = session.scalar(select(RatingRun).order_by(RatingRun.id.desc()).limit(1))
            if latest is None or latest.summary.get("inputs") != fingerprint:
                with console.status("Computing NSF attainment and innovation ratings"):
                    summary = compute_ratings(session, store, who=DEMO_REVIEWER, rule_set=rule_set)
                run = session.get(RatingRun, summary.run_id)
                run.summary = {**run.summary, "inputs": fingerprint}
                review_ratings(session, DEMO_REVIEWER, summary.run_id, results=store)
                seed.ratings_published = publish_ratings(session, DEMO_REVIEWER, summary.run_id, results=store)
                seed.rating_run = summary.run_id
        with session_scope(engine) as session:
            seed.assessments_added = _assessments(session, store)
        with session_scope(engine) as session:
            seed.demo_icb, seed.filings = _filings(session, store)
    finally:
        engine.dispose()
    return seed


def _assessments(session, store) -> int:
    added = 0
    for record in NATIONAL_ASSESSMENTS:
        if _assessment_exists(session, record):
            continue
        add_assessment(session, DEMO_REVIEWER, **record)
        added += 1
    icb = _icbs(store)[0]
    local = dict(innovation_id="doacs", body=f"Area prescribing committee of {icb} (DEMO RECORD)", scope="local",
                 decision="optimised", decided_on=dt.date(2016, 2, 1), org_code=icb,
                 conditions="DEMO RECORD: a local formulary review of the DOACs after NICE's appraisals; flagged "
                            "as a duplicate of the national assessment.")
    if not _assessment_exists(session, local):
        add_assessment(session, DEMO_REVIEWER, **local)
        added += 1
    return added


def _assessment_exists(session, record: dict[str, Any]) -> bool:
    return session.scalar(select(ValueAssessment.id).where(
        ValueAssessment.innovation_id == record["innovation_id"], ValueAssessment.body == record["body"],
        ValueAssessment.decided_on == record["decided_on"],
    )) is not None


def _icbs(store) -> list[str]:
    """ICBs with results, in code order (the web app scopes its demo ICB analyst to the first)."""
    with reading(store) as con:
        codes = read.values.org_codes(con, "icb")
    if not codes:
        raise UptakeError("the analytics store has no ICB results; run the pipeline first")
    return codes


def _icb_value(store, indicator: str, icb: str) -> float | None:
    with reading(store) as con:
        return read.values.latest_value(con, indicator, "icb", icb)


def _filings(session, store) -> tuple[str, list[str]]:
    icbs = _icbs(store)
    first, second = icbs[0], icbs[1 % len(icbs)]
    analyst = lambda code: Who(role="icb-analyst", email=f"icb-analyst.{code.lower()}@demo.uptake.example",  # noqa: E731
                               scope_org_code=code)
    done: list[str] = []
    latest = _icb_value(store, "thrombolysis-rate", first) or 0.12
    plan = {
        "summary": "DEMO RECORD. Every stroke unit in the footprint adopts the hyperacute pathway practices of "
                   "the best units (pre-alert, direct to CT, decision within 30 minutes).",
        "actions": [
            {"description": "Ambulance pre-alert and direct-to-CT protocol in every unit", "owner":
             "Stroke network clinical lead", "due": "2022-09-30", "status": "done"},
            {"description": "Telestroke rota covering nights and weekends", "owner": "ICB medical director",
             "due": "2023-03-31", "status": "in-progress"},
            {"description": "Monthly SSNAP door-to-needle review with the best unit in the region", "owner":
             "Stroke unit leads", "due": "2023-06-30"},
        ],
        "funding": {"amount_pounds": 350000, "source": "DEMO: ICB service development funding", "years": "2022/23-2024/25"},
        "support": "Peer support and shared training from the best-performing unit in the region; protected "
                   "time for a thrombolysis nurse lead in each unit.",
        "expected_trajectory": [
            {"date": "2022-12-31", "value": round(max(latest, 0.1) + 0.01, 3)},
            {"date": "2023-12-31", "value": round(max(latest, 0.1) + 0.03, 3)},
            {"date": "2025-12-31", "value": 0.2},
        ],
    }
    if find_filing(session, "stroke", "thrombolysis", first) is None:
        filing = save_filing(session, analyst(first), "stroke", "thrombolysis", first, "plan", plan)
        transition(session, analyst(first), filing.id, "submit")
        transition(session, DEMO_REVIEWER, filing.id, "accept", "DEMO: accepted; report progress each quarter.")
        transition(session, DEMO_REVIEWER, filing.id, "publish")
        done.append(f"{first}: plan for stroke/thrombolysis, published")
    justification = {
        "reason_category": "service-configuration",
        "reason": "DEMO RECORD. Lung health checks are being commissioned across the Cancer Alliance rather "
                  "than by each ICB, and the mobile CT units reach this footprint in the next wave.",
        "evidence": ["DEMO: Cancer Alliance targeted lung health check rollout plan"],
        "alternative": "Direct GP access to chest CT for people with symptoms while the checks are rolled out.",
        "review_date": "2024-04-01",
    }
    if find_filing(session, "cancer", "lung-cancer-early-diagnosis", first) is None:
        filing = save_filing(session, analyst(first), "cancer", "lung-cancer-early-diagnosis", first, "justification",
                             justification)
        transition(session, analyst(first), filing.id, "submit")
        transition(session, DEMO_REVIEWER, filing.id, "challenge",
                   "DEMO: give the date the mobile CT units arrive and the expected uptake of checks.")
        done.append(f"{first}: justification for cancer/lung-cancer-early-diagnosis, challenged")
    dementia = _icb_value(store, "dementia-diagnosis-rate", second) or 0.62
    if find_filing(session, "dementia", "dementia-diagnosis", second) is None:
        plan_b = dict(plan, summary="DEMO RECORD. Memory assessment in primary care for people in care homes; "
                                    "a diagnosis register audit in every practice.",
                      actions=[{"description": "Care home memory assessment service", "owner":
                                "Primary care network clinical directors", "due": "2024-03-31"}],
                      expected_trajectory=[{"date": "2024-03-31", "value": round(max(dementia, 0.55) + 0.01, 3)},
                                           {"date": "2025-03-31", "value": 0.667}])
        filing = save_filing(session, analyst(second), "dementia", "dementia-diagnosis", second, "plan", plan_b)
        transition(session, analyst(second), filing.id, "submit")
        done.append(f"{second}: plan for dementia/dementia-diagnosis, submitted (awaiting review)")
    return first, done
