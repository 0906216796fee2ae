"""One indicator's pooled Bass forecasts (uptake.models.forecasts.model) on small made-up series: pooling
pulls a short noisy series to its parent and leaves a long clean one alone; a series too short says so and
has no curve; low-is-good indicators are not fitted; SYNTHETIC reaches every table; the time to a target
and the probability of a deadline follow the curve and its band; adopter categories from the fitted curve."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from uptake.models.forecasts.model import (
    MIN_POINTS,
    STATUS_FITTED,
    STATUS_NOT_UPTAKE,
    STATUS_TOO_SHORT,
    Commitment,
    forecast_indicator,
    month_index,
)
from uptake.stats.bass import bass_cumulative, bass_time_to_fraction
from uptake.stats.diffusion import ADOPTER_CATEGORIES

START = dt.date(2018, 1, 1)


def _months(n: int) -> list[dt.date]:
    return [dt.date(START.year + (START.month - 1 + k) // 12, (START.month - 1 + k) % 12 + 1, 1) for k in range(n)]


def _frame(series: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    rows = []
    for (level, code), values in series.items():
        for period, value in zip(_months(len(values)), values):
            rows.append({"level": level, "org_code": code, "period": period, "value": value})
    return pd.DataFrame(rows)


def _curve(n: int, m: float, p: float, q: float, shift: float = 24.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    t = np.arange(n, dtype=float) + shift
    rng = np.random.default_rng(seed)
    return bass_cumulative(t, m, p, q) + rng.normal(0.0, noise, n)


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    series = {("england", "ENG"): _curve(48, 0.8, 0.01, 0.08, noise=0.003)}
    for k in range(12):
        series[("sub-icb", f"S{k:02d}")] = _curve(48, 0.7 + 0.02 * k, 0.008 + 0.001 * k, 0.08, noise=0.01, seed=k)
    series[("sub-icb", "NOISY")] = _curve(8, 0.8, 0.01, 0.08, noise=0.08, seed=99)  # short and noisy
    series[("sub-icb", "SHORT")] = _curve(MIN_POINTS - 1, 0.8, 0.01, 0.08, seed=5)
    return _frame(series)


@pytest.fixture(scope="module")
def result(world):
    commitments = [Commitment("nsf", "reach-70", "sub-icb", 0.70, dt.date(2023, 3, 31)),
                   Commitment("nsf", "reach-99", "sub-icb", 0.99, dt.date(2023, 3, 31)),
                   Commitment("nsf", "reach-10", "sub-icb", 0.10, dt.date(2023, 3, 31))]
    return forecast_indicator(world, adoption_threshold=0.5, commitments=commitments, draws=200)


def _fit(result, code: str) -> pd.Series:
    return result.fits.set_index("org_code").loc[code]


def test_a_series_too_short_says_so_and_has_no_curve(result) -> None:
    short = _fit(result, "SHORT")
    assert short["status"] == STATUS_TOO_SHORT and short["points"] == MIN_POINTS - 1
    assert pd.isna(short["m"])
    assert "SHORT" not in set(result.trajectories["org_code"])
    assert "SHORT" not in set(result.targets["org_code"])


def test_pooling_keeps_a_long_clean_series_and_pulls_a_short_noisy_one(result) -> None:
    clean, noisy = _fit(result, "S05"), _fit(result, "NOISY")
    assert clean["status"] == noisy["status"] == STATUS_FITTED
    assert clean["parent_code"] == noisy["parent_code"] == "ENG"
    assert clean["data_weight"] > 0.8
    assert noisy["data_weight"] < clean["data_weight"]
    eng = _fit(result, "ENG")
    # the noisy series' curve is nearer England's than the data alone would put it
    assert abs(np.log(noisy["q"] / eng["q"])) < 1.0


def test_parameters_have_intervals_around_them(result) -> None:
    fitted = result.fits.loc[result.fits["status"] == STATUS_FITTED]
    for name in ("m", "p", "q"):
        assert (fitted[f"{name}_low"] <= fitted[name] * (1 + 1e-9)).all()
        assert (fitted[name] <= fitted[f"{name}_high"] * (1 + 1e-9)).all()


def test_the_origin_is_found_from_england(result) -> None:
    # England's curve was drawn from a take-off 24 months before its first value
    months_back = month_index([START])[0] - month_index([result.origin])[0]
    assert 9 <= months_back <= 36


def test_trajectories_run_past_the_data_with_a_band(result) -> None:
    traj = result.trajectories.loc[result.trajectories["org_code"] == "S03"]
    ahead = traj.loc[traj["forecast"]]
    assert len(ahead) >= 36
    assert (ahead["low"] <= ahead["fitted"]).all() and (ahead["fitted"] <= ahead["high"]).all()
    assert traj.loc[~traj["forecast"], "observed"].notna().all()
    # the band is wider a year ahead than a month ahead
    width = (ahead["high"] - ahead["low"]).to_numpy()
    assert width[11] > width[0]


def test_time_to_target_is_the_inverse_of_the_curve(result) -> None:
    row = result.targets.set_index(["commitment", "org_code"]).loc[("reach-70", "S05")]
    fit = _fit(result, "S05")
    months = float(bass_time_to_fraction(0.70 / fit["m"], fit["p"], fit["q"]))
    expected = month_index([result.origin])[0] + months
    assert month_index([row["reach_date"]])[0] == int(np.floor(expected))


def test_probabilities_follow_the_target(result) -> None:
    t = result.targets.set_index(["commitment", "org_code"])
    for code in ("S02", "S08"):
        assert t.loc[("reach-10", code), "probability"] > 0.99  # long passed
        assert t.loc[("reach-99", code), "probability"] < 0.01  # above where the curve levels off
        assert t.loc[("reach-99", code), "status"] == "very unlikely"
        assert t.loc[("reach-10", code), "probability"] >= t.loc[("reach-70", code), "probability"]


def test_adopter_categories_from_the_fitted_curve(result) -> None:
    subs = result.fits.loc[(result.fits["level"] == "sub-icb") & (result.fits["status"] == STATUS_FITTED)]
    assert set(subs["category_fitted"]) <= set(ADOPTER_CATEGORIES) | {"not on the curve"}
    ordered = subs.dropna(subset=["fitted_adoption"]).sort_values("fitted_adoption")
    rank = {c: i for i, c in enumerate(ADOPTER_CATEGORIES)}
    positions = [rank[c] for c in ordered["category_fitted"]]
    assert positions == sorted(positions)  # earlier fitted adoption, earlier category


def test_synthetic_reaches_every_table(world) -> None:
    out = forecast_indicator(world, synthetic=True, draws=50, calibrate=False,
                             commitments=[Commitment("nsf", "c", "sub-icb", 0.7, dt.date(2023, 3, 31))])
    for frame in (out.fits, out.trajectories, out.targets):
        assert len(frame) and frame["synthetic"].astype(bool).all()


def test_low_is_good_is_not_an_uptake_curve(world) -> None:
    out = forecast_indicator(world, polarity="low-is-good", draws=50)
    assert set(out.fits["status"]) == {STATUS_NOT_UPTAKE}
    assert out.trajectories.empty and out.targets.empty


def test_sub_icbs_pool_towards_their_icb_when_it_has_a_curve(world) -> None:
    icb = _frame({("icb", "QAA"): _curve(48, 0.75, 0.009, 0.08, noise=0.004, seed=7)})
    icb_of = {("sub-icb", f"S{k:02d}"): "QAA" for k in range(6)}
    out = forecast_indicator(pd.concat([world, icb]), icb_of=icb_of, draws=50, calibrate=False)
    fits = out.fits.set_index("org_code")
    assert fits.loc["S01", "parent_code"] == "QAA" and fits.loc["S01", "parent_level"] == "icb"
    assert fits.loc["S09", "parent_code"] == "ENG"
    assert fits.loc["QAA", "parent_code"] == "ENG"
