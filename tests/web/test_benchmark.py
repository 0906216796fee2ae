"""The benchmark choice (issue 16 item 3; uptake.results.benchmark): England, the region, the ICB, the
similar-10 peers pooled, or a saved custom group pooled. The resolver and the profile judged against each kind
are checked against slow, obviously correct pandas references over the same snapshot (the pooled interval
written out as Wilson's formula); then every page, download and API answer that shows a benchmark, with each
kind, and the bad choices."""

from __future__ import annotations

import csv
import io
import math

import duckdb
import pandas as pd
import pytest
from scipy.stats import norm
from sqlalchemy import select

from uptake.demo import DEMO_GROUP_TITLE, seed_demo_group
from uptake.results import benchmark as bm
from uptake.store.db import make_engine, session_scope
from uptake.store.group_models import OrgGroup, OrgGroupMember
from uptake.store.models import User

KINDS = ("england", "region", "icb", "peers", "group")


@pytest.fixture(scope="module")
def con(demo):
    connection = duckdb.connect(str(demo.workspace.analytics_path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def values(con) -> pd.DataFrame:
    return con.execute("SELECT * FROM result_values").df()


@pytest.fixture(scope="module")
def polarities(demo) -> dict[str, str]:
    return {i.id: i.polarity.value for i in demo.built.catalogue.indicators.values()}


@pytest.fixture(scope="module")
def measures(demo) -> dict[str, str]:
    return {i.id: i.measure.value for i in demo.built.catalogue.indicators.values()}


@pytest.fixture(scope="module")
def group(demo) -> bm.GroupSpec:
    """A saved group of three sub-ICB locations of another ICB, owned by the demo ICB analyst."""
    engine = make_engine(demo.workspace.database_url)
    owner = demo.users["icb-analyst"]
    try:
        with session_scope(engine) as session:
            user = session.scalar(select(User).where(User.email == owner.email))
            row = OrgGroup(owner_id=user.id, title="Somerset cluster", description="for the benchmark tests",
                           level="sub-icb", members=[OrgGroupMember(org_code=c) for c in ("SL0", "SL1", "SL2")])
            session.add(row)
            session.flush()
            return bm.GroupSpec(row.id, row.title, row.level, ("SL0", "SL1", "SL2"))
    finally:
        engine.dispose()


def _level(values: pd.DataFrame, code: str) -> str:
    return values.loc[values["org_code"] == code, "level"].iloc[0]


def _wilson(x: float, n: float) -> tuple[float, float]:
    """Wilson's score interval, written out (Newcombe 1998, method 3)."""
    z = norm.ppf(0.975)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _interval_judgement(polarity: str, row, bench: float | None) -> str:
    """The interval rule, written out (docs/methods.md)."""
    if row.get("comparison") == "not eligible":
        return "not eligible"
    if pd.isna(row["value"]) or bench is None or pd.isna(bench) or pd.isna(row["ci95_low"]):
        return "not compared"
    above95, below95 = row["ci95_low"] > bench, row["ci95_high"] < bench
    above998, below998 = row["ci998_low"] > bench, row["ci998_high"] < bench
    if polarity == "high-is-good":
        return "best" if above998 else "better" if above95 else "worst" if below998 else "worse" if below95 else "similar"
    if polarity == "low-is-good":
        return "best" if below998 else "better" if below95 else "worst" if above998 else "worse" if above95 else "similar"
    return "higher" if above95 else "lower" if below95 else "similar"


def _reference(con, values: pd.DataFrame, code: str, kind: str, group: bm.GroupSpec) -> dict:
    """What the benchmark is, the slow way: its organisation (England, the parent of that level) or its pooled
    members (result_peers, the group), read with pandas."""
    level = _level(values, code)
    if kind == "england":
        return {"org": "ENG"}
    if kind in ("region", "icb"):
        links = con.execute("SELECT child_code, parent_code, parent_level FROM relationships "
                            "WHERE valid_to IS NULL").df()
        parent = links[(links["child_code"] == code) & (links["parent_level"] == kind)]["parent_code"]
        return {"org": parent.iloc[0]}
    if kind == "peers":
        peers = con.execute("SELECT * FROM result_peers").df()
        mine = peers[(peers["org_code"] == code) & (peers["level"] == level)]
        return {"members": list(mine["peer_code"]), "level": level}
    return {"members": list(group.members), "level": group.level}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("code", ["MJ0", "KK1", "PSL20", "RA7"])
def test_each_benchmark_kind_matches_a_pandas_reference(con, values, polarities, measures, group, code,
                                                        kind) -> None:
    level = _level(values, code)
    bench = bm.resolve(con, code, level, kind if kind != "group" else f"group:{group.id}", group=group)
    ref = _reference(con, values, code, kind, group)
    got = bm.profile(con, code, level, bench, polarities=polarities, measures=measures)
    assert got and all(r["benchmark_key"] == bench.key and r["benchmark_label"] == bench.label for r in got)
    assert bench.pooled == ("members" in ref)
    for row in got:
        period = pd.Timestamp(row["period"])
        mine = values[(values["org_code"] == code) & (values["level"] == level)
                      & (values["indicator"] == row["indicator"]) & (values["period"] == period)].iloc[0]
        if "org" in ref:
            assert bench.org_code == ref["org"]
            theirs = values[(values["org_code"] == ref["org"]) & (values["indicator"] == row["indicator"])
                            & (values["period"] == period)]
            expected = float(theirs["value"].iloc[0]) if len(theirs) else None
            low = float(theirs["ci95_low"].iloc[0]) if len(theirs) and pd.notna(theirs["ci95_low"].iloc[0]) else None
            if kind == "england":  # the pipeline's own comparison with England
                assert row["comparison"] == mine["comparison"]
            else:
                assert row["comparison"] == _interval_judgement(polarities[row["indicator"]], mine, expected)
            if expected is not None:
                assert row["benchmark_value"] == pytest.approx(expected)
                if low is not None and kind != "england":
                    assert row["benchmark_ci95_low"] == pytest.approx(low)
            continue
        assert set(bench.members) == set(ref["members"]) and len(ref["members"]) > 0
        pooled = values[values["org_code"].isin(ref["members"]) & (values["level"] == ref["level"])
                        & (values["indicator"] == row["indicator"]) & (values["period"] == period)
                        & values["value"].notna() & (values["denominator"] > 0)
                        & (values["comparison"] != "not eligible")]
        if pooled.empty:
            assert row["benchmark_value"] is None and row["comparison"] == "not compared"
            continue
        x, n = float(pooled["numerator"].sum()), float(pooled["denominator"].sum())
        assert row["benchmark_value"] == pytest.approx(x / n)
        low, high = _wilson(x, n)  # every indicator of the test workspace is a proportion
        assert row["benchmark_ci95_low"] == pytest.approx(low, rel=1e-6)
        assert row["benchmark_ci95_high"] == pytest.approx(high, rel=1e-6)
        assert row["benchmark_members"] == len(pooled)
        assert row["comparison"] == _interval_judgement(polarities[row["indicator"]], mine, x / n)
        spread = pooled["value"].astype(float)
        assert row["organisations"] == len(pooled)
        assert (row["lowest"], row["highest"]) == (pytest.approx(spread.min()), pytest.approx(spread.max()))
        assert row["median"] == pytest.approx(spread.quantile(0.5))  # pandas' linear interpolation
        assert row["worse_and_getting_worse"] == (row["comparison"] in ("worse", "worst")
                                                  and row.get("trend") == "getting worse")


@pytest.mark.parametrize("text, words", [
    ("Y56", "not offered"), ("group:abc", "by its number"), ("group:", "by its number"), ("cousins", "not offered"),
])
def test_unknown_benchmarks_are_refused_with_what_is_offered(text, words) -> None:
    with pytest.raises(bm.BenchmarkError, match=words):
        bm.parse(text)


def test_a_benchmark_the_organisation_does_not_have_is_refused(con, group) -> None:
    with pytest.raises(bm.BenchmarkError, match="no region above it"):
        bm.resolve(con, "Y56", "region", "region")
    with pytest.raises(bm.BenchmarkError, match="no such group of yours"):
        bm.resolve(con, "MJ0", "sub-icb", f"group:{group.id + 999}", group=group)
    assert bm.parse("ENG").kind == "england" and bm.parse(" Peers ").key == "peers"


def _bench_url(kind: str, group: bm.GroupSpec) -> str:
    return f"group:{group.id}" if kind == "group" else kind


@pytest.mark.parametrize("kind", KINDS)
def test_every_page_download_and_api_answer_says_what_it_is_compared_with(signed_in, group, kind) -> None:
    owner = signed_in("icb-analyst")  # the group's owner
    choice = _bench_url(kind, group)
    profile = owner.get(f"/organisations/MJ0/profile?benchmark={choice}")
    assert profile.status_code == 200, profile.text[:500]
    label = owner.get(f"/api/v1/organisations/MJ0/profile?benchmark={choice}").json()
    assert label["benchmark"] == choice and label["benchmark_detail"]["compared_with"].startswith("compared with: ")
    words = label["benchmark_label"]
    assert f"Compared with: {words}" in profile.text.replace("&#39;", "'").replace("&amp;", "&")
    assert all(r["benchmark_label"] == words for r in label["rows"])
    assert f'<option value="{choice}" selected' in profile.text
    page = owner.get(f"/organisations/MJ0?benchmark={choice}")
    assert page.status_code == 200 and f'<option value="{choice}" selected' in page.text
    if kind != "england":  # the links to the profile and the pack carry the choice
        assert f"/organisations/MJ0/pack.pdf?benchmark={choice}".replace(":", "%3A") in page.text
        assert f"/organisations/MJ0/profile?benchmark={choice}".replace(":", "%3A") in page.text
    if kind != "england":
        assert f"Compared with {words}".replace("&", "&amp;") in page.text or f"Compared with {words}" in page.text
    for name in ("profile", "organisation"):
        body = owner.get(f"/download/{name}.csv?code=MJ0&benchmark={choice}")
        assert body.status_code == 200, body.text[:300]
        rows = list(csv.DictReader(io.StringIO(body.text.lstrip("\ufeff"))))
        assert rows and all(r["benchmark_label"] == words and r["benchmark_key"] == choice for r in rows)
    xlsx = owner.get(f"/download/profile.xlsx?code=MJ0&benchmark={choice}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_group_benchmark_is_the_owners_alone(client, signed_in, group) -> None:
    assert client.get(f"/organisations/MJ0/profile?benchmark=group:{group.id}").status_code == 422
    other = signed_in("provider-lead")
    answer = other.get(f"/api/v1/organisations/MJ0/profile?benchmark=group:{group.id}")
    assert answer.status_code == 422 and "no such group of yours" in answer.text
    assert f"group:{group.id}" not in other.get("/organisations/MJ0/profile").text
    assert f"group:{group.id}" in signed_in("icb-analyst").get("/organisations/MJ0/profile").text


@pytest.mark.parametrize("url, words", [
    ("/organisations/MJ0/profile?benchmark=cousins", "not offered"),
    ("/organisations/MJ0?benchmark=cousins", "not offered"),
    ("/api/v1/organisations/MJ0/profile?benchmark=cousins", "not offered"),
    ("/download/profile.csv?code=MJ0&benchmark=group:x", "by its number"),
    ("/organisations/Y56/profile?benchmark=region", "no region above it"),
    ("/organisations/MJ0/pack.pdf?benchmark=cousins", "not offered"),
    ("/api/v1/organisations/QMJ/rug?benchmark=region", "shown against England only"),
    ("/api/v1/organisations/MJ0/profile?benchmark=group:7", "no such group of yours"),
])
def test_bad_benchmarks_answer_422_saying_what_is_offered(client, url, words) -> None:
    answer = client.get(url)
    assert answer.status_code == 422 and words in answer.text


def test_the_demo_saves_one_labelled_group_usable_as_a_benchmark(demo, signed_in) -> None:
    owner = demo.users["icb-analyst"]
    said = seed_demo_group(demo.workspace, owner.email, "QMJ")
    again = seed_demo_group(demo.workspace, owner.email, "QMJ")  # saving again replaces, never duplicates
    assert said.split(":")[0] == again.split(":")[0] and "benchmark=group:" in said
    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as session:
            found = session.scalars(select(OrgGroup).where(OrgGroup.title == DEMO_GROUP_TITLE)).all()
            assert len(found) == 1 and "DEMO" in found[0].title and "DEMO" in found[0].description
            group_id, members, level = found[0].id, [m.org_code for m in found[0].members], found[0].level
    finally:
        engine.dispose()
    assert 2 <= len(members) <= 5
    client = signed_in("icb-analyst")
    assert DEMO_GROUP_TITLE in client.get("/groups").text
    code = "MJ0" if level == "sub-icb" else "RAL" if level == "trust" else members[0]
    page = client.get(f"/organisations/{code}/profile?benchmark=group:{group_id}")
    assert page.status_code == 200 and DEMO_GROUP_TITLE in page.text


@pytest.mark.parametrize("kind", ["icb", "peers", "group"])
def test_the_benchmark_series_of_the_deciles_chart_matches_a_pandas_reference(con, values, measures, group,
                                                                               kind) -> None:
    code, indicator = "MJ0", "doac-share"
    bench = bm.resolve(con, code, "sub-icb", _bench_url(kind, group), group=group)
    ref = _reference(con, values, code, kind, group)
    periods = sorted(values[(values["org_code"] == code) & (values["indicator"] == indicator)]["period"].dt.date)
    got = bm.series(con, bench, indicator, measures[indicator], periods)
    assert len(got) == len(periods) > 1
    for period in periods:
        stamp = pd.Timestamp(period)
        if "org" in ref:
            theirs = values[(values["org_code"] == ref["org"]) & (values["indicator"] == indicator)
                            & (values["period"] == stamp)].iloc[0]
            assert got[period].value == pytest.approx(theirs["value"])
            continue
        pooled = values[values["org_code"].isin(ref["members"]) & (values["level"] == "sub-icb")
                        & (values["indicator"] == indicator) & (values["period"] == stamp)
                        & values["value"].notna() & (values["denominator"] > 0)]
        x, n = float(pooled["numerator"].sum()), float(pooled["denominator"].sum())
        assert got[period].value == pytest.approx(x / n)
        assert (got[period].ci95_low, got[period].ci95_high) == tuple(pytest.approx(v, rel=1e-6)
                                                                       for v in _wilson(x, n))


def test_the_deciles_chart_draws_the_chosen_benchmark_as_a_line_with_its_column(client) -> None:
    plain = client.get("/organisations/MJ0?indicator=doac-share")
    page = client.get("/organisations/MJ0?indicator=doac-share&benchmark=peers")
    assert page.status_code == 200
    assert "Benchmark: its similar-" not in plain.text
    chart = page.text.split('id="deciles-chart-title"')[1].split("</svg>")[0]
    assert "Benchmark: its similar-" in chart and "solid black line is the benchmark chosen" in chart
    assert '<input type="hidden" name="benchmark" value="peers">' in page.text  # kept when the indicator changes
    body = client.get("/download/org-deciles.csv?code=MJ0&indicator=doac-share&benchmark=peers")
    rows = list(csv.DictReader(io.StringIO(body.text.lstrip("\ufeff"))))
    assert rows and all(r["benchmark_key"] == "peers" for r in rows)
    assert sum(1 for r in rows if r["benchmark_value"]) == len(rows)


def test_the_api_deciles_carry_the_benchmark_with_its_label(client, con, values) -> None:
    body = client.get("/api/v1/organisations/MJ0/deciles?indicator=doac-share&benchmark=region").json()
    assert body["benchmark"] == "region" and body["benchmark_label"] == "London region"
    for point in body["points"]:
        theirs = values[(values["org_code"] == "Y56") & (values["indicator"] == "doac-share")
                        & (values["period"] == pd.Timestamp(point["period"]))]["value"]
        assert point["benchmark_value"] == pytest.approx(float(theirs.iloc[0]))
    assert client.get("/api/v1/organisations/MJ0/deciles?indicator=doac-share&benchmark=x").status_code == 422


def test_an_edited_group_is_pooled_again_not_answered_from_its_old_etag(demo, signed_in) -> None:
    from uptake.store.models import utcnow

    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as session:
            user = session.scalar(select(User).where(User.email == demo.users["icb-analyst"].email))
            row = OrgGroup(owner_id=user.id, title="Changing cluster", description="", level="sub-icb",
                           members=[OrgGroupMember(org_code=c) for c in ("KK0", "KK1")])
            session.add(row)
            session.flush()
            group_id = row.id
        owner = signed_in("icb-analyst")
        url = f"/api/v1/organisations/MJ0/profile?benchmark=group:{group_id}"
        first = owner.get(url)
        assert first.status_code == 200 and first.json()["benchmark_detail"]["members"] == ["KK0", "KK1"]
        assert owner.get(url, headers={"if-none-match": first.headers["etag"]}).status_code == 304
        with session_scope(engine) as session:
            row = session.get(OrgGroup, group_id)
            row.members = [OrgGroupMember(org_code=c) for c in ("KK0", "KK1", "KK2")]
            row.updated_at = utcnow()
        again = owner.get(url, headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 200 and again.json()["benchmark_detail"]["members"] == ["KK0", "KK1", "KK2"]
    finally:
        engine.dispose()
