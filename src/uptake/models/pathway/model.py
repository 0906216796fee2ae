"""SAMueL-1's stroke pathway model, vectorised across trials, units and patients.

The published method (samuel-book/samuel-1, pathway_sim/pathway_code; Allen et al., NIHR HS&DR 17/99/89),
per unit and simulated year ("trial"), for ``int(admissions)`` patients:

* a patient is a candidate for thrombolysis when four independent yes/no draws all say yes: onset time
  known (``onset_known``), arrival within 4 hours of known onset (``known_arrival_within_4hrs``), scan
  within 4 hours of arrival (``scan_within_4_hrs``) and judged eligible if scanned in time (``eligable``);
* times are lognormal per unit: onset-to-arrival, arrival-to-scan, scan-to-needle (mu, sigma of log minutes);
* a candidate is thrombolysed when at least 15 minutes of the 270-minute window remain after the scan;
  the onset-to-needle time is capped at 270 + 15 minutes;
* the added probability of a good outcome (mRS 0-1) is SAMueL's clinical outcome model
  (``uptake.models.outcomes.stroke``) at the onset-to-needle time, for the patient's age group (80+ or not);
* a unit's thrombolysis rate is thrombolysed / admissions; added good outcomes per 1,000 admissions is
  1,000 x the summed added probabilities / admissions; national figures weight units by admissions.

Vectorised: the four yes/no draws of a patient multiply to one yes/no with the product of the four
shares, so the number of candidates per unit and year is one binomial draw; ages and times are drawn only
for candidates (about one admission in eight), 25 simulated years at a time, and summed back per unit and
year with ``np.bincount``. This is the same distribution as SAMueL's per-patient draws.

Scenarios (SAMueL-1, pathway_sim/scenario_results_generation): ``base`` (the units as recorded);
``speed`` (95% scanned within 4 hours of arrival; arrival-to-scan and scan-to-needle exactly 15 minutes);
``onset`` (known-onset share raised to the units' upper quartile where below it); ``speed_onset`` (both).
SAMueL's "benchmark decisions" scenarios need its machine-learning models and are not reproduced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from uptake.errors import UptakeError
from uptake.models.outcomes.stroke import StrokeParameters, added_good_outcome, draw_odds_ratio_lines

__all__ = [
    "ALLOWED_ONSET_TO_NEEDLE",
    "ALLOWED_OVERRUN",
    "MIN_MINUTES_LEFT",
    "SCENARIOS",
    "PathwayDraws",
    "PathwayRun",
    "Scenario",
    "UnitParameters",
    "apply_scenario",
    "draw_pathway",
    "run_scenarios",
    "simulate",
    "simulate_drawn",
]

#: SAMueL-1: the thrombolysis window (minutes from onset), the overrun allowed for a slow scan-to-needle,
#: and the minutes that must remain after the scan.
ALLOWED_ONSET_TO_NEEDLE = 270.0
ALLOWED_OVERRUN = 15.0
MIN_MINUTES_LEFT = 15.0
#: Trials simulated at once: about 10,000 candidates a trial, so a chunk's arrays stay near the cache (25 ran
#: 1.75x faster than 100 on the build machine) and memory stays small.
TRIALS_PER_CHUNK = 25


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    description: str
    apply: Callable[[pd.DataFrame], pd.DataFrame]


def _speed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["scan_within_4_hrs"] = 0.95
    out["arrival_scan_arrival_mins_mu"] = np.log(15.0)
    out["arrival_scan_arrival_mins_sigma"] = 0.0
    out["scan_needle_mins_mu"] = np.log(15.0)
    out["scan_needle_mins_sigma"] = 0.0
    return out


def _onset(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    upper_quartile = float(np.percentile(frame["onset_known"].to_numpy(dtype=float), 75))
    out["onset_known"] = np.maximum(frame["onset_known"].to_numpy(dtype=float), upper_quartile)
    return out


SCENARIOS: Mapping[str, Scenario] = {
    s.key: s
    for s in (
        Scenario("base", "Base", "Each unit's pathway as recorded in SSNAP (2016-2018).", lambda f: f.copy()),
        Scenario(
            "speed",
            "Speed",
            "95% of patients scanned within 4 hours of arrival; arrival-to-scan and scan-to-needle both 15 minutes.",
            _speed,
        ),
        Scenario(
            "onset",
            "Onset known",
            "The share of patients with a known onset time raised to the units' upper quartile where it is below it.",
            _onset,
        ),
        Scenario("speed_onset", "Speed and onset known", "Both changes together.", lambda f: _onset(_speed(f))),
    )
}


def apply_scenario(performance: pd.DataFrame, scenario: str) -> pd.DataFrame:
    if scenario not in SCENARIOS:
        raise UptakeError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    return SCENARIOS[scenario].apply(performance)


@dataclass(frozen=True)
class UnitParameters:
    """The per-unit arrays the simulation needs (one entry per unit)."""

    teams: tuple[str, ...]
    admissions: NDArray[np.float64]  # yearly mean (weights for national figures)
    patients: NDArray[np.int64]  # int(admissions): patients simulated per year
    candidate_share: NDArray[np.float64]
    share_80_plus: NDArray[np.float64]
    mu: NDArray[np.float64]  # shape (3, units): onset-arrival, arrival-scan, scan-needle
    sigma: NDArray[np.float64]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "UnitParameters":
        f = {name: frame[name].to_numpy(dtype=float) for name in frame.columns if name != "stroke_team"}
        return cls(
            teams=tuple(frame["stroke_team"].astype(str)),
            admissions=f["admissions"],
            patients=f["admissions"].astype(np.int64),
            candidate_share=f["onset_known"] * f["known_arrival_within_4hrs"] * f["scan_within_4_hrs"] * f["eligable"],
            share_80_plus=f["80_plus"],
            mu=np.vstack([f["onset_arrival_mins_mu"], f["arrival_scan_arrival_mins_mu"], f["scan_needle_mins_mu"]]),
            sigma=np.vstack(
                [f["onset_arrival_mins_sigma"], f["arrival_scan_arrival_mins_sigma"], f["scan_needle_mins_sigma"]]
            ),
        )


@dataclass(frozen=True)
class PathwayDraws:
    """The random numbers of one chunk of trials: candidates per (trial, unit), and per candidate (in
    trial-major, unit, candidate order) one uniform for age and three standard normals for the times."""

    candidates: NDArray[np.int64]  # (trials, units)
    age_uniform: NDArray[np.float64]  # (K,)
    normals: NDArray[np.float64]  # (3, K)


def draw_pathway(units: UnitParameters, trials: int, rng: np.random.Generator) -> PathwayDraws:
    candidates = rng.binomial(units.patients, units.candidate_share, size=(trials, len(units.teams)))
    total = int(candidates.sum())
    return PathwayDraws(candidates, rng.random(total), rng.standard_normal((3, total)))


@dataclass(frozen=True)
class OutcomeLine:
    """SAMueL's clinical outcome model for the simulation: untreated probabilities by age group and the
    log10 odds-ratio line, one (intercept, slope) per trial (equal when uncertainty is off)."""

    untreated_under_80: float
    untreated_80_plus: float
    intercept: NDArray[np.float64]
    slope: NDArray[np.float64]


def simulate_drawn(
    units: UnitParameters, draws: PathwayDraws, line: OutcomeLine
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Patients thrombolysed and summed added probability of a good outcome, per (trial, unit)."""
    trials, n_units = draws.candidates.shape
    counts = draws.candidates.ravel()
    cell = np.repeat(np.arange(trials * n_units, dtype=np.int32), counts)
    unit = np.repeat(np.tile(np.arange(n_units, dtype=np.int32), trials), counts)
    onset_to_scan = np.exp(units.mu[0, unit] + units.sigma[0, unit] * draws.normals[0])
    onset_to_scan += np.exp(units.mu[1, unit] + units.sigma[1, unit] * draws.normals[1])
    treated = (ALLOWED_ONSET_TO_NEEDLE - onset_to_scan) >= MIN_MINUTES_LEFT
    # The outcome only for those thrombolysed (same numbers, less work).
    t_cell, t_unit = cell[treated], unit[treated]
    scan_to_needle = np.exp(units.mu[2, t_unit] + units.sigma[2, t_unit] * draws.normals[2, treated])
    onset_to_needle = np.minimum(onset_to_scan[treated] + scan_to_needle, ALLOWED_ONSET_TO_NEEDLE + ALLOWED_OVERRUN)
    old = draws.age_uniform[treated] < units.share_80_plus[t_unit]
    untreated = np.where(old, line.untreated_80_plus, line.untreated_under_80)
    t_trial = t_cell // n_units
    gain = added_good_outcome(onset_to_needle, untreated, line.intercept[t_trial], line.slope[t_trial])
    size = trials * n_units
    thrombolysed = np.bincount(t_cell, minlength=size).reshape(trials, n_units).astype(float)
    good = np.bincount(t_cell, weights=gain, minlength=size).reshape(trials, n_units)
    return thrombolysed, good


@dataclass(frozen=True)
class PathwayRun:
    """One scenario's simulated years: per (trial, unit) thrombolysis rate and added good outcomes per
    1,000 admissions, and per trial the national (admission-weighted) figures."""

    scenario: str
    teams: tuple[str, ...]
    admissions: NDArray[np.float64]
    unit_rate: NDArray[np.float64]  # (trials, units), share 0-1
    unit_good_per_1000: NDArray[np.float64]  # (trials, units)

    @property
    def national_rate(self) -> NDArray[np.float64]:
        return self.unit_rate @ self.admissions / self.admissions.sum()

    @property
    def national_good_per_1000(self) -> NDArray[np.float64]:
        return self.unit_good_per_1000 @ self.admissions / self.admissions.sum()


def _outcome_line(params: StrokeParameters, trials: int, seed: int, uncertainty: bool) -> OutcomeLine:
    if uncertainty:
        intercept, slope = draw_odds_ratio_lines(trials, seed, params)
    else:
        intercept, slope = np.full(trials, params.intercept), np.full(trials, params.slope)
    return OutcomeLine(params.untreated_under_80, params.untreated_80_plus, intercept, slope)


def simulate(
    performance: pd.DataFrame,
    params: StrokeParameters,
    *,
    trials: int = 100,
    seed: int = 0,
    outcome_uncertainty: bool = True,
    scenario: str = "base",
) -> PathwayRun:
    """Simulate ``trials`` years of every unit of ``performance`` (after applying ``scenario``)."""
    if trials < 1:
        raise UptakeError(f"trials must be 1 or more (got {trials})")
    frame = apply_scenario(performance, scenario)
    units = UnitParameters.from_frame(frame)
    rng = np.random.default_rng(seed)
    line = _outcome_line(params, trials, seed + 1, outcome_uncertainty)
    thrombolysed, good = [], []
    for start in range(0, trials, TRIALS_PER_CHUNK):
        stop = min(trials, start + TRIALS_PER_CHUNK)
        draws = draw_pathway(units, stop - start, rng)
        chunk_line = OutcomeLine(
            line.untreated_under_80, line.untreated_80_plus, line.intercept[start:stop], line.slope[start:stop]
        )
        t, g = simulate_drawn(units, draws, chunk_line)
        thrombolysed.append(t)
        good.append(g)
    patients = units.patients.astype(float)
    return PathwayRun(
        scenario=scenario,
        teams=units.teams,
        admissions=units.admissions,
        unit_rate=np.vstack(thrombolysed) / patients,
        unit_good_per_1000=1000.0 * np.vstack(good) / patients,
    )


def run_scenarios(
    performance: pd.DataFrame,
    params: StrokeParameters,
    *,
    trials: int = 100,
    seed: int = 0,
    outcome_uncertainty: bool = True,
    scenarios: tuple[str, ...] = tuple(SCENARIOS),
) -> dict[str, PathwayRun]:
    """Every scenario on the same seed (common random numbers: differences between scenarios are not
    blurred by different draws of the binomials' uniforms where the parameters are equal)."""
    return {
        key: simulate(
            performance, params, trials=trials, seed=seed, outcome_uncertainty=outcome_uncertainty, scenario=key
        )
        for key in scenarios
    }
