"""Innovation leads and their contributions to spread (M11; IPPR "The innovation lottery", policy
recommendations 6 and 7: clinical innovation leads, and spread in every competency framework).

Each organisation names its innovation lead(s) (``add_lead``); a lead records contributions (``add_contribution``):
an innovation **adopted**, **adapted** (what was changed to make it work locally) or **taught** to a peer
organisation, linked to the commitment whose published results show it. A lead's **portfolio**
(``portfolio``) lists the contributions, each with the linked result (the latest attainment of the organisation
the contribution is about: the lead's own, or the peer taught) and the competency statements it evidences
(frontline_data/competencies.yaml), for appraisal: exported as CSV and PDF by the web app and the command line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.ecosystem.frontline_rules import (
    FieldProblems,
    organisation,
    parse_date,
    require_org_record,
)
from uptake.errors import NotFound
from uptake.results import read
from uptake.store.ecosystem_award_models import CONTRIBUTION_KINDS, InnovationLead, LeadContribution
from uptake.store.mission_models import NsfCommitment, NsfFrameworkVersion
from uptake.store.models import Innovation, utcnow
from uptake.store.repository import record_audit

DATA = Path(str(resources.files("uptake.ecosystem").joinpath("frontline_data")))
KIND_TITLES = {"adopted": "Adopted", "adapted": "Adapted", "taught": "Taught to a peer"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

LEAD_FIELDS = {"org_code": "Organisation code", "name": "Name", "job_title": "Job title", "email": "Email (optional)",
               "started_on": "Lead since"}
CONTRIBUTION_FIELDS = {"kind": "What they did", "innovation": "Innovation", "commitment": "Commitment it shows in",
                       "peer_org_code": "Peer organisation taught", "description": "What happened",
                       "occurred_on": "Date"}


@dataclass(frozen=True)
class Statement:
    id: str
    title: str
    statement: str
    evidenced_by: tuple[str, ...]


@cache
def competencies() -> tuple[Statement, ...]:
    data = yaml.safe_load((DATA / "competencies.yaml").read_text(encoding="utf-8"))
    return tuple(Statement(s["id"], s["title"], s["statement"], tuple(s["evidenced_by"])) for s in data["statements"])


def evidenced(kind: str, linked: bool) -> list[str]:
    """The competency statements a contribution of ``kind`` evidences (``linked``: tied to a commitment)."""
    return [s.id for s in competencies() if kind in s.evidenced_by or (linked and "linked" in s.evidenced_by)]


# --- leads --------------------------------------------------------------------------------------------------


def add_lead(session: Session, who: Any, values: dict[str, Any], *, synthetic: bool = False) -> InnovationLead:
    """Name an innovation lead of an organisation (audited). Problems at their fields, nothing saved."""
    data = {k: str(v or "").strip() for k, v in values.items()}
    problems: list[tuple[str, str]] = []
    org_code = data.get("org_code", "").upper()
    if not org_code:
        problems.append(("org_code", "Enter the ODS code of the organisation"))
    elif organisation(session, org_code) is None:
        problems.append(("org_code", f"There is no organisation {org_code}: enter an ODS code Uptake knows"))
    if not data.get("name"):
        problems.append(("name", "Enter the lead's name"))
    if not data.get("job_title"):
        problems.append(("job_title", "Enter the lead's job title"))
    for key, limit in (("name", 255), ("job_title", 255), ("email", 320)):
        if len(data.get(key, "")) > limit:
            problems.append((key, f"{LEAD_FIELDS[key]} must be {limit} characters or fewer"))
    if data.get("email") and not EMAIL.match(data["email"]):
        problems.append(("email", "Enter an email address like name@nhs.net, or leave it empty"))
    started = parse_date(data.get("started_on", ""))
    if started is None:
        problems.append(("started_on", "Enter the date they became lead, like 2024-04-01"))
    elif started > dt.date.today():
        problems.append(("started_on", "The date they became lead cannot be in the future"))
    if problems:
        raise FieldProblems(problems)
    require_org_record(who, org_code, "name an innovation lead")
    lead = InnovationLead(org_code=org_code, name=data["name"], email=data.get("email") or None,
                          job_title=data["job_title"], started_on=started, synthetic=synthetic, created_by=who.actor,
                          created_at=utcnow())
    session.add(lead)
    session.flush()
    record_audit(session, who.actor, "lead.add", "innovation-lead", str(lead.id),
                 {"org_code": org_code, "synthetic": synthetic})
    return lead


def get_lead(session: Session, lead_id: int) -> InnovationLead:
    lead = session.get(InnovationLead, lead_id)
    if lead is None:
        raise NotFound(f"there is no innovation lead {lead_id}")
    return lead


LEAD_COLUMNS = ["id", "org_code", "org_name", "name", "job_title", "started_on", "contributions", "synthetic"]


def leads_frame(session: Session, org_code: str | None = None) -> pd.DataFrame:
    query = select(InnovationLead).order_by(InnovationLead.org_code, InnovationLead.name, InnovationLead.id)
    if org_code:
        query = query.where(InnovationLead.org_code == org_code)
    rows = []
    for lead in session.scalars(query):
        org = organisation(session, lead.org_code)
        rows.append({"id": lead.id, "org_code": lead.org_code, "org_name": org.name if org else None,
                     "name": lead.name, "job_title": lead.job_title, "started_on": lead.started_on,
                     "contributions": len(lead.contributions), "synthetic": bool(lead.synthetic)})
    return pd.DataFrame(rows, columns=LEAD_COLUMNS)


# --- contributions ------------------------------------------------------------------------------------------


def commitment_choices(session: Session) -> list[tuple[str, str]]:
    """(framework/commitment, "framework title: commitment title") of every framework's current version."""
    seen: dict[str, str] = {}
    query = (select(NsfFrameworkVersion.framework_id, NsfFrameworkVersion.title, NsfCommitment.key,
                    NsfCommitment.title).join(NsfCommitment.framework_version)
             .order_by(NsfFrameworkVersion.framework_id, NsfFrameworkVersion.version.desc(), NsfCommitment.position))
    for framework_id, framework_title, key, title in session.execute(query):
        seen.setdefault(f"{framework_id}/{key}", f"{framework_title}: {title}")
    return sorted(seen.items(), key=lambda item: item[1])


def add_contribution(session: Session, who: Any, lead_id: int, values: dict[str, Any], *,
                     synthetic: bool = False) -> LeadContribution:
    """Record a lead's contribution (audited; the provider lead of the lead's organisation or a national
    admin). Problems at their fields, nothing saved."""
    lead = get_lead(session, lead_id)
    data = {k: str(v or "").strip() for k, v in values.items()}
    problems: list[tuple[str, str]] = []
    kind = data.get("kind", "")
    if kind not in CONTRIBUTION_KINDS:
        problems.append(("kind", "Choose adopted, adapted or taught to a peer"))
    innovation = data.get("innovation", "")
    if not innovation or session.get(Innovation, innovation) is None:
        problems.append(("innovation", "Choose an innovation from the catalogue"))
    commitment = data.get("commitment", "")
    if commitment and commitment not in dict(commitment_choices(session)):
        problems.append(("commitment", "Choose a commitment of a framework, or none"))
    peer = data.get("peer_org_code", "").upper()
    if kind == "taught":
        if not peer:
            problems.append(("peer_org_code", "Enter the ODS code of the peer organisation taught"))
        elif organisation(session, peer) is None:
            problems.append(("peer_org_code", f"There is no organisation {peer}: enter an ODS code Uptake knows"))
        elif peer == lead.org_code:
            problems.append(("peer_org_code", "A peer is another organisation, not the lead's own"))
    if not data.get("description"):
        problems.append(("description", "Say what happened: what was adopted, changed or taught, and the result"))
    occurred = parse_date(data.get("occurred_on", ""))
    if occurred is None:
        problems.append(("occurred_on", "Enter the date, like 2024-10-01"))
    elif occurred > dt.date.today():
        problems.append(("occurred_on", "The date cannot be in the future"))
    if problems:
        raise FieldProblems(problems)
    require_org_record(who, lead.org_code, "record a lead's contribution")
    framework, _, key = commitment.partition("/")
    row = LeadContribution(lead_id=lead.id, kind=kind, innovation_id=innovation, framework_id=framework or None,
                           commitment_key=key or None, peer_org_code=peer if kind == "taught" else None,
                           description=data["description"], occurred_on=occurred,
                           competencies=evidenced(kind, bool(commitment)), synthetic=synthetic,
                           created_by=who.actor, created_at=utcnow())
    session.add(row)
    session.flush()
    record_audit(session, who.actor, "lead.contribution", "lead-contribution", str(row.id),
                 {"lead": lead.id, "kind": kind, "innovation": innovation, "commitment": commitment or None,
                  "peer_org_code": row.peer_org_code, "synthetic": synthetic})
    return row


CONTRIBUTION_COLUMNS = ["id", "lead_id", "lead_name", "org_code", "kind", "innovation", "framework", "commitment",
                        "peer_org_code", "description", "occurred_on", "competencies", "result_org",
                        "result_period", "result_value", "result_status", "result_source", "synthetic"]


def _linked_result(cur: Any, framework: str | None, commitment: str | None, org_code: str) -> dict[str, Any]:
    if cur is None or not framework or not commitment:
        return {"result_org": None, "result_period": None, "result_value": None, "result_status": None,
                "result_source": None if not framework else "no results available"}
    rows = read.attainment.attainment(cur, framework=framework, commitment=commitment, org_code=org_code,
                                      ordered=True)
    if rows.empty:
        return {"result_org": org_code, "result_period": None, "result_value": None, "result_status": None,
                "result_source": f"no result for {org_code} on {framework}/{commitment}"}
    latest = rows.sort_values("period").iloc[-1]
    value = latest["value"]
    return {"result_org": org_code, "result_period": pd.Timestamp(latest["period"]).date(),
            "result_value": None if pd.isna(value) else float(value), "result_status": str(latest["status"]),
            "result_source": f"result_attainment {framework}/{commitment}, {org_code} "
                             f"({'SYNTHETIC ' if bool(latest['synthetic']) else ''}{latest['level']})"}


def contributions_frame(session: Session, cur: Any = None, lead_id: int | None = None) -> pd.DataFrame:
    """Contributions (of one lead, if given) with each one's linked result (``cur``: a results cursor, or
    None for none): a taught contribution's result is the peer's, the others the lead organisation's."""
    query = select(LeadContribution).order_by(LeadContribution.occurred_on, LeadContribution.id)
    if lead_id is not None:
        query = query.where(LeadContribution.lead_id == lead_id)
    rows = []
    for c in session.scalars(query):
        about = c.peer_org_code if c.kind == "taught" else c.lead.org_code
        rows.append({"id": c.id, "lead_id": c.lead_id, "lead_name": c.lead.name, "org_code": c.lead.org_code,
                     "kind": c.kind, "innovation": c.innovation_id, "framework": c.framework_id,
                     "commitment": c.commitment_key, "peer_org_code": c.peer_org_code, "description": c.description,
                     "occurred_on": c.occurred_on, "competencies": ", ".join(c.competencies),
                     **_linked_result(cur, c.framework_id, c.commitment_key, about),
                     "synthetic": bool(c.synthetic or c.lead.synthetic)})
    return pd.DataFrame(rows, columns=CONTRIBUTION_COLUMNS)


@dataclass(frozen=True)
class Portfolio:
    lead: InnovationLead
    org_name: str | None
    contributions: pd.DataFrame
    #: (statement, [contribution ids that evidence it])
    statements: list[tuple[Statement, list[int]]]

    @property
    def synthetic(self) -> bool:
        return bool(self.lead.synthetic) or bool(self.contributions["synthetic"].any())

    def frame(self) -> pd.DataFrame:
        """The portfolio as one table (the CSV): one row per contribution, then one per statement."""
        rows = self.contributions.drop(columns=["lead_id"]).assign(section="contribution")
        evidence = pd.DataFrame([{"section": "competency", "competencies": s.id, "description": f"{s.title}: "
                                  f"{s.statement}", "kind": None, "id": None, "evidenced_by": ", ".join(
                                      str(i) for i in ids) or "not yet evidenced"}
                                 for s, ids in self.statements])
        out = pd.concat([rows, evidence], ignore_index=True)
        out.insert(0, "label", "SYNTHETIC" if self.synthetic else "")
        return out


def portfolio(session: Session, cur: Any, lead_id: int) -> Portfolio:
    lead = get_lead(session, lead_id)
    frame = contributions_frame(session, cur, lead_id)
    statements = []
    for s in competencies():
        ids = [int(row.id) for row in frame.itertuples() if s.id in str(row.competencies).split(", ")]
        statements.append((s, ids))
    org = organisation(session, lead.org_code)
    return Portfolio(lead, org.name if org else None, frame, statements)
