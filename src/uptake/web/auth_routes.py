"""Sign-in and sign-out, Your account (API tokens), and user administration for national admins.

Every route here that changes something is a POST form checked for its CSRF token (`csrf_protect`), and
every change is written to the audit log through `uptake.store.repository`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from uptake.errors import UptakeError
from uptake.store.db import session_scope
from uptake.store.models import ROLES, ApiToken, User
from uptake.store.repository import audit_trail, issue_api_token, record_audit, revoke_api_token
from uptake.store.session_models import end_session as end_stored_session
from uptake.store.session_models import end_user_sessions, open_session
from uptake.web.accounts import authenticate, create_user
from uptake.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    client_address,
    csrf_ok,
    end_session,
    ensure_session,
    get_session,
    start_session,
)


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token does not match the session's."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not csrf_ok(request, submitted):
        raise HTTPException(403, "The form has expired or did not come from this site. Go back, reload the page "
                                 "and try again.")


router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _web(request: Request):
    return request.app.state.web


def _safe_next(target: str | None) -> str:
    """Only local paths may be redirected to after sign-in (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _require_signed_in(request: Request):
    principal = _web(request).principal(request)
    if not principal.signed_in:
        raise HTTPException(403, "Sign in to see this page.")
    return principal


def _require_admin(request: Request):
    """National admins only; anyone else gets 404, so the admin pages' existence does not leak."""
    principal = _web(request).principal(request)
    if not principal.is_admin:
        raise HTTPException(404, "Page not found")
    return principal


def _private(response: Response) -> Response:
    response.headers["cache-control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------- sign in and out
@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    web = _web(request)
    ensure_session(request)
    web.principal(request)
    return _private(web.render(request, "sign_in.html", next=_safe_next(next), errors={}, email="", nav=""))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Sign in. Throttled (uptake.web.security.SignInThrottle) without ever locking the account: this
    address may be refused for a while after its own failures; failures elsewhere only delay the answer."""
    web = _web(request)
    email_key = email.strip().lower()
    address = client_address(request)
    wait = max(web.signin_throttle.refusal(email_key, address), web.signin_by_address.retry_after(address))
    if wait:
        await run_in_threadpool(_record, web, email_key or "anonymous", "sign-in.rate-limited", None,
                                {"address": address})
        seconds = math.ceil(wait)
        later = f"{seconds} seconds" if seconds < 60 else f"{math.ceil(seconds / 60)} minutes"
        response = await run_in_threadpool(
            web.render, request, "sign_in.html", status_code=429, next=_safe_next(next), email=email,
            errors={"form": f"Too many sign-in attempts from this device. Try again in {later}."})
        response.headers["retry-after"] = str(seconds)
        return _private(response)
    web.signin_by_address.hit(address)
    errors: dict[str, str] = {}
    if not email_key:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    signed_in = None
    if not errors:
        delay = web.signin_throttle.delay(email_key)
        if delay:
            await asyncio.sleep(delay)  # slows guessing on this account; holds no thread
        signed_in = await run_in_threadpool(_check_password, web, email_key, password, address)
        if signed_in is None:
            errors["form"] = "The email address or password is not right"
            web.signin_throttle.failed(email_key, address)
    if signed_in is None:
        return _private(await run_in_threadpool(web.render, request, "sign_in.html",
                                                status_code=400 if errors else 200,
                                                next=_safe_next(next), email=email, errors=errors))
    web.signin_throttle.succeeded(email_key, address)
    user_id, sid = signed_in
    start_session(request, user_id, sid)
    return RedirectResponse(_safe_next(next), status_code=303)


def _record(web, actor: str, action: str, entity_id: str | None, details: dict) -> None:
    with session_scope(web.engine) as db:
        record_audit(db, actor, action, "user", entity_id, details)


def _check_password(web, email: str, password: str, address: str) -> tuple[int, str] | None:
    """(user id, new session id) when the password is right, else None; audited either way."""
    with session_scope(web.engine) as db:
        user = authenticate(db, email, password)
        if user is None:
            record_audit(db, email, "sign-in.failed", "user", None, {"address": address})
            return None
        sid = open_session(db, user.id, dt.timedelta(seconds=web.settings.session_lifetime))
        record_audit(db, user.email, "sign-in", "user", str(user.id), {"address": address})
        return user.id, sid


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    """Sign out: the session ends on the server too, so a copy of the cookie no longer signs anyone in."""
    web = _web(request)
    principal = web.principal(request)
    session = get_session(request)
    with session_scope(web.engine) as db:
        if session is not None and session.sid:
            end_stored_session(db, session.sid)
        if principal.signed_in:
            record_audit(db, principal.email, "sign-out", "user", str(principal.user_id), {})
    end_session(request)
    return RedirectResponse("/", status_code=303)


# ---------------------------------------------------------------------- your account
@router.get("/account")
def account(request: Request, created: str | None = None) -> Response:
    web = _web(request)
    principal = web.principal(request)
    if not principal.signed_in:
        return RedirectResponse("/sign-in?next=/account", status_code=303)
    with session_scope(web.engine) as db:
        tokens = db.scalars(
            select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.created_at.desc())
        ).all()
        rows = [{"id": tk.id, "label": tk.label, "created_at": tk.created_at, "last_used_at": tk.last_used_at,
                 "revoked_at": tk.revoked_at} for tk in tokens]
    new_token = request.scope.get("uptake.new_token")
    return _private(web.render(request, "account.html", tokens=rows, new_token=new_token, nav="account"))


@router.post("/account/tokens")
def create_token(request: Request, label: Annotated[str, Form(max_length=200)] = "") -> Response:
    web = _web(request)
    principal = _require_signed_in(request)
    with session_scope(web.engine) as db:
        user = db.get(User, principal.user_id)
        token = issue_api_token(db, user, label or "API token", actor=principal.email)
    # Shown once, on this response only; never stored or put in a URL.
    request.scope["uptake.new_token"] = token
    return account(request)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int) -> Response:
    web = _web(request)
    principal = _require_signed_in(request)
    with session_scope(web.engine) as db:
        row = db.get(ApiToken, token_id)
        if row is None or (row.user_id != principal.user_id and not principal.is_admin):
            raise HTTPException(404, "Page not found")  # someone else's token: do not say it exists
        revoke_api_token(db, token_id, actor=principal.email)
    return RedirectResponse("/account", status_code=303)


# ---------------------------------------------------------------------- administration
@router.get("/admin/users")
def users(request: Request) -> Response:
    web = _web(request)
    _require_admin(request)
    with session_scope(web.engine) as db:
        rows = [{"id": u.id, "email": u.email, "name": u.name, "role": u.role, "scope_org_code": u.scope_org_code,
                 "scope_innovation": u.scope_innovation, "active": u.active}
                for u in db.scalars(select(User).order_by(User.email))]
    return _private(web.render(request, "admin_users.html", users=rows, roles=ROLES, errors={}, form={},
                               nav="admin"))


@router.post("/admin/users")
def add_user_form(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=255)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    scope: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    web = _web(request)
    principal = _require_admin(request)
    org = scope if role in ("icb-analyst", "provider-lead") else None
    innovation = scope if role == "innovator" else None
    try:
        with session_scope(web.engine) as db:
            create_user(db, email=email, name=name, role=role, password=password, scope_org_code=org,
                        scope_innovation=innovation, actor=principal.email)
    except UptakeError as exc:
        with session_scope(web.engine) as db:
            rows = [{"id": u.id, "email": u.email, "name": u.name, "role": u.role,
                     "scope_org_code": u.scope_org_code, "scope_innovation": u.scope_innovation, "active": u.active}
                    for u in db.scalars(select(User).order_by(User.email))]
        return _private(web.render(request, "admin_users.html", status_code=400, users=rows, roles=ROLES,
                                   errors={"form": str(exc)},
                                   form={"email": email, "name": name, "role": role, "scope": scope}, nav="admin"))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(request: Request, user_id: int) -> Response:
    web = _web(request)
    principal = _require_admin(request)
    with session_scope(web.engine) as db:
        user = db.get(User, user_id)
        if user is None:
            raise HTTPException(404, "Page not found")
        if user.id == principal.user_id:
            raise HTTPException(400, "You cannot deactivate yourself")
        if user.active:
            user.active = False
            end_user_sessions(db, user.id)
            record_audit(db, principal.email, "user.deactivate", "user", str(user.id), {"email": user.email})
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/audit")
def audit(request: Request) -> Response:
    web = _web(request)
    _require_admin(request)
    with session_scope(web.engine) as db:
        events = [{"occurred_at": e.occurred_at, "actor": e.actor, "action": e.action, "entity_type": e.entity_type,
                   "entity_id": e.entity_id, "details": e.details} for e in audit_trail(db, limit=200)]
    return _private(web.render(request, "admin_audit.html", events=events, nav="admin"))
