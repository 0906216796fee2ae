"""The pathway model's answer as tables: per scenario nationally, and per unit, each figure with its 95%
interval over the simulated years, beside SAMueL's published figures.

``compute_pathway`` runs every scenario on the bundled 132 units (100 simulated years each by default,
as SAMueL did) and summarises. Intervals are the 2.5th and 97.5th percentiles over the simulated years:
with ``outcome_uncertainty`` (the default) each year also draws the outcome model's odds-ratio line from
Emberson 2014's stated intervals, so the good-outcome intervals carry both the chance of a year's patients
and the uncertainty of thrombolysis' effect; the thrombolysis rate's interval is the chance of a year's
patients only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from uptake.models.outcomes.stroke import StrokeParameters, load_parameters
from uptake.models.pathway.model import SCENARIOS, PathwayRun, run_scenarios
from uptake.sources.pathway_performance import PATHWAY_FILE, read_pathway_performance

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_TRIALS",
    "NATIONAL_COLUMNS",
    "SAMUEL_PUBLISHED",
    "SOURCE",
    "UNIT_COLUMNS",
    "PathwayTables",
    "compute_pathway",
    "summarise_runs",
]

DEFAULT_TRIALS = 100
DEFAULT_SEED = 2022
#: SAMueL-1's published national results (samuel-book/samuel-1, pathway_sim/scenario_analysis, "Overall
#: results"): thrombolysis (%) and added good outcomes per 1,000 admissions.
SAMUEL_PUBLISHED: dict[str, tuple[float, float]] = {
    "base": (11.60, 9.40),
    "speed": (12.34, 11.86),
    "onset": (13.67, 11.09),
    "speed_onset": (14.52, 13.98),
}
SOURCE = (
    "SAMueL-1 (Allen M, James C, Frost J, et al., Use of simulation and machine learning to identify key levers "
    "for maximising the disability benefit of intravenous thrombolysis in acute stroke pathways, NIHR HS&DR "
    "17/99/89; samuel-book/samuel-1), pathway parameters of 132 anonymised stroke teams from SSNAP 2016-2018 "
    f"({PATHWAY_FILE}, samuel-book/skeleton-pathway-model, MIT). Credit SSNAP and the SAMueL project."
)
NATIONAL_COLUMNS: tuple[str, ...] = (
    "scenario", "title", "description", "units", "admissions_per_year",
    "thrombolysis_pct", "thrombolysis_pct_low", "thrombolysis_pct_high",
    "good_outcomes_per_1000", "good_outcomes_per_1000_low", "good_outcomes_per_1000_high",
    "thrombolysed_per_year", "good_outcomes_per_year", "good_outcomes_per_year_low", "good_outcomes_per_year_high",
    "extra_good_outcomes_per_year_vs_base", "extra_good_outcomes_per_year_vs_base_low",
    "extra_good_outcomes_per_year_vs_base_high",
    "samuel_thrombolysis_pct", "samuel_good_outcomes_per_1000", "trials", "seed", "parameters_version", "seconds",
)
UNIT_COLUMNS: tuple[str, ...] = (
    "scenario", "stroke_team", "admissions_per_year", "recorded_thrombolysis_pct",
    "thrombolysis_pct", "thrombolysis_pct_low", "thrombolysis_pct_high",
    "good_outcomes_per_1000", "good_outcomes_per_1000_low", "good_outcomes_per_1000_high",
    "change_thrombolysis_pct_points_vs_base", "change_thrombolysis_pct_points_vs_base_low",
    "change_thrombolysis_pct_points_vs_base_high", "change_good_outcomes_per_1000_vs_base",
    "change_good_outcomes_per_1000_vs_base_low", "change_good_outcomes_per_1000_vs_base_high",
)


@dataclass(frozen=True)
class PathwayTables:
    trials: int
    seed: int
    outcome_uncertainty: bool
    seconds: float
    national: pd.DataFrame
    units: pd.DataFrame
    parameters_version: int


def _interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    low, high = np.percentile(values, [2.5, 97.5], axis=axis)
    return low, high


def summarise_runs(runs: dict[str, PathwayRun], performance: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = runs.get("base")
    national, units = [], []
    recorded = 100 * performance.set_index("stroke_team")["thrombolysis_rate"]
    for key, run in runs.items():
        admissions = run.admissions.sum()
        rate = 100 * run.national_rate
        good = run.national_good_per_1000
        per_year = good * admissions / 1000
        vs_base = per_year - (base.national_good_per_1000 * admissions / 1000 if base is not None else per_year)
        published = SAMUEL_PUBLISHED.get(key, (None, None))
        national.append(
            {
                "scenario": key,
                "title": SCENARIOS[key].title,
                "description": SCENARIOS[key].description,
                "units": len(run.teams),
                "admissions_per_year": float(admissions),
                "thrombolysis_pct": float(rate.mean()),
                **dict(zip(("thrombolysis_pct_low", "thrombolysis_pct_high"), map(float, _interval(rate)))),
                "good_outcomes_per_1000": float(good.mean()),
                **dict(zip(("good_outcomes_per_1000_low", "good_outcomes_per_1000_high"), map(float, _interval(good)))),
                "thrombolysed_per_year": float(rate.mean() * admissions / 100),
                "good_outcomes_per_year": float(per_year.mean()),
                **dict(zip(("good_outcomes_per_year_low", "good_outcomes_per_year_high"), map(float, _interval(per_year)))),
                "extra_good_outcomes_per_year_vs_base": float(vs_base.mean()),
                **dict(
                    zip(
                        ("extra_good_outcomes_per_year_vs_base_low", "extra_good_outcomes_per_year_vs_base_high"),
                        map(float, _interval(vs_base)),
                    )
                ),
                "samuel_thrombolysis_pct": published[0],
                "samuel_good_outcomes_per_1000": published[1],
            }
        )
        unit_rate = 100 * run.unit_rate
        rate_low, rate_high = _interval(unit_rate)
        good_low, good_high = _interval(run.unit_good_per_1000)
        # change against the base, year by year (the same simulated year's outcome-model draw in both)
        rate_change = unit_rate - 100 * base.unit_rate if base is not None else np.zeros_like(unit_rate)
        good_change = (run.unit_good_per_1000 - base.unit_good_per_1000 if base is not None
                       else np.zeros_like(run.unit_good_per_1000))
        rate_change_low, rate_change_high = _interval(rate_change)
        good_change_low, good_change_high = _interval(good_change)
        frame = pd.DataFrame(
            {
                "scenario": key,
                "stroke_team": list(run.teams),
                "admissions_per_year": run.admissions,
                "recorded_thrombolysis_pct": recorded.loc[list(run.teams)].to_numpy(),
                "thrombolysis_pct": unit_rate.mean(axis=0),
                "thrombolysis_pct_low": rate_low,
                "thrombolysis_pct_high": rate_high,
                "good_outcomes_per_1000": run.unit_good_per_1000.mean(axis=0),
                "good_outcomes_per_1000_low": good_low,
                "good_outcomes_per_1000_high": good_high,
                "change_thrombolysis_pct_points_vs_base": rate_change.mean(axis=0),
                "change_thrombolysis_pct_points_vs_base_low": rate_change_low,
                "change_thrombolysis_pct_points_vs_base_high": rate_change_high,
                "change_good_outcomes_per_1000_vs_base": good_change.mean(axis=0),
                "change_good_outcomes_per_1000_vs_base_low": good_change_low,
                "change_good_outcomes_per_1000_vs_base_high": good_change_high,
            }
        )
        units.append(frame)
    return (
        pd.DataFrame(national, columns=list(NATIONAL_COLUMNS[:-4])),
        pd.concat(units, ignore_index=True)[list(UNIT_COLUMNS)],
    )


def compute_pathway(
    trials: int = DEFAULT_TRIALS,
    seed: int = DEFAULT_SEED,
    *,
    outcome_uncertainty: bool = True,
    params: StrokeParameters | None = None,
    performance: pd.DataFrame | None = None,
) -> PathwayTables:
    """Every scenario on the bundled units (or ``performance``), summarised, with the seconds it took."""
    started = time.perf_counter()
    params = params or load_parameters()
    performance = performance if performance is not None else read_pathway_performance()
    runs = run_scenarios(performance, params, trials=trials, seed=seed, outcome_uncertainty=outcome_uncertainty)
    national, units = summarise_runs(runs, performance)
    seconds = time.perf_counter() - started
    national = national.assign(trials=trials, seed=seed, parameters_version=params.version, seconds=seconds)
    return PathwayTables(trials, seed, outcome_uncertainty, seconds, national, units, params.version)
