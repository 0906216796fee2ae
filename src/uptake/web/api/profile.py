"""The area profile: an organisation on every indicator against a benchmark (the spine chart's figures, the
trend, "worse and getting worse"), the tartan rug of an area, and an organisation over the deciles of its
level (the deciles chart's figures). Public: published results."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from uptake.results import read
from uptake.web.api.common import LevelParam, known_indicator, need, respond, web_of
from uptake.web.api.errors import responses
from uptake.web.benchmarks import groups_stamp
from uptake.web.tables.base import Context
from uptake.web.tables.profile import benchmark_of, check_benchmark, profile_rows, rug_of, with_benchmark_series

router = APIRouter(prefix="/api/v1", tags=["results"])

BenchmarkParam = Annotated[str, Query(min_length=1, max_length=64, description=(
    "What to compare with: england (default), region, icb (the organisation's parent of that level), peers "
    "(its similar-10 peers, pooled) or group:<id> (one of your saved custom groups, pooled)."))]


class ProfileRow(BaseModel):
    indicator: str
    indicator_title: str
    period: dt.date
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
    ci95_low: float | None = None
    ci95_high: float | None = None
    decile: int | None = None
    comparison: str | None = None
    comparison_method: str | None = None
    benchmark_key: str | None = None
    benchmark_label: str | None = None
    benchmark_value: float | None = None
    benchmark_ci95_low: float | None = None
    benchmark_ci95_high: float | None = None
    benchmark_members: int | None = None
    benchmark_method: str | None = None
    organisations: int | None = None
    lowest: float | None = None
    q25: float | None = None
    median: float | None = None
    q75: float | None = None
    highest: float | None = None
    polarity: str | None = None
    variation_icon: str | None = None
    trend: str | None = None
    trend_direction: str | None = None
    worse_and_getting_worse: bool
    synthetic: bool | None = None


class BenchmarkOut(BaseModel):
    key: str
    kind: str
    label: str
    compared_with: str
    org_code: str | None = None
    members: list[str] = []
    pooled: bool


class ProfileOut(BaseModel):
    org_code: str
    org_name: str | None
    level: str
    benchmark: str
    benchmark_label: str
    benchmark_detail: BenchmarkOut
    rows: list[ProfileRow]


class RugCellOut(BaseModel):
    role: str
    indicator: str
    level: str
    org_code: str
    org_name: str | None = None
    period: dt.date
    value: float | None = None
    ci95_low: float | None = None
    ci95_high: float | None = None
    comparison: str | None = None
    synthetic: bool | None = None


class RugOut(BaseModel):
    area_code: str
    level: str | None
    levels: list[dict]
    cells: list[RugCellOut]


class DecilePoint(BaseModel):
    period: dt.date
    organisations: int | None = None
    p10: float | None = None
    p20: float | None = None
    p30: float | None = None
    p40: float | None = None
    p50: float | None = None
    p60: float | None = None
    p70: float | None = None
    p80: float | None = None
    p90: float | None = None
    value: float | None = None
    ci95_low: float | None = None
    ci95_high: float | None = None
    decile: int | None = None
    benchmark_value: float | None = None
    benchmark_ci95_low: float | None = None
    benchmark_ci95_high: float | None = None


class OrgDecilesOut(BaseModel):
    org_code: str
    level: str
    indicator: str
    benchmark: str
    benchmark_label: str
    points: list[DecilePoint]


def _check(benchmark: str) -> None:
    check_benchmark(benchmark)  # 422 with what is offered


async def _groups_stamp(request: Request, benchmark: str) -> str:
    """For a group benchmark, a stamp of the caller's groups (so an edited group is pooled again, not
    answered 304 from the ETag of its old members)."""
    if not check_benchmark(benchmark).startswith("group:"):
        return ""
    web = web_of(request)
    principal = await web.principal_async(request)
    return "|groups:" + await run_in_threadpool(groups_stamp, web.engine, principal)


def benchmark_out(bench) -> dict:
    return {**bench.as_dict(), "compared_with": bench.compared_with}


@router.get("/organisations/{code}/profile", response_model=ProfileOut, responses=responses(404, 422),
            summary="An organisation on every indicator against a benchmark: spread, trend, worse and getting worse")
async def organisation_profile(request: Request, code: str, benchmark: BenchmarkParam = "england") -> Response:
    web = web_of(request)
    _check(benchmark)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_values")
            tctx = Context(cur, web.catalogue, principal, web.engine)
            org = tctx.organisation(code)
            bench = benchmark_of(tctx, code, benchmark)
            found = profile_rows(tctx, code, bench, trends=snapshot.has("result_spc_series"))
        return {"org_code": code, "org_name": org["name"], "level": org["level"], "benchmark": bench.key,
                "benchmark_label": bench.label, "benchmark_detail": benchmark_out(bench),
                "rows": [ProfileRow.model_validate(r).model_dump() for r in found]}, {}

    return await respond(request, build, extra_stamp=await _groups_stamp(request, benchmark))


@router.get("/organisations/{code}/rug", response_model=RugOut, responses=responses(404, 422),
            summary="The tartan rug of an area: its organisations of one level on every indicator")
async def organisation_rug(request: Request, code: str, level: LevelParam | None = None,
                           benchmark: BenchmarkParam = "england") -> Response:
    web = web_of(request)
    _check(benchmark)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_values")
            tctx = Context(cur, web.catalogue, principal)
            found = rug_of(tctx, code, level.value if level else None, benchmark)
        if found is None:
            return {"area_code": code, "level": None, "levels": [], "cells": []}, {}
        return {"area_code": code, "level": found.level, "levels": found.levels,
                "cells": [RugCellOut.model_validate(r).model_dump() for r in found.table.rows]}, {}

    return await respond(request, build)


@router.get("/organisations/{code}/deciles", response_model=OrgDecilesOut, responses=responses(404, 422),
            summary="An organisation's value each period beside the deciles of its level (the deciles chart)")
async def organisation_deciles(request: Request, code: str, indicator: str,
                               benchmark: BenchmarkParam = "england") -> Response:
    web = web_of(request)
    known_indicator(web, indicator)
    _check(benchmark)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_deciles")
            tctx = Context(cur, web.catalogue, principal, web.engine)
            org = tctx.organisation(code)
            bench = benchmark_of(tctx, code, benchmark)
            points = read.profile.org_deciles(cur, code, org["level"], indicator)
            if not bench.is_england:  # the benchmark's own value each period beside the deciles
                points = with_benchmark_series(tctx, tctx.indicator(indicator), points, bench)
        return {"org_code": code, "level": org["level"], "indicator": indicator, "benchmark": bench.key,
                "benchmark_label": bench.label,
                "points": [DecilePoint.model_validate(r).model_dump() for r in points]}, {}

    return await respond(request, build, extra_stamp=await _groups_stamp(request, benchmark))

