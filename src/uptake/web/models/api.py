"""The models' API: /api/v1/outcomes (each organisation's outcomes of closing its gap: signed in, only the
organisations the role covers), /api/v1/outcomes/totals (England's, public) and /api/v1/impact (the health
and wealth model: the report's cells beside the model's, the totals with their intervals, and Uptake's
measured gaps valued the same way; public) and /api/v1/value (value across organisations per ICB; public)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.models import value, wealth
from uptake.results import read
from uptake.results.schema import IMPACT, OUTCOMES
from uptake.web.api.common import (
    LevelParam,
    Page,
    PageParam,
    PerPageParam,
    PeriodParam,
    known_indicator,
    need,
    org_page,
    respond,
    shape_model,
    web_of,
)
from uptake.web.api.errors import ETAG_RESPONSES, responses
from uptake.web.params import date_param
from uptake.web.tables.outcomes import WEALTH_DRAWS, wealth_summaries
from uptake.web.tables.value import value_rows


async def _caller(request: Request) -> None:
    """Every route reads the caller first, so an unknown, revoked or malformed API token answers 401 on every
    route alike (uptake.web.api.errors)."""
    await request.app.state.web.principal_async(request)


router = APIRouter(prefix="/api/v1", tags=["models"], dependencies=[Depends(_caller)], responses=ETAG_RESPONSES)

OutcomeOut = shape_model(OUTCOMES, "OutcomeOut", "An opportunity gap turned into an outcome, with its 95% interval.")
ImpactOut = shape_model(IMPACT, "ImpactOut", "A measured national gap valued with the health and wealth model.")


class Benchmark(str, Enum):
    median = "median"
    top_decile = "top-decile"
    peers = "peers"
    target = "target"


class ReportCellOut(BaseModel):
    """A printed cell of IPPR (2020) tables 2.1-2.3 or figure 2.1 beside the model's figure."""

    table: str
    figure: str
    condition: str
    row: str
    printed: float
    decimals: int
    model: float
    from_printed_cells: float | None = None
    status: str
    note: str
    mc_mean: float | None = None
    mc_low: float | None = None
    mc_high: float | None = None


class TotalOut(BaseModel):
    """A total over the three conditions: at the stated inputs, and the mean and 95% interval of the draws."""

    figure: str
    counts: str
    central: float
    mean: float
    low: float
    high: float


class ClaimOut(BaseModel):
    where: str
    text: str
    printed: float
    tables_give: float
    model_gives: float
    holds: bool
    note: str


class ImpactAnswer(BaseModel):
    draws: int
    cells: list[ReportCellOut]
    totals: list[TotalOut]
    claims: list[ClaimOut]
    measured: list[ImpactOut]  # type: ignore[valid-type]


@router.get("/outcomes", response_model=Page[OutcomeOut],
            summary="Outcomes of closing each organisation's gap (signed in; only the organisations your role covers)",
            responses=responses(403, 404, d403="Not signed in, or not in your role's scope"))
async def outcomes(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    period: PeriodParam = None,
    benchmark: Benchmark | None = None,
    org_code: Annotated[str | None, Query(max_length=64)] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)
    ind = known_indicator(web, indicator)

    def build(principal):
        return org_page(request, principal, web, ind, org_code=org_code, table="result_outcomes",
                        reader=read.outcomes.outcomes, page=page, per_page=per_page,
                        not_signed_in="outcomes by organisation need an API token or a signed-in session; "
                                      "England's are at /api/v1/outcomes/totals",
                        level=level.value if level else None, period=date_param(period),
                        benchmark=benchmark.value if benchmark else None)

    return await respond(request, build, private=True)


@router.get("/outcomes/totals", summary="Outcomes of closing England's gap (public), latest complete period",
            responses=responses(404))
async def outcomes_totals(request: Request, indicator: str, period: PeriodParam = None) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_outcomes")
            provisional = read.runs.provisional_periods(cur, indicator)
            rows = read.outcomes.national_outcomes(cur, indicator, date_param(period), provisional)
        return {"items": rows}, {}

    return await respond(request, build)


@router.get("/impact", response_model=ImpactAnswer,
            summary="The health and wealth model: IPPR tables 2.1-2.3 beside the model, totals with 95% intervals, "
                    "and Uptake's measured gaps valued the same way")
async def impact(request: Request) -> Response:
    web = web_of(request)

    def build(principal):
        summaries = wealth_summaries()
        central = wealth.evaluate_one(wealth.central_inputs())
        cells = []
        for c in wealth.report_cells():
            s = summaries.get(f"{c.figure}.{c.condition}")
            cells.append(dict(table=c.table, figure=c.figure, condition=c.condition, row=c.row, printed=c.printed,
                              decimals=c.decimals, model=c.model, from_printed_cells=c.step, status=c.status,
                              note=c.note, mc_mean=s.mean if s else None, mc_low=s.low if s else None,
                              mc_high=s.high if s else None))
        totals = [dict(figure=k, counts=wealth.FIGURES[k], central=central[f"{k}.total"],
                       mean=summaries[f"{k}.total"].mean, low=summaries[f"{k}.total"].low,
                       high=summaries[f"{k}.total"].high) for k in wealth.TOTALS]
        claims = [dict(where=c.where, text=c.text, printed=c.printed, tables_give=c.tables_give,
                       model_gives=c.model_gives, holds=c.holds, note=c.note) for c in wealth.claims()]
        with web.snapshots.cursor() as (snapshot, cur):
            measured = read.outcomes.impact(cur) if snapshot.has("result_impact") else []
        return {"draws": WEALTH_DRAWS, "cells": cells, "totals": totals, "claims": claims, "measured": measured}, {}

    return await respond(request, build)


class ValueIcbOut(BaseModel):
    """One ICB: its DOAC gap, the cost to primary care and the savings by sector (pounds a year, first-year
    costs of the strokes avoided), each a mean with its 95% interval, the net and the pooled-budget transfer."""

    icb_code: str
    icb_name: str
    level: str
    period: str
    benchmark: str
    extra_units: float
    organisations: int
    strokes_avoided: float
    strokes_avoided_low: float
    strokes_avoided_high: float
    cost_primary_care: float
    cost_primary_care_low: float
    cost_primary_care_high: float
    saving_nhs_trusts: float
    saving_nhs_trusts_low: float
    saving_nhs_trusts_high: float
    saving_social_care: float
    saving_social_care_low: float
    saving_social_care_high: float
    net: float
    net_low: float
    net_high: float
    p_both_gain: float
    transfer: float
    transfer_low: float
    transfer_high: float
    transfer_from_nhs_share: float | None
    savings_cover: float | None
    synthetic: bool


class ValueAnswer(BaseModel):
    indicator: str
    unit: str
    measures: dict[str, str]
    draws: int
    items: list[ValueIcbOut]


@router.get("/value", response_model=ValueAnswer,
            summary="Value across organisations: per ICB, the cost of closing the DOAC gap to primary care, the "
                    "savings to NHS trusts and social care (95% intervals), the net and the pooled-budget transfer")
async def value_across_organisations(request: Request, benchmark: Benchmark = Benchmark.top_decile) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_outcomes")
            rows = value_rows(cur, benchmark.value)
        items = [{**r, "period": str(r["period"])} for r in rows]
        return {"indicator": value.INDICATOR, "unit": "extra DOAC prescription items a month (not patients)",
                "measures": value.MEASURES, "draws": value.DRAWS, "items": items}, {}

    return await respond(request, build)
