"""The source adapters: every frame has the observation shape, real organisation codes of the right level,
periods aligned with its indicator, and headline figures that match the raw files when recomputed here by
a different, plain method (the csv module and dictionaries, not pandas)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from uptake.catalogue import load_catalogue
from uptake.catalogue.schemas import Measure
from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.sources import OBSERVATION_COLUMNS, SOURCES
from uptake.sources import narcolepsy, synthetic

SHARED = Path("/work/shared/data/organisations")


# ---------------------------------------------------------------------------------------------------
# Organisation lists, read straight from the shared organisation files (independent of uptake.reference)
# ---------------------------------------------------------------------------------------------------
def _csv_rows(path: Path, header: bool = True, encoding: str = "utf-8") -> list:
    with path.open(newline="", encoding=encoding) as handle:
        return list(csv.DictReader(handle) if header else csv.reader(handle))


@cache
def organisation_lists() -> dict[Level, frozenset[str]]:
    if not SHARED.is_dir():
        pytest.skip(f"the shared organisation files are not on this machine ({SHARED})")
    practices = frozenset(
        row[0]
        for row in _csv_rows(SHARED / "epraccur_2023-12.csv", header=False)
        if row[12] == "A" and row[25] == "4" and row[2] != "W00"  # active English GP practices
    )
    trusts = frozenset(
        row["ods_code"]
        for row in _csv_rows(SHARED / "etr_trusts_2022.csv")
        if row["close_date"] in ("", "NA") and row["region_code"] != "W00"  # open English trusts
    )
    sub_icbs = frozenset(
        row["region"].rsplit(" - ", 1)[1]
        for row in _csv_rows(SHARED / "sicbl_icb_isdn_2022.csv")
        if row["region_type"] == "SICBL"
    )
    units = frozenset(
        row["postcode"].replace(" ", "").upper()
        for row in _csv_rows(SHARED / "stroke_units_2022.csv")
        if row["country"] == "England"
    )
    icbs = frozenset(row["ICB Code"] for row in _csv_rows(SHARED / "ccg_to_icb.csv", encoding="utf-8-sig"))
    return {Level.PRACTICE: practices, Level.TRUST: trusts, Level.SUB_ICB: sub_icbs, Level.STROKE_UNIT: units,
            Level.ICB: icbs}


def test_organisation_lists_have_the_expected_sizes():
    lists = organisation_lists()
    assert len(lists[Level.SUB_ICB]) == 106
    assert len(lists[Level.TRUST]) == 209
    assert len(lists[Level.STROKE_UNIT]) == 128
    assert len(lists[Level.PRACTICE]) == 6348


@cache
def built(indicator_id: str) -> pd.DataFrame:
    source = SOURCES[indicator_id]
    return source.build(organisation_lists()[source.level])


@cache
def built_default(indicator_id: str) -> pd.DataFrame:
    """The frame the demo gets: ``build()`` with the bundled hierarchy's organisations."""
    return SOURCES[indicator_id].build()


def raw_text(name: str) -> str:
    return (resources.files("uptake.sources") / "data" / name).read_text(encoding="utf-8")


CATALOGUE = load_catalogue()
ALL = sorted(SOURCES)


# ---------------------------------------------------------------------------------------------------
# Every source
# ---------------------------------------------------------------------------------------------------
def test_every_indicator_has_a_source_and_every_source_an_indicator():
    assert set(SOURCES) == set(CATALOGUE.indicators)


@pytest.mark.parametrize("indicator_id", ALL)
def test_registry_entry_matches_the_catalogue(indicator_id):
    source, indicator = SOURCES[indicator_id], CATALOGUE.indicators[indicator_id]
    assert source.indicator_id == indicator_id
    assert source.synthetic == indicator.synthetic
    assert [source.level] == indicator.levels
    assert source.name and source.description and source.reference_check
    provenance = raw_text("PROVENANCE.md")
    for name in source.files:
        assert (resources.files("uptake.sources") / "data" / name).is_file()
        assert f"`{name}`" in provenance


@pytest.mark.parametrize("indicator_id", ALL)
def test_frame_has_the_observation_shape(indicator_id):
    frame = built(indicator_id)
    assert tuple(frame.columns) == OBSERVATION_COLUMNS
    assert len(frame) > 0
    fractional = {f.value for f in CATALOGUE.indicators[indicator_id].plausibility.fractional}
    for column in ("numerator", "denominator"):  # whole counts unless the catalogue says they may be fractional
        assert str(frame[column].dtype) in (("int64", "float64") if column in fractional else ("int64",))
    assert all(type(day) is dt.date for day in frame["period"])
    assert not frame.duplicated(["org_code", "period"]).any()
    assert (frame["numerator"] >= 0).all()
    assert (frame["denominator"] > 0).all()
    assert isinstance(frame.attrs["dropped"], dict)


@pytest.mark.parametrize("indicator_id", ALL)
def test_codes_are_organisations_of_the_indicator_level(indicator_id):
    source = SOURCES[indicator_id]
    known = organisation_lists()[source.level]
    frame = built(indicator_id)
    assert set(frame["org_code"]) <= known
    # No row was lost for want of a known code (the one QOF practice outside the list of active
    # practices, dormant F86679, has no data for these three domains anyway).
    lost = {reason: n for reason, n in frame.attrs["dropped"].items() if "hierarchy" in reason}
    assert sum(lost.values()) <= EXPECTED_LOST.get(indicator_id, 0), lost


#: rows of codes that are not current organisations of the level, dropped by design: practices that closed
#: before December 2023 (the 2018-2023 practice series), and a few hospital rows of non-English or unknown codes
EXPECTED_LOST = {"doac-share-practice": 18_702, "cgm-sensors-per-1000-practice": 19_627,
                 "covid-remdesivir-ddd": 6, "covid-tocilizumab-ddd": 6}


@pytest.mark.parametrize("indicator_id", ALL)
def test_periods_align_with_the_indicator(indicator_id):
    indicator = CATALOGUE.indicators[indicator_id]
    for day in set(built(indicator_id)["period"]):
        assert indicator.period_ok(day) is None, (day, indicator.period_ok(day))


@pytest.mark.parametrize(
    "indicator_id", [i for i in ALL if CATALOGUE.indicators[i].measure == Measure.PROPORTION]
)
def test_proportions_never_exceed_one(indicator_id):
    frame = built(indicator_id)
    assert (frame["numerator"] <= frame["denominator"]).all()


# ---------------------------------------------------------------------------------------------------
# DOACs: the national share per month, recomputed from the raw CSV with the csv module
# ---------------------------------------------------------------------------------------------------
def national_from_raw(numerator_chemicals: set[str], denominator_chemicals: set[str]) -> dict:
    num: dict[str, int] = defaultdict(int)
    den: dict[str, int] = defaultdict(int)
    text = raw_text("doac_warfarin_items_sicbl_monthly_2017-10_2022-09.csv")
    for row in csv.DictReader(io.StringIO(text)):
        if row["chemical"] in numerator_chemicals:
            num[row["date"]] += int(row["items"])
        if row["chemical"] in denominator_chemicals:
            den[row["date"]] += int(row["items"])
    return {month: (num[month], den[month]) for month in den}


def national_from_frame(frame: pd.DataFrame) -> dict:
    sums = frame.groupby("period")[["numerator", "denominator"]].sum()
    return {day.isoformat(): (int(r.numerator), int(r.denominator)) for day, r in sums.iterrows()}


DOACS = {"Apixaban", "Dabigatran etexilate", "Edoxaban", "Rivaroxaban"}


def test_doac_share_national_series_equals_the_raw_file():
    expected = national_from_raw(DOACS, DOACS | {"Warfarin sodium"})
    actual = national_from_frame(built("doac-share"))
    assert len(actual) == 60
    assert actual == expected
    first, last = expected["2017-10-01"], expected["2022-09-01"]
    assert round(first[0] / first[1], 3) == 0.456 and round(last[0] / last[1], 3) == 0.799


def test_edoxaban_share_national_series_equals_the_raw_file():
    assert national_from_frame(built("edoxaban-share")) == national_from_raw({"Edoxaban"}, DOACS)


def test_doac_share_has_every_location_every_month():
    frame = built("doac-share")
    assert frame["org_code"].nunique() == 106 and frame["period"].nunique() == 60 and len(frame) == 6360


# ---------------------------------------------------------------------------------------------------
# Thrombolysis
# ---------------------------------------------------------------------------------------------------
def team_table() -> dict[str, dict[str, str]]:
    """column header -> {statistic: value}, read from the wide team table with the csv module."""
    rows = list(csv.reader(io.StringIO(raw_text("ssnap_team_summary_stats_2016-2021.csv"))))
    header = rows[0]
    table: dict[str, dict[str, str]] = {name: {} for name in header[1:]}
    for row in rows[1:]:
        for name, value in zip(header[1:], row[1:], strict=True):
            table[name][row[0]] = value
    return table


def test_thrombolysis_rate_reproduces_the_published_proportions():
    table = team_table()
    postcode = {
        row["Postcode"].replace(" ", "").upper(): row["stroke_team"].strip()
        for row in csv.DictReader(io.StringIO(raw_text("ssnap_team_postcodes.csv")))
    }
    frame = built("thrombolysis-rate")
    assert len(frame) == 619 and frame["org_code"].nunique() == 106
    for row in frame.itertuples():
        stats = table[f"{postcode[row.org_code]} ({row.period.year})"]
        assert row.denominator == int(stats["count"])
        published = float(stats["thrombolysis"])
        # the published proportion has 3 decimals: the rounded count must round back to it
        assert abs(row.numerator / row.denominator - published) <= 0.0005 + 0.5 / row.denominator
        assert row.numerator == math.floor(published * row.denominator + 0.5)


def test_thrombolysis_rate_national_matches_the_published_aggregate():
    table = team_table()
    for year in range(2016, 2022):
        num = den = 0
        for name, stats in table.items():
            if name.endswith(f"({year})") and not name.startswith("All "):
                num += math.floor(float(stats["thrombolysis"]) * int(stats["count"]) + 0.5)
                den += int(stats["count"])
        published = float(table[f"All England & Wales ({year})"]["thrombolysis"])
        assert abs(num / den - published) < 0.002


def test_thrombolysis_all_admissions_equals_the_published_counts():
    hospitals = {
        row["Postcode"]: row for row in csv.DictReader(io.StringIO(raw_text("stroke_hospitals_2022.csv")))
    }
    frame = built("thrombolysis-rate-all-admissions")
    assert len(frame) == 113 and set(frame["period"]) == {dt.date(2021, 4, 1)}
    for row in frame.itertuples():
        raw = hospitals[row.org_code]
        assert raw["Country"] == "England"
        published = (int(float(raw["Thrombolysis"])), int(raw["Admissions 21/22"]))
        assert (row.numerator, row.denominator) == published
        assert round(100 * row.numerator / row.denominator, 1) == float(raw["ivt_rate"])


# ---------------------------------------------------------------------------------------------------
# QOF: the register and the weighted score, recomputed per practice
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "indicator_id,domain",
    [
        ("qof-af-achievement", "AF"),
        ("qof-hypertension-achievement", "HYP"),
        ("qof-stroke-tia-achievement", "STIA"),
    ],
)
def test_qof_counts_are_derived_from_the_published_percentages(indicator_id, domain):
    expected = {}
    for row in csv.DictReader(io.StringIO(raw_text("qof_cvd_gp_practice_2023-24.csv"))):
        values = [row[f"{part}_{domain}"] for part in ("Achievement", "Prevalence", "List.Size")]
        if row["Practice.Code"] in ("", "NA") or "NA" in values:
            continue
        achievement, prevalence, list_size = (float(v) for v in values)
        register = math.floor(prevalence * list_size / 100 + 0.5)
        if register > 0:
            expected[row["Practice.Code"]] = (math.floor(achievement * register / 100 + 0.5), register)
    frame = built(indicator_id)
    actual = {r.org_code: (r.numerator, r.denominator) for r in frame.itertuples()}
    assert actual == expected
    assert set(frame["period"]) == {dt.date(2023, 4, 1)}


# ---------------------------------------------------------------------------------------------------
# Narcolepsy: daily doses, trust mapping and an independent recomputation
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "product,mg",
    [
        ("Pitolisant 4.5mg tablets", 4.5),
        ("Pitolisant 18mg tablets", 18.0),
        ("Sodium oxybate 500mg/ml oral solution sugar free", 500.0),
        ("Modafinil 100mg/5ml oral suspension", 20.0),
        ("Modafinil 200mg tablets", 200.0),
    ],
)
def test_strength_per_unit_is_read_from_the_product_name(product, mg):
    assert narcolepsy.mg_per_unit(product) == mg


def test_unknown_products_are_refused():
    with pytest.raises(UptakeError, match="unknown product"):
        narcolepsy.agent_of("Oxybate mixed salts 500mg/ml oral solution")
    assert narcolepsy.agent_of("Methylphenidate 10mg tablets") is None


def test_predecessor_codes_map_to_open_trusts():
    trusts = organisation_lists()[Level.TRUST]
    for old, (new, _) in narcolepsy.PREDECESSORS.items():
        assert old not in trusts and new in trusts
    for code in narcolepsy.SPLIT_TRUSTS:
        assert code not in trusts


def test_predecessor_codes_agree_with_the_reference_successor_table():
    table = resources.files("uptake.reference") / "data" / "trust_successors.csv"
    if not table.is_file():
        pytest.skip("the reference hierarchy has no trust_successors.csv")
    rows = csv.DictReader(io.StringIO(table.read_text(encoding="utf-8")))
    successors = {row["predecessor_code"]: row["successor_code"] for row in rows}
    for old, (new, _) in narcolepsy.PREDECESSORS.items():
        if old in successors:
            assert successors[old] == new, old


def test_narcolepsy_share_equals_a_plain_recomputation():
    daily_mg = {"pitolisant": 18.0, "solriamfetol": 150.0, "sodium oxybate": 7500.0, "modafinil": 300.0}
    trusts = organisation_lists()[Level.TRUST]
    per_agent: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in csv.DictReader(io.StringIO(raw_text("narcolepsy_medicines_trust_monthly.csv"))):
        name = row["vmp_product_name"].lower()
        agent = next((a for a in daily_mg if name.startswith(a)), None)
        if agent is None:
            continue
        code = narcolepsy.PREDECESSORS.get(row["ods_code"], (row["ods_code"],))[0]
        if code not in trusts:
            continue
        strength = name.split("mg")[0].split()[-1]
        per = name.split("mg/")[1].split("ml")[0] if "mg/" in name else ""
        mg = float(strength) / (float(per) if per else 1.0)
        per_agent[(code, row["year_month"])][agent] += float(row["total_quantity"]) * mg / daily_mg[agent]
    expected = {}
    for (code, month), doses in per_agent.items():
        if min(doses.values()) < 0:
            continue
        total = math.floor(sum(doses.values()) + 0.5)
        if total > 0:
            newer = math.floor(doses["pitolisant"] + doses["solriamfetol"] + 0.5)
            expected[(code, month)] = (newer, total)
    frame = built("narcolepsy-newer-share")
    actual = {(r.org_code, r.period.isoformat()): (r.numerator, r.denominator) for r in frame.itertuples()}
    assert actual == expected
    # merged trusts' rows went to the successor: Manchester University (R0A) absorbs RM2 and RW3
    assert ("R0A", "2021-10-01") in actual


def test_narcolepsy_drops_are_counted():
    dropped = built("narcolepsy-newer-share").attrs["dropped"]
    assert dropped["rows of stimulants mainly used for ADHD (methylphenidate, amfetamines)"] == 25755
    assert dropped["rows of trusts split between successors (RTV, RW6)"] == 33


def test_narcolepsy_needs_a_trust_list_when_the_hierarchy_is_missing(monkeypatch):
    monkeypatch.setattr(narcolepsy, "resolve_codes", lambda level, codes: None)
    with pytest.raises(UptakeError, match="open trusts"):
        narcolepsy.build_narcolepsy_newer_share()


# ---------------------------------------------------------------------------------------------------
# Synthetic series: deterministic, and shaped like the public facts they rest on
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("indicator_id", ["lung-cancer-early-stage", "dementia-diagnosis-rate"])
def test_synthetic_series_are_reproducible(indicator_id):
    first = SOURCES[indicator_id].build()
    again = SOURCES[indicator_id].build()
    pd.testing.assert_frame_equal(first, again)


def national(frame: pd.DataFrame) -> pd.Series:
    sums = frame.groupby("period")[["numerator", "denominator"]].sum()
    return sums["numerator"] / sums["denominator"]


def test_lung_cancer_series_moves_from_the_ippr_baseline_towards_screening_levels():
    rate = national(built("lung-cancer-early-stage"))
    by_year = rate.groupby([day.year for day in rate.index]).mean()
    assert 0.25 <= by_year[2017] <= 0.31  # IPPR table 2.4: about 26-27% of staged lung cancers
    assert 0.32 <= by_year[2025] <= 0.40  # screening spreading; still far from the two-thirds target
    assert rate[dt.date(2020, 4, 1)] < rate[dt.date(2020, 1, 1)]  # Covid-19 dip
    frame = built("lung-cancer-early-stage")
    assert frame.groupby("period")["denominator"].sum().between(6_000, 10_500).all()


def test_dementia_series_follows_the_national_s_curve_and_covid_fall():
    rate = national(built("dementia-diagnosis-rate"))
    assert rate[dt.date(2013, 4, 1)] < 0.52
    assert rate[dt.date(2018, 4, 1)] > synthetic.DEMENTIA_DIAGNOSIS_AMBITION
    assert rate[dt.date(2021, 2, 1)] < 0.63
    assert 0.62 <= rate[dt.date(2025, 9, 1)] <= 0.66  # about 64-65%, below the 66.7% ambition
    latest = built("dementia-diagnosis-rate").query("period == @dt.date(2025, 9, 1)")
    area = latest["numerator"] / latest["denominator"]
    assert area.min() > 0.45 and area.max() < 0.85  # between-area variation like the published range


@pytest.mark.parametrize("indicator_id", ALL)
def test_default_build_keeps_only_organisations_of_the_bundled_hierarchy(indicator_id):
    from uptake.sources._common import reference_codes

    source = SOURCES[indicator_id]
    codes = reference_codes(source.level)
    if codes is None:
        pytest.skip("the bundled reference hierarchy is not available")
    assert set(built_default(indicator_id)["org_code"]) <= codes


@pytest.mark.parametrize("indicator_id", ALL)
def test_frames_pass_the_ingest_validation(indicator_id):
    """The demo loads these frames through the normal ingest; dry-run its validation here."""
    validate_module = pytest.importorskip("uptake.ingest.validate")
    readers = pytest.importorskip("uptake.ingest.readers")
    from uptake.sources._common import reference_codes

    if reference_codes(Level.SUB_ICB) is None:
        pytest.skip("the bundled reference hierarchy is not available")
    from uptake.reference import load_reference

    organisations = load_reference().organisations[["code", "level"]]
    raw = readers.from_frame(built_default(indicator_id), "<frame>")
    result = validate_module.validate(raw, CATALOGUE.indicators[indicator_id], organisations)
    assert result.ok, result.problems.frame.head(5).to_dict("records")
