"""Attainment: the interval-aware status ladder, its monotonicity (Hypothesis), the trajectory and the
deadline, the streaks below the minimum standard, SPC assurance, peers, and the result table."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import load_catalogue
from uptake.mission.attainment import MET, MISSED, ND_STANDARD, ND_TRAJECTORY, OFF, ON, classify, compute_attainment
from uptake.mission.results import latest_pipeline_run, read_table, write_table
from uptake.mission.schemas import Framework
from uptake.results.schema import ATTAINMENT
from uptake.stats import wilson

CATALOGUE = load_catalogue()


def framework(**commitment) -> Framework:
    """A one-commitment framework on thrombolysis-rate (yearly, calendar years, high is good)."""
    base = dict(
        id="thrombolysis", title="Thrombolysis", innovation="thrombolysis", indicator="thrombolysis-rate",
        scope={"levels": ["stroke-unit", "icb"]}, minimum_standard=0.10, target=0.20,
        deadline=dt.date(2023, 12, 31), milestones=[], rationale="test", evidence=[{"claim": "x", "source": "y"}],
        start=dt.date(2019, 1, 1),
    )
    base.update(commitment)
    return Framework.model_validate(dict(
        id="stroke", version=1, title="Stroke", condition="stroke", status="published", start=dt.date(2019, 1, 1),
        end=dt.date(2028, 12, 31), owner="test", summary="test", rationale="test", commitments=[base],
    ))


def values(rows: list[tuple[str, int, float, float]], level: str = "stroke-unit") -> pd.DataFrame:
    """result_values rows from (org_code, year, numerator, denominator), with Wilson intervals."""
    frame = pd.DataFrame(rows, columns=["org_code", "year", "numerator", "denominator"])
    low, high = wilson(frame["numerator"], frame["denominator"])
    return pd.DataFrame({
        "indicator": "thrombolysis-rate", "level": level, "org_code": frame["org_code"],
        "org_name": "Unit " + frame["org_code"], "period": [dt.date(y, 1, 1) for y in frame["year"]],
        "numerator": frame["numerator"], "denominator": frame["denominator"],
        "value": frame["numerator"] / frame["denominator"], "ci95_low": low, "ci95_high": high,
        "comparison": "similar", "synthetic": False,
    })


# --- the ladder -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "v, lo, hi, expected",
    [
        (0.21, 0.15, 0.27, MET),             # the point estimate reaches the target
        (0.17, 0.155, 0.185, ON),             # clearly above the trajectory (0.15)
        (0.16, 0.13, 0.19, ND_TRAJECTORY),     # straddles the trajectory
        (0.12, 0.11, 0.13, OFF),              # clearly between the standard and the trajectory
        (0.10, 0.07, 0.13, ND_STANDARD),       # straddles the minimum standard: not "missed"
        (0.06, 0.04, 0.08, MISSED),            # clearly below the minimum standard
        (0.08, np.nan, np.nan, MISSED),        # no interval: the value is its own interval
    ],
)
def test_the_status_ladder(v, lo, hi, expected) -> None:
    rank = classify(np.array([v]), np.array([lo]), np.array([hi]), np.array([0.10]), np.array([0.15]),
                    np.array([0.20]))
    assert rank[0] == expected


def test_low_is_good_is_the_mirror_image() -> None:
    args = dict(standard=np.array([0.30]), trajectory=np.array([0.25]), target=np.array([0.20]), high_is_good=False)
    assert classify(np.array([0.19]), np.array([0.15]), np.array([0.24]), **args)[0] == MET
    assert classify(np.array([0.22]), np.array([0.21]), np.array([0.24]), **args)[0] == ON
    assert classify(np.array([0.28]), np.array([0.26]), np.array([0.29]), **args)[0] == OFF
    assert classify(np.array([0.29]), np.array([0.27]), np.array([0.32]), **args)[0] == ND_STANDARD
    assert classify(np.array([0.40]), np.array([0.35]), np.array([0.45]), **args)[0] == MISSED


thresholds = st.tuples(*(st.floats(0.0, 1.0, allow_nan=False) for _ in range(3))).map(sorted)


@settings(max_examples=400, deadline=None)
@given(levels=thresholds, n=st.integers(1, 5000), a=st.floats(0, 1), b=st.floats(0, 1))
def test_raising_a_value_never_lowers_its_attainment(levels, n, a, b) -> None:
    """Property: with the denominator fixed, more patients treated (a higher value, and so a higher Wilson
    interval) never gives a lower rank, wherever the standard, trajectory and target lie."""
    m, r, t = levels
    x1, x2 = sorted([round(a * n), round(b * n)])
    low, high = wilson(np.array([x1, x2]), n)
    ranks = classify(np.array([x1, x2]) / n, low, high, np.full(2, m), np.full(2, r), np.full(2, t))
    assert ranks[1] >= ranks[0]


@settings(max_examples=200, deadline=None)
@given(levels=thresholds, v=st.floats(0, 1), width=st.floats(0, 0.3), up=st.floats(0, 0.5), grow=st.floats(0, 0.1))
def test_raising_value_and_interval_together_never_lowers_attainment(levels, v, width, up, grow) -> None:
    m, r, t = levels
    before = classify(np.array([v]), np.array([v - width]), np.array([v + width]), m, r, t)
    after = classify(np.array([v + up]), np.array([v - width + up]), np.array([v + width + up + grow]), m, r, t)
    assert after[0] >= before[0]
    # and mirrored, for a low-is-good indicator: lowering the value never lowers attainment
    lm, lr, lt = 1 - m, 1 - r, 1 - t
    before = classify(np.array([1 - v]), np.array([1 - v - width]), np.array([1 - v + width]), lm, lr, lt,
                      high_is_good=False)
    after = classify(np.array([1 - v - up]), np.array([1 - v - width - up - grow]), np.array([1 - v + width - up]),
                     lm, lr, lt, high_is_good=False)
    assert after[0] >= before[0]


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 400), st.integers(50, 400)), min_size=3, max_size=3),
    org=st.integers(0, 2), year=st.sampled_from([2019, 2020, 2021, 2022, 2023, 2024]), extra=st.integers(1, 100),
)
def test_monotone_through_the_whole_computation(data, org, year, extra) -> None:
    """The same property end to end: raising one organisation's numerator in one year never lowers its
    status in that year (trajectory, deadline and interval computed as in production)."""
    rows = [(f"U{i}", year, min(x, n), n) for i, (x, n) in enumerate(data)]
    before = compute_attainment([framework()], CATALOGUE, values(rows))
    raised = list(rows)
    code, y, x, n = raised[org]
    raised[org] = (code, y, min(n, x + extra), n)
    after = compute_attainment([framework()], CATALOGUE, values(raised))
    pick = lambda f: int(f.loc[f["org_code"] == code, "rank"].iloc[0])  # noqa: E731
    assert pick(after) >= pick(before)


# --- the computation --------------------------------------------------------------------------------


def test_trajectory_deadline_and_distances() -> None:
    fw = framework(baseline=0.12, milestones=[{"date": dt.date(2021, 12, 31), "value": 0.16}])
    rows = [("A", 2018, 30, 100), ("A", 2019, 140, 1000), ("A", 2021, 200, 1000), ("A", 2023, 190, 1000),
            ("A", 2024, 150, 1000)]
    frame = compute_attainment([fw], CATALOGUE, values(rows))
    assert list(frame["period"]) == [dt.date(y, 1, 1) for y in (2019, 2021, 2023, 2024)]  # 2018 is baseline
    by_year = frame.set_index(frame["period"].map(lambda d: d.year))
    # 2019 is judged as of 31 December 2019, a year along the line from 12% to 16% (three years)
    assert by_year.loc[2019, "as_of"] == dt.date(2019, 12, 31)
    assert by_year.loc[2019, "trajectory_value"] == pytest.approx(0.12 + 0.04 * 364 / 1095, abs=1e-9)
    assert by_year.loc[2021, "trajectory_value"] == pytest.approx(0.16)
    assert by_year.loc[2021, "status"] == "met"  # 20% reaches the target early
    assert by_year.loc[2023, "deadline_passed"] and by_year.loc[2023, "standard_in_force"] == 0.20
    assert by_year.loc[2023, "status"] == "not-distinguishable"  # 19% (17.6-21.5%) straddles the target
    assert by_year.loc[2023, "compared_with"] == "target"
    assert by_year.loc[2024, "status"] == "missed"  # clearly below the target after the deadline
    assert by_year.loc[2024, "distance_to_target"] == pytest.approx(-0.05)
    assert by_year.loc[2024, "distance_to_trajectory"] == pytest.approx(-0.05)
    assert by_year.loc[2024, "rating_year"] == dt.date(2024, 4, 1)  # December 2024 is in 2024/25
    assert not by_year.loc[2024, "below_minimum"]  # below the target, not below the minimum standard


def test_not_distinguishable_from_the_minimum_standard_is_not_missed() -> None:
    frame = compute_attainment([framework()], CATALOGUE, values([("S", 2020, 90, 1000)]))
    row = frame.iloc[0]
    assert (row["status"], row["compared_with"], row["rank"]) == ("not-distinguishable", "minimum standard", 1)
    assert not row["below_minimum"]


def test_streaks_below_the_minimum_standard_break_at_a_missing_period() -> None:
    rows = [("A", 2019, 20, 1000), ("A", 2020, 20, 1000), ("A", 2021, 20, 1000), ("A", 2023, 20, 1000),
            ("A", 2024, 300, 1000), ("B", 2022, 0, 1000)]  # B's row puts 2022 in the indicator's periods
    frame = compute_attainment([framework()], CATALOGUE, values(rows))
    a = frame[frame["org_code"] == "A"]
    assert list(a["periods_below_minimum"]) == [1, 2, 3, 1, 0]


def test_assurance_against_the_standard_in_force() -> None:
    rows = [("A", 2020, 150, 1000), ("B", 2020, 150, 1000), ("C", 2020, 150, 1000)]
    spc = pd.DataFrame({
        "indicator": "thrombolysis-rate", "level": "stroke-unit", "org_code": ["A", "B", "C"],
        "period": [dt.date(2020, 1, 1)] * 3, "lower_limit": [0.12, 0.02, 0.05], "upper_limit": [0.18, 0.08, 0.25],
    })
    frame = compute_attainment([framework()], CATALOGUE, values(rows), spc=spc).set_index("org_code")
    assert frame.loc["A", "assurance"] == "consistently-pass"   # the standard (10%) is below the lower limit
    assert frame.loc["B", "assurance"] == "consistently-fail"   # above the upper limit
    assert frame.loc["C", "assurance"] == "hit-and-miss"


def test_peers_that_met_are_counted() -> None:
    rows = [("A", 2020, 50, 1000)] + [(f"P{i}", 2020, 250, 1000) for i in range(4)] + [("P4", 2020, 50, 1000)]
    peers = pd.DataFrame({"level": "stroke-unit", "org_code": "A", "peer_code": [f"P{i}" for i in range(6)]})
    frame = compute_attainment([framework()], CATALOGUE, values(rows), peers=peers).set_index("org_code")
    assert (frame.loc["A", "peers_assessed"], frame.loc["A", "peers_met"]) == (5, 4)  # P5 has no result
    assert frame.loc["P0", "peers_assessed"] == 0


def test_scope_by_level_and_trust_type() -> None:
    rows = values([("A", 2020, 150, 1000)])
    icb = values([("QXX", 2020, 150, 1000)], level="icb")
    region = values([("Y56", 2020, 150, 1000)], level="region")
    frame = compute_attainment([framework()], CATALOGUE, pd.concat([rows, icb, region]))
    assert sorted(frame["level"]) == ["icb", "stroke-unit"]


def test_result_table_round_trip(tmp_path) -> None:
    frame = compute_attainment([framework()], CATALOGUE, values([("A", 2020, 150, 1000), ("B", 2021, 5, 100)]))
    store = AnalyticsStore.open(tmp_path / "a.duckdb")
    assert write_table(store, "result_attainment", frame) == 2
    back = read_table(store, "result_attainment").sort_values("org_code", ignore_index=True)
    assert list(back["status"]) == list(frame["status"])
    assert back["period"].iloc[0] == pd.Timestamp(2020, 1, 1) or str(back["period"].iloc[0])[:10] == "2020-01-01"
    assert read_table(store, "result_watch_list").empty


def test_reading_a_store_opens_it_read_only(tmp_path, monkeypatch) -> None:
    """The mission reads through a read-only connection on the file (the command line and compute), or the
    connection it is given (the web's snapshot); only write_table opens the file read-write."""
    frame = compute_attainment([framework()], CATALOGUE, values([("A", 2020, 150, 1000)]))
    store = AnalyticsStore.open(tmp_path / "a.duckdb")
    write_table(store, "result_attainment", frame)
    opened: list[bool] = []
    real = duckdb.connect

    def connect(database=":memory:", read_only=False, **kwargs):
        opened.append(read_only)
        return real(database, read_only=read_only, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    assert len(read_table(store, "result_attainment")) == 1
    assert latest_pipeline_run(store) is None
    assert opened == [True, True]
    with duckdb.connect(":memory:") as con:  # a connection given is used as it is
        con.execute(ATTAINMENT.ddl())
        opened.clear()
        assert read_table(con, "result_attainment").empty and opened == []
