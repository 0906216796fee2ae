"""Clinical networks and the Health Innovation Challenge: pages, downloads and API.

Pages: /networks (the networks of an NSF priority, with their members' results), /networks/footprint/{code}
(one network's members, their latest results and any anchor designation), /challenge (the rounds),
/challenge/new (the form a national admin runs a round with: designate anchors, match partners, fund
pilots), /challenge/{id} (a round: its rule, anchors with their reasons, partnerships explained, funding).
Downloads: /networks/download/{summary|members}.{csv|xlsx} and /challenge/{id}/download/{partnerships|
designations}.{csv|xlsx}. API: /api/v1/networks, /api/v1/networks/{footprint}, /api/v1/challenge/rounds
(GET; POST for a national admin), /api/v1/challenge/rounds/{id}.

Mount with ``mount(app)`` (one line in uptake.web.app).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from uptake.ecosystem.anchors import (
    CONTEXT_FEATURES,
    DISTANCE_SCALE_KM,
    FACTS,
    FieldProblems,
    designations_frame,
    get_round,
    load_rule,
    partnerships_frame,
    rounds,
)
from uptake.ecosystem.local_records import may_run_rounds
from uptake.ecosystem.networks import FOOTPRINT_WORDS, Network, network, priorities, run_round
from uptake.errors import NotFound, UptakeError
from uptake.store.db import session_scope
from uptake.web.api.errors import WRITE_CODES, responses
from uptake.web.ecosystem.journeys import (
    add_templates,
    api_caller,
    api_db,
    api_writer,
    download,
    jsonable,
    read_form,
    records,
    render,
    snapshot_cursor,
    web_of,
    who_of,
)
from uptake.web.forms import by_field, save_or_again

router = APIRouter(tags=["networks pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["networks"], dependencies=[Depends(api_caller)])

ROUND_LABELS = {"title": "Title", "priority": "NSF priority", "capacity": "Capacity (partners per anchor)",
                "funding": "Pilot funding per partnership (pounds)", "weight_distance": "Weight of distance",
                "weight_dissimilarity": "Weight of peer dissimilarity", "indicator": "NSF priority"}


def mount(app: FastAPI) -> None:
    add_templates(app)
    app.include_router(api)
    app.include_router(router)


# --- what the pages and the API read -------------------------------------------------------------------


def _read_network(request: Request, key: str | None) -> Network:
    web = web_of(request)
    try:
        with session_scope(web.engine) as session, snapshot_cursor(request) as cur:
            return network(session, cur, web.catalogue, key)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _latest_round_designations(session: Session, indicator: str) -> dict[str, Any]:
    for r in rounds(session):
        if r.indicator_id == indicator:
            return {"round": r, "by_org": {d.org_code: d for d in r.designations},
                    "partners": {p.partner_code: p.anchor_code for p in r.partnerships}}
    return {"round": None, "by_org": {}, "partners": {}}


def _chart(net: Network) -> dict:
    s = net.summary.dropna(subset=["median_value"])
    scale = 100 if net.indicator.unit == "%" else 1
    data = [{
        "type": "bar", "orientation": "h", "y": list(s["footprint_name"].fillna(s["footprint_code"])),
        "x": [v * scale for v in s["median_value"]],
        "error_x": {"type": "data", "symmetric": False,
                    "array": [(hi - med) * scale for hi, med in zip(s["max_value"], s["median_value"], strict=True)],
                    "arrayminus": [(med - lo) * scale for lo, med in zip(s["min_value"], s["median_value"],
                                                                         strict=True)]},
        "marker": {"color": "#005eb8"}, "name": "Median of members",
        "hovertemplate": "%{y}: median %{x:.1f}<extra></extra>",
    }]
    layout = {"title": {"text": f"Median member value by network, with the members' range ({net.indicator.title})",
                        "font": {"size": 15}, "x": 0, "xanchor": "left"},
              "font": {"family": "Arial, sans-serif", "size": 12, "color": "#212b32"},
              "margin": {"l": 320, "r": 16, "t": 48, "b": 48}, "height": max(320, 26 * len(s) + 120),
              "xaxis": {"title": {"text": f"Value ({net.indicator.unit})"}}, "yaxis": {"autorange": "reversed"},
              "showlegend": False, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff"}
    return {"data": data, "layout": layout}


# --- pages ------------------------------------------------------------------------------------------------


@router.get("/networks")
def networks_page(request: Request, priority: str | None = None) -> Response:
    who_of(request)
    net = _read_network(request, priority)
    return render(request, "ecosystem/networks.html", net=net, summary=records(net.summary),
                  footprint_words=FOOTPRINT_WORDS[net.priority.footprint_level], chart_spec=_chart(net),
                  charts=True)


@router.get("/networks/footprint/{code}")
def footprint_page(request: Request, code: str, priority: str | None = None) -> Response:
    who_of(request)
    net = _read_network(request, priority)
    rows = net.results.loc[net.results["footprint_code"] == code]
    if rows.empty:
        raise HTTPException(404, f"there is no network {code!r} for {net.priority.title}")
    with session_scope(web_of(request).engine) as session:
        latest = _latest_round_designations(session, net.priority.indicator)
        mark = {}
        for c in rows["org_code"]:
            d = latest["by_org"].get(c)
            mark[c] = {"designated": d.designated if d else None, "because": d.because if d else None,
                       "anchor": latest["partners"].get(c)}
        round_info = ({"id": latest["round"].id, "title": latest["round"].title, "demo": latest["round"].synthetic}
                      if latest["round"] else None)
    return render(request, "ecosystem/footprint.html", net=net, code=code, name=rows["footprint_name"].iloc[0],
                  rows=records(rows), marks=mark, round=round_info,
                  footprint_words=FOOTPRINT_WORDS[net.priority.footprint_level])


@router.get("/networks/download/{name}.{fmt}")
def networks_download(request: Request, name: str, fmt: str, priority: str | None = None,
                      code: str | None = None) -> Response:
    if name not in ("summary", "members"):
        raise HTTPException(404, f"there is no networks download {name!r}; downloads: summary, members")
    net = _read_network(request, priority)
    frame = net.summary if name == "summary" else net.results
    if name == "members" and code:
        frame = frame.loc[frame["footprint_code"] == code]
    frame = frame.assign(priority=net.priority.key, indicator=net.priority.indicator,
                         synthetic=bool(net.indicator.synthetic))
    return download(frame, f"networks-{name}", fmt, f"Clinical networks for {net.priority.title} ({name})")


@router.get("/challenge")
def challenge_page(request: Request) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        found = [{"id": r.id, "title": r.title, "indicator": r.indicator_id, "framework": r.framework_id,
                  "period": r.period, "rule": f"{r.rule_id} v{r.rule_version}", "capacity": r.capacity,
                  "anchors": sum(d.designated for d in r.designations), "partnerships": len(r.partnerships),
                  "funding": r.funding_per_partnership * len(r.partnerships), "demo": r.synthetic,
                  "created_by": r.created_by, "created_at": r.created_at} for r in rounds(session)]
    rule = load_rule()
    return render(request, "ecosystem/challenge.html", rounds=found, may_run=may_run_rounds(who), rule=rule)


def _round_form(request: Request, *, form: dict[str, str], errors: list[tuple[str, str]] | None = None,
                status_code: int = 200) -> Response:
    with session_scope(web_of(request).engine) as session:
        choices = priorities(session, web_of(request).catalogue)
    return render(request, "ecosystem/challenge_form.html", status_code=status_code, form=form, errors=errors or [],
                  field_errors=by_field(errors or []), labels=ROUND_LABELS, choices=choices, rule=load_rule(),
                  scale=DISTANCE_SCALE_KM)


@router.get("/challenge/new")
def challenge_form(request: Request) -> Response:
    if not may_run_rounds(who_of(request)):
        raise HTTPException(403, "Health Innovation Challenge rounds are run by a national admin")
    return _round_form(request, form={"capacity": "3", "funding": "25000", "weight_distance": "1",
                                      "weight_dissimilarity": "1"})


@router.post("/challenge/new")
async def challenge_run(request: Request) -> Response:
    form = await read_form(request)
    who = await run_in_threadpool(who_of, request)
    if not may_run_rounds(who):
        raise HTTPException(403, "Health Innovation Challenge rounds are run by a national admin")

    def save() -> int:
        web = web_of(request)
        with session_scope(web.engine, write=True) as session, snapshot_cursor(request) as cur:
            return run_round(session, cur, web.catalogue, who, title=form.get("title", ""),
                             priority_key=form.get("priority", ""), capacity=form.get("capacity", ""),
                             funding=form.get("funding", ""), weight_distance=form.get("weight_distance", "1"),
                             weight_dissimilarity=form.get("weight_dissimilarity", "1")).id

    round_id, again = await save_or_again(
        save, lambda problems, status: _round_form(request, form=form, errors=problems, status_code=status),
        problems=FieldProblems)
    if again:
        return again
    return RedirectResponse(f"/challenge/{round_id}", status_code=303)


@router.get("/challenge/{round_id}")
def round_page(request: Request, round_id: int) -> Response:
    who_of(request)
    with session_scope(web_of(request).engine) as session:
        try:
            r = get_round(session, round_id)
        except UptakeError as exc:
            raise HTTPException(404, str(exc)) from None
        designations = designations_frame(session, round_id)
        pairs = partnerships_frame(session, round_id)
        info = {"id": r.id, "title": r.title, "framework": r.framework_id, "indicator": r.indicator_id,
                "level": r.level, "period": r.period, "rule": f"{r.rule_id} v{r.rule_version}",
                "capacity": r.capacity, "funding": r.funding_per_partnership, "weights": (r.weight_distance,
                                                                                         r.weight_dissimilarity),
                "demo": r.synthetic, "created_by": r.created_by, "created_at": r.created_at}
        traces = {d.org_code: d.trace for d in r.designations}
    anchors = designations.loc[designations["designated"]]
    partnered = set(pairs["partner"])
    unmatched = designations.loc[~designations["designated"] & ~designations["org_code"].isin(partnered)]
    try:
        rule = load_rule(int(info["rule"].rsplit("v", 1)[1]))
    except UptakeError:
        rule = None
    return render(request, "ecosystem/round.html", r=info, anchors=records(anchors), pairs=records(pairs),
                  unmatched=records(unmatched), designations=records(designations), traces=traces, rule=rule,
                  total=float(pairs["pilot_funding_pounds"].sum()) if len(pairs) else 0.0, facts=FACTS,
                  scale=DISTANCE_SCALE_KM, features=[f for f, _ in CONTEXT_FEATURES],
                  indicator=web_of(request).catalogue.indicators.get(info["indicator"]))


@router.get("/challenge/{round_id}/download/{name}.{fmt}")
def round_download(request: Request, round_id: int, name: str, fmt: str) -> Response:
    if name not in ("partnerships", "designations"):
        raise HTTPException(404, f"there is no round download {name!r}; downloads: partnerships, designations")
    with session_scope(web_of(request).engine) as session:
        try:
            frame = (partnerships_frame if name == "partnerships" else designations_frame)(session, round_id)
        except UptakeError as exc:
            raise HTTPException(404, str(exc)) from None
    return download(frame, f"challenge-{round_id}-{name}", fmt, f"Health Innovation Challenge round {round_id}: {name}")


# --- API ----------------------------------------------------------------------------------------------------


class RoundIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    priority: Annotated[str, Field(min_length=1, max_length=200, description="an NSF priority: framework/commitment "
                                                                             "(or an indicator id), as /networks lists")]
    capacity: Annotated[int, Field(ge=1, le=50, description="partners each anchor can take on (at least 1)")]
    funding_per_partnership: Annotated[float, Field(ge=0, le=1e9, description="pilot funding, pounds")]
    weight_distance: Annotated[float, Field(ge=0, le=100)] = 1.0
    weight_dissimilarity: Annotated[float, Field(ge=0, le=100)] = 1.0


def _round_json(session: Session, round_id: int) -> dict[str, Any]:
    r = get_round(session, round_id)
    return jsonable({
        "id": r.id, "title": r.title, "framework": r.framework_id, "indicator": r.indicator_id, "level": r.level,
        "period": r.period, "rule": {"id": r.rule_id, "version": r.rule_version}, "capacity": r.capacity,
        "funding_per_partnership": r.funding_per_partnership, "weight_distance": r.weight_distance,
        "weight_dissimilarity": r.weight_dissimilarity, "demo": r.synthetic, "created_by": r.created_by,
        "created_at": r.created_at,
        "designations": [{"footprint": d.footprint_code, "org_code": d.org_code, "designated": d.designated,
                          "decided_by": d.decided_by, "because": d.because, "facts": d.facts}
                         for d in r.designations],
        "partnerships": [{"footprint": p.footprint_code, "anchor": p.anchor_code, "partner": p.partner_code,
                          "distance_km": p.distance_km, "dissimilarity": p.dissimilarity, "cost": p.cost,
                          "pilot_funding_pounds": p.funding_pounds, "explanation": p.explanation}
                         for p in r.partnerships],
    })


@api.get("/networks", summary="Clinical networks of an NSF priority, with their members' results",
         responses=responses(404))
def api_networks(request: Request, priority: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    net = _read_network(request, priority)
    return jsonable({"priority": vars(net.priority), "footprint_level": net.priority.footprint_level,
                     "synthetic": bool(net.indicator.synthetic), "networks": records(net.summary),
                     "priorities": [p.key for p in net.priorities]})


@api.get("/networks/{footprint}", summary="One network's members and their latest results",
         responses=responses(404))
def api_network(request: Request, footprint: Annotated[str, Path(max_length=64)],
                priority: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    net = _read_network(request, priority)
    rows = net.results.loc[net.results["footprint_code"] == footprint]
    if rows.empty:
        raise HTTPException(404, f"there is no network {footprint!r} for {net.priority.title}")
    return jsonable({"priority": net.priority.key, "footprint": footprint, "members": records(rows),
                     "synthetic": bool(net.indicator.synthetic)})


@api.get("/challenge/rounds", summary="Health Innovation Challenge rounds")
def api_rounds(request: Request) -> list[dict[str, Any]]:
    with api_db(request) as session:
        return [jsonable({"id": r.id, "title": r.title, "indicator": r.indicator_id, "period": r.period,
                          "rule": f"{r.rule_id} v{r.rule_version}", "capacity": r.capacity,
                          "partnerships": len(r.partnerships), "demo": r.synthetic}) for r in rounds(session)]


@api.get("/challenge/rounds/{round_id}", summary="A round: its designations (with facts) and partnerships",
         responses=responses(404))
def api_round(request: Request, round_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict[str, Any]:
    with session_scope(web_of(request).engine) as session:
        try:
            return _round_json(session, round_id)
        except UptakeError as exc:
            raise HTTPException(404, str(exc)) from None


@api.post("/challenge/rounds", status_code=201, summary="Run a round: designate anchors, match partners, fund "
          "pilots (national admin)", responses=responses(*WRITE_CODES, d404="Not used by this route"))
def api_run_round(request: Request, who: Annotated[Any, Depends(api_writer)],
                  body: Annotated[RoundIn, Body()]) -> dict[str, Any]:
    web = web_of(request)
    with api_db(request, write=True) as session, snapshot_cursor(request) as cur:
        row = run_round(session, cur, web.catalogue, who, title=body.title, priority_key=body.priority,
                        capacity=body.capacity, funding=body.funding_per_partnership,
                        weight_distance=body.weight_distance, weight_dissimilarity=body.weight_dissimilarity)
        return _round_json(session, row.id)
