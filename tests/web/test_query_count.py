"""An organisation page asks the results snapshot few questions: the organisation and its parents are read
once per request and handed to every section (the request context), not fetched again by each builder."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from uptake.web import snapshot as snapshot_module

MAX_QUERIES = 8
#: what the forecast adds: the organisation's fitted curves, its commitments' forecasts, the chosen
#: indicator's trajectory, and the load batches its "how was this calculated" names
FORECAST_QUERIES = 4
#: what the signed-in innovation pack adds: peers, the peer position, who nearby does it best, opportunity
#: (none: they share the page's questions), and the outcomes of its gaps with England's beside them (one)
PACK_QUERIES = 1
#: a fact of the snapshot read by the first page that needs it and then remembered for the snapshot's life:
#: the latest period of each indicator's changes at the organisation's level (read.changes.latest_periods)
SNAPSHOT_FACTS = 1


class CountingCursor:
    """A snapshot cursor that counts the statements run through it (and keeps their text)."""

    def __init__(self, inner, seen: list[str]):
        self._inner = inner
        self._seen = seen

    def execute(self, sql, *args, **kwargs):
        self._seen.append(" ".join(str(sql).split()))
        return self._inner.execute(sql, *args, **kwargs)

    def sql(self, sql, *args, **kwargs):
        self._seen.append(" ".join(str(sql).split()))
        return self._inner.sql(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = snapshot_module.Snapshot.cursor
    monkeypatch.setattr(snapshot_module.Snapshot, "cursor", lambda self: CountingCursor(original(self), seen))
    return seen


@pytest.mark.parametrize("url", [
    "/organisations/QMJ",
    "/organisations/MJ0",
    "/organisations/RAL?indicator=narcolepsy-newer-share",
    "/organisations/PMJ00",
])
@pytest.mark.parametrize("role", ["public", "national-admin"])
def test_an_organisation_page_runs_at_most_eight_queries_plus_the_forecast_and_the_pack(fresh_app, session_cookies, counted, url, role) -> None:
    with TestClient(fresh_app, base_url="http://testserver") as client:
        if role != "public":
            client.cookies.set("uptake_session", session_cookies[role])
        client.get("/")  # warm up: the principal's scope and caches are not the page's own questions
        counted.clear()
        response = client.get(url)
        assert response.status_code == 200, response.text[:500]
    assert counted, "the counting cursor saw nothing: the page no longer reads through the snapshot cursor"
    allowed = MAX_QUERIES + FORECAST_QUERIES + SNAPSHOT_FACTS + (PACK_QUERIES if role != "public" else 0)
    assert len(counted) <= allowed, f"{len(counted)} queries for {url}:\n" + "\n".join(counted)


def test_the_latest_change_periods_are_read_once_per_snapshot(fresh_app, counted) -> None:
    """An organisation page's changes need the latest period of each indicator at its level (a scan of every
    indicator's CUSUM rows at that level): read by the first page of the snapshot that needs it, then
    remembered, so the next organisation of the level does not scan again."""
    with TestClient(fresh_app, base_url="http://testserver") as client:
        counted.clear()
        assert client.get("/organisations/QMJ").status_code == 200
        first = [sql for sql in counted if "max(period) AS latest_period FROM result_changes" in sql]
        counted.clear()
        assert client.get("/organisations/QKK").status_code == 200
        again = [sql for sql in counted if "max(period) AS latest_period FROM result_changes" in sql]
    assert len(first) == 1 and again == []


def test_the_organisation_row_is_read_once_per_request(fresh_app, counted) -> None:
    with TestClient(fresh_app, base_url="http://testserver") as client:
        counted.clear()
        assert client.get("/organisations/QMJ?indicator=doac-share").status_code == 200
    reads = [sql for sql in counted if "FROM organisations WHERE code = ?" in sql]
    assert len(reads) == 1, reads


#: the area profile: the organisation with its parents, its profile, the levels under it, its tartan rug
PROFILE_QUERIES = 4


@pytest.mark.parametrize("url", ["/organisations/QMJ/profile", "/organisations/QMJ/profile?level=practice",
                                 "/organisations/Y56/profile", "/organisations/PMJ00/profile"])
def test_the_area_profile_runs_at_most_four_queries(fresh_app, counted, url) -> None:
    with TestClient(fresh_app, base_url="http://testserver") as client:
        client.get("/")
        counted.clear()
        response = client.get(url)
        assert response.status_code == 200, response.text[:500]
    assert counted, "the counting cursor saw nothing: the page no longer reads through the snapshot cursor"
    assert len(counted) <= PROFILE_QUERIES, f"{len(counted)} queries for {url}:\n" + "\n".join(counted)
