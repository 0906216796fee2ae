"""The pure parts of barriers and adopters (uptake.ecosystem.barriers, .adopters) against hand-computed
fixtures: Spearman's rho with its Fisher interval, the association table, trends, risers from the bottom to
the top quartile, located coordinates, and "who already does this near me"."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from uptake.ecosystem.adopters import located, near_me, risers
from uptake.ecosystem.barriers import FACTORS, association, spearman_interval, trends, uptake_percentiles


def test_spearman_with_fisher_interval_by_hand() -> None:
    x = np.array([0, 0, 1, 1, 2, 2])
    y = np.array([90, 80, 60, 70, 20, 10])
    rho, low, high = spearman_interval(x, y)
    # ranks of x: 1.5 1.5 3.5 3.5 5.5 5.5; of y: 6 5 3 4 2 1 -> Pearson of the ranks
    rx, ry = np.array([1.5, 1.5, 3.5, 3.5, 5.5, 5.5]), np.array([6, 5, 3, 4, 2, 1.0])
    expected = np.corrcoef(rx, ry)[0, 1]
    assert rho == pytest.approx(expected)
    half = 1.959963984540054 / math.sqrt(6 - 3)
    assert low == pytest.approx(math.tanh(math.atanh(expected) - half))
    assert high == pytest.approx(math.tanh(math.atanh(expected) + half))
    assert spearman_interval(np.array([0, 1, 2]), np.array([1, 2, 3])) == (None, None, None)  # n < 4
    assert spearman_interval(np.array([1, 1, 1, 1]), np.array([1, 2, 3, 4])) == (None, None, None)  # no spread


def _assessments() -> pd.DataFrame:
    rows = []
    for i, (org, level, pct) in enumerate([("A", "absent", 90.0), ("B", "absent", 70.0), ("C", "present", 50.0),
                                           ("D", "major", 20.0), ("E", "major", 10.0)]):
        row = {"id": i + 1, "org_code": org, "innovation": "inn", "assessed_on": dt.date(2024 + i % 2, 1, 1),
               **{k: ("simple" if k.startswith("nasss") else "absent") for k in FACTORS}, "synthetic": False,
               "uptake_percentile": pct}
        row["lack_of_resource"] = level
        row["complexity_score"] = 0
        rows.append(row)
    return pd.DataFrame(rows)


def test_association_means_by_level_by_hand() -> None:
    table = association(_assessments()).set_index("factor")
    lack = table.loc["lack_of_resource"]
    assert lack["level_0_n"] == 2 and lack["level_0_mean_percentile"] == pytest.approx(80.0)
    assert lack["level_1_n"] == 1 and lack["level_1_mean_percentile"] == pytest.approx(50.0)
    assert lack["level_2_n"] == 2 and lack["level_2_mean_percentile"] == pytest.approx(15.0)
    assert lack["rho"] < -0.9
    assert table.loc["risk_averse_culture", "rho"] is None or pd.isna(table.loc["risk_averse_culture", "rho"])


def test_trends_share_by_year() -> None:
    t = trends(_assessments())
    major_2024 = t.loc[(t["year"] == 2024) & (t["factor"] == "lack_of_resource") & (t["level"] == "major")].iloc[0]
    # 2024: A (absent), C (present), E (major): one of three
    assert (major_2024["assessments"], major_2024["of"]) == (1, 3)


def test_uptake_percentiles_follow_polarity() -> None:
    values = pd.DataFrame({"indicator": ["hi"] * 3 + ["lo"] * 3, "level": "icb", "org_code": list("ABCABC"),
                           "period": dt.date(2024, 1, 1), "value": [0.1, 0.5, 0.9, 0.1, 0.5, 0.9]})
    p = uptake_percentiles(values, {"hi": "high-is-good", "lo": "low-is-good"}).set_index(["indicator", "org_code"])
    assert p.loc[("hi", "C"), "percentile"] == 100 and p.loc[("hi", "A"), "percentile"] == 0
    assert p.loc[("lo", "A"), "percentile"] == 100 and p.loc[("lo", "B"), "percentile"] == 50


def test_risers_bottom_to_top_quartile() -> None:
    rows = []
    first = {f"O{i}": 0.1 * i for i in range(10)}  # O0 worst ... O9 best
    latest = dict(first)
    latest["O1"], latest["O9"] = 0.95, 0.05  # O1 rises from percentile 11 to 100; O9 falls
    for code in first:
        rows.append({"indicator": "x", "level": "icb", "org_code": code, "org_name": code,
                     "period": dt.date(2020, 1, 1), "value": first[code], "synthetic": False})
        rows.append({"indicator": "x", "level": "icb", "org_code": code, "org_name": code,
                     "period": dt.date(2024, 1, 1), "value": latest[code], "synthetic": False})
    found = risers(pd.DataFrame(rows), {"x": "high-is-good"})
    assert list(found["org_code"]) == ["O1"]
    assert found.iloc[0]["first_percentile"] == pytest.approx(100 / 9)
    assert found.iloc[0]["gain_points"] == pytest.approx(85.0)
    low = risers(pd.DataFrame(rows), {"x": "low-is-good"})
    assert list(low["org_code"]) == ["O9"]  # low is good: O9 went from the worst quarter to the best


def test_near_me_orders_by_distance_and_marks_sources() -> None:
    places = located(
        pd.DataFrame({"code": ["ME", "A", "B", "C", "P"], "level": ["sub-icb", "sub-icb", "sub-icb", "sub-icb",
                                                                    "practice"],
                      "lat": [51.5, 51.6, 52.5, 51.5, None], "lon": [-0.1, -0.1, -0.1, -0.2, None]}),
        pd.DataFrame({"child_code": ["P"], "parent_code": ["C"], "parent_level": ["sub-icb"]}))
    assert places.set_index("code").loc["P", "lat"] == 51.5  # the practice takes its sub-ICB's coordinates
    values = pd.DataFrame({"org_code": ["A", "B", "C", "ME"], "org_name": list("ABCM"), "period": dt.date(2024, 1, 1),
                           "value": [0.8, 0.9, 0.2, 0.1], "ci95_low": 0.0, "ci95_high": 1.0, "synthetic": False})
    log = pd.DataFrame({"id": [7], "org_code": ["C"], "innovation": ["inn"]})
    peers = pd.DataFrame({"org_code": ["ME"], "peer_code": ["B"]})
    adoption = pd.DataFrame({"org_code": ["A"], "first_adopted": [dt.date(2022, 1, 1)]})
    found = near_me("ME", "x", "sub-icb", values, log, places, peers, adoption, threshold=0.5, polarity="high-is-good",
                    innovation="inn")
    assert list(found["org_code"]) == ["C", "A", "B"]  # C ~7 km (in the log), A ~11 km, B ~111 km
    assert found.set_index("org_code").loc["C", "in_log"] and not found.set_index("org_code").loc["C", "in_results"]
    assert found.set_index("org_code").loc["B", "similar_peer"]
    assert found.set_index("org_code").loc["A", "distance_km"] == pytest.approx(11.1, abs=0.1)
    assert list(near_me("ME", "x", "sub-icb", values, log, places, peers, adoption, threshold=0.5,
                        polarity="high-is-good", innovation="inn", peers_only=True)["org_code"]) == ["B"]
    assert list(near_me("ME", "x", "sub-icb", values, log, places, peers, adoption, threshold=0.5,
                        polarity="high-is-good", innovation="inn", max_km=20)["org_code"]) == ["C", "A"]


def test_near_me_with_no_results_still_lists_the_log() -> None:
    """An indicator with no results at the level (empty values, dated columns) leaves the log's entries."""
    values = pd.DataFrame({"org_code": pd.Series(dtype=str), "org_name": pd.Series(dtype=str),
                           "period": pd.Series(dtype="datetime64[ns]"), "value": pd.Series(dtype=float),
                           "ci95_low": pd.Series(dtype=float), "ci95_high": pd.Series(dtype=float),
                           "synthetic": pd.Series(dtype=bool)})
    places = pd.DataFrame({"code": ["ME", "C"], "lat": [51.5, 51.5], "lon": [-0.1, -0.2]})
    log = pd.DataFrame({"id": [3], "org_code": ["C"], "innovation": ["inn"]})
    found = near_me("ME", "x", "sub-icb", values, log, places, pd.DataFrame(columns=["org_code", "peer_code"]),
                    pd.DataFrame(columns=["org_code", "first_adopted"]), threshold=0.5, polarity="high-is-good",
                    innovation="inn")
    assert list(found["org_code"]) == ["C"] and found.iloc[0]["latest_value"] is None
    assert found.iloc[0]["log_ids"] == [3]


def test_the_indicator_searched_is_measured_at_the_level_with_results_first() -> None:
    from types import SimpleNamespace

    from uptake.ecosystem.adopters import choose_indicator

    def ind(i, *levels):
        return SimpleNamespace(id=i, levels=[SimpleNamespace(value=lv) for lv in levels])

    a, b, c = ind("a-share", "sub-icb"), ind("b-share", "sub-icb"), ind("c-share", "trust")
    assert choose_indicator([a, b, c], "sub-icb", {("b-share", "sub-icb")})[0].id == "b-share"
    assert choose_indicator([a, b, c], "sub-icb", set())[0].id == "a-share"
    assert choose_indicator([a, c], "icb", {("c-share", "trust")}) == (c, "trust")
