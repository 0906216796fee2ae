"""Time to innovate: pages and API (uptake.ecosystem.time):

- /time-to-innovate: every organisation's ringfenced time (share of staff, hours a week) planned and used, and
  its cost from staff numbers and pay (with their sources); the report's national figure worked out from its
  inputs; the association of time used with uptake (a chart and Spearman's rho, stated as an association);
- /time-to-innovate/record: the form (the organisation's provider lead; a national admin);
- /time-to-innovate/download/time.{csv|xlsx};
- API: GET /api/v1/time-to-innovate, /api/v1/time-to-innovate/national-cost.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from uptake.ecosystem import time as tti
from uptake.ecosystem.frontline_rules import FieldProblems, NotAllowed, may_record_for_some_org
from uptake.results import read
from uptake.store.db import session_scope
from uptake.web.ecosystem.frontline import (
    WRITE_RESPONSES,
    add_templates,
    api_errors,
    download,
    optional_results,
    records,
    render,
    web_of,
    who_of,
    writer,
)
from uptake.web.forms import by_field, posted_form, save_or_again

router = APIRouter(tags=["ecosystem pages"], include_in_schema=False)


def _caller(request: Request) -> None:
    who_of(request)


api = APIRouter(prefix="/api/v1", tags=["time to innovate"], dependencies=[Depends(_caller)])
IndicatorParam = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")]


def mount(app: FastAPI) -> None:
    """Add the time-to-innovate pages, API and templates to the web app."""
    add_templates(app)
    app.include_router(api)
    app.include_router(router)


def national() -> dict[str, Any]:
    """The report's figure from its inputs, with the inputs and sources."""
    return {"staff_share": tti.IPPR_STAFF_SHARE, "hours_per_week": tti.IPPR_HOURS,
            "full_time_hours": tti.FULL_TIME_HOURS, "pay_bill_pounds": tti.NAO_CLINICAL_PAY_BILL,
            "clinical_fte": tti.NAO_CLINICAL_FTE, "cost_pounds": tti.ippr_national_cost(),
            "report_figure_pounds": tti.IPPR_FIGURE,
            "implied_pay_bill_pounds": tti.IPPR_FIGURE / (tti.IPPR_STAFF_SHARE * tti.IPPR_HOURS / tti.FULL_TIME_HOURS),
            "sources": ["IPPR (2020) The innovation lottery, section 5.1, Time to deliver",
                        "National Audit Office (2016) Managing the supply of NHS clinical staff in England, HC 736, "
                        "as summarised by the Committee of Public Accounts (2016), HC 731"]}


def with_uptake(request: Request, frame: pd.DataFrame, indicator: str | None) -> tuple[pd.DataFrame, str | None]:
    """The latest record per organisation with the organisation's latest value of ``indicator`` (or of the
    indicator most of them have a result for) beside it."""
    latest = frame.sort_values("year_start").groupby("org_code").tail(1) if not frame.empty else frame
    catalogue = web_of(request).catalogue
    with optional_results(request) as cur:
        if cur is None or latest.empty:
            return latest.assign(uptake=None), indicator
        if indicator is not None and indicator not in catalogue.indicators:
            raise HTTPException(404, f"no indicator {indicator}")
        candidates = [indicator] if indicator else sorted(catalogue.indicators)
        best, best_values = None, None
        for candidate in candidates:
            found = [read.values.latest_value(cur, candidate, level, code) if level else None
                     for code, level in zip(latest["org_code"], latest["org_level"])]
            count = sum(v is not None for v in found)
            if best_values is None or count > sum(v is not None for v in best_values):
                best, best_values = candidate, found
    return latest.assign(uptake=best_values), best


def scatter(points: pd.DataFrame, indicator_title: str) -> Markup:
    """An SVG scatter of hours used per member of staff (x) against uptake (y), one point per organisation."""
    usable = points.dropna(subset=["used_hours_per_staff", "uptake"])
    width, height, pad = 560, 300, 48
    if usable.empty:
        return Markup("")
    xs, ys = usable["used_hours_per_staff"].astype(float), usable["uptake"].astype(float)
    x_max = max(float(xs.max()), 0.1)
    y_min, y_max = min(0.0, float(ys.min())), max(float(ys.max()), 0.01)

    def px(x: float) -> float:
        return pad + (width - 2 * pad) * x / x_max

    def py(y: float) -> float:
        return height - pad - (height - 2 * pad) * (y - y_min) / (y_max - y_min)

    dots = "".join(
        f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="5" fill="#005eb8"><title>{escape(str(code))}: '
        f'{x:.2f} hours, {y * 100:.1f}%</title></circle>'
        for code, x, y in zip(usable["org_code"], xs, ys))
    desc = (f"{len(usable)} organisations: hours of ringfenced time used per member of staff a week against "
            f"{indicator_title}. The table below gives the same figures.")
    return Markup(
        f'<svg class="uptake-svg" viewBox="0 0 {width} {height}" role="img" aria-labelledby="tti-title tti-desc" '
        f'width="100%" style="max-width:{width}px"><title id="tti-title">Time used and uptake</title>'
        f'<desc id="tti-desc">{escape(desc)}</desc>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#425563"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#425563"/>'
        f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle" font-size="12">Hours used per member of '
        f'staff a week (0 to {x_max:.2f})</text>'
        f'<text x="14" y="{height / 2}" font-size="12" transform="rotate(-90 14 {height / 2})" '
        f'text-anchor="middle">{escape(indicator_title)} ({y_min * 100:.0f}% to {y_max * 100:.0f}%)</text>'
        f"{dots}</svg>")


@router.get("/time-to-innovate")
def time_page(request: Request, indicator: IndicatorParam = None) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        frame = tti.time_frame(session)
    joined, chosen = with_uptake(request, frame, indicator)
    catalogue = web_of(request).catalogue
    title = catalogue.indicators[chosen].title if chosen in catalogue.indicators else "uptake"
    found = tti.association(joined.set_index("org_code")["used_hours_per_staff"],
                           joined.set_index("org_code")["uptake"], title.lower())
    synthetic_indicator = bool(chosen in catalogue.indicators and catalogue.indicators[chosen].synthetic)
    totals = {"planned": float(frame["planned_cost_pounds"].sum()) if not frame.empty else 0.0,
              "used": float(frame["used_cost_pounds"].dropna().sum()) if not frame.empty else 0.0}
    return render(request, "ecosystem/time.html", rows=records(frame), national=national(), totals=totals,
                  may_record=may_record_for_some_org(who), association=found, indicator=chosen,
                  indicator_title=title, indicators=sorted((i.id, i.title) for i in catalogue.indicators.values()),
                  chart=scatter(joined, title), joined=records(joined), synthetic_indicator=synthetic_indicator,
                  any_synthetic=bool(frame["synthetic"].any()) if not frame.empty else False,
                  default_pay=tti.default_pay(), pay_source=tti.PAY_SOURCE_DEFAULT)


def _time_form(request: Request, form: dict[str, str], errors=None, status_code: int = 200) -> Response:
    response = render(request, "ecosystem/time_form.html", form=form, errors=errors or [],
                      field_errors=by_field(errors or []), labels=tti.TIME_FIELDS, default_pay=tti.default_pay(),
                      pay_source=tti.PAY_SOURCE_DEFAULT, scales=records(tti.pay_scales()))
    response.status_code = status_code
    return response


def _may_record(who) -> None:
    if not may_record_for_some_org(who):
        raise HTTPException(403, "time to innovate is recorded by the organisation's provider lead (or a national "
                                 "admin)")


@router.get("/time-to-innovate/record")
def time_form(request: Request) -> Response:
    who = who_of(request)
    _may_record(who)
    return _time_form(request, {"org_code": who.scope_org_code or ""})


@router.post("/time-to-innovate/record")
async def time_save(request: Request) -> Response:
    form = await posted_form(request)
    who = await run_in_threadpool(who_of, request)
    _may_record(who)

    def save() -> None:
        with session_scope(web_of(request).engine, write=True) as session:
            tti.record_time(session, who, form)

    _, again = await save_or_again(save, lambda problems, status: _time_form(request, form, problems, status),
                                   problems=FieldProblems, forbidden=NotAllowed)
    if again:
        return again
    return RedirectResponse("/time-to-innovate", status_code=303)


@router.get("/time-to-innovate/download/time.{fmt}")
def time_download(request: Request, fmt: str) -> Response:
    with session_scope(web_of(request).engine) as session:
        frame = tti.time_frame(session)
    return download(frame, "time-to-innovate", fmt, "Time to innovate: planned and used, with cost (pounds a year)")


def _json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return rows


@api.get("/time-to-innovate", summary="Ringfenced time to innovate per organisation: planned, used, cost a year")
def api_time(request: Request) -> list[dict[str, Any]]:
    with session_scope(web_of(request).engine) as session:
        return _json(records(tti.time_frame(session)))


@api.get("/time-to-innovate/national-cost",
         summary="The report's figure: one in five clinical staff a day a week, from its inputs")
def api_national(request: Request) -> dict[str, Any]:
    return national()


class TimeIn(BaseModel):
    """Shares in per cent, hours a week each; used_* empty until the year is over; annual_pay empty for the
    Agenda for Change Band 6 midpoint."""

    org_code: str = Field(max_length=64, examples=["RAL"])
    year_start: str = Field(max_length=32, examples=["2025-04-01"])
    staff_fte: str = Field(max_length=32, examples=["5000"])
    staff_source: str = Field(max_length=255, examples=["NHS Workforce Statistics, June 2025"])
    planned_share: str = Field(max_length=32, examples=["20"])
    planned_hours: str = Field(max_length=32, examples=["7.5"])
    used_share: str = Field("", max_length=32)
    used_hours: str = Field("", max_length=32)
    annual_pay: str = Field("", max_length=32)
    pay_source: str = Field("", max_length=255)


@api.post("/time-to-innovate", status_code=201, summary="Record (or update) an organisation's time to innovate "
          "for a financial year", responses=WRITE_RESPONSES)
def api_record_time(request: Request, who: Annotated[Any, Depends(writer)],
                    record: Annotated[TimeIn, Body()]) -> dict[str, Any]:
    with api_errors(), session_scope(web_of(request).engine, write=True) as session:
        row = tti.record_time(session, who, record.model_dump())
        return {"id": row.id, "org_code": row.org_code, "year_start": row.year_start.isoformat(),
                "planned_cost_pounds": tti.cost(row.staff_fte, row.planned_share, row.planned_hours, row.annual_pay)}
