"""The stroke pathway model reproduces SAMueL-1's published scenario results (national and per unit) within
sampling error, and its vectorised simulation equals a plain loop over the same draws."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError
from uptake.models.outcomes.stroke import load_parameters
from uptake.models.pathway import apply_scenario, draw_pathway, run_scenarios, simulate_drawn
from uptake.models.pathway.model import OutcomeLine, UnitParameters
from uptake.models.pathway.reference import simulate_loop
from uptake.models.pathway.results import publish_pathway
from uptake.pipeline import run_pipeline
from uptake.results import read
from uptake.sources.pathway_performance import read_pathway_performance, validate_pathway_performance
from uptake.workspace import Workspace

#: SAMueL-1 (samuel-book/samuel-1), pathway_sim/scenario_analysis, "Overall results": national
#: thrombolysis (%) and added good outcomes per 1,000 admissions, 132 units, 100 trials each.
PUBLISHED_NATIONAL = {
    "base": (11.60, 9.40),
    "speed": (12.34, 11.86),
    "onset": (13.67, 11.09),
    "speed_onset": (14.52, 13.98),
}
#: SAMueL-1, pathway_sim/all_scenario_results: per-unit means and standard deviations over 100 trials.
PUBLISHED_UNITS = Path(__file__).parent / "data" / "samuel1_pathway_scenario_results.csv"
TRIALS = 100


@pytest.fixture(scope="module")
def performance():
    return read_pathway_performance()


@pytest.fixture(scope="module")
def runs(performance):
    return run_scenarios(performance, load_parameters(), trials=TRIALS, seed=20221, outcome_uncertainty=False)


def test_bundled_file_has_samuel_132_units(performance):
    assert len(performance) == 132
    published = pd.read_csv(PUBLISHED_UNITS)
    assert set(published["stroke_team"]) == set(performance["stroke_team"])


@pytest.mark.parametrize("scenario", list(PUBLISHED_NATIONAL))
def test_samuel1_scenario_table_national_thrombolysis_and_good_outcomes(runs, scenario):
    """SAMueL-1 scenario table: base 11.60% and 9.40 per 1,000; speed 12.34% and 11.86; onset 13.67% and
    11.09; speed + onset 14.52% and 13.98. Ours must lie within 4 standard errors of the difference of two
    100-trial means (ours and theirs, same spread) plus the published rounding (0.005)."""
    run = runs[scenario]
    rate_pct, good = PUBLISHED_NATIONAL[scenario]
    for ours, published in ((100 * run.national_rate, rate_pct), (run.national_good_per_1000, good)):
        tolerance = 4 * np.sqrt(2) * ours.std(ddof=1) / np.sqrt(TRIALS) + 0.005
        assert abs(ours.mean() - published) <= tolerance, (scenario, ours.mean(), published, tolerance)


@pytest.mark.parametrize("scenario", list(PUBLISHED_NATIONAL))
def test_samuel1_all_scenario_results_per_unit(runs, scenario):
    """SAMueL-1's per-unit table (all_scenario_results): each unit's mean thrombolysis % and added good
    outcomes per 1,000 within 4.5 standard errors (their 100 trials and ours) plus rounding (0.005)."""
    published = pd.read_csv(PUBLISHED_UNITS).query("scenario == @scenario").set_index("stroke_team")
    run = runs[scenario]
    ours = pd.DataFrame(
        {
            "rate": 100 * run.unit_rate.mean(axis=0),
            "rate_sd": 100 * run.unit_rate.std(axis=0, ddof=1),
            "good": run.unit_good_per_1000.mean(axis=0),
            "good_sd": run.unit_good_per_1000.std(axis=0, ddof=1),
        },
        index=list(run.teams),
    ).loc[published.index]
    for mine, sd, theirs, their_sd in (
        ("rate", "rate_sd", "percent_thrombolysis_mean", "percent_thrombolysis_stdev"),
        ("good", "good_sd", "additional_good_outcomes_per_1000_mean", "additional_good_outcomes_per_1000_stdev"),
    ):
        se = np.sqrt((ours[sd] ** 2 + published[their_sd] ** 2) / TRIALS)
        off = (ours[mine] - published[theirs]).abs() > 4.5 * se + 0.005
        assert not off.any(), ours[off].join(published[[theirs]])


def test_vectorised_simulation_equals_plain_loop_on_the_same_draws(performance):
    params = load_parameters()
    units = UnitParameters.from_frame(apply_scenario(performance.iloc[:12], "base"))
    draws = draw_pathway(units, 4, np.random.default_rng(5))
    line = OutcomeLine(
        params.untreated_under_80, params.untreated_80_plus, np.linspace(0.30, 0.35, 4), np.full(4, params.slope)
    )
    fast = simulate_drawn(units, draws, line)
    slow = simulate_loop(units, draws, line)
    assert draws.candidates.sum() > 100
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-12, atol=1e-12)


def test_scenarios_change_only_what_they_say(performance):
    speed = apply_scenario(performance, "speed")
    assert (speed["scan_within_4_hrs"] == 0.95).all()
    assert np.allclose(np.exp(speed["arrival_scan_arrival_mins_mu"]), 15) and (speed["scan_needle_mins_sigma"] == 0).all()
    assert speed["onset_known"].equals(performance["onset_known"])
    onset = apply_scenario(performance, "onset")
    quartile = np.percentile(performance["onset_known"], 75)
    assert (onset["onset_known"] >= quartile - 1e-12).all()
    kept = performance["onset_known"] > quartile
    assert onset.loc[kept, "onset_known"].equals(performance.loc[kept, "onset_known"])
    both = apply_scenario(performance, "speed_onset")
    assert both["onset_known"].equals(onset["onset_known"]) and (both["scan_within_4_hrs"] == 0.95).all()
    with pytest.raises(UptakeError, match="unknown scenario 'benchmark'"):
        apply_scenario(performance, "benchmark")


def test_outcome_uncertainty_widens_the_interval_not_the_mean(performance):
    params = load_parameters()
    fixed = run_scenarios(performance, params, trials=40, seed=3, outcome_uncertainty=False, scenarios=("base",))["base"]
    wide = run_scenarios(performance, params, trials=40, seed=3, outcome_uncertainty=True, scenarios=("base",))["base"]
    assert np.array_equal(fixed.unit_rate, wide.unit_rate)  # same patients thrombolysed
    assert wide.national_good_per_1000.std() > 5 * fixed.national_good_per_1000.std()
    assert abs(wide.national_good_per_1000.mean() - fixed.national_good_per_1000.mean()) < 1.0


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("onset_known", 1.4, ["row 4", "'onset_known'", "1.4", "between 0 and 1"]),
        ("admissions", "many", ["row 4", "'admissions'", "not a number"]),
        ("scan_needle_mins_sigma", -0.2, ["row 4", "sigma of 0 or more"]),
    ],
)
def test_bad_pathway_file_names_row_and_column(performance, column, value, words):
    frame = performance.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[2, column] = value
    with pytest.raises(UptakeError) as error:
        validate_pathway_performance(frame, "pathway.csv")
    for word in ["pathway.csv", *words]:
        assert word in str(error.value)
    with pytest.raises(UptakeError, match="columns \\['eligable'\\] are missing"):
        validate_pathway_performance(performance.drop(columns="eligable"), "pathway.csv")


def test_compute_publishes_the_pathway_tables_read_through_results_read(tmp_path):
    """``uptake compute``'s publication writes both tables (publish_with), readable through
    uptake.results.read.pathway; a failing model leaves the previous publication whole."""
    ws = Workspace(root=tmp_path / "ws").ensure()
    AnalyticsStore(ws.analytics_path).ensure_schema()
    run_pipeline(ws, publish_with=lambda pub: publish_pathway(pub, trials=5, seed=1))
    con = duckdb.connect(str(ws.analytics_path), read_only=True)
    try:
        national = read.pathway.national(con.cursor())
        assert [row["scenario"] for row in national] == ["base", "speed", "onset", "speed_onset"]
        assert national[0]["trials"] == 5 and national[0]["samuel_thrombolysis_pct"] == 11.60
        assert national[0]["thrombolysis_pct_low"] <= national[0]["thrombolysis_pct"] <= national[0]["thrombolysis_pct_high"]
        units = read.pathway.units(con.cursor(), scenario="onset")
        assert len(units) == 132 and {row["scenario"] for row in units} == {"onset"}
        one = read.pathway.units(con.cursor(), stroke_team=units[0]["stroke_team"])
        assert len(one) == 4
        stamped = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'result_pathway_units'"
        ).fetchone()[0]
        assert '"publication"' in stamped
    finally:
        con.close()

    def broken(pub):
        publish_pathway(pub, trials=5, seed=2)
        raise RuntimeError("the model failed")

    with pytest.raises(RuntimeError):
        run_pipeline(ws, publish_with=broken)
    con = duckdb.connect(str(ws.analytics_path), read_only=True)
    try:
        assert read.pathway.national(con.cursor())[0]["seed"] == 1
    finally:
        con.close()
