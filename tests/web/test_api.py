"""The JSON API: every endpoint, pagination, ETags, validation and the OpenAPI document."""

from __future__ import annotations

import pytest


def test_organisations_paginated(client):
    first = client.get("/api/v1/organisations?level=practice&per_page=10").json()
    assert first["total"] == 36 and first["pages"] == 4 and len(first["items"]) == 10
    assert first["links"]["prev"] is None and "page=2" in first["links"]["next"]
    last = client.get("/api/v1/organisations?level=practice&per_page=10&page=4")
    assert len(last.json()["items"]) == 6
    assert 'rel="prev"' in last.headers["link"]
    codes = {o["code"] for p in (1, 2, 3, 4)
             for o in client.get(f"/api/v1/organisations?level=practice&per_page=10&page={p}").json()["items"]}
    assert len(codes) == 36


def test_organisation_detail(client):
    body = client.get("/api/v1/organisations/MJ0").json()
    assert body["level"] == "sub-icb"
    assert {p["code"] for p in body["parents"]} == {"QMJ", "Y56", "ENG"}
    assert client.get("/api/v1/organisations/NOPE").status_code == 404


def test_catalogue(client):
    innovations = client.get("/api/v1/innovations").json()
    assert {i["id"] for i in innovations} == {"doacs", "dementia-diagnosis", "narcolepsy-medicines"}
    indicators = {i["id"]: i for i in client.get("/api/v1/indicators").json()}
    assert indicators["dementia-diagnosis-rate"]["synthetic"] is True
    assert {r["level"] for r in indicators["doac-share"]["results"]} == {"sub-icb", "icb", "region", "england"}
    assert client.get("/api/v1/indicators/doac-share").json()["polarity"] == "high-is-good"
    assert client.get("/api/v1/innovations/doacs").json()["indicators"] == ["doac-share"]
    assert client.get("/api/v1/indicators/nope").status_code == 404


def test_values(client):
    body = client.get("/api/v1/values?indicator=doac-share&level=sub-icb&period=2022-12-01").json()
    assert body["total"] == 12
    row = body["items"][0]
    assert row["period"] == "2022-12-01" and 0 <= row["value"] <= 1
    assert row["ci95_low"] <= row["value"] <= row["ci95_high"]
    filtered = client.get("/api/v1/values?indicator=doac-share&org_code=MJ0&org_code=KK0").json()
    assert {r["org_code"] for r in filtered["items"]} == {"MJ0", "KK0"} and filtered["total"] == 48
    synthetic = client.get("/api/v1/values?indicator=dementia-diagnosis-rate&per_page=1").json()
    assert synthetic["items"][0]["synthetic"] is True


def test_funnel_spc_adoption(client):
    funnel = client.get("/api/v1/funnel?indicator=doac-share&level=sub-icb").json()
    assert funnel["period"] == "2022-12-01" and len(funnel["points"]) == 12 and funnel["limits"]
    spc = client.get("/api/v1/spc?indicator=doac-share&org_code=MJ0").json()
    assert len(spc["points"]) == 24 and spc["series"]["variation_icon"]
    assert {"upper_limit", "lower_limit", "special_cause"} <= set(spc["points"][0])
    adoption = client.get("/api/v1/adoption?indicator=doac-share&level=sub-icb").json()
    assert adoption["total"] == 12
    totals = client.get("/api/v1/opportunity/totals?indicator=doac-share").json()["items"]
    assert {t["benchmark"] for t in totals} == {"median", "top-decile"}


def test_batches(client):
    items = client.get("/api/v1/batches").json()["items"]
    assert {b["indicator"] for b in items} == {"doac-share", "dementia-diagnosis-rate", "narcolepsy-newer-share"}


def test_etag_and_304(client):
    url = "/api/v1/values?indicator=doac-share&level=icb"
    first = client.get(url)
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url + "&page=2", headers={"If-None-Match": etag}).status_code == 200


def test_etag_differs_per_principal(client, signed_in):
    url = "/api/v1/me"
    assert client.get(url).headers["etag"] != signed_in("national-admin").get(url).headers["etag"]


def test_etag_changes_when_results_change(app, tmp_path):
    """A reload that finds the same content keeps the ETag (and the cache); one that finds the results
    changed gives a new one."""
    import shutil

    import duckdb
    from fastapi.testclient import TestClient

    from uptake.web.snapshot import SnapshotHolder

    path = tmp_path / "uptake.duckdb"
    shutil.copy(app.state.web.workspace.analytics_path, path)
    original = app.state.web.snapshots
    app.state.web.snapshots = SnapshotHolder(path, directory=tmp_path / "snapshots")
    try:
        with TestClient(app) as c:
            before = c.get("/api/v1/indicators").headers["etag"]
            app.state.web.snapshots.reload()
            assert c.get("/api/v1/indicators").headers["etag"] == before
            con = duckdb.connect(str(path))
            con.execute("DELETE FROM result_values WHERE level = 'practice'")
            con.close()
            app.state.web.snapshots.reload()
            after = c.get("/api/v1/indicators").headers["etag"]
    finally:
        app.state.web.snapshots = original
    assert before != after


@pytest.mark.parametrize("url", [
    "/api/v1/values?indicator=doac-share&level=nowhere",
    "/api/v1/values?indicator=doac-share&period=2022-13",
    "/api/v1/values?indicator=doac-share&per_page=5000",
    "/api/v1/values?indicator=doac-share&page=0",
    "/api/v1/values",
    "/api/v1/funnel?indicator=doac-share",
])
def test_validation_errors_are_422_json(client, url):
    response = client.get(url)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"


def test_openapi_documents_every_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for name in ("organisations", "innovations", "indicators", "values", "funnel", "spc", "peers", "opportunity",
                 "adoption", "changes", "equity"):
        assert f"/api/v1/{name}" in paths, name
    assert not any(p.startswith(("/download", "/sign-in", "/admin")) for p in paths)


def _valid(document: dict, name: str, body) -> bool:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    return jsonschema_rs.is_valid({"$ref": f"#/components/schemas/{name}", "components": document["components"]},
                                  body)


def test_the_openapi_document_says_every_status_and_error_body(client):
    """Every API operation documents the errors any request may meet (400 malformed, 401 a bad token, 413 too
    large; 422 where it takes parameters), all with the one Error model; the results API documents 304 and
    its ETag. FastAPI's own 422 model (loc/msg/type), which the app never answered, is gone."""
    document = client.get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert len(operations) >= 30
    for path, method, op in operations:
        answers = op["responses"]
        expected = {"400", "401", "413"} | ({"422"} if op.get("parameters") or op.get("requestBody") else set())
        assert expected <= set(answers), (method, path, sorted(answers))
        for code, answer in answers.items():
            if code.startswith("4"):
                assert answer["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        if op["tags"] == ["results"]:
            assert "content" not in answers["304"] and "ETag" in answers["304"]["headers"], path
            assert "ETag" in answers["200"]["headers"], path
        if method == "post":
            assert {"403"} <= set(answers), path
    steps = document["paths"]["/api/v1/plans/{filing_id}/submit"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422"} <= set(steps)


def test_every_error_has_the_one_shape(client, demo):
    """422 always lists the problems with where each is (a date the route itself finds wrong too: before, its
    detail was a string where the document promised a list); every other error is a sentence."""
    document = client.get("/api/v1/openapi.json").json()
    answers = {
        422: client.get("/api/v1/values", params={"indicator": "doac-share", "period": "2022-02-30"}),
        400: client.get("/api/v1/values?indicator=doac%00share"),
        401: client.get("/api/v1/ratings/watch-list", headers={"authorization": "Bearer upt_nonsense"}),
        404: client.get("/api/v1/values", params={"indicator": "nothing-like-it"}),
        403: client.get("/api/v1/opportunity", params={"indicator": "doac-share"}),
        413: client.post("/api/v1/plans", content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                         headers={"content-type": "application/json"}),
    }
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.text[:200])
        assert answer.headers["content-type"] == "application/json"
        assert _valid(document, "Error", answer.json()), (status, answer.text)
        assert isinstance(answer.json()["detail"], list if status == 422 else str), (status, answer.text)
    assert answers[422].json() == {"detail": [{"where": "query.period",
                                               "problem": "period '2022-02-30' is not a date (YYYY-MM-DD)"}]}
    # every API route reads the caller first: an unknown token is 401 wherever it is sent, even before a 404
    assert client.get("/api/v1/innovations/nothing", headers={"authorization": "Bearer upt_x"}).status_code == 401
    assert client.get("/api/v1/assessments", headers={"authorization": "Bearer upt_x"}).status_code == 401
