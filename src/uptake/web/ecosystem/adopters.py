"""Adopters: /adopters (the adoption and adaptation log, the case library of one innovation, and the search
"who already does this near me"), /adopters/new (the form a national admin, an ICB's analyst or a provider's
lead records an adoption with), and two fragments the organisation and innovation pages load
(/adopters/near/organisation/{code}, /adopters/near/innovation/{id}). Downloads:
/adopters/download/{log|cases|near}.{csv|xlsx}. API: GET /api/v1/adopters/log, /api/v1/adopters/cases,
/api/v1/adopters/near; POST /api/v1/adopters/log.

Everyone sees the log (what was adopted, when, what changed, the cost); the contact's name and email are
for signed-in people.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from uptake.catalogue import Catalogue
from uptake.ecosystem.adopters import (
    FIELD_LABELS,
    case_library,
    choose_indicator,
    located,
    log_frame,
    near_me,
    record_adoption,
    risers,
)
from uptake.ecosystem.anchors import FieldProblems
from uptake.ecosystem.local_records import RECORDING_ROLES, Refused, signed_in
from uptake.results import read
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

router = APIRouter(tags=["adopters pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["adopters"], dependencies=[Depends(api_caller)])
PRIVATE = ("contact_name", "contact_email", "created_by")
VALUE_COLUMNS = ["indicator", "level", "org_code", "org_name", "period", "value", "ci95_low", "ci95_high", "synthetic"]


def mount(app: FastAPI) -> None:
    add_templates(app)
    app.include_router(api)
    app.include_router(router)


def _public(frame: pd.DataFrame, who: Any) -> pd.DataFrame:
    return frame if signed_in(who) else frame.drop(columns=list(PRIVATE))


def _indicators_of(catalogue: Catalogue, innovation: str) -> list[Any]:
    return sorted((i for i in catalogue.indicators.values() if i.innovation == innovation), key=lambda i: i.id)


def cases(session: Session, cur: Any, catalogue: Catalogue, innovation: str | None) -> pd.DataFrame:
    """The case library of one innovation (of all, when None: the log only beside every riser)."""
    log = log_frame(session, innovation=innovation)
    chosen = _indicators_of(catalogue, innovation) if innovation else list(catalogue.indicators.values())
    values = pd.DataFrame(columns=VALUE_COLUMNS)
    if cur is not None and "result_values" in read.tables(cur) and chosen:
        values = read.spread.quartile_ends_frame(cur, [i.id for i in chosen])
    polarity = {i.id: i.polarity.value for i in catalogue.indicators.values()}
    return case_library(risers(values, polarity), log, catalogue)


@dataclass
class Search:
    org_code: str
    org: dict[str, Any] | None
    innovation: str
    indicator: Any
    found: pd.DataFrame


@dataclass(frozen=True)
class Context:
    """What every search reads whatever it is for: every current organisation's coordinates (its own or its
    nearest ancestor's), the peer links, and the (indicator, level) pairs with results. Read once per
    results snapshot."""

    places: pd.DataFrame
    peers: pd.DataFrame
    measured: frozenset[tuple[str, str]]


def read_context(cur: Any) -> Context:
    tables = read.tables(cur)
    places = located(read.organisations.current_frame(cur, ("code", "level", "lat", "lon")),
                     read.organisations.current_links_frame(cur))
    peers = read.peers.peer_links_frame(cur) if "result_peers" in tables else \
        pd.DataFrame(columns=["level", "org_code", "peer_code"])
    measured = frozenset((r["indicator"], r["level"]) for r in read.values.indicator_levels(cur)) \
        if "result_values" in tables else frozenset()
    return Context(places, peers, measured)


_CONTEXTS: dict[tuple[int, str], Context] = {}


def context_of(request: Request, cur: Any) -> Context | None:
    """The search ``Context`` of the web's current results snapshot, read once per snapshot."""
    if cur is None or "organisations" not in read.tables(cur):
        return None
    web = web_of(request)
    key = (id(web), str(web.snapshots.current.version))
    if key not in _CONTEXTS:
        for old in [k for k in _CONTEXTS if k[0] == id(web)]:
            _CONTEXTS.pop(old, None)
        _CONTEXTS[key] = read_context(cur)
    return _CONTEXTS[key]


def search(session: Session, cur: Any, catalogue: Catalogue, innovation: str, org_code: str, *,
           max_km: float | None = None, peers_only: bool = False, limit: int = 25,
           context: Context | None = None) -> Search:
    """Who already does ``innovation`` near ``org_code`` (HTTPException 404 for an unknown one)."""
    if innovation not in catalogue.innovations:
        raise HTTPException(404, f"there is no innovation {innovation!r} in the catalogue")
    if cur is None or "organisations" not in read.tables(cur):
        raise HTTPException(404, "the workspace has no results yet: run `uptake compute`")
    org = read.organisations.organisation(cur, org_code)
    if org is None:
        raise HTTPException(404, f"there is no organisation {org_code!r}")
    indicators = _indicators_of(catalogue, innovation)
    if not indicators:
        raise HTTPException(404, f"the innovation {innovation!r} has no indicator to search results by")
    context = context or read_context(cur)
    indicator, level = choose_indicator(indicators, org["level"], set(context.measured))
    values = pd.DataFrame(columns=VALUE_COLUMNS)
    if (indicator.id, level) in context.measured:
        values = read.spread.latest_values_frame(cur, [indicator.id], level)
    places, peers = context.places, context.peers
    peers = peers.loc[(peers["level"] == level) & (peers["org_code"] == org_code)]
    adoption = pd.DataFrame(read.adoption.adoption(cur, indicator=indicator.id, level=level)[0]) \
        if "result_adoption" in read.tables(cur) else pd.DataFrame()
    adoption = adoption if len(adoption) else pd.DataFrame(columns=["org_code", "first_adopted"])
    found = near_me(org_code, indicator.id, level, values, log_frame(session, innovation=innovation), places, peers,
                    adoption, threshold=indicator.adoption_threshold, polarity=indicator.polarity.value,
                    innovation=innovation, max_km=max_km, peers_only=peers_only, limit=limit)
    if len(found):
        names = read.organisations.organisation_names(cur, list(found["org_code"]))
        found["org_name"] = [n or names.get(c) for n, c in zip(found["org_name"], found["org_code"], strict=True)]
    return Search(org_code, org, innovation, indicator, found)


def _km(value: str | None) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        km = float(value)
    except ValueError:
        raise HTTPException(422, f"max_km {value!r} is not a number of kilometres") from None
    if not math.isfinite(km) or km <= 0 or km > 2000:
        raise HTTPException(422, "max_km must be more than 0 and at most 2000 kilometres")
    return km


# --- pages ---------------------------------------------------------------------------------------------


@router.get("/adopters")
def adopters_page(request: Request, innovation: str | None = None, org: str | None = None,
                  max_km: str | None = None, peers_only: bool = False) -> Response:
    who = who_of(request)
    web = web_of(request)
    km = _km(max_km)
    innovations = sorted(web.catalogue.innovations.values(), key=lambda i: i.name)
    chosen = innovation or (innovations[0].id if innovations else None)
    if chosen and chosen not in web.catalogue.innovations:
        raise HTTPException(404, f"there is no innovation {chosen!r} in the catalogue")
    with session_scope(web.engine) as session, snapshot_cursor(request) as cur:
        log = log_frame(session)
        library = cases(session, cur, web.catalogue, chosen)
        found = None
        if org:
            found = search(session, cur, web.catalogue, chosen, org.strip().upper(), max_km=km, peers_only=peers_only,
                           context=context_of(request, cur))
    return render(request, "ecosystem/adopters.html", log=records(_public(log, who)), cases=records(library),
                  innovations=innovations, innovation=chosen, org=(org or "").strip().upper(), max_km=max_km or "",
                  peers_only=peers_only, found=found, rows=records(found.found) if found else [],
                  may_record=who.role in RECORDING_ROLES, show_private=signed_in(who))


def _form_page(request: Request, form: dict[str, str], errors: list[tuple[str, str]] | None = None,
               status_code: int = 200) -> Response:
    who = who_of(request)
    innovations = sorted(web_of(request).catalogue.innovations.values(), key=lambda i: i.name)
    return render(request, "ecosystem/adoption_form.html", status_code=status_code, form=form, errors=errors or [],
                  field_errors=by_field(errors or []), labels=FIELD_LABELS,
                  innovation_options=[(i.id, i.name) for i in innovations], scope=who.scope_org_code)


def _may_record_or_403(who: Any) -> None:
    if who.role not in RECORDING_ROLES:
        raise HTTPException(403, "adoptions are recorded by a national admin, an ICB's analyst or a provider's lead")


@router.get("/adopters/new")
def adoption_form(request: Request) -> Response:
    who = who_of(request)
    _may_record_or_403(who)
    return _form_page(request, {"org_code": who.scope_org_code or "", "contact_email": who.email or ""})


@router.post("/adopters/new")
async def adoption_save(request: Request) -> Response:
    form = await read_form(request)
    who = await run_in_threadpool(who_of, request)
    _may_record_or_403(who)

    def save() -> int:
        with session_scope(web_of(request).engine, write=True) as session:
            return record_adoption(session, who, form).id

    _, again = await save_or_again(
        save, lambda problems, status: _form_page(request, form, problems, status_code=status),
        problems=FieldProblems, refused=Refused)
    if again:
        return again
    return RedirectResponse(f"/adopters?innovation={form.get('innovation', '')}#log", status_code=303)


@router.get("/adopters/near/organisation/{code}")
def near_organisation(request: Request, code: str) -> Response:
    """The organisation page's section: for each innovation, the nearest organisations that do it."""
    web = web_of(request)
    blocks = []
    with session_scope(web.engine) as session, snapshot_cursor(request) as cur:
        context = context_of(request, cur)
        for innovation in sorted(web.catalogue.innovations):
            try:
                s = search(session, cur, web.catalogue, innovation, code, limit=3, context=context)
            except HTTPException as exc:
                if exc.status_code == 404 and "organisation" in str(exc.detail) and "innovation" not in str(exc.detail):
                    raise
                continue
            blocks.append({"innovation": web.catalogue.innovations[innovation], "indicator": s.indicator,
                           "rows": records(s.found)})
    return render(request, "ecosystem/near_organisation.html", code=code, blocks=blocks)


@router.get("/adopters/near/innovation/{innovation}")
def near_innovation(request: Request, innovation: str) -> Response:
    """The innovation page's section: the log's entries and the case library's risers for it, and the search."""
    who = who_of(request)
    web = web_of(request)
    if innovation not in web.catalogue.innovations:
        raise HTTPException(404, f"there is no innovation {innovation!r} in the catalogue")
    with session_scope(web.engine) as session, snapshot_cursor(request) as cur:
        library = cases(session, cur, web.catalogue, innovation)
    return render(request, "ecosystem/near_innovation.html", innovation=web.catalogue.innovations[innovation],
                  cases=records(library.head(10)), total=len(library), show_private=signed_in(who))


@router.get("/adopters/download/{name}.{fmt}")
def adopters_download(request: Request, name: str, fmt: str, innovation: str | None = None,
                      org: str | None = None, max_km: str | None = None, peers_only: bool = False) -> Response:
    if name not in ("log", "cases", "near"):
        raise HTTPException(404, f"there is no adopters download {name!r}; downloads: log, cases, near")
    who = who_of(request)
    web = web_of(request)
    with session_scope(web.engine) as session, snapshot_cursor(request) as cur:
        if name == "log":
            frame = _public(log_frame(session, innovation=innovation or None), who)
        elif name == "cases":
            frame = cases(session, cur, web.catalogue, innovation or None)
        else:
            if not innovation or not org:
                raise HTTPException(422, "the near download needs innovation and org")
            frame = search(session, cur, web.catalogue, innovation, org.strip().upper(), max_km=_km(max_km),
                           peers_only=peers_only).found
    return download(frame, f"adopters-{name}", fmt, f"Adopters: {name}")


# --- API -------------------------------------------------------------------------------------------------------


class AdoptionIn(BaseModel):
    org_code: Annotated[str, Field(min_length=1, max_length=64)]
    innovation: Annotated[str, Field(min_length=1, max_length=64)]
    adopted_on: dt.date
    what: Annotated[str, Field(min_length=1, max_length=2000)]
    adaptations: Annotated[str, Field(min_length=1, max_length=5000)]
    cost_pounds: Annotated[float | None, Field(ge=0, le=1e10)] = None
    contact_name: Annotated[str, Field(min_length=1, max_length=255)]
    contact_email: Annotated[str, Field(min_length=3, max_length=320)]


@api.get("/adopters/log", summary="The adoption and adaptation log (contacts for signed-in callers)")
def api_log(request: Request, innovation: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    who = who_of(request)
    with api_db(request) as session:
        return jsonable(records(_public(log_frame(session, innovation=innovation), who)))


@api.get("/adopters/cases", summary="The case library: bottom-to-top-quartile risers and the log",
         responses=responses(404))
def api_cases(request: Request, innovation: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    web = web_of(request)
    if innovation and innovation not in web.catalogue.innovations:
        raise HTTPException(404, f"there is no innovation {innovation!r} in the catalogue")
    with api_db(request) as session, snapshot_cursor(request) as cur:
        return jsonable(records(cases(session, cur, web.catalogue, innovation)))


@api.get("/adopters/near", summary="Who already does an innovation near an organisation", responses=responses(404))
def api_near(request: Request, innovation: Annotated[str, Query(max_length=64)],
             org: Annotated[str, Query(max_length=64)],
             max_km: Annotated[float | None, Query(gt=0, le=2000)] = None, peers_only: bool = False,
             limit: Annotated[int, Query(ge=1, le=200)] = 25) -> dict[str, Any]:
    web = web_of(request)
    with api_db(request) as session, snapshot_cursor(request) as cur:
        s = search(session, cur, web.catalogue, innovation, org.strip().upper(), max_km=max_km,
                   peers_only=peers_only, limit=limit, context=context_of(request, cur))
    return jsonable({"innovation": innovation, "org": s.org_code, "indicator": s.indicator.id,
                     "found": records(s.found)})


@api.post("/adopters/log", status_code=201, summary="Record an adoption in the log",
          responses=responses(*WRITE_CODES, d404="Not used by this route"))
def api_log_add(request: Request, who: Annotated[Any, Depends(api_writer)],
                body: Annotated[AdoptionIn, Body()]) -> dict[str, Any]:
    if who.role not in RECORDING_ROLES:
        raise HTTPException(403, "adoptions are recorded by a national admin, an ICB's analyst or a provider's lead")
    with api_db(request, write=True) as session:
        row = record_adoption(session, who, body.model_dump())
        return jsonable({"id": row.id, "org_code": row.org_code, "innovation": row.innovation_id,
                         "adopted_on": row.adopted_on})
