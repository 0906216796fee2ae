"""Stroke thrombolysis: what one more patient thrombolysed is worth (SAMueL's clinical outcome model).

Method (SAMueL-1, University of Exeter; parameters and sources in ``params/stroke.yaml``):

* **Good outcome** (modified Rankin Scale 0-1 at 3 months). A patient not thrombolysed has probability
  ``p0`` of a good outcome by age group (0.3499 under 80, 0.1318 at 80+). Thrombolysis at ``t`` minutes
  after onset multiplies the odds by ``OR(t) = 10^(a + b t)`` (a = 0.326956, b = -0.00086211, a line fitted
  to Emberson et al. 2014). The odds ratio falls to 1 at ``-a / b`` = 379 minutes: the time of no effect,
  6.3 hours. The gain is ``max(0, p(t) - p0)`` with ``p(t) = p0 OR / (1 - p0 + p0 OR)``, never negative
  (as SAMueL clips it).
* **Utility and QALYs** (the continuous mRS method of SAMueL's stroke-outcome, for non-large-vessel
  occlusions): the cumulative mRS distribution at ``t`` interpolates, in log-odds for each ``P(mRS <= x)``,
  between treatment at onset and treatment at the time of no effect (6.3 hours); after it, untreated.
  Expected utility uses Wang et al. 2020's utility per mRS. QALYs per patient = (utility treated at t -
  utility untreated) x the horizon (1 year: a floor, no later years).
* **Pounds**: QALYs valued at 20,000 pounds each (NICE PMG36's lower threshold): a valuation of health,
  not cash saved.
* **Uncertainty**: Emberson et al. state 95% intervals for the odds ratio of mRS 0-1 by treatment delay
  (<= 3 h: 1.75, 1.35-2.27; 3-4.5 h: 1.26, 1.05-1.51). Each draw moves the SAMueL line's log odds ratio at
  the two times where it equals those central odds ratios by a normal error with the band's standard error
  (its interval's width / 3.92) and refits the line through the two points. QALYs and pounds move in
  proportion to the good-outcome gain. Untreated probabilities, utilities and the age mix have no stated
  uncertainty and are held fixed.

The outcomes are per ONE extra patient thrombolysed at the typical onset-to-needle time (170 minutes,
SAMueL's base scenario) with the national age mix (42.3% aged 80+).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.errors import UptakeError
from uptake.models.outcomes.base import Outcome, OutcomeModel
from uptake.models.outcomes.yaml_params import ParameterFile, load_parameter_file

__all__ = [
    "INDICATOR_IDS",
    "STROKE_TYPES",
    "StrokeParameters",
    "added_good_outcome",
    "draw_odds_ratio_lines",
    "expected_utility",
    "good_outcome_probability",
    "load_parameters",
    "model",
    "mrs_cumulative_at",
    "stroke_model",
    "time_of_no_effect_minutes",
    "utility_gain",
]

#: The catalogue's thrombolysis indicators this model applies to.
INDICATOR_IDS: tuple[str, ...] = ("thrombolysis-rate", "thrombolysis-rate-all-admissions")
Z_95 = 1.959963984540054
LN10 = float(np.log(10.0))


@dataclass(frozen=True)
class StrokeParameters:
    untreated_under_80: float
    untreated_80_plus: float
    intercept: float
    slope: float
    or_bands: tuple[tuple[float, float, float], ...]  # (central, low, high) odds ratios
    time_of_no_effect_hours: float
    share_80_plus: float
    onset_to_needle_minutes: float
    mrs_untreated: NDArray[np.float64]
    mrs_at_onset: NDArray[np.float64]
    mrs_at_no_effect: NDArray[np.float64]
    #: the same three for large-vessel occlusions thrombolysed (stroke type "lvo")
    mrs_lvo: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
    utilities: NDArray[np.float64]
    horizon_years: float
    value_per_qaly: float
    version: int
    file: ParameterFile


def _cumulative(file: ParameterFile, key: str) -> NDArray[np.float64]:
    values = np.asarray(file.value(key), dtype=float)
    if values.shape != (6,) or np.any(np.diff(values) < 0):
        raise UptakeError(
            f"{file.name}: key {key!r}: give six cumulative probabilities P(mRS <= 0..5), each at least the one before"
        )
    return values


def load_parameters(path: Path | None = None) -> StrokeParameters:
    """The checked parameters of ``params/stroke.yaml`` (or of the file at ``path``)."""
    file = load_parameter_file("stroke", path)
    bands = tuple(
        (float(file[key].value), float(file[key].low), float(file[key].high))  # type: ignore[arg-type]
        for key in ("good_outcome.emberson_or_up_to_3h", "good_outcome.emberson_or_3_to_4_5h")
        if file[key].low is not None and file[key].high is not None
    )
    if len(bands) != 2:
        raise UptakeError(f"{file.name}: the two Emberson odds ratios need low and high (their 95% interval)")
    utilities = np.asarray(file.value("utility_by_mrs"), dtype=float)
    if utilities.shape != (7,):
        raise UptakeError(f"{file.name}: key 'utility_by_mrs': give seven utilities, for mRS 0 to 6")
    slope = float(file.value("good_outcome.log10_odds_ratio_slope_per_minute"))
    if slope >= 0:
        raise UptakeError(
            f"{file.name}: key 'good_outcome.log10_odds_ratio_slope_per_minute': the benefit must fall with time "
            "(a negative slope)"
        )
    return StrokeParameters(
        untreated_under_80=float(file.value("good_outcome.untreated_under_80")),
        untreated_80_plus=float(file.value("good_outcome.untreated_80_plus")),
        intercept=float(file.value("good_outcome.log10_odds_ratio_intercept")),
        slope=slope,
        or_bands=bands,
        time_of_no_effect_hours=float(file.value("good_outcome.published_time_of_no_effect_hours")),
        share_80_plus=float(file.value("typical_patient.share_80_plus")),
        onset_to_needle_minutes=float(file.value("typical_patient.onset_to_needle_minutes")),
        mrs_untreated=_cumulative(file, "mrs_nlvo.untreated"),
        mrs_at_onset=_cumulative(file, "mrs_nlvo.treated_at_onset"),
        mrs_at_no_effect=_cumulative(file, "mrs_nlvo.treated_at_no_effect"),
        mrs_lvo=tuple(_cumulative(file, f"mrs_lvo.{k}") for k in ("untreated", "treated_at_onset", "treated_at_no_effect")),
        utilities=utilities,
        horizon_years=float(file.value("qaly_horizon_years")),
        value_per_qaly=float(file.value("value_per_qaly_pounds")),
        version=file.version,
        file=file,
    )


def time_of_no_effect_minutes(intercept: ArrayLike, slope: ArrayLike) -> NDArray[np.float64]:
    """Minutes after onset at which the odds ratio 10^(intercept + slope t) reaches 1."""
    return -np.asarray(intercept, dtype=float) / np.asarray(slope, dtype=float)


def good_outcome_probability(
    minutes: ArrayLike, untreated: ArrayLike, intercept: ArrayLike, slope: ArrayLike
) -> NDArray[np.float64]:
    """Probability of mRS 0-1 if thrombolysed ``minutes`` after onset (broadcasting)."""
    p0 = np.asarray(untreated, dtype=float)
    log10_ratio = np.asarray(intercept, dtype=float) + np.asarray(slope, dtype=float) * np.asarray(minutes, dtype=float)
    ratio = np.exp(LN10 * log10_ratio)  # 10 ** x, as exp: half the time of numpy's power
    odds = p0 / (1.0 - p0) * ratio
    return odds / (1.0 + odds)


def added_good_outcome(
    minutes: ArrayLike, untreated: ArrayLike, intercept: ArrayLike, slope: ArrayLike
) -> NDArray[np.float64]:
    """The added probability of mRS 0-1 from thrombolysis at ``minutes``: never below 0 (SAMueL's clip)."""
    p0 = np.asarray(untreated, dtype=float)
    return np.maximum(0.0, good_outcome_probability(minutes, p0, intercept, slope) - p0)


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.log(p / (1.0 - p))


STROKE_TYPES = ("nlvo", "lvo")


def mrs_cumulative_at(minutes: ArrayLike, params: StrokeParameters, stroke_type: str = "nlvo") -> NDArray[np.float64]:
    """P(mRS <= x), x = 0..5, for a patient of ``stroke_type`` (``nlvo``: non-large-vessel occlusion, the
    default; ``lvo``: large-vessel occlusion) thrombolysed at ``minutes`` (shape (..., 6)): log-odds
    interpolated between treatment at onset and at the time of no effect; untreated after it."""
    if stroke_type == "nlvo":
        untreated, at_onset, at_no_effect = params.mrs_untreated, params.mrs_at_onset, params.mrs_at_no_effect
    elif stroke_type == "lvo":
        untreated, at_onset, at_no_effect = params.mrs_lvo
    else:
        raise UptakeError(f"unknown stroke type {stroke_type!r}; choose one of {', '.join(STROKE_TYPES)}")
    t = np.asarray(minutes, dtype=float)[..., None]
    no_effect = params.time_of_no_effect_hours * 60.0
    fraction = np.clip(t / no_effect, 0.0, 1.0)
    logodds = _logit(at_onset) * (1.0 - fraction) + _logit(at_no_effect) * fraction
    treated = 1.0 / (1.0 + np.exp(-logodds))
    return np.where(t >= no_effect, untreated, treated)


def expected_utility(cumulative: NDArray[np.float64], utilities: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean utility of a cumulative mRS distribution P(mRS <= 0..5) (the rest is mRS 6)."""
    full = np.concatenate([cumulative, np.ones(cumulative.shape[:-1] + (1,))], axis=-1)
    shares = np.diff(full, prepend=0.0, axis=-1)
    return shares @ utilities


def utility_gain(minutes: ArrayLike, params: StrokeParameters, stroke_type: str = "nlvo") -> NDArray[np.float64]:
    """Utility gained (at 3 months) by thrombolysing a patient of ``stroke_type`` at ``minutes`` rather than not."""
    untreated = params.mrs_untreated if stroke_type == "nlvo" else params.mrs_lvo[0]
    treated = expected_utility(mrs_cumulative_at(minutes, params, stroke_type), params.utilities)
    return treated - expected_utility(untreated, params.utilities)


def draw_odds_ratio_lines(
    n_draws: int, seed: int, params: StrokeParameters
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``n_draws`` (intercept, slope) pairs of the log10 odds-ratio line from Emberson's stated intervals."""
    rng = np.random.default_rng(seed)
    times, ses = [], []
    for central, low, high in params.or_bands:
        times.append((np.log10(central) - params.intercept) / params.slope)
        ses.append((np.log10(high) - np.log10(low)) / (2 * Z_95))
    (t1, t2), (se1, se2) = times, ses
    y1 = params.intercept + params.slope * t1 + se1 * rng.standard_normal(n_draws)
    y2 = params.intercept + params.slope * t2 + se2 * rng.standard_normal(n_draws)
    slope = (y2 - y1) / (t2 - t1)
    return y1 - slope * t1, slope


def _good_outcomes_per_patient(params: StrokeParameters, intercept: ArrayLike, slope: ArrayLike) -> NDArray[np.float64]:
    t = params.onset_to_needle_minutes
    young = added_good_outcome(t, params.untreated_under_80, intercept, slope)
    old = added_good_outcome(t, params.untreated_80_plus, intercept, slope)
    return (1.0 - params.share_80_plus) * young + params.share_80_plus * old


def outcome_draws(params: StrokeParameters, n_draws: int, seed: int) -> dict[str, NDArray[np.float64]]:
    """Draws per ONE extra patient thrombolysed: good outcomes (mRS 0-1) added, QALYs, pounds."""
    intercept, slope = draw_odds_ratio_lines(n_draws, seed, params)
    good = _good_outcomes_per_patient(params, intercept, slope)
    central = float(_good_outcomes_per_patient(params, params.intercept, params.slope))
    qaly_central = float(utility_gain(params.onset_to_needle_minutes, params)) * params.horizon_years
    qalys = qaly_central * good / central
    return {"good_outcomes": good, "qalys": qalys, "pounds": qalys * params.value_per_qaly}


METHOD = (
    "SAMueL-1 clinical outcome model: probability of a good outcome (mRS 0-1) untreated 0.3499 under 80 and "
    "0.1318 at 80+; thrombolysis at t minutes multiplies the odds by 10^(0.326956 - 0.00086211 t), no effect "
    "after 6.3 hours; one extra patient thrombolysed at 170 minutes after onset with 42.3% aged 80+. QALYs: "
    "SAMueL stroke-outcome mRS distributions (nLVO) and Wang 2020 utilities, first year only. Pounds: QALYs "
    "at 20,000 pounds (NICE). 95% intervals from Emberson 2014's odds-ratio intervals."
)


@lru_cache(maxsize=1)
def stroke_model() -> OutcomeModel:
    """The stroke thrombolysis OutcomeModel (parameters loaded and checked once)."""
    params = load_parameters()
    sources = tuple(dict.fromkeys(p.source for p in params.file.parameters.values()))
    return OutcomeModel(
        key="stroke-thrombolysis",
        title="Stroke thrombolysis (SAMueL clinical outcome model)",
        indicator_ids=INDICATOR_IDS,
        outcomes=(
            Outcome(
                "good_outcomes",
                "Good outcomes added",
                "patients with mRS 0-1 at 3 months who would not have had one without thrombolysis",
            ),
            Outcome("qalys", "QALYs gained", "quality-adjusted life years in the first year after the stroke", "QALYs"),
            Outcome("pounds", "Value of QALYs", "QALYs valued at 20,000 pounds each (NICE): not cash saved", "pounds"),
        ),
        per="one extra patient thrombolysed",
        method=METHOD,
        draws=lambda n_draws, seed: outcome_draws(params, n_draws, seed),
        sources=sources,
    )


def model() -> OutcomeModel:
    """The stroke thrombolysis OutcomeModel (the name uptake.models.outcomes' registry looks for)."""
    return stroke_model()


def parameters_table(params: StrokeParameters) -> list[Mapping[str, object]]:
    """Every parameter with its value, interval and source (for pages and downloads)."""
    rows: list[Mapping[str, object]] = []
    for key, p in params.file.parameters.items():
        value = ", ".join(f"{v:g}" for v in p.value) if isinstance(p.value, tuple) else f"{p.value:g}"
        rows.append({"key": key, "value": value, "low": p.low, "high": p.high, "kind": p.kind, "source": p.source})
    return rows
