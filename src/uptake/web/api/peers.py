"""An organisation's 10 most similar peers (innovation-pack data: signed in, within the role's scope)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.results import read
from uptake.web.api.common import CodeParam, need, respond, web_of
from uptake.web.api.errors import responses
from uptake.web.tables.base import Context
from uptake.web.tables.peers import require_org_pack

router = APIRouter(prefix="/api/v1", tags=["results"])


class PeersOut(BaseModel):
    org_code: str
    level: str
    peers: list[dict[str, Any]]


@router.get("/peers", response_model=PeersOut, summary="An organisation's 10 most similar peers (signed in)",
            responses=responses(403, 404, d403="Not signed in, or the organisation is not in your role's scope"))
async def peers(request: Request, org_code: CodeParam) -> Response:
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_peers")
            tctx = Context(cur, web.catalogue, principal)
            org = tctx.organisation(org_code)
            require_org_pack(tctx, org_code)
            rows = read.peers.peers(cur, org_code, org["level"])
        return {"org_code": org_code, "level": org["level"], "peers": rows}, {}

    return await respond(request, build, private=True)
