"""The policy simulator's API (national analysts: national-admin): /api/v1/scenarios lists the saved scenarios,
POST /api/v1/scenarios checks a scenario (the YAML's fields as JSON) and queues it (202 with its id; 400
with the problem and nothing saved when it is wrong), /api/v1/scenarios/{id} gives its status, progress and,
once done, its tables. Downloads: /simulator/{id}/download/{table}.csv|.xlsx."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from starlette.concurrency import run_in_threadpool

from uptake.errors import UptakeError
from uptake.web.api.errors import responses
from uptake.web.models.simulator_jobs import jobs_of
from uptake.web.security import CSRF_HEADER, csrf_ok

router = APIRouter(prefix="/api/v1", tags=["simulator"])


def _analyst(request: Request) -> Any:
    principal = request.app.state.web.principal(request)
    if not principal.signed_in:
        raise HTTPException(401, "sign in, or send Authorization: Bearer TOKEN")
    if not principal.is_admin:
        raise HTTPException(403, "the policy simulator is for national analysts (the national-admin role)")
    return principal


def _writer(request: Request) -> Any:
    principal = _analyst(request)
    if "authorization" not in request.headers and not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return principal


def _summary(row) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "indicator": row.indicator_id, "level": row.level, "status": row.status,
            "progress": row.progress, "message": row.message, "created_by": row.created_by,
            "created_at": row.created_at.isoformat(), "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "scenario": row.spec, "links": {"self": f"/api/v1/scenarios/{row.id}", "page": f"/simulator/{row.id}",
                                            "downloads": {t: f"/simulator/{row.id}/download/{t}.csv"
                                                          for t in ("summary", "targets", "trajectories", "organisations")}}}


@router.get("/scenarios", summary="Saved policy-simulator scenarios with their status (national analysts)",
            responses=responses(401, 403))
def scenarios(request: Request, principal: Annotated[Any, Depends(_analyst)]) -> dict[str, Any]:
    rows = jobs_of(request.app.state.web).rows()
    return {"items": [_summary(r) for r in rows], "total": len(rows)}


@router.post("/scenarios", status_code=202, summary="Check a scenario and run it as a background job",
             responses=responses(400, 401, 403))
async def scenario_run(request: Request, principal: Annotated[Any, Depends(_writer)],
                       scenario: Annotated[dict[str, Any], Body(description="name, indicator, level, months, runs, seed, "
                                                                           "levers (docs/simulator.md)")]) -> dict[str, Any]:
    jobs = jobs_of(request.app.state.web)
    try:
        scenario_id = await run_in_threadpool(jobs.submit, scenario, principal.email, "scenario")
    except UptakeError as exc:
        raise HTTPException(400, str(exc)) from None
    return _summary(jobs.get(scenario_id))


@router.get("/scenarios/{scenario_id}", summary="A scenario: status, progress and (once done) its tables",
            responses=responses(401, 403, 404))
def scenario(request: Request, principal: Annotated[Any, Depends(_analyst)],
             scenario_id: Annotated[int, Path(ge=1, le=2 ** 31 - 1)]) -> dict[str, Any]:
    row = jobs_of(request.app.state.web).get(scenario_id)
    if row is None:
        raise HTTPException(404, f"no scenario {scenario_id}")
    return {**_summary(row), "result": row.result}
