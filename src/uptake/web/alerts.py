"""Alerts over HTTP (docs/alerts.md; the digest itself is uptake.mission.alerts).

Pages: /alerts (my subscriptions and the digest of the current publication, as the email shows it), the
follow / stop-following buttons on organisation, innovation and group pages (the partial alerts/follow.html,
POST /alerts/subscribe and /alerts/{id}/delete: signed in, CSRF, audited), and the one-click unsubscribe link of
an email: GET /alerts/unsubscribe/{token} shows a confirm page that needs no sign-in, POST unsubscribes (the
token, 256 random bits stored only as its SHA-256, is the credential, so a POST with RFC 8058's one-click
body, as mail clients send it, needs no CSRF token). API: /api/v1/alerts (my subscriptions and my digest).
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import pandas as pd

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from uptake.errors import UptakeError
from uptake.mission import alerts
from uptake.safe_cells import safe_frame
from uptake.store.alert_models import TARGET_KINDS, AlertSubscription
from uptake.store.db import session_scope
from uptake.store.models import User
from uptake.store.repository import record_audit
from uptake.web.access import Principal
from uptake.web.api.errors import responses
from uptake.web.security import CSRF_FIELD, csrf_ok


async def _caller(request: Request) -> None:
    """A bad API token answers 401 on every route alike (uptake.web.api.errors)."""
    await request.app.state.web.principal_async(request)


router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[Depends(_caller)])
SubscriptionId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The subscription's id")]


def _web(request: Request) -> Any:
    return request.app.state.web


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    response = _web(request).render(request, template, status_code=status_code, nav="alerts", **context)
    response.headers["cache-control"] = "private, no-store"
    response.headers["referrer-policy"] = "no-referrer"  # the unsubscribe token is in the address
    return response


async def _form(request: Request) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        raise HTTPException(403, "the form has expired or did not come from this site; go back and try again")
    return form


def _signed_in(request: Request) -> Principal:
    principal = _web(request).principal(request)
    if not principal.signed_in:
        raise HTTPException(403, "sign in to follow organisations, innovations and groups")
    return principal


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never //host or a scheme)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/alerts"


def following(web: Any, principal: Principal, kind: str, target_id: str) -> int | None:
    """The id of the principal's subscription to this target (None: not following, or signed out)."""
    if not principal.signed_in or principal.user_id is None:
        return None
    with session_scope(web.engine) as session:
        return session.scalar(select(AlertSubscription.id).where(
            AlertSubscription.user_id == principal.user_id, AlertSubscription.target_kind == kind,
            AlertSubscription.target_id == str(target_id)))


def _digest(request: Request, principal: Principal) -> tuple[alerts.Digest | None, list[dict], Any]:
    web = _web(request)
    with session_scope(web.engine) as session:
        user = session.get(User, principal.user_id)
        last = alerts.latest_sent(session, principal.user_id)
        last_info = None if last is None else {"publication_id": last.publication_id, "sent_at": last.sent_at,
                                               "items": len((last.content or {}).get("items", []))}
        if not web.workspace.analytics_path.exists():
            described = [{"id": s.id, "kind": s.target_kind, "target_id": s.target_id, "title": s.target_id,
                          "link": "/", "missing": False} for s in alerts.subscriptions_of(session, user.id)]
            return None, described, last_info
        with web.snapshots.cursor() as (_, cur):
            digest = alerts.build_digest(session, cur, web.catalogue, user)
    return digest, digest.subscriptions, last_info


# --- pages ------------------------------------------------------------------------------------------------


@router.get("/alerts")
def alerts_page(request: Request) -> Response:
    principal = _web(request).principal(request)
    if not principal.signed_in:
        return RedirectResponse("/sign-in?next=/alerts", status_code=303)
    digest, subscriptions, last = _digest(request, principal)
    return _render(request, "alerts/list.html", digest=digest, subscriptions=subscriptions, last=last,
                   kinds=alerts.KINDS)


@router.get("/alerts/download.csv")
def alerts_csv(request: Request) -> Response:
    """What you follow and your digest's items, as CSV (text cells made safe for spreadsheets)."""
    principal = _web(request).principal(request)
    if not principal.signed_in:
        raise HTTPException(403, "sign in to download your alerts")
    digest, subscriptions, _ = _digest(request, principal)
    rows = [{"section": "following", "kind": s["kind"], "subscription": s.get("title", s["target_id"]),
             "text": s["target_id"], "link": s.get("link", ""), "synthetic": False, "publication_id": None}
            for s in subscriptions]
    rows += [{"section": "digest", "kind": i.kind, "subscription": i.subscription, "text": i.text, "link": i.link,
              "synthetic": i.synthetic, "publication_id": digest.publication_id} for i in (digest.items if digest else [])]
    frame = pd.DataFrame(rows, columns=["section", "kind", "subscription", "text", "link", "synthetic",
                                        "publication_id"])
    buffer = io.StringIO()
    safe_frame(frame).to_csv(buffer, index=False)
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"content-disposition": 'attachment; filename="my-alerts.csv"',
                             "cache-control": "private, no-store"})


@router.post("/alerts/subscribe")
async def subscribe(request: Request) -> Response:
    form = await _form(request)
    principal = _signed_in(request)
    kind, target = form.get("kind", ""), form.get("target", "")
    web = _web(request)

    def save() -> None:
        with session_scope(web.engine, write=True) as session:
            with web.snapshots.cursor() as (_, cur):
                target_id = alerts.check_target(session, cur, web.catalogue, principal.user_id, kind, target)
            exists = session.scalar(select(AlertSubscription.id).where(
                AlertSubscription.user_id == principal.user_id, AlertSubscription.target_kind == kind,
                AlertSubscription.target_id == target_id))
            if exists:
                return
            row = AlertSubscription(user_id=principal.user_id, target_kind=kind, target_id=target_id)
            session.add(row)
            session.flush()
            record_audit(session, principal.email or "unknown", "alert.subscribe", "alert_subscription",
                         str(row.id), {"kind": kind, "target": target_id})

    try:
        await run_in_threadpool(save)
    except UptakeError as error:
        raise HTTPException(400, str(error)) from None
    return RedirectResponse(_safe_next(form.get("next")), status_code=303)


@router.post("/alerts/{subscription_id}/delete")
async def stop_following(request: Request, subscription_id: SubscriptionId) -> Response:
    form = await _form(request)
    principal = _signed_in(request)

    def save() -> None:
        with session_scope(_web(request).engine, write=True) as session:
            row = session.get(AlertSubscription, subscription_id)
            if row is None or row.user_id != principal.user_id:
                raise HTTPException(404, f"no subscription {subscription_id} of yours")
            record_audit(session, principal.email or "unknown", "alert.unsubscribe", "alert_subscription",
                         str(row.id), {"kind": row.target_kind, "target": row.target_id})
            session.delete(row)

    await run_in_threadpool(save)
    return RedirectResponse(_safe_next(form.get("next")), status_code=303)


def _token_subscriptions(request: Request, token: str) -> tuple[str, list[dict]] | None:
    web = _web(request)
    with session_scope(web.engine) as session:
        sent = alerts.sent_digest_for_token(session, token)
        if sent is None:
            return None
        user = session.get(User, sent.user_id)
        ids = (sent.content or {}).get("subscriptions", [])
        subs = session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == sent.user_id,
                                                               AlertSubscription.id.in_(ids or [-1]))).all()
        return user.email, [{"kind": s.target_kind, "target_id": s.target_id} for s in subs]


@router.get("/alerts/unsubscribe/{token}")
def unsubscribe_confirm(request: Request, token: str) -> Response:
    found = _token_subscriptions(request, token)
    if found is None:
        raise HTTPException(404, "this unsubscribe link is not known (check it was copied whole)")
    email, subs = found
    return _render(request, "alerts/unsubscribe.html", email=email, subscriptions=subs, token=token, done=False)


@router.post("/alerts/unsubscribe/{token}")
async def unsubscribe(request: Request, token: str) -> Response:
    """RFC 8058's one-click body (List-Unsubscribe=One-Click: a mail client's POST, and the confirm page's
    button) needs no CSRF token, the token in the address being the credential; any other body does."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("List-Unsubscribe") != "One-Click" and not csrf_ok(request, form.get(CSRF_FIELD)):
        raise HTTPException(403, "the form has expired or did not come from this site; go back and try again")
    return await run_in_threadpool(_unsubscribe, request, token)


def _unsubscribe(request: Request, token: str) -> Response:
    with session_scope(_web(request).engine, write=True) as session:
        outcome = alerts.unsubscribe_by_token(session, token)
        if outcome is None:
            raise HTTPException(404, "this unsubscribe link is not known (check it was copied whole)")
        user_id, gone = outcome
        user = session.get(User, user_id)
        email = user.email if user else "unknown"
        record_audit(session, email, "alert.unsubscribe-link", "alert_subscription",
                     ",".join(map(str, gone)) or "-", {"subscriptions": gone})
    return _render(request, "alerts/unsubscribe.html", email=email, subscriptions=[], token=token, done=True,
                   removed=len(gone))


# --- API --------------------------------------------------------------------------------------------------


@api_router.get("/alerts", summary="Your alert subscriptions and the digest of the current publication",
                responses=responses(401))
def api_alerts(request: Request) -> JSONResponse:
    principal = _web(request).principal(request)
    if not principal.signed_in:
        raise HTTPException(401, "sign in (or send an API token) to see your alerts")
    digest, subscriptions, last = _digest(request, principal)
    body = {"subscriptions": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in s.items()
                               if k in ("id", "kind", "target_id", "title", "link", "missing", "created_at")}
                              for s in subscriptions],
            "digest": None if digest is None else alerts.as_dict(digest),
            "last_sent": None if last is None else {**last, "sent_at": last["sent_at"].isoformat()},
            "kinds": alerts.KINDS}
    return JSONResponse(body, headers={"cache-control": "private, no-store"})


def mount(app: FastAPI) -> None:
    app.include_router(api_router)
    app.include_router(router)
    web = app.state.web
    web.templates.globals["alert_following"] = lambda principal, kind, target: following(web, principal, kind,
                                                                                          target)
    web.templates.globals["alert_kinds"] = TARGET_KINDS
