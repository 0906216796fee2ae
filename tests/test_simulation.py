"""The policy simulator (uptake.models.simulation) on the real DOAC series and the real NHS network: the
no-lever calibration reproduces the fitted national trajectory within its band; the vectorised engine equals
the per-organisation reference loop; each lever moves time to target the way its mechanism says; every
practice runs; bad scenarios and too-large runs are refused before anything runs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml

from uptake.models.simulation.example import doac_store
from uptake.analytics.store import AnalyticsStore
from uptake.errors import UptakeError
from uptake.models.simulation import (
    Calibration,
    Network,
    Target,
    build_inputs,
    compile_levers,
    load_levers,
    parse_levers,
    parse_scenario,
    run_scenario,
    simulate,
)
from uptake.models.simulation.engine import binomial_inverse
from uptake.models.simulation.reference import simulate_reference
from uptake.models.simulation.scenario import _add_months

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> AnalyticsStore:
    built = doac_store(tmp_path_factory.mktemp("simulation") / "analytics.duckdb")
    return AnalyticsStore(built.path, read_only=True)


@pytest.fixture(scope="module")
def subicb(store):
    with store.connect() as con:
        inputs = build_inputs(con, "doac-share", "sub-icb")
        england = con.execute("SELECT period, fitted, low, high FROM result_forecasts WHERE level = 'england' "
                              "AND forecast ORDER BY period").df()
    return inputs, england


def _scenario(inputs, levers=(), runs=40, months=36, seed=7):
    return parse_scenario({"indicator": inputs.indicator, "level": inputs.level, "runs": runs, "months": months,
                           "seed": seed, "levers": list(levers)})


# ------------------------------------------------------------------------------------------- parameters
def test_every_lever_number_has_a_source_and_a_mechanism() -> None:
    params = load_levers()
    assert set(params.levers) == {"anchor", "network", "fund", "ringfenced-time", "incentive", "mission-mode"}
    assert all(params.mechanisms[k] for k in params.levers)
    assert all(source for source in params.sources.values())
    # the fund's size is the report's (IPPR recommendation 9), not an assumption
    assert params.levers["fund"]["fund_total_pounds"] == 10e9
    assert params.sources["levers.fund.fund_total_pounds"].startswith("IPPR")


@pytest.mark.parametrize("path, value, message", [
    (("levers", "fund", "elasticity", "source"), "", "source is missing"),
    (("network", "peer_weight", "value"), 1.5, "must lie between 0 and 1"),
    (("levers", "incentive", "elasticity", "value"), -1, "negative"),
    (("levers", "anchor", "typo"), {"value": 1, "kind": "share", "source": "x"}, "unknown key"),
])
def test_a_bad_levers_file_names_the_key(path, value, message) -> None:
    from importlib import resources
    data = yaml.safe_load(resources.files("uptake.models").joinpath("params/levers.yaml").read_text())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(UptakeError, match=message):
        parse_levers(data, "levers.yaml")


# ------------------------------------------------------------------------------------------ calibration
def test_no_lever_reproduces_the_fitted_national_trajectory_within_its_band(subicb) -> None:
    """Figure: the England DOAC share curve fitted by uptake.models.forecasts (NHSBSA sub-ICB items, Oct 2017 -
    Sep 2022) and its 95% band (result_forecasts): the simulated base median stays inside it every month."""
    inputs, england = subicb
    result = run_scenario(inputs, _scenario(inputs, runs=200, months=30))
    base = result.trajectories[result.trajectories["arm"] == "base"].set_index("month")
    england["month"] = pd.to_datetime(england["period"]).dt.date
    joined = england.join(base, on="month", how="inner")
    assert len(joined) >= 24
    assert ((joined["median"] >= joined["low"]) & (joined["median"] <= joined["high"])).all()
    # and the mean path is the volume-weighted sum of every organisation's own fitted curve
    c = inputs.calibration
    from uptake.stats.bass import bass_fraction
    t = c.t0 + np.arange(31)
    expected = (c.volume * c.m) @ bass_fraction(t[None, :], c.p[:, None], c.q[:, None]) / c.volume.sum()
    assert np.max(np.abs(base["mean"].to_numpy() - expected)) < 0.005


def test_without_levers_the_scenario_is_the_base_run_for_run(subicb) -> None:
    inputs, _ = subicb
    result = run_scenario(inputs, _scenario(inputs, runs=20, months=24))
    np.testing.assert_array_equal(result.runs.base, result.runs.scenario)
    assert result.summary.loc[0, "extra_unit_years_mean"] == 0


def test_reproducible_with_a_seed(subicb) -> None:
    inputs, _ = subicb
    lever = [{"lever": "fund", "where": ["icb:" + inputs.network.icb_codes[0]], "from": "2023-01", "to": "2023-12",
              "pounds": 5e6}]
    one = run_scenario(inputs, _scenario(inputs, lever, runs=10, months=24, seed=3))
    two = run_scenario(inputs, _scenario(inputs, lever, runs=10, months=24, seed=3))
    other = run_scenario(inputs, _scenario(inputs, lever, runs=10, months=24, seed=4))
    np.testing.assert_array_equal(one.runs.scenario, two.runs.scenario)
    assert not np.array_equal(one.runs.scenario, other.runs.scenario)


# --------------------------------------------------------------------------- fast path vs reference loop
def _small_network():
    rng = np.random.default_rng(5)
    s = 12
    codes = np.array([f"X{i:02d}" for i in range(s)])
    peers = np.array([(i, j) for i in range(s) for j in rng.choice(s, 3, replace=False) if i != j])
    network = Network(codes=codes, peer_pairs=peers, icb=np.array([0] * 5 + [1] * 5 + [-1] * 2),
                      clinical=np.array([0] * 8 + [1] * 4), partner_pairs=np.array([(0, 11), (3, 7)]),
                      icb_codes=("I0", "I1"), clinical_codes=("N0", "N1"))
    calibration = Calibration(m=rng.uniform(0.6, 0.95, s), p=rng.uniform(0.005, 0.02, s), q=rng.uniform(0.02, 0.1, s),
                              sigma_p=np.full(s, 0.1), sigma_q=np.full(s, 0.1), t0=20.0, volume=rng.uniform(10, 100, s))
    return network, calibration


def test_the_vectorised_engine_equals_the_per_organisation_loop() -> None:
    network, calibration = _small_network()
    params = load_levers()
    scenario = parse_scenario({"indicator": "x", "level": "sub-icb", "months": 18, "runs": 6, "levers": [
        {"lever": "anchor", "anchor": "X00", "where": ["X01", "X02", "X03"], "from": "2024-02", "to": "2024-09"},
        {"lever": "network", "where": ["X04", "X05", "X09"], "from": "2024-01", "to": "2024-12"},
        {"lever": "fund", "where": ["icb:I1"], "from": "2024-03", "to": "2024-08", "pounds": 4e5},
        {"lever": "ringfenced-time", "where": ["network:N1"], "from": "2024-01", "to": "2025-06", "share": 0.1},
        {"lever": "incentive", "where": ["X06"], "from": "2024-05", "to": "2025-01", "pounds_per_point": 1000},
        {"lever": "mission-mode", "from": "2024-06", "to": "2024-11"}]})
    levers = compile_levers(scenario, network, dt.date(2024, 1, 1), params)
    fast = simulate(network, calibration, levers, params, months=18, runs=6, seed=11, chunk=6)
    base, scen = simulate_reference(network, calibration, levers, params, months=18, runs=6, seed=11)
    np.testing.assert_allclose(fast.base, base, atol=1e-9)
    np.testing.assert_allclose(fast.scenario, scen, atol=1e-9)
    assert not np.allclose(fast.base, fast.scenario)   # the levers did something


def test_binomial_inverse_draws_binomials() -> None:
    rng = np.random.default_rng(2)
    n = np.full(200_000, 30.0)
    draws = binomial_inverse(n, np.full(n.shape, 0.1), rng.random(n.shape))
    assert abs(draws.mean() - 3.0) < 0.02 and abs(draws.var() - 2.7) < 0.05
    assert np.array_equal(np.bincount(draws.astype(int), minlength=31)[:3] > 0, [True, True, True])


# ------------------------------------------------------------------------------- levers: the direction
LEVER_CASES = {
    "anchor": {"where": "icb", "anchor": None},
    "network": {"where": "icb"},
    "fund": {"where": "icb", "pounds": 5e7},
    "ringfenced-time": {"where": "icb", "share": 0.2},
    "incentive": {"where": "icb", "pounds_per_point": 4000},
    "mission-mode": {"where": "all"},
}


@pytest.mark.parametrize("kind", list(LEVER_CASES))
def test_each_lever_brings_the_target_closer(subicb, kind) -> None:
    """Every lever raises the hazard of the organisations it reaches (its mechanism), so the national value is
    never lower than the base and the time to a target is never later, and strictly earlier on average."""
    inputs, _ = subicb
    case = dict(LEVER_CASES[kind])
    place = case.pop("where")
    case.pop("anchor", None)
    codes = list(inputs.network.codes)
    where = ["all"] if place == "all" else codes[:40]
    start = inputs.start
    lever = {"lever": kind, "where": where, "from": start.strftime("%Y-%m"),
             "to": _add_months(start, 17).strftime("%Y-%m"), **case}
    base_only = run_scenario(inputs, _scenario(inputs, runs=30, months=36))
    target_value = float(base_only.trajectories.query("arm == 'base'")["median"].iloc[18])
    target = Target("test target", target_value, _add_months(start, 18))
    result = run_scenario(inputs, _scenario(inputs, [lever], runs=30, months=36), targets=[target])
    assert (result.runs.scenario >= result.runs.base - 1e-12).all()
    assert result.runs.scenario[:, 18].mean() > result.runs.base[:, 18].mean()
    t = result.targets.set_index("arm")
    assert t.loc["scenario", "months_to_target_median"] <= t.loc["base", "months_to_target_median"]
    assert t.loc["scenario", "probability_meeting_deadline"] >= t.loc["base", "probability_meeting_deadline"]
    reach = lambda v: np.where((v >= target_value).any(axis=1), np.argmax(v >= target_value, axis=1), 99)  # noqa: E731
    assert reach(result.runs.scenario).mean() < reach(result.runs.base).mean()
    assert result.summary.loc[0, "lives_mean"] > 0 and result.summary.loc[0, "cost_pounds_mean"] > 0


# ----------------------------------------------------------------------------- every practice, memory
def test_every_practice_runs(store) -> None:
    with store.connect() as con:
        inputs = build_inputs(con, "doac-share", "practice")
    assert inputs.network.size == 6348
    assert inputs.network.clinical.min() >= 0          # every practice reaches an ISDN through its sub-ICB
    result = run_scenario(inputs, parse_scenario({"indicator": "doac-share", "level": "practice", "runs": 3,
                                                  "months": 6, "levers": [{"lever": "mission-mode", "from":
                                                  inputs.start.strftime("%Y-%m"), "to": inputs.start.strftime("%Y-%m")}]}))
    assert len(result.organisations) == 6348
    assert result.summary.loc[0, "organisations"] == 6348


def test_too_large_a_run_is_refused_before_it_starts(subicb) -> None:
    inputs, _ = subicb
    calls = []
    with pytest.raises(UptakeError, match="fewer runs .* or a coarser level"):
        run_scenario(inputs, _scenario(inputs, runs=1000, months=120), available=1024 ** 2,
                     progress=calls.append)
    assert calls == []


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("lever, message", [
    ({"lever": "fund", "where": ["NOPE1"], "pounds": 1e6}, "unknown organisation 'NOPE1'"),
    ({"lever": "fund", "where": ["all"], "pounds": -5}, "negative"),
    ({"lever": "fund", "where": ["all"], "pounds": 2e10}, "over the transformation fund"),
    ({"lever": "teleport", "where": ["all"]}, "unknown lever 'teleport'"),
    ({"lever": "network", "where": ["icb:NOPE"]}, "unknown icb 'NOPE'"),
])
def test_a_bad_lever_is_refused_and_nothing_runs(subicb, lever, message) -> None:
    inputs, _ = subicb
    lever = {"from": inputs.start.strftime("%Y-%m"), "to": _add_months(inputs.start, 5).strftime("%Y-%m"), **lever}
    calls = []
    with pytest.raises(UptakeError, match=message):
        run_scenario(inputs, _scenario(inputs, [lever]), progress=calls.append)
    assert calls == []


def test_overlapping_levers_and_periods_outside_the_nsf_are_refused(subicb) -> None:
    inputs, _ = subicb
    first = inputs.start.strftime("%Y-%m")
    code = str(inputs.network.codes[0])
    overlapping = [{"lever": "ringfenced-time", "where": [code], "from": first, "to": _add_months(inputs.start, 6).strftime("%Y-%m"), "share": 0.1},
                   {"lever": "ringfenced-time", "where": ["all"], "from": _add_months(inputs.start, 3).strftime("%Y-%m"), "to": _add_months(inputs.start, 9).strftime("%Y-%m"), "share": 0.1}]
    with pytest.raises(UptakeError, match="levers 1 and 2 .* overlap"):
        run_scenario(inputs, _scenario(inputs, overlapping))
    outside = [{"lever": "mission-mode", "from": _add_months(inputs.start, -2).strftime("%Y-%m"), "to": first}]
    with pytest.raises(UptakeError, match="outside the simulated NSF period"):
        run_scenario(inputs, _scenario(inputs, outside))
