"""Value across organisations on the web: the page (table per ICB, chart, how it was calculated), its
downloads, and /api/v1/value, each checked against uptake.models.value run on the same gaps."""

from __future__ import annotations

import csv
import io

import pytest

from uptake.models import value
from uptake.web.tables.value import unit_draws


def test_page_shows_each_icb_with_sector_intervals_and_the_method(client) -> None:
    page = client.get("/value-across-organisations")
    assert page.status_code == 200
    html = page.text
    for text in ("Who pays and who saves", "Cost to primary care", "Saving to NHS trusts", "Saving to social care",
                 "95% interval", "How was this calculated?", "Xu et al", "value-sectors",
                 "/download/value-icbs.csv?benchmark=top-decile", "NHS Somerset ICB", "not patients"):
        assert text in html, text


def test_api_matches_the_model_on_the_same_gaps(client) -> None:
    answer = client.get("/api/v1/value")
    assert answer.status_code == 200 and answer.headers["etag"]
    body = answer.json()
    assert body["indicator"] == "doac-share" and "not patients" in body["unit"]
    items = body["items"]
    assert items and [i["extra_units"] for i in items] == sorted((i["extra_units"] for i in items), reverse=True)
    first = items[0]
    [expected] = value.icb_value([value.IcbGap(first["icb_code"], first["icb_name"], first["extra_units"])],
                                 unit_draws())
    for key in ("cost_primary_care", "saving_nhs_trusts_low", "saving_social_care_high", "net", "transfer"):
        assert first[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-6)
    for i in items:
        assert i["cost_primary_care_low"] <= i["cost_primary_care"] <= i["cost_primary_care_high"]
        assert i["net"] == pytest.approx(i["saving_nhs_trusts"] + i["saving_social_care"] - i["cost_primary_care"])
    # a different benchmark gives different gaps; an unknown one is refused
    median = client.get("/api/v1/value?benchmark=median").json()["items"]
    assert sum(i["extra_units"] for i in median) < sum(i["extra_units"] for i in items)
    assert client.get("/api/v1/value?benchmark=best").status_code == 422


def test_downloads_carry_every_icb_and_the_inputs(client) -> None:
    answer = client.get("/download/value-icbs.csv?benchmark=top-decile")
    assert answer.status_code == 200
    found = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    api = client.get("/api/v1/value").json()["items"]
    assert {r["icb_code"] for r in found} == {i["icb_code"] for i in api}
    assert {"cost_primary_care_low", "saving_social_care_high", "transfer", "synthetic"} <= set(found[0])
    xlsx = client.get("/download/value-icbs.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    inputs = client.get("/download/value-inputs.csv")
    assert inputs.status_code == 200 and "Xu XM" in inputs.text and "NHSBSA" in inputs.text
    assert client.get("/value-across-organisations?benchmark=nonsense").status_code == 404


def test_icb_gaps_equal_a_pandas_sum_of_the_organisations(demo) -> None:
    """read.outcomes.gaps_by_icb against the obvious computation: each sub-ICB's gap (one per organisation)
    summed over its current ICB."""
    from uptake.results import read
    from uptake.web.snapshot import load_snapshot

    cur = load_snapshot(demo.workspace.analytics_path).cursor()
    found = {r["icb_code"]: r for r in read.outcomes.gaps_by_icb(cur, "doac-share", "top-decile")}
    out = cur.execute("SELECT * FROM result_outcomes WHERE indicator = 'doac-share' AND level = 'sub-icb' AND "
                      "benchmark = 'top-decile'").df()
    out = out[out["period"] == out["period"].max()].drop_duplicates("org_code").dropna(subset=["extra_units"])
    links = cur.execute("SELECT child_code AS org_code, parent_code FROM relationships WHERE parent_level = 'icb' "
                        "AND valid_to IS NULL").df()
    expected = out.merge(links, on="org_code").groupby("parent_code")["extra_units"].agg(["sum", "count"])
    assert set(found) == set(expected.index)
    for code, row in expected.iterrows():
        assert found[code]["extra_units"] == pytest.approx(row["sum"]) and found[code]["organisations"] == row["count"]
    assert read.outcomes.gaps_by_icb(cur, "no-such-indicator") == []
