"""Issue 16's real innovations: each adapter reproduces its source's published totals (recomputed here from the
bundled raw files with the csv and gzip modules, not pandas), the CCG codes of 2012-2020 map onto the July 2022
sub-ICB locations, and a share-only indicator goes through the pipeline with deciles, SPC and adoption but no
intervals, comparisons, funnel or opportunity."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import statistics
from collections import defaultdict
from functools import cache
from importlib import resources

import duckdb
import pytest

import reference_pipeline as ref
from uptake.catalogue import load_catalogue
from uptake.catalogue.schemas import Indicator, Measure
from uptake.levels import Level
from uptake.pipeline import run_pipeline
from uptake.reference import ccg_successors, load_reference
from uptake.sources import SOURCES


def raw_rows(name: str) -> list[dict]:
    data = (resources.files("uptake.sources") / "data" / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@cache
def built(indicator_id: str):
    return SOURCES[indicator_id].build()


def national(indicator_id: str) -> dict[str, tuple[float, float]]:
    sums = built(indicator_id).groupby("period")[["numerator", "denominator"]].sum()
    return {day.isoformat(): (float(r.numerator), float(r.denominator)) for day, r in sums.iterrows()}


# ------------------------------------------------------------------------------------------ CCG mapping
def test_every_ccg_code_of_the_2012_2020_files_maps_onto_a_current_sub_icb_location():
    """ccg_successors.csv covers every CCG code of the three CCG-level files but 11D (17 months of zero DOAC
    items), and each successor is one of the 106 July 2022 sub-ICB locations of the hierarchy."""
    current = set(load_reference().of_level(Level.SUB_ICB)["code"])
    mapping = dict(zip(ccg_successors()["ccg_code"], ccg_successors()["sub_icb_code"], strict=True))
    assert set(mapping.values()) <= current
    for name in ("ccg_doac_items_and_share_monthly_2012_2020.csv.gz",
                 "ccg_freestyle_libre_quantity_monthly_2014_2019.csv.gz"):
        codes = {row["ccg_code"] for row in raw_rows(name)}
        unmapped = {c for c in codes if c not in mapping and c not in current}
        assert unmapped <= {"11D"}, (name, unmapped)
    # the 2019/20 CCGs merged into larger ones: 192 codes become at most 106 locations
    assert len({mapping.get(c, c) for c in codes}) <= 106
    # the two CCGs split in July 2022 go whole to the location holding most of their practices
    split = ccg_successors()[ccg_successors()["share"] < 0.95]
    assert dict(zip(split["ccg_code"], split["sub_icb_code"], strict=True)) == {"01Y": "01Y", "05L": "D2P2L"}


# ------------------------------------------------------------------------------------------ DOACs since 2012
def test_doac_2012_national_items_january_2012_and_january_2018_as_the_spread_readme_states():
    """spread/README.md: national DOAC items 1,034 in January 2012 (before NICE TA249) and 694,776 in January
    2018. The frame keeps every DOAC item of January 2018; in January 2012 it leaves out the location-months
    one of whose CCGs had no DOAC item (their denominators cannot be recovered)."""
    items: dict[str, int] = defaultdict(int)
    for row in raw_rows("ccg_doac_items_and_share_monthly_2012_2020.csv.gz"):
        items[row["month"]] += int(row["doac_items"])
    assert items["2012-01-01"] == 1_034 and items["2018-01-01"] == 694_776
    frame = national("doac-share-2012")
    assert frame["2018-01-01"][0] == 694_776
    assert 0 < frame["2012-01-01"][0] <= 1_034
    assert frame["2012-01-01"][0] / frame["2012-01-01"][1] == pytest.approx(0.0015, abs=0.0002)


def test_doac_2012_series_agrees_with_the_2017_2022_nice_file_where_they_overlap():
    """Two independent extracts of the same measure: OpenPrescribing's per CCG (mapped) and NHSBSA's compiled
    by NICE per sub-ICB location. October 2017 - March 2020, England's share agrees within 0.1 point (45.6% in
    October 2017 in both)."""
    old, new = national("doac-share-2012"), national("doac-share")
    overlap = sorted(set(old) & set(new))
    assert overlap[0] == "2017-10-01" and overlap[-1] == "2020-03-01" and len(overlap) == 30
    for month in overlap:
        assert old[month][0] / old[month][1] == pytest.approx(new[month][0] / new[month][1], abs=0.001), month
    assert round(100 * old["2017-10-01"][0] / old["2017-10-01"][1], 1) == 45.6


def test_doac_practice_median_share_as_the_spread_readme_states():
    """spread/README.md: median practice DOAC share 0.489 (January 2018) -> 0.822 (January 2023)."""
    by_month: dict[str, list[float]] = defaultdict(list)
    for row in raw_rows("practice_doacs_ratio_monthly_2018_2023.csv.gz"):
        if row["doac_share_of_doac_plus_warfarin_items"] not in ("", "nan", "NaN"):
            by_month[row["month"]].append(float(row["doac_share_of_doac_plus_warfarin_items"]))
    assert round(statistics.median(by_month["2018-01-01"]), 3) == 0.489
    assert round(statistics.median(by_month["2023-01-01"]), 3) == 0.822
    frame = built("doac-share-practice")
    assert (frame["denominator"] == 1).all()
    jan = frame[frame["period"] == dt.date(2018, 1, 1)]["numerator"]
    assert jan.median() == pytest.approx(0.489, abs=0.003)  # closed practices left out


# ------------------------------------------------------------------------------------------ SGLT2 and CGM
def test_sglt2_items_per_1000_patients_as_the_spread_readme_states():
    """spread/README.md: SGLT2 items per 1,000 registered patients 5.9 (Dec 2020), 11.0 (Dec 2022), 24.7
    (Dec 2025); England list size 60.6 M -> 63.9 M."""
    items: dict[str, int] = defaultdict(int)
    patients: dict[str, float] = defaultdict(float)
    for row in raw_rows("subicb_sglt2_items_monthly_2020_2025.csv.gz"):
        items[row["month"]] += int(row["sglt2_items"])
    for row in raw_rows("subicb_cgm_sensors_monthly_2020_2025.csv.gz"):
        patients[row["month"]] += float(row["list_size_thousands"]) * 1000
    frame = national("sglt2-items-per-1000")
    for month, expected in (("2020-12-01", 5.9), ("2022-12-01", 11.0), ("2025-12-01", 24.7)):
        assert round(1000 * items[month] / patients[month], 1) == expected
        assert frame[month][0] == items[month]
        assert frame[month][1] == pytest.approx(patients[month], abs=200)  # whole patients per location
        assert round(1000 * frame[month][0] / frame[month][1], 1) == expected
    assert round(patients["2020-12-01"] / 1e6, 1) == 60.6 and round(patients["2025-12-01"] / 1e6, 1) == 63.9


def test_cgm_libre_and_cgm_extracts_agree_and_the_stitched_series_starts_at_zero():
    """spread/README.md: Libre January 2018 = 1,622 sensors, identical to the CGM file's January 2018. The
    stitched series is 0 until November 2017 (the Drug Tariff listing) and takes each month from one file."""
    libre: dict[str, float] = defaultdict(float)
    cgm2018: dict[str, float] = defaultdict(float)
    for row in raw_rows("ccg_freestyle_libre_quantity_monthly_2014_2019.csv.gz"):
        libre[row["month"]] += float(row["libre_sensor_quantity"])
    for row in raw_rows("subicb_cgm_sensors_monthly_2018_2023.csv.gz"):
        cgm2018[row["month"]] += float(row["cgm_sensor_quantity"])
    assert libre["2018-01-01"] == cgm2018["2018-01-01"] == 1_622
    for month in (m for m in libre if "2018-01-01" <= m <= "2019-04-01"):  # two extracts, within 1%
        assert libre[month] == pytest.approx(cgm2018[month], rel=0.01), month
    frame = national("cgm-sensors-per-1000")
    assert min(frame) == "2014-05-01" and max(frame) == "2025-12-01"
    assert all(frame[m][0] == 0 for m in frame if m < "2017-11-01")
    assert frame["2017-11-01"][0] == libre["2017-11-01"] > 0
    assert frame["2018-01-01"][0] == 1_622
    assert round(1000 * frame["2025-12-01"][0] / frame["2025-12-01"][1], 1) == 14.0


def test_cgm_practice_rate_is_stored_per_patient_and_shown_per_1000():
    ind = load_catalogue().indicators["cgm-sensors-per-1000-practice"]
    assert ind.measure == Measure.SHARE_ONLY and ind.multiplier == 1000
    raw = {(r["practice_code"], r["month"]): r["cgm_sensor_quantity_per_1000_patients"]
           for r in raw_rows("practice_cgm_sensors_ratio_monthly_2018_2023.csv.gz")}
    frame = built("cgm-sensors-per-1000-practice")
    sample = frame.iloc[:: max(1, len(frame) // 500)]
    for row in sample.itertuples():
        assert row.numerator * 1000 == pytest.approx(float(raw[(row.org_code, row.period.isoformat())]))


# ------------------------------------------------------------------------------------------ hospital medicines
def test_breast_cancer_scorecard_totals_per_quarter():
    """The October 2022 scorecard's seven medicines: 488,951 average daily quantities in the quarter ending 30
    September 2020 and 686,487 in the quarter ending 30 June 2022 (42 STPs); per 100,000 population 865 and
    1,214."""
    totals: dict[str, int] = defaultdict(int)
    population: dict[str, dict[str, int]] = defaultdict(dict)
    for row in raw_rows("stp_innovation_scorecard_breast_cancer_TA_meds_quarterly_2020_2022.csv.gz"):
        totals[row["date"]] += int(row["numerator"])
        population[row["date"]][row["stp_ods_cd"]] = int(row["denominator"])
    assert totals["2020-09-30"] == 488_951 and totals["2022-06-30"] == 686_487
    frame = national("breast-cancer-ta-medicines-add")
    assert frame["2020-07-01"] == (488_951, sum(population["2020-09-30"].values()))
    assert frame["2022-04-01"][0] == 686_487
    assert round(1e5 * frame["2020-07-01"][0] / frame["2020-07-01"][1]) == 865
    assert round(1e5 * frame["2022-04-01"][0] / frame["2022-04-01"][1]) == 1_214
    assert len(built("breast-cancer-ta-medicines-add")["org_code"].unique()) == 42


def test_remdesivir_appears_in_march_2020_and_tocilizumab_has_a_steady_baseline():
    """SCMD: no remdesivir before March 2020 (105 vials of 100 mg = 105 defined daily doses that month); the
    September 2020 total recomputed with the csv module equals the frame's plus the rows it drops."""
    doses: dict[str, float] = defaultdict(float)
    for row in raw_rows("trust_scmd_remdesivir_tocilizumab_sarilumab_monthly_2019_2020.csv.gz"):
        if row["vmp_product_name"].startswith("Remdesivir"):
            mg = float(row["vmp_product_name"].split()[1].split("mg")[0])
            doses[row["year_month"]] += float(row["total_quantity"]) * mg / 100
    assert min(doses) == "2020-03-01" and doses["2020-03-01"] == 105
    frame = national("covid-remdesivir-ddd")
    assert all(frame[m][0] == 0 for m in frame if m < "2020-03-01")
    assert frame["2020-03-01"][0] == 105
    assert frame["2020-09-01"][0] == pytest.approx(doses["2020-09-01"], rel=0.03)  # split trusts' rows dropped
    toc = national("covid-tocilizumab-ddd")
    year = {y: sum(toc[m][0] for m in toc if m.startswith(y)) / sum(toc[m][1] for m in toc if m.startswith(y))
            for y in ("2019", "2020")}
    assert year["2020"] == pytest.approx(year["2019"], rel=0.2)  # no COVID-19 surge before its 2021 recommendation


# ------------------------------------------------------------------------------------------ share-only
@pytest.fixture(scope="module")
def share_only_workspace(tmp_path_factory):
    """A workspace (both stores) with one share-only practice indicator, computed."""
    from uptake.store.migrate import upgrade
    from uptake.workspace import Workspace

    root = tmp_path_factory.mktemp("share-only")
    ws = Workspace.resolve(root).ensure()
    upgrade(ws.database_url)
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=2), seed=8)
    periods = ref.months(dt.date(2021, 1, 1), 14)
    counts = ref.make_observations(list(orgs[orgs.level == "practice"].code), periods, seed=9)
    counts = counts[counts["denominator"] > 0]
    shares = counts.assign(numerator=counts["numerator"] / counts["denominator"], denominator=1.0)
    base = ref.indicator("s", Level.PRACTICE, unit_cost=None).model_dump()
    share_only = Indicator.model_validate({**base, "measure": "share-only",
                                           "plausibility": {"fractional": ["numerator"]}})
    catalogue = ref.catalogue_of(share_only)
    ref.build_workspace(ws.analytics_path, orgs, rels, {"s": shares})
    run_pipeline(ws, engine="duckdb", catalogue=catalogue)
    return ws, catalogue, shares, periods


def test_a_share_only_indicator_has_deciles_spc_and_adoption_but_no_intervals_funnel_or_opportunity(
        share_only_workspace):
    ws, _, shares, periods = share_only_workspace
    con = duckdb.connect(str(ws.analytics_path), read_only=True)
    try:
        practice = con.execute("SELECT count(*), count(ci95_low), count(decile), count(percent_rank), "
                               "count(*) FILTER (WHERE comparison <> 'not compared') FROM result_values "
                               "WHERE level = 'practice'").fetchone()
        england = con.execute("SELECT period, value FROM result_values WHERE level = 'england' "
                              "ORDER BY period").fetchall()
        spc = con.execute("SELECT count(*) FROM result_spc WHERE level = 'practice' AND centre IS NOT NULL").fetchone()
        funnel = con.execute("SELECT count(*) FROM result_funnel WHERE lower95 IS NOT NULL").fetchone()
        opportunity = con.execute("SELECT count(*) FROM result_opportunity").fetchone()
        adoption = con.execute("SELECT count(*) FROM result_adoption").fetchone()
    finally:
        con.close()
    assert practice[0] == len(shares) and practice[1] == 0 and practice[4] == 0
    assert practice[2] == practice[3] == len(shares)
    # England is the unweighted mean of the practices' shares
    first = shares[shares["period"] == periods[0]]["numerator"].mean()
    assert england[0][1] == pytest.approx(first)
    assert spc[0] > 0 and adoption[0] > 0
    assert funnel[0] == 0 and opportunity[0] == 0


def test_share_only_entries_must_not_claim_counts():
    base = ref.indicator("s", Level.PRACTICE, unit_cost=None).model_dump()
    with pytest.raises(ValueError, match="fractional"):
        Indicator.model_validate({**base, "measure": "share-only"})
    with pytest.raises(ValueError, match="unit_cost"):
        Indicator.model_validate({**base, "measure": "share-only", "unit_cost": 40.0,
                                  "plausibility": {"fractional": ["numerator"]}})


def test_the_share_only_page_says_why_there_is_no_interval_funnel_or_opportunity(share_only_workspace):
    from fastapi.testclient import TestClient

    from uptake.web.app import create_app

    ws, catalogue, _, _ = share_only_workspace
    app = create_app(ws, catalogue=catalogue, boundaries=lambda level: None, secret_key="k" * 48)
    with TestClient(app) as client:
        page = client.get("/innovations/test-innovation?indicator=s&level=practice")
        funnel = client.get("/api/v1/funnel?indicator=s&level=practice").json()
        ranking = client.get("/api/v1/improvement?indicator=s&level=practice&per_page=1000").json()
    assert page.status_code == 200
    for marker in ('id="share-only-note"', 'id="funnel-share-only"', 'id="opportunity-share-only"',
                   'id="improvement-share-only"', 'id="improvement-table"'):
        assert marker in page.text, marker
    assert 'id="funnel"' not in page.text
    assert funnel["points"] == [] and "values only" in funnel["note"]
    assert ranking["items"] and all(r["change_low"] is None and r["verdict"] == "no interval"
                                    for r in ranking["items"])
    changes = [r["change"] for r in ranking["items"]]
    assert changes == sorted(changes, reverse=True)
    assert all(r["change"] == pytest.approx(r["value_end"] - r["value_start"]) for r in ranking["items"])
