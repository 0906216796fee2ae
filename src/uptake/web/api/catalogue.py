"""The catalogue: innovations, and indicators with the levels and periods that have results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.results import read
from uptake.web.api.common import known_indicator, respond, web_of
from uptake.web.api.errors import responses

router = APIRouter(prefix="/api/v1", tags=["results"])


class InnovationOut(BaseModel):
    id: str
    name: str
    kind: str
    conditions: list[str]
    pathway_stage: str
    description: str
    nice_reference: str | None = None
    owner: str
    indicators: list[str]


class IndicatorOut(BaseModel):
    id: str
    innovation: str
    title: str
    why_it_matters: str
    numerator: str
    denominator: str
    measure: str
    multiplier: float
    unit: str
    polarity: str
    levels: list[str]
    period: str
    adoption_threshold: float | None = None
    unit_cost: float | None = None
    #: honest units: what the numerator (and an opportunity) and the denominator count, and what the pounds are
    counts: dict[str, Any] | None = None
    pounds_meaning: str | None = None
    pounds_label: str | None = None
    synthetic: bool
    source: dict[str, Any]
    results: list[dict[str, Any]] = []


@router.get("/innovations", response_model=list[InnovationOut], summary="Innovations in the catalogue")
async def innovations(request: Request) -> Response:
    web = web_of(request)

    def build(principal):
        return [_innovation(web, inn) for inn in web.catalogue.innovations.values()], {}

    return await respond(request, build)


@router.get("/innovations/{innovation_id}", response_model=InnovationOut, summary="One innovation",
            responses=responses(404))
async def innovation(request: Request, innovation_id: str) -> Response:
    web = web_of(request)
    if innovation_id not in web.catalogue.innovations:
        raise HTTPException(404, f"unknown innovation {innovation_id!r}")
    return await respond(request, lambda p: (_innovation(web, web.catalogue.innovations[innovation_id]), {}))


def _innovation(web, inn) -> dict:
    data = inn.model_dump(mode="json", exclude={"evidence"})
    data["indicators"] = [i.id for i in web.catalogue.indicators.values() if i.innovation == inn.id]
    return data


@router.get("/indicators", response_model=list[IndicatorOut], summary="Indicators, with the levels and periods "
            "that have results")
async def indicators(request: Request) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            levels = read.values.indicator_levels(cur) if snapshot.has("result_values") else []
        return [_indicator_out(ind, levels) for ind in web.catalogue.indicators.values()], {}

    return await respond(request, build)


@router.get("/indicators/{indicator_id}", response_model=IndicatorOut, summary="One indicator",
            responses=responses(404))
async def indicator(request: Request, indicator_id: str) -> Response:
    web = web_of(request)
    ind = known_indicator(web, indicator_id)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            levels = read.values.indicator_levels(cur) if snapshot.has("result_values") else []
        return _indicator_out(ind, levels), {}

    return await respond(request, build)


def _indicator_out(ind, levels: list[dict]) -> dict:
    data = ind.model_dump(mode="json", include=set(IndicatorOut.model_fields) - {"results"})
    data["results"] = [{k: r[k] for k in ("level", "first_period", "last_period", "organisations")}
                       for r in levels if r["indicator"] == ind.id]
    return data
