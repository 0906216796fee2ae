"""The transformation fund's workflow (M14, docs/fund.md): ICBs and providers apply, national reviewers review
in the comply-or-justify style of plans, and the allocation (uptake.models.fund) runs over the applications in
the competition, each decision explained, with its sensitivity to the benefit estimates.

Workflow (who: the applicant is the icb-analyst of that ICB or the provider-lead of that trust; the reviewer
a national-admin)::

    draft --submit--> submitted --review--> under-review --approve--> approved
      ^ edit            |  \\---------------------+-------decline (a reason)--> declined --justify--> justified
                        +--approve / decline-----+                                       (the applicant's reason)
    justified --review / approve / decline--> as from submitted

Every step writes a fund_reviews row and an audit event; every change is made against the row version the
person read (a stale one raises Conflict and changes nothing). Bad input (an unknown organisation or
innovation, a negative cost, years outside the fund's NSF period, an interval that does not hold its value, an
unknown simulator scenario) raises FieldProblems naming each field, and nothing is saved.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.errors import CONFLICT_MESSAGE, Conflict, NotFound, UptakeError
from uptake.models.fund import PARAMS_PATH, Application, Fund, allocate, default_fund, sensitivity, validate
from uptake.store.fund_models import BENEFIT_SOURCES, FUND_STATUSES, FundApplication, FundReview
from uptake.store.models import Innovation, Organisation, OrgRelationship, utcnow
from uptake.store.repository import record_audit
from uptake.store.scenario_models import SimulationScenario

__all__ = [
    "ENTITY",
    "FUND_STATUSES",
    "IN_COMPETITION",
    "TRANSITIONS",
    "FieldProblems",
    "FundResult",
    "FundSetup",
    "NotAllowed",
    "applications",
    "apply",
    "as_allocation_input",
    "check_application",
    "edit",
    "fund_setup",
    "get_application",
    "may_see",
    "result_frames",
    "run_allocation",
    "step",
    "step_problem",
    "year_labels",
]

ENTITY = "fund-application"
APPLICANT_ROLES = {"icb": "icb-analyst", "trust": "provider-lead"}
REVIEWER = "national-admin"
#: the applications the allocation runs over (not drafts, not declined)
IN_COMPETITION = ("submitted", "under-review", "justified", "approved")
#: action -> (statuses it may start from, status it leads to); None: no application yet / no change
TRANSITIONS: dict[str, tuple[frozenset[str | None], str | None]] = {
    "create": (frozenset({None}), "draft"),
    "edit": (frozenset({"draft"}), None),
    "submit": (frozenset({"draft"}), "submitted"),
    "review": (frozenset({"submitted", "justified"}), "under-review"),
    "approve": (frozenset({"submitted", "under-review", "justified"}), "approved"),
    "decline": (frozenset({"submitted", "under-review", "justified"}), "declined"),
    "justify": (frozenset({"declined"}), "justified"),
}
APPLICANT_ACTIONS = frozenset({"create", "edit", "submit", "justify"})
REVIEW_ACTIONS = frozenset({"review", "approve", "decline"})
COST_KINDS = ("implementation", "double_running", "decommissioning")
#: sensitivity re-solves the programme once per application: above this many, the page skips it
SENSITIVITY_LIMIT = 100
#: up to this many applications the programme is solved exactly; above, to within LARGE_GAP of the optimum
#: (HiGHS proves the bound): on 5,000 applications exact solving takes minutes, 0.1% about 2 s
#: (docs/performance.md, "Transformation fund")
EXACT_LIMIT = 500
LARGE_GAP = 1e-3


class NotAllowed(UptakeError):
    """The person's role or scope does not allow the step."""


class FieldProblems(UptakeError):
    """Problems with an application, each at its field: [(field, message)]. Nothing was saved."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


# --- the fund ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundSetup:
    fund: Fund
    first_year: int
    measure: str

    @property
    def years(self) -> list[str]:
        return year_labels(self.first_year, self.fund.years)


def year_labels(first: int, count: int) -> list[str]:
    return [f"{y}/{(y + 1) % 100:02d}" for y in range(first, first + count)]


def fund_setup(path: Path | str = PARAMS_PATH, *, budget_per_year: Sequence[float] | None = None,
               deprived_share: float | None = None,
               region_minimum: Mapping[str, float] | None = None) -> FundSetup:
    """The fund of params/fund.yaml, with a run's own yearly budgets, equity share or regional floors. Budgets
    adding up to more than the fund, a share outside 0-1 or a negative floor raise UptakeError."""
    base = default_fund(path)
    raw = yaml.safe_load(Path(path).read_text())
    try:
        first = int(raw["first_financial_year"]["value"])
        measure = str(raw["benefit_measure"]["value"])
    except (KeyError, TypeError, ValueError) as error:
        raise UptakeError(f"{path}: first_financial_year and benefit_measure need a value ({error})") from None
    fund = base
    if budget_per_year is not None:
        if len(budget_per_year) != base.years:
            raise UptakeError(f"budget: give {base.years} yearly budgets (one per year of the fund, "
                              f"{', '.join(year_labels(first, base.years))}); got {len(budget_per_year)}")
        fund = replace(fund, budget_per_year=tuple(float(b) for b in budget_per_year))
    if deprived_share is not None:
        fund = replace(fund, deprived_share=float(deprived_share))
    if region_minimum:
        fund = replace(fund, region_minimum=dict(region_minimum))
    validate(fund, [])
    return FundSetup(fund, first, measure)


# --- who may do what --------------------------------------------------------------------------------------


def _role(who: Any) -> str:
    return getattr(who, "role", "public") or "public"


def _actor(who: Any) -> str:
    return getattr(who, "actor", None) or getattr(who, "email", None) or "public"


def step_problem(who: Any, action: str, org_code: str, org_level: str, status: str | None) -> str | None:
    """Why ``who`` may not take ``action`` on an application of ``org_code`` now in ``status``; None if they may."""
    if action not in TRANSITIONS:
        raise UptakeError(f"unknown step {action!r}; steps: {', '.join(TRANSITIONS)}")
    role = _role(who)
    if action in APPLICANT_ACTIONS:
        wanted = APPLICANT_ROLES.get(org_level)
        if wanted is None:
            return f"only ICBs and providers (trusts) apply to the fund; {org_code} is a {org_level}"
        if role != wanted:
            return (f"only the {wanted} of {org_code} applies for it" + ("" if role != REVIEWER else
                    " (national reviewers review applications; they do not make them)"))
        if getattr(who, "scope_org_code", None) != org_code:
            return f"they are the {role} of {getattr(who, 'scope_org_code', None)}, not of {org_code}"
    elif role != REVIEWER:
        return "only a national reviewer (national-admin) reviews, approves or declines applications"
    allowed_from, _ = TRANSITIONS[action]
    if status not in allowed_from:
        now = "there is no application yet" if status is None else f"the application is {status}"
        return f"{now}; {action} needs it to be {' or '.join(sorted(s for s in allowed_from if s))}"
    return None


def may_see(who: Any, org_code: str, status: str) -> bool:
    """Drafts: the applicant organisation's people and national reviewers; anything else: everyone."""
    if status != "draft" or _role(who) == REVIEWER:
        return True
    return _role(who) in APPLICANT_ROLES.values() and getattr(who, "scope_org_code", None) == org_code


# --- checking an application -------------------------------------------------------------------------------


def _number(raw: Any, name: str, problems: list[tuple[str, str]], *, label: str) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0.0 if name.startswith("cost") else None
    try:
        value = float(str(raw).replace(",", "").replace("£", "").strip()) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        problems.append((name, f"{label}: {raw!r} is not a number; enter pounds or a count, digits only"))
        return None
    if not math.isfinite(value):
        problems.append((name, f"{label}: must be a finite number"))
        return None
    if value < 0:
        problems.append((name, f"{label} is negative ({value:,.0f}); costs and benefits are 0 or more"))
        return None
    return value


def _region_and_deprivation(session: Session, org: Organisation) -> tuple[str, bool]:
    """The organisation's NHS England region and whether it is in the most deprived IMD quintile (a trust, which
    has no IMD of its own: its ICB's)."""
    parents = dict(session.execute(select(OrgRelationship.parent_level, OrgRelationship.parent_code).where(
        OrgRelationship.child_code == org.code, OrgRelationship.child_level == org.level,
        OrgRelationship.valid_to.is_(None))).all())
    quintile = org.imd_quintile
    if quintile is None and "icb" in parents:
        quintile = session.scalar(select(Organisation.imd_quintile).where(
            Organisation.code == parents["icb"], Organisation.level == "icb", Organisation.valid_to.is_(None)))
    return parents.get("region", "unknown"), quintile == 1


def check_application(session: Session, setup: FundSetup, data: Mapping[str, Any]) -> dict[str, Any]:
    """The application ``data`` describes (form fields or a mapping: org_code, innovation_id, title, summary,
    first_year and last_year (financial years, e.g. 2026 for 2026/27), cost_<kind>_<n> for each kind and year n
    (1-based), or <kind>_costs lists, benefit, benefit_low, benefit_high, benefit_source, benefit_reference),
    checked. Every problem is collected and raised together as FieldProblems."""
    problems: list[tuple[str, str]] = []
    years = setup.fund.years
    code = str(data.get("org_code", "")).strip().upper()
    org = None
    if not code:
        problems.append(("org_code", "Enter the ODS code of the applying ICB or trust"))
    else:
        org = session.scalar(select(Organisation).where(Organisation.code == code, Organisation.valid_to.is_(None),
                                                        Organisation.level.in_(tuple(APPLICANT_ROLES))))
        if org is None:
            problems.append(("org_code", f"unknown organisation {code!r}: not a current ICB or trust; check the "
                                         "ODS code (uptake orgs search NAME finds it)"))
    innovation = str(data.get("innovation_id", "")).strip()
    if not innovation or session.get(Innovation, innovation) is None:
        problems.append(("innovation_id", f"unknown innovation {innovation!r}; choose one of the catalogue's "
                                          "(uptake catalogue list)"))
    title = str(data.get("title", "")).strip()
    if not title or len(title) > 255:
        problems.append(("title", "Enter a title of 1 to 255 characters"))
    labels = year_labels(setup.first_year, years)
    span: list[int] = []
    for name in ("first_year", "last_year"):
        raw = data.get(name)
        if raw in (None, ""):
            span.append(setup.first_year if name == "first_year" else setup.first_year + years - 1)
            continue
        try:
            year = int(str(raw).split("/")[0])
        except ValueError:
            problems.append((name, f"{raw!r} is not a financial year; write it as 2026 or 2026/27"))
            continue
        if not setup.first_year <= year < setup.first_year + years:
            problems.append((name, f"{year}/{(year + 1) % 100:02d} is outside the fund's NSF period {labels[0]} to "
                                   f"{labels[-1]}; apply for years inside it"))
        span.append(year)
    if len(span) == 2 and span[0] > span[1]:
        problems.append(("last_year", "the last year is before the first; swap them"))
    costs: dict[str, list[float]] = {}
    for kind in COST_KINDS:
        listed = data.get(f"{kind}_costs")
        row = []
        for n in range(years):
            raw = listed[n] if isinstance(listed, Sequence) and not isinstance(listed, str) and n < len(listed) \
                else data.get(f"cost_{kind}_{n + 1}")
            value = _number(raw, f"cost_{kind}_{n + 1}", problems,
                            label=f"{kind.replace('_', ' ')} cost in {labels[n]}")
            row.append(value or 0.0)
            year = setup.first_year + n
            if value and len(span) == 2 and not span[0] <= year <= span[1]:
                problems.append((f"cost_{kind}_{n + 1}", f"{kind.replace('_', ' ')} cost in {labels[n]} is outside "
                                                         "the application's years; move it or widen the years"))
        if isinstance(listed, Sequence) and not isinstance(listed, str) and len(listed) > years:
            problems.append((f"cost_{kind}_1", f"{kind.replace('_', ' ')} costs: {len(listed)} years given for a "
                                               f"{years}-year fund ({labels[0]} to {labels[-1]})"))
        costs[kind] = row
    if not problems and sum(sum(r) for r in costs.values()) <= 0:
        problems.append(("cost_implementation_1", "Enter the costs: an application asks for some money"))
    per_year = [sum(costs[k][n] for k in COST_KINDS) for n in range(years)]
    for n, total in enumerate(per_year):
        if total > setup.fund.budget_per_year[n]:
            problems.append((f"cost_implementation_{n + 1}",
                             f"the costs in {labels[n]} (£{total:,.0f}) are over the fund's budget for the year "
                             f"(£{setup.fund.budget_per_year[n]:,.0f}); no allocation could fund it"))
    benefit = _number(data.get("benefit"), "benefit", problems, label="expected benefit")
    low = _number(data.get("benefit_low"), "benefit_low", problems, label="benefit's lower limit")
    high = _number(data.get("benefit_high"), "benefit_high", problems, label="benefit's upper limit")
    if benefit is None and not any(f == "benefit" for f, _ in problems):
        problems.append(("benefit", f"Enter the expected benefit ({setup.measure})"))
    if benefit is not None:
        low = benefit if low is None else low
        high = benefit if high is None else high
        if not low <= benefit <= high:
            problems.append(("benefit_low", f"the interval {low:g} to {high:g} does not hold the expected benefit "
                                            f"{benefit:g}; give the 95% interval around it"))
    source = str(data.get("benefit_source", "")).strip()
    reference = str(data.get("benefit_reference", "")).strip()
    if source not in BENEFIT_SOURCES:
        problems.append(("benefit_source", "Choose where the benefit comes from: an outcome model or a simulator "
                                           "scenario"))
    elif not reference or len(reference) > 255:
        problems.append(("benefit_reference", "Name the outcome model's commitment (framework/commitment) or the "
                                              "simulator scenario's number"))
    elif source == "simulator-scenario":
        scenario = session.get(SimulationScenario, int(reference)) if reference.isdigit() else None
        if scenario is None or scenario.status != "done":
            problems.append(("benefit_reference", f"no finished simulator scenario {reference!r}; run it on "
                                                  "/simulator first and give its number"))
    elif "/" not in reference:
        problems.append(("benefit_reference", f"{reference!r} is not framework/commitment (e.g. stroke/thrombolysis)"))
    if problems:
        raise FieldProblems(problems)
    assert org is not None and benefit is not None
    return {"org_code": org.code, "org_level": org.level, "innovation_id": innovation, "title": title,
            "summary": str(data.get("summary", "")).strip(), "first_year": span[0], "last_year": span[1],
            "implementation_costs": costs["implementation"], "double_running_costs": costs["double_running"],
            "decommissioning_costs": costs["decommissioning"], "benefit": benefit, "benefit_low": low,
            "benefit_high": high, "benefit_source": source, "benefit_reference": reference}


# --- writing ----------------------------------------------------------------------------------------------


def _record(session: Session, app: FundApplication, action: str, who: Any, comment: str | None) -> None:
    session.add(FundReview(application_id=app.id, revision=app.revision, action=action, status=app.status,
                           comment=comment, actor=_actor(who), occurred_at=utcnow()))
    record_audit(session, _actor(who), f"fund.application.{action}", ENTITY, str(app.id), {
        "org": app.org_code, "innovation": app.innovation_id, "status": app.status, "revision": app.revision,
        "comment": comment, "synthetic": app.synthetic})


def _check_version(app: FundApplication, expected_version: int | None) -> None:
    if expected_version is not None and app.version != expected_version:
        raise Conflict(f"{CONFLICT_MESSAGE} (application {app.id} is at version {app.version}; the change was made "
                       f"to version {expected_version})")


def apply(session: Session, who: Any, setup: FundSetup, data: Mapping[str, Any], *,
          synthetic: bool = False) -> FundApplication:
    """A new draft application, by the applicant organisation's lead. Refused before anything is written."""
    checked = check_application(session, setup, data)
    problem = step_problem(who, "create", checked["org_code"], checked["org_level"], None)
    if problem:
        raise NotAllowed(f"{_actor(who)} may not apply for {checked['org_code']}: {problem}")
    now = utcnow()
    app = FundApplication(**checked, status="draft", revision=1, synthetic=synthetic, created_by=_actor(who),
                          created_at=now, updated_by=_actor(who), updated_at=now)
    session.add(app)
    session.flush()
    _record(session, app, "create", who, None)
    session.flush()
    return app


def _visible(session: Session, who: Any, application_id: int) -> FundApplication:
    app = session.get(FundApplication, application_id)
    if app is None or not may_see(who, app.org_code, app.status):
        raise NotFound(f"there is no fund application {application_id}")
    return app


def edit(session: Session, who: Any, setup: FundSetup, application_id: int, data: Mapping[str, Any], *,
         expected_version: int | None = None) -> FundApplication:
    """Change a draft (its organisation stays)."""
    app = _visible(session, who, application_id)
    problem = step_problem(who, "edit", app.org_code, app.org_level, app.status)
    if problem:
        raise NotAllowed(f"{_actor(who)} may not edit application {app.id}: {problem}")
    _check_version(app, expected_version)
    checked = check_application(session, setup, {**data, "org_code": app.org_code})
    for key, value in checked.items():
        setattr(app, key, value)
    app.revision += 1
    app.updated_by, app.updated_at = _actor(who), utcnow()
    _record(session, app, "edit", who, None)
    session.flush()
    return app


def step(session: Session, who: Any, application_id: int, action: str, comment: str | None = None, *,
         expected_version: int | None = None) -> FundApplication:
    """Move an application on (submit, review, approve, decline, justify). A decline needs the reason, a
    justification the applicant's answer to it."""
    if action in ("create", "edit") or action not in TRANSITIONS:
        raise UptakeError(f"unknown step {action!r}; steps: submit, review, approve, decline, justify")
    app = _visible(session, who, application_id)
    problem = step_problem(who, action, app.org_code, app.org_level, app.status)
    if problem:
        raise NotAllowed(f"{_actor(who)} may not {action} application {app.id}: {problem}")
    comment = (comment or "").strip() or None
    if action == "decline" and not comment:
        raise FieldProblems([("comment", "A decline needs the reason: say what the applicant would have to change")])
    if action == "justify" and not comment:
        raise FieldProblems([("comment", "A justification needs the applicant's reason why the decision should "
                                         "change")])
    _check_version(app, expected_version)
    app.status = TRANSITIONS[action][1] or app.status
    if action in REVIEW_ACTIONS and comment:
        app.reviewer_notes = comment
    if action == "justify":
        app.justification = comment
    app.updated_by, app.updated_at = _actor(who), utcnow()
    _record(session, app, action, who, comment)
    session.flush()
    return app


# --- reading ----------------------------------------------------------------------------------------------


def applications(session: Session, who: Any, *, status: str | None = None) -> list[FundApplication]:
    query = select(FundApplication).order_by(FundApplication.id)
    if status:
        query = query.where(FundApplication.status == status)
    return [a for a in session.scalars(query) if may_see(who, a.org_code, a.status)]


def get_application(session: Session, who: Any, application_id: int) -> FundApplication:
    return _visible(session, who, application_id)


# --- the allocation -------------------------------------------------------------------------------------


@dataclass
class FundResult:
    """The allocation over the applications in the competition, one row per application."""

    setup: FundSetup
    rows: list[dict[str, Any]] = field(default_factory=list)
    spend_per_year: tuple[float, ...] = ()
    benefit: float = 0.0
    status: str = "optimal"
    sensitivity_run: bool = False
    #: the relative optimality gap the solver proved (0: exact)
    gap: float = 0.0
    synthetic: bool = False
    message: str | None = None

    @property
    def funded(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["funded"]]


def as_allocation_input(session: Session, apps: Sequence[FundApplication]) -> list[Application]:
    out = []
    orgs = {o.code: o for o in session.scalars(select(Organisation).where(
        Organisation.code.in_({a.org_code for a in apps}), Organisation.valid_to.is_(None)))}
    cache: dict[str, tuple[str, bool]] = {}
    for a in apps:
        if a.org_code not in cache:
            org = orgs.get(a.org_code)
            cache[a.org_code] = _region_and_deprivation(session, org) if org is not None else ("unknown", False)
        region, deprived = cache[a.org_code]
        out.append(Application(str(a.id), a.org_code, region, a.innovation_id, tuple(a.costs_per_year()),
                               float(a.benefit), float(a.benefit_low), float(a.benefit_high), deprived))
    return out


def run_allocation(session: Session, who: Any, setup: FundSetup, *, with_sensitivity: bool = True,
                   record: bool = False, sensitivity_limit: int | None = SENSITIVITY_LIMIT) -> FundResult:
    """Allocate the fund over the applications in the competition (submitted, under review, justified, approved)
    that ``who`` may see, each decision explained; ``with_sensitivity``: which decisions flip within the
    benefits' intervals (one re-solve per application; skipped above ``sensitivity_limit`` applications, None: never).
    ``record``: write an audit event of the run (the CLI's)."""
    apps = [a for a in applications(session, who) if a.status in IN_COMPETITION]
    result = FundResult(setup, synthetic=any(a.synthetic for a in apps))
    if not apps:
        result.spend_per_year = tuple(0.0 for _ in setup.years)
        result.message = "no application is in the competition yet (submitted, under review, justified or approved)"
        return result
    inputs = as_allocation_input(session, apps)
    result.gap = 0.0 if len(inputs) <= EXACT_LIMIT else LARGE_GAP
    allocation = allocate(setup.fund, inputs, gap=result.gap)
    flips: dict[str, bool] = {}
    if with_sensitivity and (sensitivity_limit is None or len(inputs) <= sensitivity_limit):
        flips = sensitivity(setup.fund, inputs)
        result.sensitivity_run = True
    decisions = {d.id: d for d in allocation.decisions}
    for a, inp in zip(apps, inputs):
        d = decisions[str(a.id)]
        result.rows.append({
            "id": a.id, "org_code": a.org_code, "org_level": a.org_level, "region": inp.region,
            "most_deprived_quintile": inp.deprived, "innovation_id": a.innovation_id, "title": a.title,
            "status": a.status, "costs_per_year": list(inp.costs), "total_cost": inp.total,
            "benefit": a.benefit, "benefit_low": a.benefit_low, "benefit_high": a.benefit_high,
            "benefit_per_million": (a.benefit / inp.total * 1e6) if inp.total else None,
            "benefit_source": a.benefit_source, "benefit_reference": a.benefit_reference,
            "funded": d.funded, "binding": d.binding, "explanation": d.reason,
            "flips_within_interval": flips.get(str(a.id)) if result.sensitivity_run else None,
            "synthetic": a.synthetic})
    result.spend_per_year, result.benefit, result.status = allocation.spend_per_year, allocation.benefit, \
        allocation.status
    if record:
        record_audit(session, _actor(who), "fund.allocate", "fund", None, {
            "applications": len(apps), "funded": [r["id"] for r in result.funded], "benefit": result.benefit,
            "budget_per_year": list(setup.fund.budget_per_year), "deprived_share": setup.fund.deprived_share,
            "at": dt.datetime.now(dt.UTC).isoformat()})
    return result


def result_frames(result: FundResult) -> dict[str, pd.DataFrame]:
    """The allocation as tables (pandas): ``decisions`` (one row per application, with its explanation and
    whether it flips within its benefit's interval), ``years`` (budget and spend per year) and ``summary``.
    A ``synthetic`` column says DEMO where made-up applications reach a figure."""
    labels = result.setup.years
    flag = "DEMO/SYNTHETIC" if result.synthetic else ""
    rows = []
    for r in result.rows:
        row = {k: v for k, v in r.items() if k != "costs_per_year"}
        for label, cost in zip(labels, r["costs_per_year"]):
            row[f"cost_{label}"] = cost
        row["synthetic"] = "DEMO/SYNTHETIC" if r["synthetic"] else ""
        rows.append(row)
    columns = ["id", "org_code", "org_level", "region", "most_deprived_quintile", "innovation_id", "title", "status",
               *[f"cost_{label}" for label in labels], "total_cost", "benefit", "benefit_low", "benefit_high",
               "benefit_per_million", "benefit_source", "benefit_reference", "funded", "binding", "explanation",
               "flips_within_interval", "synthetic"]
    decisions = pd.DataFrame(rows, columns=columns)
    years = pd.DataFrame({"year": labels, "budget_pounds": list(result.setup.fund.budget_per_year),
                          "awarded_pounds": list(result.spend_per_year), "synthetic": flag})
    funded_total = sum(r["total_cost"] for r in result.funded)
    deprived = sum(r["total_cost"] for r in result.funded if r["most_deprived_quintile"])
    summary = pd.DataFrame([
        {"measure": "applications in the competition", "value": len(result.rows), "synthetic": flag},
        {"measure": "applications funded", "value": len(result.funded), "synthetic": flag},
        {"measure": f"expected benefit of the funded applications ({result.setup.measure})",
         "value": result.benefit, "synthetic": flag},
        {"measure": "pounds awarded over the fund's years", "value": funded_total, "synthetic": flag},
        {"measure": "share of the pounds awarded going to the most deprived IMD quintile",
         "value": (deprived / funded_total) if funded_total else None, "synthetic": flag},
        {"measure": "equity share required", "value": result.setup.fund.deprived_share, "synthetic": ""},
        {"measure": "optimality gap the solver proved (0: the exact optimum)", "value": result.gap, "synthetic": ""},
    ])
    return {"decisions": decisions, "years": years, "summary": summary}
