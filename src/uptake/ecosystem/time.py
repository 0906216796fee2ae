"""Time to innovate (M12; IPPR "The innovation lottery", policy recommendation 7: "Clinicians need time to
innovate"): ringfenced time per organisation (the share of staff given it, and hours a week), its cost from
staff numbers and pay, planned against used, and its association with uptake.

Cost, pounds a year::

    cost = staff (FTE) * share of staff * (hours a week / 37.5) * mean annual pay per FTE

37.5 hours is the full-time Agenda for Change week. Staff numbers come from NHS Digital's NHS Workforce
Statistics (entered with each record, with their month); pay from the Agenda for Change pay scales
(frontline_data/agenda_for_change_2024-25.csv; the default is the midpoint of Band 6) or the organisation's own
figure. Both are recorded with their source.

**The report's figure** (``ippr_national_cost``): "providing one in five staff a day a week ... would cost
approximately £2.0 billion/year - based on National Audit Office estimates of clinical salary spend in the NHS
(NAO 2016)". The report gives the shares (1/5 of staff, 1/5 of their week) and names the source; NAO 2016 puts
the clinical pay bill at around £43 billion a year, so the formula gives 0.2 * 0.2 * £43bn = £1.72bn: about
£2bn to one significant figure. The report's "2.0" implies a pay bill of £50bn (16% more than NAO's 2014-15
figure); it does not say how it got there (pay and staff grew after 2014-15). tests/test_ecosystem_time.py.

**Association with uptake** (``association``): Spearman's rank correlation between the hours used per member
of staff and an uptake measure across organisations, with an approximate 95% interval (Fisher's z with the
Bonett-Wright standard error). It is an association: organisations that give time may differ in other ways.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.ecosystem.frontline_rules import FieldProblems, organisation, parse_date, parse_number, require_org_record
from uptake.store.ecosystem_award_models import InnovationTime
from uptake.store.models import utcnow
from uptake.store.repository import record_audit

DATA = Path(str(resources.files("uptake.ecosystem").joinpath("frontline_data")))
FULL_TIME_HOURS = 37.5
#: NAO (2016) via the Committee of Public Accounts (2016, HC 731): clinical staff cost around £43bn a year
NAO_CLINICAL_PAY_BILL = 43_000_000_000.0
NAO_CLINICAL_FTE = 824_000.0
IPPR_STAFF_SHARE = 1 / 5
IPPR_HOURS = 7.5  # a day a week
IPPR_FIGURE = 2.0e9
PAY_SOURCE_DEFAULT = "Agenda for Change 2024/25, Band 6 midpoint (NHS Employers)"

TIME_FIELDS = {"org_code": "Organisation code", "year_start": "Financial year starting",
               "staff_fte": "Staff (full-time equivalent)", "staff_source": "Source of the staff number",
               "planned_share": "Share of staff given time (%)", "planned_hours": "Hours a week each (planned)",
               "used_share": "Share of staff who used it (%)", "used_hours": "Hours a week each (used)",
               "annual_pay": "Mean annual pay per FTE (pounds)", "pay_source": "Source of the pay figure"}


def cost(staff_fte: float, share: float, hours_per_week: float, annual_pay: float) -> float:
    """Pounds a year of giving ``share`` of ``staff_fte`` staff ``hours_per_week`` each."""
    return staff_fte * share * (hours_per_week / FULL_TIME_HOURS) * annual_pay


def ippr_national_cost(pay_bill: float = NAO_CLINICAL_PAY_BILL) -> float:
    """The report's calculation: one in five clinical staff, a day a week, of the NAO's clinical pay bill."""
    return pay_bill * IPPR_STAFF_SHARE * (IPPR_HOURS / FULL_TIME_HOURS)


@cache
def pay_scales() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "agenda_for_change_2024-25.csv")
    return frame.assign(midpoint_pounds=(frame["entry_pounds"] + frame["top_pounds"]) / 2)


def default_pay() -> float:
    return float(pay_scales().set_index("band").loc["Band 6", "midpoint_pounds"])


def financial_year(day: dt.date) -> dt.date:
    return dt.date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def record_time(session: Session, who: Any, values: dict[str, Any], *, synthetic: bool = False) -> InnovationTime:
    """Record (or update) an organisation's time to innovate for a financial year (audited; the provider
    lead of the organisation or a national admin). Shares are entered in per cent. Problems at their
    fields, nothing saved."""
    data = {k: str(v if v is not None else "").strip() for k, v in values.items()}
    problems: list[tuple[str, str]] = []
    org_code = data.get("org_code", "").upper()
    if not org_code:
        problems.append(("org_code", "Enter the ODS code of the organisation"))
    elif organisation(session, org_code) is None:
        problems.append(("org_code", f"There is no organisation {org_code}: enter an ODS code Uptake knows"))
    year = parse_date(data.get("year_start", ""))
    if year is None:
        problems.append(("year_start", "Enter the first day of the financial year, like 2025-04-01"))
    elif (year.month, year.day) != (4, 1):
        problems.append(("year_start", "A financial year starts on 1 April: enter a date like 2025-04-01"))

    def number(key: str, low: float, high: float, required: bool, what: str) -> float | None:
        text = data.get(key, "")
        if not text:
            if required:
                problems.append((key, f"Enter {what}"))
            return None
        value = parse_number(text)
        if value is None:
            problems.append((key, f"{TIME_FIELDS[key]} must be a number"))
            return None
        if not low <= value <= high or (key == "staff_fte" and value <= 0):
            problems.append((key, f"{TIME_FIELDS[key]} must be {'more than 0' if key == 'staff_fte' else f'between {low:g} and {high:g}'}"
                                  + (f" and at most {high:,.0f}" if key == "staff_fte" else "")))
            return None
        return value

    staff = number("staff_fte", 0, 2_000_000, True, "the number of staff (FTE), from NHS Workforce Statistics")
    planned_share = number("planned_share", 0, 100, True, "the share of staff given time, in per cent")
    planned_hours = number("planned_hours", 0, FULL_TIME_HOURS, True, "the hours a week each")
    used_share = number("used_share", 0, 100, False, "")
    used_hours = number("used_hours", 0, FULL_TIME_HOURS, False, "")
    if (used_share is None) != (used_hours is None) and not any(
            f in ("used_share", "used_hours") for f, _ in problems):
        missing = "used_hours" if used_hours is None else "used_share"
        problems.append((missing, "Give both the share who used time and the hours they used, or neither"))
    pay = number("annual_pay", 1, 1_000_000, False, "") if data.get("annual_pay") else default_pay()
    if not data.get("staff_source"):
        problems.append(("staff_source", "Say where the staff number comes from, e.g. NHS Workforce Statistics, "
                                         "June 2025"))
    if problems:
        raise FieldProblems(problems)
    require_org_record(who, org_code, "record time to innovate")
    pay_source = data.get("pay_source") or (PAY_SOURCE_DEFAULT if not data.get("annual_pay") else "organisation")
    row = session.scalar(select(InnovationTime).where(InnovationTime.org_code == org_code,
                                                      InnovationTime.year_start == year))
    before = None
    if row is None:
        row = InnovationTime(org_code=org_code, year_start=year, created_by=who.actor, created_at=utcnow())
        session.add(row)
    else:
        before = {"planned_share": row.planned_share, "planned_hours": row.planned_hours,
                  "used_share": row.used_share, "used_hours": row.used_hours, "staff_fte": row.staff_fte,
                  "annual_pay": row.annual_pay}
    row.staff_fte, row.staff_source = staff, data["staff_source"][:255]
    row.planned_share, row.planned_hours = planned_share / 100, planned_hours
    row.used_share = None if used_share is None else used_share / 100
    row.used_hours = used_hours
    row.annual_pay, row.pay_source = pay, pay_source[:255]
    row.synthetic = synthetic
    row.updated_by, row.updated_at = who.actor, utcnow()
    session.flush()
    record_audit(session, who.actor, "time.record" if before is None else "time.update", "innovation-time",
                 str(row.id), {"org_code": org_code, "year_start": year.isoformat(), "before": before,
                               "planned_share": row.planned_share, "planned_hours": planned_hours,
                               "used_share": row.used_share, "used_hours": used_hours, "staff_fte": staff,
                               "annual_pay": pay, "synthetic": synthetic})
    return row


TIME_COLUMNS = ["id", "org_code", "org_name", "org_level", "year_start", "staff_fte", "staff_source", "planned_share",
                "planned_hours", "planned_cost_pounds", "used_share", "used_hours", "used_cost_pounds",
                "used_of_planned", "used_hours_per_staff", "annual_pay", "pay_source", "synthetic"]


def time_frame(session: Session, org_code: str | None = None) -> pd.DataFrame:
    """Every record with its planned and used cost (pounds a year), the used share of the planned hours, and
    the hours used per member of staff a week (the measure of the association)."""
    query = select(InnovationTime).order_by(InnovationTime.year_start.desc(), InnovationTime.org_code)
    if org_code:
        query = query.where(InnovationTime.org_code == org_code)
    rows = []
    for t in session.scalars(query):
        org = organisation(session, t.org_code)
        planned = cost(t.staff_fte, t.planned_share, t.planned_hours, t.annual_pay)
        used = None if t.used_share is None else cost(t.staff_fte, t.used_share, t.used_hours, t.annual_pay)
        planned_hours_total = t.planned_share * t.planned_hours
        rows.append({"id": t.id, "org_code": t.org_code, "org_name": org.name if org else None,
                     "org_level": org.level if org else None, "year_start": t.year_start, "staff_fte": t.staff_fte,
                     "staff_source": t.staff_source, "planned_share": t.planned_share,
                     "planned_hours": t.planned_hours, "planned_cost_pounds": planned, "used_share": t.used_share,
                     "used_hours": t.used_hours, "used_cost_pounds": used,
                     "used_of_planned": None if used is None or planned_hours_total == 0
                     else (t.used_share * t.used_hours) / planned_hours_total,
                     "used_hours_per_staff": None if t.used_share is None else t.used_share * t.used_hours,
                     "annual_pay": t.annual_pay, "pay_source": t.pay_source, "synthetic": bool(t.synthetic)})
    return pd.DataFrame(rows, columns=TIME_COLUMNS)


@dataclass(frozen=True)
class Association:
    n: int
    rho: float | None
    ci95_low: float | None
    ci95_high: float | None
    statement: str


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson's correlation of the ranks (average ranks for ties)."""
    rx = pd.Series(x).rank(method="average").to_numpy()
    ry = pd.Series(y).rank(method="average").to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def association(time_used: pd.Series, uptake: pd.Series, measure: str) -> Association:
    """Spearman's rho between hours used per member of staff and ``uptake`` (aligned by index), with an
    approximate 95% interval: Fisher's z, standard error sqrt(1 + rho^2 / 2) / sqrt(n - 3) (Bonett and Wright
    2000). Needs at least 5 organisations with both."""
    both = pd.concat([time_used.rename("x"), uptake.rename("y")], axis=1).dropna()
    n = len(both)
    if n < 5:
        return Association(n, None, None, None, f"Too few organisations ({n}) have both time used and {measure} "
                                                "to say anything: at least 5 are needed.")
    rho = spearman(both["x"].to_numpy(float), both["y"].to_numpy(float))
    if math.isnan(rho):
        return Association(n, None, None, None, "Every organisation has the same value: no association to measure.")
    clipped = max(min(rho, 0.999999), -0.999999)
    se = math.sqrt(1 + rho * rho / 2) / math.sqrt(n - 3) if n > 3 else float("inf")
    z = math.atanh(clipped)
    low, high = math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)
    direction = "higher" if rho > 0 else "lower"
    certain = low > 0 or high < 0
    statement = (f"Across {n} organisations, more time used goes with {direction} {measure} (Spearman's rho "
                 f"{rho:.2f}, 95% interval {low:.2f} to {high:.2f}). "
                 + ("The interval excludes no association. " if certain else "The interval includes no association. ")
                 + "This is an association, not an effect: organisations that give time to innovate may differ "
                   "in other ways.")
    return Association(n, rho, low, high, statement)
