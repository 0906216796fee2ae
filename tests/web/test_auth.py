"""Sign-in, sessions, CSRF, rate limiting, API tokens, user administration and the audit log."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from web_support import PASSWORD, csrf_of, sign_in


def _audit(demo, action: str) -> list:
    from uptake.store.db import make_engine, session_scope
    from uptake.store.models import AuditEvent

    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as db:
            return [(e.actor, e.entity_id, e.details) for e in db.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]
    finally:
        engine.dispose()


def test_sign_in_sets_a_secure_session_cookie(fresh_app, demo):
    with TestClient(fresh_app) as client:
        response = sign_in(client, demo.users["icb-analyst"].email)
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        assert "Demo ICB analyst" in client.get("/").text
    assert any(actor == demo.users["icb-analyst"].email for actor, _, _ in _audit(demo, "sign-in"))


def test_cookie_is_secure_over_https(fresh_app, demo):
    with TestClient(fresh_app, base_url="https://testserver") as client:
        response = sign_in(client, demo.users["innovator"].email)
        assert "Secure" in response.headers["set-cookie"]
        assert "strict-transport-security" in response.headers


def test_new_session_at_sign_in(fresh_app, demo):
    with TestClient(fresh_app) as client:
        page = client.get("/sign-in")
        before = csrf_of(page.text)
        sign_in(client, demo.users["innovator"].email)
        after = csrf_of(client.get("/account").text)
        assert before != after  # no session fixation: a new session and CSRF token


def test_wrong_password(fresh_app, demo):
    with TestClient(fresh_app) as client:
        response = sign_in(client, demo.users["icb-analyst"].email, "not the password")
        assert response.status_code == 400
        assert "The email address or password is not right" in response.text
        assert "Sign in" in client.get("/").text
    assert _audit(demo, "sign-in.failed")


def test_unknown_email_looks_the_same(fresh_app):
    with TestClient(fresh_app) as client:
        response = sign_in(client, "nobody@example.org", "whatever password")
        assert response.status_code == 400
        assert "The email address or password is not right" in response.text


def test_sign_in_is_rate_limited(fresh_app, demo):
    email = demo.users["provider-lead"].email
    with TestClient(fresh_app) as client:
        for _ in range(5):
            assert sign_in(client, email, "wrong password 123").status_code == 400
        limited = sign_in(client, email)  # even the right password is refused now
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        assert "Too many sign-in attempts" in limited.text
    assert _audit(demo, "sign-in.rate-limited")


def test_rate_limit_per_address(fresh_app):
    with TestClient(fresh_app) as client:
        statuses = [sign_in(client, f"user{i}@example.org", "x" * 12).status_code for i in range(21)]
        assert statuses[:20] == [400] * 20 and statuses[20] == 429


def test_sign_out(fresh_app, demo):
    with TestClient(fresh_app) as client:
        sign_in(client, demo.users["icb-analyst"].email)
        token = csrf_of(client.get("/").text)
        response = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert client.get("/api/v1/me").json()["role"] == "public"
    assert _audit(demo, "sign-out")


def test_open_redirect_refused(fresh_app, demo):
    with TestClient(fresh_app) as client:
        page = client.get("/sign-in")
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            response = client.post("/sign-in", data={"email": demo.users["innovator"].email, "password": PASSWORD,
                                                     "next": target, "csrf_token": csrf_of(page.text)},
                                   follow_redirects=False)
            assert response.headers["location"] == "/"
            page = client.get("/sign-in")


def _walk(routes):
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI keeps included routers as branches
            yield from _walk(route.original_router.routes)
        else:
            yield route


def _post_routes(app) -> list[str]:
    paths = []
    for route in _walk(app.routes):
        if "POST" in (getattr(route, "methods", None) or set()):
            # fill path parameters with valid values so the CSRF check, not parameter parsing, answers
            path = re.sub(r"\{[a-z_]*id\}", "1", route.path).replace("{action}", "submit")
            paths.append(path)
    return paths


def test_every_form_post_needs_the_csrf_token(fresh_app, demo):
    paths = _post_routes(fresh_app)
    assert {"/sign-in", "/sign-out", "/account/tokens", "/admin/users"} <= set(paths)
    with TestClient(fresh_app) as client:
        sign_in(client, demo.users["national-admin"].email)
        for path in paths:
            missing = client.post(path, data={"email": "x@example.org"}, follow_redirects=False)
            assert missing.status_code == 403, path
            wrong = client.post(path, data={"csrf_token": "forged"}, follow_redirects=False)
            assert wrong.status_code == 403, path


def test_csrf_token_from_another_session_is_refused(fresh_app, demo):
    with TestClient(fresh_app) as attacker, TestClient(fresh_app) as victim:
        stolen = csrf_of(attacker.get("/sign-in").text)
        sign_in(victim, demo.users["national-admin"].email)
        response = victim.post("/account/tokens", data={"csrf_token": stolen, "label": "x"})
        assert response.status_code == 403


def test_cross_origin_post_refused(fresh_app, demo):
    with TestClient(fresh_app) as client:
        sign_in(client, demo.users["national-admin"].email)
        token = csrf_of(client.get("/account").text)
        response = client.post("/account/tokens", data={"csrf_token": token, "label": "x"},
                               headers={"Origin": "https://evil.example"})
        assert response.status_code == 403


def test_api_tokens(fresh_app, demo):
    with TestClient(fresh_app) as browser:
        sign_in(browser, demo.users["icb-analyst"].email)
        page = browser.post("/account/tokens", data={"csrf_token": csrf_of(browser.get("/account").text),
                                                     "label": "my script"})
        assert page.status_code == 200
        token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
        assert token.startswith("upt_")
        assert token not in browser.get("/account").text  # shown once only
        token_id = re.search(r'/account/tokens/(\d+)/revoke', page.text).group(1)
    with TestClient(fresh_app) as script:
        headers = {"Authorization": f"Bearer {token}"}
        me = script.get("/api/v1/me", headers=headers).json()
        assert me["role"] == "icb-analyst"
        assert script.get("/api/v1/peers?org_code=MJ0", headers=headers).status_code == 200
        assert script.get("/api/v1/peers?org_code=KK0", headers=headers).status_code == 403
        assert script.get("/api/v1/me", headers={"Authorization": "Bearer upt_wrong"}).status_code == 401
        assert script.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    # someone else cannot revoke it (and is not told it exists)
    with TestClient(fresh_app) as other:
        sign_in(other, demo.users["provider-lead"].email)
        response = other.post(f"/account/tokens/{token_id}/revoke",
                              data={"csrf_token": csrf_of(other.get("/account").text)})
        assert response.status_code == 404
    with TestClient(fresh_app) as browser:
        sign_in(browser, demo.users["icb-analyst"].email)
        response = browser.post(f"/account/tokens/{token_id}/revoke",
                                data={"csrf_token": csrf_of(browser.get("/account").text)}, follow_redirects=False)
        assert response.status_code == 303
    with TestClient(fresh_app) as script:
        assert script.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _audit(demo, "api-token.issue") and _audit(demo, "api-token.revoke")


def test_tokens_are_stored_hashed(fresh_app, demo):
    from uptake.store.db import make_engine, session_scope
    from uptake.store.models import ApiToken, User

    with TestClient(fresh_app) as browser:
        sign_in(browser, demo.users["innovator"].email)
        page = browser.post("/account/tokens", data={"csrf_token": csrf_of(browser.get("/account").text),
                                                     "label": "hash check"})
        token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    engine = make_engine(demo.workspace.database_url)
    with session_scope(engine) as db:
        hashes = list(db.scalars(select(ApiToken.token_hash)))
        passwords = list(db.scalars(select(User.password_hash)))
    engine.dispose()
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    assert all(p.startswith("$argon2id$") for p in passwords if p)


def test_admin_adds_and_deactivates_a_user(fresh_app, demo):
    with TestClient(fresh_app) as admin:
        sign_in(admin, demo.users["national-admin"].email)
        token = csrf_of(admin.get("/admin/users").text)
        bad = admin.post("/admin/users", data={"csrf_token": token, "email": "new@nhs.example", "name": "New",
                                              "role": "icb-analyst", "scope": "RAL", "password": "a long password"})
        assert bad.status_code == 400 and "needs the code of a current icb" in bad.text
        ok = admin.post("/admin/users", data={"csrf_token": token, "email": "new@nhs.example", "name": "New Person",
                                             "role": "icb-analyst", "scope": "QKK", "password": "a long password"},
                        follow_redirects=False)
        assert ok.status_code == 303
        with TestClient(fresh_app) as newcomer:
            assert sign_in(newcomer, "new@nhs.example", "a long password").status_code == 303
            assert newcomer.get("/api/v1/peers?org_code=KK0").status_code == 200
            user_id = re.search(r'/admin/users/(\d+)/deactivate"[^>]*>.*?new@nhs.example',
                                admin.get("/admin/users").text, re.S)
            users_page = admin.get("/admin/users").text
            user_id = re.findall(r'/admin/users/(\d+)/deactivate', users_page)
            target = [u for u in user_id if f'/admin/users/{u}/deactivate' in users_page.split("new@nhs.example")[1][:600]]
            response = admin.post(f"/admin/users/{target[0]}/deactivate", data={"csrf_token": token},
                                  follow_redirects=False)
            assert response.status_code == 303
            # the deactivated user's session ends at once
            assert newcomer.get("/api/v1/me").json()["role"] == "public"
        assert "user.add" in admin.get("/admin/audit").text
    assert _audit(demo, "user.deactivate")


def test_non_admin_cannot_add_users(fresh_app, demo):
    with TestClient(fresh_app) as client:
        sign_in(client, demo.users["icb-analyst"].email)
        response = client.post("/admin/users", data={"csrf_token": csrf_of(client.get("/").text),
                                                    "email": "x@nhs.example", "name": "X", "role": "national-admin",
                                                    "password": "a long password"})
        assert response.status_code == 404


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "<script>" not in response.text  # no inline script anywhere


@pytest.mark.parametrize("url", ["/", "/innovations/doacs", "/organisations/MJ0", "/sign-in", "/docs"])
def test_no_inline_scripts(client, url):
    html = client.get(url).text
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
