"""``seed_demo_networks(workspace)``: the networks, barriers and adopters part of ``uptake demo``.

Run after the pipeline and the mission's seed (the NSF frameworks must be loaded). Through the normal paths
(``run_round``, ``record_adoption``, ``record_assessment``, each audited), it:

- runs one Health Innovation Challenge round for stroke (the 20 real Integrated Stroke Delivery Networks and
  the real SSNAP thrombolysis results), marked DEMO: a demonstration of the rule and the matching, not a
  real designation;
- logs a few adoptions, marked DEMO, at real organisations that the results show doing the innovation;
- records barrier assessments for the sub-ICB locations of three ICBs on DOACs, marked SYNTHETIC: the
  ratings are generated (seeded), each barrier's level drawn from a stated rule that makes organisations
  with lower DOAC uptake more likely to rate it higher, so any association the barriers page shows in the
  demo is built in by that rule and says nothing about the NHS.

Safe to run again: nothing is added when the DEMO round is already there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select

from uptake.analytics import AnalyticsStore
from uptake.catalogue import load_catalogue
from uptake.ecosystem.adopters import record_adoption
from uptake.ecosystem.barriers import FACTORS, SCALES, record_assessment
from uptake.ecosystem.networks import find_priority, network, priorities, run_round
from uptake.results import read
from uptake.store.db import make_engine, session_scope
from uptake.store.ecosystem_network_models import AnchorRound
from uptake.workspace import Workspace

DEMO_ACTOR_EMAIL = "demo.networks@uptake.example"
STROKE = "stroke/thrombolysis"
BARRIER_ICBS = ("QE1", "QHM", "QWE")  # Lancashire and South Cumbria; North East and North Cumbria; South West London
SEED = 20261207


@dataclass(frozen=True)
class DemoActor:
    role: str = "national-admin"
    email: str = DEMO_ACTOR_EMAIL
    scope_org_code: str | None = None

    @property
    def actor(self) -> str:
        return self.email


@dataclass
class NetworkSeed:
    round_id: int | None = None
    partnerships: int = 0
    adoptions: int = 0
    assessments: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.round_id is None:
            return ["networks: the DEMO Health Innovation Challenge round is already there", *self.notes]
        return [f"networks: DEMO Health Innovation Challenge round {self.round_id} for stroke "
                f"({self.partnerships} partnerships); {self.adoptions} DEMO adoptions logged; "
                f"{self.assessments} SYNTHETIC barrier assessments", *self.notes]


def seed_demo_networks(workspace: Workspace | Path | str) -> NetworkSeed:
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    catalogue = load_catalogue()
    seed = NetworkSeed()
    who = DemoActor()
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            if session.scalar(select(AnchorRound.id).where(AnchorRound.synthetic.is_(True)).limit(1)) is not None:
                return seed
        store = AnalyticsStore(ws.analytics_path, read_only=True)
        with store.connect() as cur, session_scope(engine) as session:
            if find_priority(priorities(session, catalogue), STROKE) is None:
                seed.notes.append("networks: no stroke framework loaded; no DEMO round")
                return seed
            r = run_round(session, cur, catalogue, who, title="DEMO: stroke thrombolysis anchors, first round",
                          priority_key=STROKE, capacity=3, funding=25000, synthetic=True)
            seed.round_id, seed.partnerships = r.id, len(r.partnerships)
            anchors = [d.org_code for d in r.designations if d.designated]
            net = network(session, cur, catalogue, STROKE)
            for code in anchors[:3]:
                name = net.results.set_index("org_code")["org_name"].get(code, code)
                record_adoption(session, who, {
                    "org_code": code, "innovation": "thrombolysis", "adopted_on": "2016-01-01",
                    "what": f"DEMO record: a hyperacute thrombolysis pathway at {name}",
                    "adaptations": "DEMO record (not real): ambulance pre-alert straight to CT, a stroke nurse "
                                   "meeting the crew, and telestroke cover at night",
                    "cost_pounds": "", "contact_name": "Demo stroke lead",
                    "contact_email": "stroke.lead@demo.uptake.example"}, synthetic=True)
                seed.adoptions += 1
            seed.assessments = _barriers(session, cur, catalogue, who)
    finally:
        engine.dispose()
    return seed


def _barriers(session, cur, catalogue, who) -> int:
    """SYNTHETIC assessments of DOACs by the sub-ICB locations of BARRIER_ICBS: each factor's level is drawn
    with P(higher level) rising as the location's DOAC uptake percentile falls (seeded)."""
    rng = np.random.default_rng(SEED)
    values = read.values.values_frame(cur, ["indicator", "level", "org_code", "period", "value"], ["doac-share"])
    values = values.loc[values["level"] == "sub-icb"]
    if values.empty:
        return 0
    latest = values.loc[values["period"] == values["period"].max()].set_index("org_code")["value"]
    percentile = (latest.rank(method="average") - 1) / max(len(latest) - 1, 1)
    links = read.organisations.current_links_frame(cur)
    codes = links.loc[(links["child_level"] == "sub-icb") & links["parent_code"].isin(BARRIER_ICBS), "child_code"]
    made = 0
    for code in sorted(set(codes) & set(percentile.index)):
        low = 1.0 - float(percentile[code])  # 1 for the lowest uptake
        form = {"org_code": code, "innovation": "doacs", "assessed_on": f"202{3 + made % 3}-0{1 + made % 9}-15",
                "notes": "SYNTHETIC demo assessment, generated by a stated rule (docs/barriers.md)"}
        for key in FACTORS:
            levels = SCALES[key]
            form[key] = levels[int(np.clip(np.floor(rng.uniform(0, 1) * 1.2 + low * 1.8), 0, 2))]
        record_assessment(session, who, cur, catalogue, form, synthetic=True)
        made += 1
    return made
