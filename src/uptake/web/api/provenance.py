"""Provenance: every load into the analytics store."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.web.api.common import need, respond, web_of
from uptake.web.api.errors import responses

router = APIRouter(prefix="/api/v1", tags=["results"])


@router.get("/batches", summary="Provenance: every load into the analytics store", responses=responses(404))
async def batches(request: Request, indicator: str | None = None) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "batches")
            return {"items": read.runs.batches(cur, indicator)}, {}

    return await respond(request, build)
