"""The edge cache (uptake.web.edge): an anonymous GET of an answer already built for this snapshot is answered
before the middlewares and routing, with the body and headers the full path gave; everything else goes the full
path."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web_support import sign_in

PUBLIC = ["/", "/innovations/doacs", "/innovations/doacs?indicator=doac-share&level=icb", "/organisations/QMJ",
          "/api/v1/values?indicator=doac-share&level=icb", "/api/v1/indicators"]


def _full_path_refused(web, monkeypatch) -> None:
    """From now on the full path cannot answer a page or an API call: only the edge can."""
    from uptake.web.api import common

    def refuse(*args, **kwargs):
        raise AssertionError("the full path was taken")

    monkeypatch.setattr(web, "cached_page", refuse)
    monkeypatch.setattr(web, "shared", refuse)
    monkeypatch.setattr(common, "_etag", refuse)


def _headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in ("date", "server")}


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_a_repeated_anonymous_get_is_answered_at_the_edge_as_the_full_path_answered(fresh_app, monkeypatch, encoding):
    with TestClient(fresh_app) as client:
        first = {url: client.get(url, headers={"accept-encoding": encoding}) for url in PUBLIC}
        for url, response in first.items():
            assert response.status_code == 200, url
        _full_path_refused(fresh_app.state.web, monkeypatch)
        for url, response in first.items():
            again = client.get(url, headers={"accept-encoding": encoding})
            assert again.status_code == 200, url
            assert again.content == response.content, url
            assert _headers(again) == _headers(response), url
            assert "content-security-policy" in again.headers  # the security headers are replayed


def test_htmx_partials_and_full_pages_are_kept_apart(fresh_app, monkeypatch):
    url = "/innovations/doacs?indicator=doac-share&level=icb"
    with TestClient(fresh_app) as client:
        full = client.get(url)
        partial = client.get(url, headers={"HX-Request": "true"})
        assert full.content != partial.content
        _full_path_refused(fresh_app.state.web, monkeypatch)
        assert client.get(url, headers={"HX-Request": "true"}).content == partial.content
        assert client.get(url).content == full.content


def test_signed_in_revalidating_and_bodied_requests_take_the_full_path(fresh_app, demo, monkeypatch):
    url = "/innovations/doacs"
    with TestClient(fresh_app) as client:
        public = client.get(url)
        etag = public.headers["etag"]
        assert client.get(url, headers={"if-none-match": etag}).status_code == 304  # the full path's 304
        sign_in(client, demo.users["provider-lead"].email)
        mine = client.get(url)
        assert mine.headers["cache-control"] == "private, no-store"  # built for this person, not the edge's
        with TestClient(fresh_app) as other:
            _full_path_refused(fresh_app.state.web, monkeypatch)
            with pytest.raises(AssertionError, match="full path"):
                other.get(url, headers={"authorization": "Bearer nope"})
            assert other.get(url).status_code == 200  # anonymous again: the edge


def test_answers_that_depend_on_the_workflow_database_are_never_kept_at_the_edge(fresh_app):
    web = fresh_app.state.web
    with TestClient(fresh_app) as client:
        for url in ("/nsf", "/nsf", "/ratings", "/ratings"):
            assert client.get(url).status_code == 200, url
        kept = [key for key in web.cache._data if key.startswith("edge|")]
        assert not [key for key in kept if "|/nsf?" in key or "|/ratings?" in key]
        assert client.get("/").status_code == 200
        assert [key for key in web.cache._data if key.startswith("edge|") and key.endswith("|/?")]


def test_a_new_snapshot_empties_the_edge(fresh_app, monkeypatch):
    web = fresh_app.state.web
    with TestClient(fresh_app) as client:
        client.get("/")
        assert any(key.startswith("edge|") for key in web.cache._data)
        monkeypatch.setattr(type(web.snapshots), "current", property(
            lambda self: type("S", (), {"version": "another"})()), raising=False)
        web.fresh_cache()
        assert not any(key.startswith("edge|") for key in web.cache._data)


def test_the_edge_can_be_switched_off(demo, monkeypatch):
    from uptake.web.app import create_app
    from uptake.web.settings import WebSettings

    import workspace_builder

    app = create_app(demo.workspace, catalogue=demo.built.catalogue, boundaries=workspace_builder.boundaries,
                     secret_key="test-secret-key-" + "x" * 32, settings=WebSettings(edge_cache=False))
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        _full_path_refused(app.state.web, monkeypatch)
        with pytest.raises(AssertionError, match="full path"):
            client.get("/")
