"""Who the API thinks the caller is (anonymous, or a signed-in user by token or session)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.web.api.common import respond

router = APIRouter(prefix="/api/v1", tags=["results"])


class Me(BaseModel):
    signed_in: bool
    role: str
    email: str | None = None
    scope: str


@router.get("/me", response_model=Me, summary="Who the API thinks you are")
async def me(request: Request) -> Response:
    def build(principal):
        return {"signed_in": principal.signed_in, "role": principal.role, "email": principal.email,
                "scope": principal.scope_label}, {}

    return await respond(request, build, private=True)
