"""What each role can and cannot see, on pages, downloads and the API. The demo users: national admin;
ICB analyst for QMJ (sub-ICBs MJ0-MJ2, practices PMJ.., trusts RAL and RRV); provider lead for RAL;
innovator for "doacs" (indicator doac-share)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

ROLES = ("public", "national-admin", "icb-analyst", "provider-lead", "innovator")


@pytest.fixture
def as_role(client, signed_in):
    def get(role: str) -> TestClient:
        return client if role == "public" else signed_in(role)

    return get


def _expect(table: dict[str, int]) -> list[tuple[str, int]]:
    return [(role, table[role]) for role in ROLES]


# Peer lists by name: organisation-wide, so innovators (scoped to an innovation) do not get them.
@pytest.mark.parametrize("code,expected", [
    ("MJ0", dict(public=403, **{"national-admin": 200, "icb-analyst": 200, "provider-lead": 403, "innovator": 403})),
    ("KK0", dict(public=403, **{"national-admin": 200, "icb-analyst": 403, "provider-lead": 403, "innovator": 403})),
    ("RAL", dict(public=403, **{"national-admin": 200, "icb-analyst": 200, "provider-lead": 200, "innovator": 403})),
    ("RJ1", dict(public=403, **{"national-admin": 200, "icb-analyst": 403, "provider-lead": 403, "innovator": 403})),
])
def test_peer_list(as_role, code, expected):
    for role, status in _expect(expected):
        client = as_role(role)
        assert client.get(f"/download/peers.csv?code={code}").status_code == status, (role, code)
        assert client.get(f"/api/v1/peers?org_code={code}").status_code == status, (role, code)


# Who nearby does it best and the organisation's opportunity: per indicator.
@pytest.mark.parametrize("code,indicator,expected", [
    ("MJ0", "doac-share",
     dict(public=403, **{"national-admin": 200, "icb-analyst": 200, "provider-lead": 403, "innovator": 200})),
    ("KK0", "doac-share",
     dict(public=403, **{"national-admin": 200, "icb-analyst": 403, "provider-lead": 403, "innovator": 200})),
    ("RAL", "narcolepsy-newer-share",
     dict(public=403, **{"national-admin": 200, "icb-analyst": 200, "provider-lead": 200, "innovator": 403})),
    ("RH5", "narcolepsy-newer-share",
     dict(public=403, **{"national-admin": 200, "icb-analyst": 403, "provider-lead": 403, "innovator": 403})),
])
def test_nearby_and_opportunity(as_role, code, indicator, expected):
    for role, status in _expect(expected):
        client = as_role(role)
        assert client.get(f"/download/nearby.csv?code={code}&indicator={indicator}").status_code == status, role
        opp = client.get(f"/download/org-opportunity.csv?code={code}")
        # an organisation's opportunity shows every indicator the role covers there
        assert (opp.status_code == 200) == (status == 200 or role == "innovator"), role


@pytest.mark.parametrize("role", ROLES)
def test_organisation_page_shows_only_the_covered_pack(as_role, role):
    client = as_role(role)
    inside = client.get("/organisations/MJ0?indicator=doac-share").text
    outside = client.get("/organisations/KK0?indicator=doac-share").text
    covered_inside = role in ("national-admin", "icb-analyst", "innovator")
    covered_outside = role in ("national-admin", "innovator")
    assert ("Nearest organisations of the same type" in inside) == covered_inside, role
    assert ("Nearest organisations of the same type" in outside) == covered_outside, role
    assert ("is available to signed-in NHS users" in inside) == (not covered_inside), role
    # published figures are always there
    assert "Position on every indicator" in inside and "Position on every indicator" in outside


@pytest.mark.parametrize("role,indicator,status", [
    ("public", "doac-share", 403),
    ("national-admin", "doac-share", 200),
    ("icb-analyst", "doac-share", 200),
    ("provider-lead", "doac-share", 200),
    ("innovator", "doac-share", 200),
    ("innovator", "narcolepsy-newer-share", 403),
])
def test_api_opportunity_status(as_role, role, indicator, status):
    assert as_role(role).get(f"/api/v1/opportunity?indicator={indicator}").status_code == status


def test_api_opportunity_rows_are_scoped(as_role):
    def codes(role: str, indicator: str) -> set[str]:
        body = as_role(role).get(f"/api/v1/opportunity?indicator={indicator}&per_page=1000").json()
        return {item["org_code"] for item in body["items"]}

    everything = codes("national-admin", "doac-share")
    assert {"MJ0", "KK0", "QMJ", "QKK"} <= everything
    assert codes("icb-analyst", "doac-share") == {"QMJ", "MJ0", "MJ1", "MJ2"}
    assert codes("provider-lead", "doac-share") == set()
    assert codes("provider-lead", "narcolepsy-newer-share") == {"RAL"}
    assert codes("innovator", "doac-share") == everything
    icb = as_role("icb-analyst")
    assert icb.get("/api/v1/opportunity?indicator=doac-share&org_code=KK0").status_code == 403
    assert icb.get("/api/v1/opportunity?indicator=doac-share&org_code=MJ1").status_code == 200


def test_innovation_page_opportunity_table_is_scoped(as_role):
    public = as_role("public").get("/innovations/doacs").text
    assert "Largest opportunities" not in public and "is available to signed-in NHS users" in public
    icb = as_role("icb-analyst").get("/innovations/doacs").text
    assert "Largest opportunities" in icb and "MJ0" in icb
    assert "(KK0)</a></td>" not in icb.split(">Largest opportunities")[1].split("</table>")[0]


@pytest.mark.parametrize("role", ROLES)
def test_published_data_is_open_to_every_role(as_role, role):
    client = as_role(role)
    for url in ("/api/v1/values?indicator=doac-share&level=sub-icb", "/api/v1/funnel?indicator=doac-share&level=icb",
                "/api/v1/spc?indicator=doac-share&org_code=KK0", "/api/v1/adoption?indicator=doac-share",
                "/api/v1/opportunity/totals?indicator=doac-share", "/download/league.csv?indicator=doac-share&level=icb"):
        assert client.get(url).status_code == 200, (role, url)


@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_do_not_leak(as_role, role):
    client = as_role(role)
    expected = 200 if role == "national-admin" else 404
    assert client.get("/admin/users").status_code == expected
    assert client.get("/admin/audit").status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_account_page(as_role, role):
    response = as_role(role).get("/account", follow_redirects=False)
    if role == "public":
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")
    else:
        assert response.status_code == 200 and role in response.text


def test_me(as_role):
    assert as_role("public").get("/api/v1/me").json()["role"] == "public"
    me = as_role("icb-analyst").get("/api/v1/me").json()
    assert me["role"] == "icb-analyst" and me["scope"] == "organisation QMJ"


def test_pack_pages_are_never_shared_from_the_public_cache(as_role):
    admin = as_role("national-admin")
    assert "Nearest organisations" in admin.get("/organisations/RH5?indicator=narcolepsy-newer-share").text
    public = as_role("public").get("/organisations/RH5?indicator=narcolepsy-newer-share")
    assert "Nearest organisations" not in public.text
    assert admin.get("/organisations/RH5").headers["cache-control"] == "private, no-store"
