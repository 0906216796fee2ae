"""The transformation fund's part of ``uptake demo``: DEMO applications (made up, flagged ``synthetic`` and
titled "DEMO: ...") from real ICBs and trusts, taken through the workflow as their leads and a national
reviewer would (submitted, some under review, one approved, one declined and justified, one left as a draft),
so the /fund page has an allocation to show. Every figure they reach is labelled DEMO/SYNTHETIC. Runs once per
workspace (nothing is added when DEMO applications exist)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.models import fund_applications as fa
from uptake.store.fund_models import FundApplication
from uptake.store.models import Innovation, Organisation


@dataclass(frozen=True)
class _Person:
    role: str
    actor: str
    scope_org_code: str | None = None


REVIEWER = _Person("national-admin", "demo-reviewer@uptake.invalid")
#: (innovation, the NSF commitment whose outcome model the benefit is said to come from, and the made-up DEMO
#: lives saved per million pounds the applications are drawn around)
OFFERS = (("doacs", "cardiovascular-disease/anticoagulation-doacs", 1.6),
          ("thrombolysis", "stroke/thrombolysis", 2.2),
          ("qof-cvd", "cardiovascular-disease/hypertension-management", 0.9),
          ("dementia-diagnosis", "dementia/dementia-diagnosis", 0.6),
          ("lung-cancer-screening", "cancer/lung-cancer-early-diagnosis", 1.2))


def seed_demo_fund(session: Session, count: int = 16, seed: int = 2026) -> list[str]:
    if session.scalar(select(FundApplication.id).where(FundApplication.synthetic.is_(True)).limit(1)) is not None:
        return ["fund demo applications already there"]
    known = set(session.scalars(select(Innovation.id)))
    offers = [o for o in OFFERS if o[0] in known]
    if not offers:
        return ["fund demo: no catalogue innovation to apply for"]
    setup = fa.fund_setup()
    rng = np.random.default_rng(seed)
    icbs = session.scalars(select(Organisation.code).where(Organisation.level == "icb",
                                                          Organisation.valid_to.is_(None)).order_by(Organisation.code)).all()
    trusts = session.scalars(select(Organisation.code).where(Organisation.level == "trust",
                                                            Organisation.valid_to.is_(None)).order_by(Organisation.code)).all()
    orgs = [(c, "icb-analyst") for c in rng.choice(icbs, size=min(count * 2 // 3, len(icbs)), replace=False)] + \
           [(c, "provider-lead") for c in rng.choice(trusts, size=min(count - count * 2 // 3, len(trusts)), replace=False)]
    made = []
    for n, (code, role) in enumerate(orgs):
        innovation, commitment, per_million = offers[n % len(offers)]
        lead = _Person(role, f"demo-lead-{str(code).lower()}@uptake.invalid", str(code))
        first = int(rng.integers(0, 2))
        last = min(setup.fund.years - 1, first + int(rng.integers(1, 3)))
        implementation = float(rng.uniform(20, 220)) * 1e6
        yearly = [0.0] * setup.fund.years
        double = [0.0] * setup.fund.years
        decommission = [0.0] * setup.fund.years
        for y in range(first, last + 1):
            yearly[y] = round(implementation / (last - first + 1), -3)
            double[y] = round(implementation * 0.15 / (last - first + 1), -3)
        decommission[last] = round(implementation * 0.05, -3)
        total = sum(yearly) + sum(double) + sum(decommission)
        benefit = round(total / 1e6 * per_million * float(rng.uniform(0.6, 1.4)), 1)
        half = benefit * float(rng.uniform(0.15, 0.6))
        app = fa.apply(session, lead, setup, {
            "org_code": str(code), "innovation_id": innovation,
            "title": f"DEMO: {innovation.replace('-', ' ')} at scale in {code}",
            "summary": "DEMO application, made up to show the fund; its costs and benefit are SYNTHETIC.",
            "first_year": setup.first_year + first, "last_year": setup.first_year + last,
            "implementation_costs": yearly, "double_running_costs": double, "decommissioning_costs": decommission,
            "benefit": benefit, "benefit_low": round(max(0.0, benefit - half), 1),
            "benefit_high": round(benefit + half, 1), "benefit_source": "outcome-model",
            "benefit_reference": commitment}, synthetic=True)
        made.append((app, lead))
    steps = 0
    for n, (app, lead) in enumerate(made):
        if n == len(made) - 1:
            continue  # one stays a draft
        fa.step(session, lead, app.id, "submit")
        steps += 1
        if n % 4 == 1:
            fa.step(session, REVIEWER, app.id, "review", "DEMO review: checking the benefit's source")
        elif n == 2:
            fa.step(session, REVIEWER, app.id, "decline", "DEMO: the double running costs are not explained")
            fa.step(session, lead, app.id, "justify", "DEMO: two years of parallel running while the new "
                                                      "service beds in, as the stroke model assumes")
        elif n == 0:
            fa.step(session, REVIEWER, app.id, "approve", "DEMO: approved")
    return [f"{len(made)} DEMO fund applications ({steps} in the competition)"]
