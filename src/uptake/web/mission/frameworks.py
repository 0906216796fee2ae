"""The National Service Frameworks: /nsf (every framework the person may see, with national progress) and
/nsf/{id} (a framework, its versions and its ICBs' progress by region); and the attainment rows the
commitment pages and downloads read."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from uptake.errors import UptakeError
from uptake.mission.framework_files import describe_diff
from uptake.mission.framework_repository import (
    framework_definition,
    framework_history,
    framework_version,
    list_frameworks,
)
from uptake.mission.permissions import Who, may_see_framework
from uptake.mission.schemas import Framework
from uptake.results import read
from uptake.store.db import session_scope
from uptake.web.mission.common import STATUS_COLOURS, cached, records, render, results_cursor, web_of, who_of

router = APIRouter(tags=["mission pages"], include_in_schema=False)


def attainment_rows(request: Request, **filters: Any) -> pd.DataFrame:
    """result_attainment rows matching the filters (uptake.results.read.attainment.attainment)."""
    try:
        with results_cursor(request) as cur:
            return read.attainment.attainment(cur, **filters)
    except UptakeError:
        return pd.DataFrame()


def _latest_progress(attainment: pd.DataFrame) -> pd.DataFrame:
    """Per framework, commitment and level: organisations by status in the latest period."""
    if attainment.empty:
        return pd.DataFrame(columns=["framework", "commitment", "level", "period", "status", "organisations"])
    latest = attainment.groupby(["framework", "commitment", "level"])["period"].transform("max")
    rows = attainment.loc[attainment["period"] == latest]
    return (rows.groupby(["framework", "commitment", "level", "period", "status"]).size()
            .rename("organisations").reset_index())


@router.get("/nsf")
async def nsf_index(request: Request) -> Response:
    return await cached(request, lambda: _nsf_index(request))


def _nsf_index(request: Request) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        summaries = [s for s in list_frameworks(session) if may_see_framework(who, s.status)]
        frameworks = [framework_definition(session, s.id) for s in summaries]
    progress = _latest_progress(attainment_rows(request))
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in records(progress):
        key = (row["framework"], row["commitment"], row["level"])
        entry = table.setdefault(key, {"period": row["period"], "counts": {}})
        entry["counts"][row["status"]] = row["organisations"]
    return render(request, "mission/nsf_index.html", summaries=summaries, frameworks=frameworks, progress=table,
                  statuses=list(STATUS_COLOURS))


def visible_framework(session, who: Who, framework_id: str):
    """The current version of a framework the person may see (404 otherwise: drafts are not public)."""
    try:
        row = framework_version(session, framework_id)
    except UptakeError:
        raise HTTPException(404, f"no framework {framework_id}") from None
    if not may_see_framework(who, row.status):
        raise HTTPException(404, f"no framework {framework_id}")
    return row


@router.get("/nsf/{framework_id}")
async def nsf_page(request: Request, framework_id: str) -> Response:
    return await cached(request, lambda: _nsf_page(request, framework_id))


def _nsf_page(request: Request, framework_id: str) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        row = visible_framework(session, who, framework_id)
        framework = Framework.model_validate(row.definition)
        history = [(v.version, v.status, v.loaded_at, v.loaded_by, describe_diff(v.changes))
                   for v in framework_history(session, framework_id) if may_see_framework(who, v.status)]
    return render(request, "mission/nsf.html", framework=framework, status=row.status, history=history,
                  by_region=_icbs_by_region(request, framework_id), statuses=list(STATUS_COLOURS))


def _icbs_by_region(request: Request, framework_id: str) -> dict[str, dict[str, dict[str, int]]]:
    """Per commitment and region: the framework's ICBs by status in the latest period."""
    regional = pd.DataFrame()
    store_rows = attainment_rows(request, framework=framework_id, level="icb")
    if not store_rows.empty:
        try:
            with results_cursor(request) as cur:
                regions = read.organisations.icb_regions_frame(cur)
        except (UptakeError, duckdb.Error):
            regions = pd.DataFrame(columns=["org_code", "region", "region_name"])
        latest = store_rows.groupby("commitment")["period"].transform("max")
        merged = store_rows.loc[store_rows["period"] == latest].merge(regions, on="org_code", how="left")
        regional = (merged.groupby(["commitment", "region_name", "status"]).size().rename("icbs").reset_index())
    by_region: dict[str, dict[str, dict[str, int]]] = {}
    for item in records(regional):
        by_region.setdefault(item["commitment"], {}).setdefault(item["region_name"] or "-", {})[item["status"]] = \
            item["icbs"]
    return by_region
