"""Ingest plausibility and completeness: numbers within reason, whole counts, the bounds each indicator states
in the catalogue (value range, sizes per head, jumps against the organisation's recent values, complete
periods), --partial and --allow-jumps with what they record; the issue's two-row file; generated
implausible files; the bundled real and synthetic series pass the bounds and the bounds bite on them."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers_ingest import HEADER, make_catalogue, make_indicator, make_store, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.analytics import SCHEMA_VERSION, AnalyticsStore
from uptake.ingest import IngestRejected, ingest_file, ingest_frame

IND = "doac-share"
CHECKS = {
    "value_range": [0.0, 1.0], "max_per_head": 0.1, "max_size_change": 3,
    "jump": {"factor": 2, "min_change": 0.1}, "completeness": {"of_reference": 0.9, "of_previous": 0.9},
}
SUB_ICBS = ["93C", "00L", "01A", "02G"]  # the 4 sub-ICB locations of helpers_ingest, population 100,000 each


def months(start: str, count: int) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(start, periods=count, freq="MS")]


def rejected(store, catalogue, path, indicator=IND, **kwargs):
    before = store.fingerprint()
    with pytest.raises(IngestRejected) as info:
        ingest_file(store, catalogue, path, indicator, loaded_by="tester", **kwargs)
    assert store.fingerprint() == before, "a rejected file must leave the store unchanged"
    return list(info.value.problems)


def rules(problems) -> set[str]:
    return {p.rule for p in problems}


@pytest.fixture()
def store(tmp_path):
    return make_store(tmp_path / "ws")


@pytest.fixture()
def checked():
    """doac-share with stated bounds; a rate that may be fractional; an indicator with no stated bounds."""
    return make_catalogue(
        make_indicator(plausibility=CHECKS),
        make_indicator(id="diagnosis-rate", measure="rate",
                       plausibility={"fractional": ["denominator"], "value_range": [0, 1.5]}),
        make_indicator(id="unit-rate", levels=["stroke-unit"], plausibility={"max_per_head": 0.00001}),
        make_indicator(id="plain"),
    )


def stable_history(store, catalogue, tmp_path, count: int = 6, indicator: str = IND):
    """``count`` complete months from January 2024: every sub-ICB at about 60% of 1,000 items."""
    lines = [f"{code},{day},{600 + i},{1000 + 2 * i}" for i, day in enumerate(months("2024-01-01", count))
             for code in SUB_ICBS]
    return ingest_file(store, catalogue, write_csv(tmp_path / "history.csv", lines), indicator, loaded_by="t")


# ---------------------------------------------------------------------- numbers within reason (every indicator)
@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "nan", "NaN", "1e999", "-1e400"])
def test_non_finite_counts_are_refused_as_infinite_or_undefined(store, checked, tmp_path, text):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,5,10", f"01A,2024-01-01,{text},10"])
    (problem,) = rejected(store, checked, path, "plain")
    assert (problem.rule, problem.row, problem.column, problem.value) == ("not-a-number", 3, "numerator", text)
    assert "infinite or undefined" in problem.reason


def test_non_finite_floats_in_a_parquet_file_are_refused(store, checked, tmp_path):
    path = tmp_path / "f.parquet"
    pd.DataFrame({"org_code": ["00L", "01A"], "period": ["2024-01-01"] * 2, "numerator": [5.0, 3.0],
                  "denominator": [10.0, math.inf]}).to_parquet(path)
    (problem,) = rejected(store, checked, path, "plain")
    assert (problem.rule, problem.row, problem.column) == ("not-a-number", 3, "denominator")
    assert "infinite or undefined" in problem.reason


@pytest.mark.parametrize("text", ["1e308", "1e30", "99999999999999999999999999", "9007199254740994"])
def test_counts_too_large_to_be_counts_are_out_of_range(store, checked, tmp_path, text):
    path = write_csv(tmp_path / "f.csv", [f"00L,2024-01-01,5,{text}", f"01A,2024-01-01,{text},{text}"])
    problems = rejected(store, checked, path, "plain")
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("out-of-range", 2, "denominator"), ("out-of-range", 3, "numerator"), ("out-of-range", 3, "denominator"),
    ]
    assert "too large to be a count" in problems[0].reason and "9,007,199,254,740,992" in problems[0].reason


def test_two_counts_of_1e308_cannot_overflow_a_total(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,1,1e308", "01A,2024-01-01,1,1e308"])
    assert rules(rejected(store, checked, path, "plain")) == {"out-of-range"}
    assert store.observations_current().empty


def test_a_fractional_count_is_refused_where_the_indicator_counts(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,12.5,100", "01A,2024-01-01,3,40.25"])
    problems = rejected(store, checked, path, "plain")
    assert [(p.rule, p.row, p.column, p.value) for p in problems] == [
        ("not-whole", 2, "numerator", "12.5"), ("not-whole", 3, "denominator", "40.25"),
    ]
    assert "is not a whole number" in problems[0].reason and "DOAC items" in problems[0].reason
    assert "plausibility.fractional" in problems[0].action


def test_a_count_the_catalogue_says_may_be_fractional_loads(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,40,60.4", "01A,2024-01-01,3,4.5"])
    result = ingest_file(store, checked, path, "diagnosis-rate", loaded_by="t")
    assert store.observations_current("diagnosis-rate")["denominator"].tolist() == [60.4, 4.5]
    assert result.rows == 2
    bad = write_csv(tmp_path / "g.csv", ["00L,2024-02-01,40.5,60"])  # only the denominator may be
    assert [(p.rule, p.column) for p in rejected(store, checked, bad, "diagnosis-rate")] == [
        ("not-whole", "numerator")
    ]


# ------------------------------------------------------------------------------- stated bounds, row by row
def test_value_outside_the_stated_range(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,140,100", "01A,2024-01-01,160,100"])
    (problem,) = rejected(store, checked, path, "diagnosis-rate")
    assert (problem.rule, problem.row, problem.column, problem.value) == (
        "out-of-range", 3, "numerator, denominator", "160 / 100"
    )
    assert "the value 160.0% is outside the range 0.0% to 150.0%" in problem.reason


def test_counts_too_large_for_the_population(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", [
        f"{code},2024-01-01,{n},{d}" for code, n, d in
        (("93C", 600, 1000), ("00L", 600, 10001), ("01A", 600, 1000), ("02G", 600, 1000))
    ])
    (problem,) = rejected(store, checked, path)
    assert (problem.rule, problem.row, problem.column, problem.value) == ("implausible-size", 3, "denominator",
                                                                          "10001")
    assert "0.1 per head of 00L's population of 100,000" in problem.reason
    assert "expects at most 0.1 per head" in problem.reason


def test_no_population_no_size_check(store, checked, tmp_path):
    """Where the reference data has no population (stroke units, trusts), the per-head limit cannot apply."""
    path = write_csv(tmp_path / "f.csv", ["RXX01,2024-01-01,5,10"])
    assert rules(rejected(store, checked, path, "unit-rate")) == {"implausible-size"}
    store.sync_reference(_without_population("RXX01"), _relationships())
    assert pd.isna(store.organisation_facts().set_index("code").loc["RXX01", "population"])
    assert ingest_file(store, checked, path, "unit-rate", loaded_by="t").rows == 1


def _without_population(code):
    from helpers_ingest import organisations

    frame = organisations()
    frame.loc[frame["code"] == code, "population"] = np.nan
    return frame


def _relationships():
    from helpers_ingest import relationships

    return relationships()


# --------------------------------------------------------------------- history: jumps and size changes
def test_a_jump_against_the_organisations_recent_median_is_refused_and_can_be_allowed(store, checked, tmp_path):
    stable_history(store, checked, tmp_path)
    lines = ["93C,2024-07-01,612,1012", "00L,2024-07-01,100,1012", "01A,2024-07-01,612,1012",
             "02G,2024-07-01,612,1012"]
    path = write_csv(tmp_path / "july.csv", lines)
    (problem,) = rejected(store, checked, path)
    assert (problem.rule, problem.row, problem.column, problem.value) == (
        "jump", 3, "numerator, denominator", "100 / 1012"
    )
    assert "the value 9.9% is far from 00L's median of 60.0%" in problem.reason
    assert "its periods 2024-01-01 to 2024-06-01" in problem.reason
    assert "--allow-jumps" in problem.action

    result = ingest_file(store, checked, path, IND, loaded_by="t", allow_jumps=True)
    assert result.jumps_allowed == 1 and "1 jump(s) allowed" in result.message
    batch = store.batch(result.batch_id)
    assert batch.checks["allow_jumps"] is True and batch.checks["jumps_allowed_count"] == 1
    assert batch.checks["jumps_allowed"] == [{"row": 3, "org_code": "00L", "period": "2024-07-01", "rule": "jump"}]
    assert not batch.provisional


def test_a_denominator_far_from_its_recent_median_is_refused(store, checked, tmp_path):
    stable_history(store, checked, tmp_path)
    lines = ["93C,2024-07-01,612,1012", "00L,2024-07-01,30,50", "01A,2024-07-01,612,1012", "02G,2024-07-01,612,1012"]
    problems = rejected(store, checked, write_csv(tmp_path / "july.csv", lines))
    assert [(p.rule, p.row, p.column) for p in problems] == [("size-change", 3, "denominator")]
    assert "0.0498 times 00L's median denominator of 1,005" in problems[0].reason


def test_a_file_of_many_periods_is_checked_against_itself(store, checked, tmp_path):
    lines = [f"{code},{day},600,1000" for day in months("2024-01-01", 6) for code in SUB_ICBS]
    lines[-3] = "00L,2024-06-01,5,1000"  # June's 00L after five months at 60%
    (problem,) = rejected(store, checked, write_csv(tmp_path / "f.csv", lines))
    assert (problem.rule, problem.row) == ("jump", len(lines) - 1)


def test_a_correction_is_compared_with_the_periods_before_it_not_with_itself(store, checked, tmp_path):
    stable_history(store, checked, tmp_path)
    lines = [f"{code},2024-06-01,700,1010" for code in SUB_ICBS]  # June corrected: 69%, not far from 60%
    result = ingest_file(store, checked, write_csv(tmp_path / "june.csv", lines), IND, loaded_by="t")
    assert result.replaced_periods == {dt.date(2024, 6, 1): 1}


# ------------------------------------------------------------------------------------------- completeness
def test_an_incomplete_period_is_refused_with_what_is_missing(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,600,1000", "01A,2024-01-01,600,1000"])
    (problem,) = rejected(store, checked, path)
    assert (problem.rule, problem.row, problem.column, problem.value) == (
        "incomplete-period", None, "period", "2024-01-01"
    )
    assert problem.reason.startswith("the file has 2 of the 4 sub-ICB locations in the reference data for "
                                     "2024-01-01 (50.0%); doac-share expects at least 90%")
    assert problem.reason.endswith("Missing: 02G, 93C")
    assert "--partial" in problem.action


def test_completeness_against_the_organisations_that_reported_the_period_before(store, tmp_path):
    catalogue = make_catalogue(make_indicator(plausibility={"completeness": {"of_previous": 0.9}}))
    ingest_file(store, catalogue, write_csv(tmp_path / "jan.csv", [
        f"{code},2024-01-01,6,10" for code in ("00L", "01A", "02G")]), IND, loaded_by="t")
    (problem,) = rejected(store, catalogue, write_csv(tmp_path / "feb.csv", [
        "00L,2024-02-01,6,10", "01A,2024-02-01,6,10", "93C,2024-02-01,6,10"]))
    assert problem.rule == "incomplete-period"
    assert "2 of the 3 organisations that reported 2024-01-01 (66.7%)" in problem.reason
    assert problem.reason.endswith("Missing: 02G")


def test_partial_loads_a_provisional_period_until_a_complete_file_replaces_it(store, checked, tmp_path):
    stable_history(store, checked, tmp_path)
    partial = write_csv(tmp_path / "july-part.csv", ["00L,2024-07-01,612,1012"])
    result = ingest_file(store, checked, partial, IND, loaded_by="t", partial=True)
    assert result.provisional and "provisional" in result.message
    batch = store.batch(result.batch_id)
    assert batch.provisional and batch.checks["partial"] is True
    assert batch.checks["completeness"] == {"2024-07-01": {"organisations": 1, "expected_sub-icb": 4,
                                                           "reported_before": 4}}
    versions = store.period_versions(IND)
    flags = {pd.Timestamp(p).date(): bool(v) for p, v in zip(versions["period"], versions["provisional"])}
    assert flags[dt.date(2024, 7, 1)] and not flags[dt.date(2024, 6, 1)]
    assert store.provisional_periods(IND) == [dt.date(2024, 7, 1)]

    complete = write_csv(tmp_path / "july.csv", [f"{code},2024-07-01,612,1012" for code in SUB_ICBS])
    replaced = ingest_file(store, checked, complete, IND, loaded_by="t")
    assert not replaced.provisional and store.provisional_periods(IND) == []


def test_partial_does_not_let_implausible_values_through(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,1,1e30"])
    assert rules(rejected(store, checked, path, partial=True)) == {"out-of-range"}


def test_an_indicator_without_stated_bounds_checks_only_numbers(store, checked, tmp_path):
    path = write_csv(tmp_path / "f.csv", ["00L,2024-01-01,1,100000"])  # 1 per head, 1 of 4 locations
    assert ingest_file(store, checked, path, "plain", loaded_by="t").rows == 1


# ------------------------------------------------------------------------------- the issue's two-row file
@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    """The bundled reference organisations and the bundled doac-share series (October 2017 - September 2022),
    loaded through ingest as the demo does."""
    from uptake.catalogue import load_catalogue
    from uptake.reference import load_reference
    from uptake.sources import SOURCES

    reference = load_reference()
    catalogue = load_catalogue()
    store = AnalyticsStore(tmp_path_factory.mktemp("real") / "uptake.duckdb")
    store.sync_reference(reference.organisations, reference.relationships)
    frame = SOURCES[IND].build()
    ingest_frame(store, catalogue, frame, IND, source="bundled", loaded_by="t")
    return store, catalogue, frame


def test_the_issues_file_is_rejected_with_the_reasons_and_nothing_loaded(real_store, tmp_path):
    store, catalogue, frame = real_store
    before = frame[(frame["org_code"] == "00P") & (frame["period"] == dt.date(2022, 9, 1))].iloc[0]
    path = write_csv(tmp_path / "issue.csv", [
        "00N,2022-10-01,99999999999999999999999999,1e30",
        f"00P,2022-10-01,{before['numerator']},{before['denominator']}",
    ])
    problems = rejected(store, catalogue, path)
    assert [(p.rule, p.row, p.column) for p in problems] == [
        ("incomplete-period", None, "period"), ("incomplete-period", None, "period"),
        ("out-of-range", 2, "numerator"), ("out-of-range", 2, "denominator"),
    ]
    assert "2 of the 106 sub-ICB locations in the reference data for 2022-10-01 (1.9%)" in problems[0].reason
    assert "2 of the 106 organisations that reported 2022-09-01" in problems[1].reason
    assert all(p.action for p in problems)
    assert store.batches(IND)[-1].periods[-1] == dt.date(2022, 9, 1)
    # and in a store that has nothing yet: the numbers and the completeness are still refused
    empty = make_store(tmp_path / "empty")
    empty.sync_reference(store.query("SELECT * FROM organisations"), store.query("SELECT * FROM relationships"))
    assert rules(rejected(empty, catalogue, path)) == {"incomplete-period", "out-of-range"}


def test_a_plausible_looking_but_wrong_month_is_refused_against_the_real_history(real_store, tmp_path):
    """September 2022 again as October, but 00N's denominator typed with three extra zeros."""
    store, catalogue, frame = real_store
    september = frame[frame["period"] == dt.date(2022, 9, 1)].copy()
    september["period"] = "2022-10-01"
    september.loc[september["org_code"] == "00N", "denominator"] *= 1000
    path = tmp_path / "october.csv"
    september.to_csv(path, index=False)
    problems = rejected(store, catalogue, path)
    assert rules(problems) == {"implausible-size", "size-change", "jump"}
    assert {p.row for p in problems} == {int(np.flatnonzero(september["org_code"].to_numpy() == "00N")[0]) + 2}


# ------------------------------------------------------------------ the bundled series pass, and are bitten
@pytest.fixture(scope="module")
def bundled():
    from uptake.catalogue import load_catalogue
    from uptake.reference import load_reference
    from uptake.sources import SOURCES

    organisations = load_reference().organisations[["code", "level", "population", "valid_to"]]
    return load_catalogue(), organisations, {k: s.build() for k, s in SOURCES.items()}


def _validate(indicator, organisations, frame):
    from uptake.ingest import readers
    from uptake.ingest.validate import validate

    return validate(readers.from_frame(frame, "<frame>"), indicator, organisations)


def test_every_bundled_indicator_states_its_bounds(bundled):
    catalogue, _, frames = bundled
    for indicator_id in frames:
        checks = catalogue.indicators[indicator_id].plausibility
        # a share-only series has no counts to tell a small organisation's chance swing from an error: no jump
        share_only = catalogue.indicators[indicator_id].share_only
        assert checks.completeness is not None and (checks.jump is not None or share_only), indicator_id
        assert checks.max_size_change is not None and checks.note, indicator_id
    fractional = {i: [f.value for f in catalogue.indicators[i].plausibility.fractional] for i in frames
                  if catalogue.indicators[i].plausibility.fractional}
    assert fractional == {
        "dementia-diagnosis-rate": ["denominator"], "narcolepsy-newer-share": ["numerator", "denominator"],
        "qof-af-achievement": ["numerator"], "qof-hypertension-achievement": ["numerator"],
        "qof-stroke-tia-achievement": ["numerator"], "doac-share-practice": ["numerator"],
        "cgm-sensors-per-1000-practice": ["numerator"], "cgm-sensors-per-1000": ["numerator"],
    }


def test_the_bundled_series_pass_their_stated_bounds(bundled):
    """What the demo loads passes, with every period's completeness judged (and recorded with the batch)."""
    catalogue, organisations, frames = bundled
    for indicator_id, frame in frames.items():
        result = _validate(catalogue.indicators[indicator_id], organisations, frame)
        assert result.ok, (indicator_id, result.problems.frame.head(5).to_dict("records"))
        level = catalogue.indicators[indicator_id].levels[0].value
        recorded = result.checks.completeness
        assert sorted(recorded) == sorted(p.isoformat() for p in frame["period"].unique()), indicator_id
        assert all(r[f"expected_{level}"] >= r["organisations"] for r in recorded.values()), indicator_id


def _jump_target(indicator, frame: pd.DataFrame, candidates: pd.DataFrame) -> tuple[int, float] | None:
    """A row of ``candidates`` (the latest period) and a numerator that its stated jump check must refuse,
    from the organisation's median over its recent periods."""
    jump, recent = indicator.plausibility.jump, indicator.plausibility.recent_periods
    earlier = frame[frame["period"] < candidates["period"].iloc[0]].sort_values("period")
    for index, row in candidates.sort_values("denominator", ascending=False).iterrows():
        own = earlier[earlier["org_code"] == row["org_code"]].tail(recent)
        if own.empty or row["denominator"] < jump.min_denominator or \
                own["denominator"].median() < jump.min_denominator:
            continue
        median = float((own["numerator"] / own["denominator"]).median())
        # beyond the check: 3 times the median, or further when the check's factor or least change is larger
        high = 1.0 if indicator.measure.value == "proportion" else max(
            3 * max(median, 0.5), 1.1 * jump.factor * median, median + 1.1 * jump.min_change)
        for value in (0.0, high):
            far = value > jump.factor * median or value < median / jump.factor
            if far and abs(value - median) > jump.min_change * 1.05:
                return index, round(value * row["denominator"])
    return None


def test_the_stated_bounds_bite_on_every_bundled_series(bundled):
    """In each real or synthetic series, the latest period with half the organisations dropped, one
    organisation's denominator multiplied by a thousand, and another's value pushed beyond its jump check:
    refused with those rules (single-period series have no history: only what the population bounds)."""
    catalogue, organisations, frames = bundled
    for indicator_id, frame in frames.items():
        indicator = catalogue.indicators[indicator_id]
        latest = frame["period"].max()
        last = frame[frame["period"] == latest]
        kept = last.iloc[: len(last) // 2].copy()
        expected = {"incomplete-period"}
        big = kept.sort_values("denominator").index[-1]
        kept.loc[big, ["numerator", "denominator"]] *= 1000
        several = frame["period"].nunique() > 1
        if several:
            expected.add("size-change")
        if several and indicator.plausibility.jump is not None:
            target = _jump_target(indicator, frame, kept.drop(index=big))
            assert target is not None, indicator_id
            kept.loc[target[0], "numerator"] = target[1]
            expected.add("jump")
        if indicator.plausibility.max_per_head and indicator.levels[0].value in ("sub-icb", "practice"):
            expected.add("implausible-size")
        changed = pd.concat([frame[frame["period"] != latest], kept])
        found = _validate(indicator, organisations, changed).problems.counts()
        assert set(found) == expected, (indicator_id, found)


# ------------------------------------------------------------------------- generated implausible files
GEN_CODES = [f"G{i:02d}" for i in range(20)]
GEN_POPULATION = {code: 100_000 + 20_000 * i for i, code in enumerate(GEN_CODES)}
GEN_SHARE = {code: 0.4 + 0.02 * i for i, code in enumerate(GEN_CODES)}
GEN_CHECKS = {
    "value_range": [0.0, 1.0], "max_per_head": 0.05, "max_size_change": 3,
    "jump": {"factor": 2, "min_change": 0.1}, "completeness": {"of_reference": 0.9, "of_previous": 0.9},
}


def _gen_denominator(code: str) -> int:
    return GEN_POPULATION[code] // 100  # 1% of the population a month


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory):
    """20 sub-ICB locations with known populations and six steady months of history."""
    from helpers_ingest import organisations, relationships

    orgs = pd.concat([organisations(), pd.DataFrame({
        "code": GEN_CODES, "level": "sub-icb", "name": [f"Generated {c}" for c in GEN_CODES],
        "valid_from": "2019-04-01", "valid_to": "", "population": [GEN_POPULATION[c] for c in GEN_CODES]})],
        ignore_index=True)
    orgs = orgs[~orgs["code"].isin(SUB_ICBS)]  # the generated locations are the only sub-ICBs
    rels = relationships()
    rels = pd.concat([rels[~rels["child_code"].isin(SUB_ICBS)], pd.DataFrame({
        "child_code": GEN_CODES, "child_level": "sub-icb", "parent_code": "QMJ", "parent_level": "icb",
        "valid_from": "2019-04-01", "valid_to": None})], ignore_index=True)
    rels = rels[~rels["parent_code"].isin(SUB_ICBS)]
    store = AnalyticsStore(tmp_path_factory.mktemp("generated") / "uptake.duckdb")
    store.sync_reference(orgs, rels)
    catalogue = make_catalogue(
        make_indicator(id="gen-share", plausibility=GEN_CHECKS),
        make_indicator(id="gen-rate", measure="rate", plausibility={**GEN_CHECKS, "value_range": [0.0, 1.5]}),
    )
    for indicator_id in catalogue.indicators:
        frame = pd.DataFrame([
            {"org_code": code, "period": day, "denominator": _gen_denominator(code) + k,
             "numerator": round(GEN_SHARE[code] * (_gen_denominator(code) + k))}
            for k, day in enumerate(months("2024-01-01", 6)) for code in GEN_CODES
        ])
        ingest_frame(store, catalogue, frame, indicator_id, source="history", loaded_by="t")
    return store, catalogue


NON_FINITE = ["inf", "-inf", "Infinity", "nan", "NaN", "1e999"]
DEFECTS = ("non-finite", "huge", "fractional", "per-head", "size-change", "jump", "range")
EXPECTED_RULE = {"non-finite": "not-a-number", "huge": "out-of-range", "fractional": "not-whole",
                 "per-head": "implausible-size", "size-change": "size-change", "jump": "jump",
                 "range": "out-of-range"}


@st.composite
def implausible_files(draw):
    """A July file for the 20 locations, plausible except for 1-3 defective rows and/or missing rows."""
    indicator = draw(st.sampled_from(["gen-share", "gen-rate"]))
    rows = []
    for code in GEN_CODES:
        denominator = round(_gen_denominator(code) * draw(st.floats(0.9, 1.1)))
        share = GEN_SHARE[code] + draw(st.floats(-0.02, 0.02))
        rows.append({"org_code": code, "numerator": str(round(share * denominator)), "denominator": str(denominator)})
    count = draw(st.integers(0, 3))
    targets = draw(st.lists(st.integers(0, len(GEN_CODES) - 1), min_size=count, max_size=count, unique=True))
    kinds = DEFECTS if indicator == "gen-rate" else DEFECTS[:-1]
    defects = {}
    for target in targets:
        kind = draw(st.sampled_from(kinds))
        row, code = rows[target], rows[target]["org_code"]
        denominator = int(row["denominator"])
        if kind == "non-finite":
            row[draw(st.sampled_from(["numerator", "denominator"]))] = draw(st.sampled_from(NON_FINITE))
        elif kind == "huge":
            row[draw(st.sampled_from(["numerator", "denominator"]))] = repr(draw(st.floats(2.0**53 * 1.01, 1e308)))
        elif kind == "fractional":
            row["numerator"] = f"{int(row['numerator']) - 1}.{draw(st.integers(1, 99)):02d}"
        elif kind == "per-head":
            big = round(GEN_POPULATION[code] * draw(st.floats(0.06, 50)))
            row["denominator"], row["numerator"] = str(big), str(round(big * GEN_SHARE[code]))
        elif kind == "size-change":
            factor = draw(st.floats(3.5, 4.9)) if draw(st.booleans()) else 1 / draw(st.floats(3.5, 50))
            changed = max(1, round(denominator * factor))
            row["denominator"], row["numerator"] = str(changed), str(round(changed * GEN_SHARE[code]))
        elif kind == "jump":
            up = draw(st.booleans()) and (indicator == "gen-rate" or GEN_SHARE[code] * 2.1 <= 1)
            share = GEN_SHARE[code] * draw(st.floats(2.1, 3)) if up else GEN_SHARE[code] / draw(st.floats(2.5, 20))
            row["numerator"] = str(round(share * denominator))
        elif kind == "range":
            row["numerator"] = str(round(denominator * draw(st.floats(1.6, 5))))
        defects[code] = kind
    dropped = draw(st.sampled_from([0, 0, 3, 8, 19]))
    droppable = [r for r in rows if r["org_code"] not in defects]
    dropped = min(dropped, len(droppable))
    gone = set(draw(st.lists(st.sampled_from([r["org_code"] for r in droppable]), min_size=dropped,
                             max_size=dropped, unique=True))) if dropped else set()
    if not defects and not gone:
        gone = {droppable[0]["org_code"], droppable[1]["org_code"], droppable[2]["org_code"]}
    kept = [r for r in rows if r["org_code"] not in gone]
    order = draw(st.permutations(kept))
    return indicator, list(order), defects, bool(gone)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(case=implausible_files())
def test_generated_implausible_files_are_refused_by_the_right_rule(generated_store, case):
    store, catalogue = generated_store
    indicator, rows, defects, incomplete = case
    before = store.fingerprint()
    with tempfile.TemporaryDirectory() as directory:
        path = write_csv(Path(directory) / "generated.csv", [
            f"{r['org_code']},2024-07-01,{r['numerator']},{r['denominator']}" for r in rows])
        with pytest.raises(IngestRejected) as info:
            ingest_file(store, catalogue, path, indicator, loaded_by="hypothesis")
    assert store.fingerprint() == before, "nothing may be loaded"
    problems = list(info.value.problems)
    row_of = {r["org_code"]: number for number, r in enumerate(rows, start=2)}
    for code, kind in defects.items():
        found = {p.rule for p in problems if p.row == row_of[code]}
        assert EXPECTED_RULE[kind] in found, (kind, code, [(p.rule, p.row, p.reason) for p in problems])
    # no problem is blamed on a plausible row; a missing organisation is a problem of the whole period
    assert {p.row for p in problems} <= {row_of[c] for c in defects} | {None}
    assert any(p.rule == "incomplete-period" for p in problems) == (incomplete and len(rows) < 0.9 * 20)


# ------------------------------------------------------------------------------------------- the store
def test_a_version_1_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "uptake.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL, "
                "uptake_version VARCHAR)")
    con.execute("INSERT INTO schema_version VALUES (1, now()::TIMESTAMP, 'old')")
    con.execute("CREATE TABLE batches (batch_id BIGINT NOT NULL, indicator VARCHAR NOT NULL, source VARCHAR NOT "
                "NULL, file_name VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL, row_count BIGINT NOT NULL, "
                "periods DATE[] NOT NULL, loaded_at TIMESTAMP NOT NULL, loaded_by VARCHAR NOT NULL, mapping JSON)")
    con.execute("CREATE TABLE period_versions (indicator VARCHAR NOT NULL, period DATE NOT NULL, "
                "batch_id BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL)")
    con.execute("INSERT INTO batches VALUES (1, 'doac-share', 's', 'f.csv', 'abc', 1, ['2024-01-01']::DATE[], "
                "now()::TIMESTAMP, 'me', '{}')")
    con.execute("INSERT INTO period_versions VALUES ('doac-share', '2024-01-01', 1, now()::TIMESTAMP)")
    con.close()
    store = AnalyticsStore(path)
    store.ensure_schema()
    assert store.schema_version() == SCHEMA_VERSION == 2
    (batch,) = store.batches()
    assert (batch.batch_id, batch.provisional, batch.checks, batch.mapping) == (1, False, {}, {})
    assert store.provisional_periods("doac-share") == []
    assert len(store.query("SELECT * FROM schema_version")) == 2


def test_the_cli_offers_partial_and_allow_jumps(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from uptake.cli import app
    from uptake.cli import ingest as cli

    workspace = tmp_path / "ws"
    store = make_store(workspace)
    monkeypatch.setattr(cli, "load_catalogue", lambda: make_catalogue(make_indicator(plausibility=CHECKS)))
    runner = CliRunner()
    env = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
    path = write_csv(tmp_path / "part.csv", ["00L,2024-01-01,600,1000"])
    refused = runner.invoke(app, ["ingest", str(path), "-i", IND, "-w", str(workspace)], env=env)
    assert refused.exit_code == 1 and "incomplete-period" in refused.output and "--partial" in refused.output
    loaded = runner.invoke(app, ["ingest", str(path), "-i", IND, "-w", str(workspace), "--partial"], env=env)
    assert loaded.exit_code == 0, loaded.output
    assert "provisional" in loaded.output
    listing = runner.invoke(app, ["batches", "-w", str(workspace)], env=env)
    assert "Batch 1: provisional" in " ".join(listing.output.split())
    assert store.provisional_periods(IND) == [dt.date(2024, 1, 1)]
    help_text = runner.invoke(app, ["ingest", "--help"], env=env).output
    assert "--partial" in help_text and "--allow-jumps" in help_text


@pytest.mark.slow
def test_two_million_rows_with_every_check_validate_and_load_quickly(tmp_path):
    """10,000 practices x 200 months, every stated check on (sizes, jumps and completeness against the file's
    own history): under 60 s (about 15 s on 2 cores)."""
    import time

    from helpers_ingest import practice_organisations, write_large_csv

    checks = {"max_per_head": 1.0, "max_size_change": 100_000, "jump": {"factor": 1000, "min_change": 2},
              "completeness": {"of_reference": 0.5, "of_previous": 0.5}}
    indicator = make_indicator(id="practice-monthly", levels=["practice"], first_period="2000-01-01",
                               plausibility=checks)
    catalogue = make_catalogue(indicator)
    store = make_store(tmp_path / "ws", practice_organisations(10_000))
    path = tmp_path / "big.csv"
    rows = write_large_csv(path, 10_000, 200)
    started = time.perf_counter()
    result = ingest_file(store, catalogue, path, indicator.id, loaded_by="t")
    elapsed = time.perf_counter() - started
    assert result.rows == rows == 2_000_000
    assert len(store.batch(result.batch_id).checks["completeness"]) == 200
    assert elapsed < 60, f"2M rows with every check took {elapsed:.1f}s"
