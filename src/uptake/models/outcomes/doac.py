"""DOACs instead of warfarin in atrial fibrillation: strokes (and systemic embolisms), intracranial
haemorrhages and deaths avoided per patient-year.

Method: the warfarin arms' event rates in the four phase 3 trials (events / patient-years, Ruff et al.,
Lancet 2014) times one minus the pooled relative risk of a DOAC against warfarin (same paper): events
avoided per patient switched from warfarin to a DOAC for a year. Uncertainty: each relative risk lognormal
from its 95% interval; each warfarin event count Gamma(count) (its Poisson uncertainty); the patient-years
uniform +/-10% (median follow-up standing in for mean). The indicator counts prescription items in a month,
not patients: a monthly gap of G items is G x 12 / (items per patient-year) patients, items per patient-year
uniform between 12 (monthly issues) and 13.04 (28-day packs). Parameters: params/doac.yaml.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from uptake.models.outcomes.base import Outcome, OutcomeModel
from uptake.models.parameters import ParameterSet, load_parameters

__all__ = ["PARAMS_PATH", "parameters", "per_patient_year", "reference_rates", "model", "MODEL"]

PARAMS_PATH = Path(__file__).with_name("params") / "doac.yaml"
_REQUIRED = ("rr_stroke_se", "rr_ich", "rr_death", "warfarin_stroke_se_events", "warfarin_ich_events",
             "warfarin_death_events", "warfarin_patient_years", "items_per_patient_year")
EVENTS = {"strokes_avoided": ("warfarin_stroke_se_events", "rr_stroke_se"),
          "ich_avoided": ("warfarin_ich_events", "rr_ich"),
          "deaths_avoided": ("warfarin_death_events", "rr_death")}

OUTCOMES = (
    Outcome("strokes_avoided", "Strokes avoided",
            "strokes or systemic embolisms avoided in a year (patients switched from warfarin to a DOAC)",
            "strokes or systemic embolisms"),
    Outcome("ich_avoided", "Brain bleeds avoided",
            "intracranial haemorrhages avoided in a year (patients switched from warfarin to a DOAC)",
            "intracranial haemorrhages"),
    Outcome("deaths_avoided", "Deaths avoided",
            "deaths from any cause avoided in a year (patients switched from warfarin to a DOAC)", "deaths"),
)


def parameters(path: Path | str = PARAMS_PATH) -> ParameterSet:
    return load_parameters(path, model="doac", required=_REQUIRED)


@lru_cache(maxsize=4)
def _cached(path: str) -> ParameterSet:
    return parameters(path)


def reference_rates(params: ParameterSet | None = None) -> dict[str, float]:
    """Central figures, per 1,000 patient-years: warfarin-arm rates and events avoided (no sampling)."""
    p = params or _cached(str(PARAMS_PATH))
    py = p.value("warfarin_patient_years")
    out: dict[str, float] = {}
    for outcome, (events, rr) in EVENTS.items():
        rate = p.value(events) / py
        out[f"warfarin_{outcome.removesuffix('_avoided')}_per_1000"] = 1000 * rate
        out[f"{outcome}_per_1000"] = 1000 * rate * (1 - p.value(rr))
    return out


def per_patient_year(n_draws: int, seed: int, params: ParameterSet | None = None) -> dict[str, NDArray[np.float64]]:
    """Draws of events avoided per ONE patient-year on a DOAC instead of warfarin."""
    p = params or _cached(str(PARAMS_PATH))
    rng = np.random.default_rng(seed)
    years = p["warfarin_patient_years"].draw(n_draws, rng)
    out = {}
    for outcome, (events, rr) in EVENTS.items():
        rate = p[events].draw(n_draws, rng) / years
        out[outcome] = rate * (1.0 - p[rr].draw(n_draws, rng))
    return out


def patients_per_item_month(n_draws: int, seed: int, params: ParameterSet | None = None) -> NDArray[np.float64]:
    """Patients (for a year) per ONE prescription item in a month: 12 / items per patient-year."""
    p = params or _cached(str(PARAMS_PATH))
    return 12.0 / p["items_per_patient_year"].draw(n_draws, np.random.default_rng(seed))


def model(params_path: Path | str = PARAMS_PATH) -> OutcomeModel:
    p = parameters(params_path)
    return OutcomeModel(
        key="doac",
        title=p.title,
        indicator_ids=("doac-share",),
        outcomes=OUTCOMES,
        per="patient switched from warfarin to a DOAC for a year",
        method=(
            "Warfarin-arm event rates of the four phase 3 trials (events / patient-years) times one minus the "
            "pooled relative risk of a DOAC (Ruff et al., Lancet 2014): stroke or systemic embolism RR 0.81 "
            "(0.73-0.91), intracranial haemorrhage 0.48 (0.39-0.59), death 0.90 (0.85-0.95). 95% intervals "
            "from 10,000 draws of the relative risks, event counts and patient-years."
        ),
        draws=lambda n, seed: per_patient_year(n, seed, p),
        sources=tuple(sorted({q.source.split(",")[0] for q in p.every()})),
        patients_per_unit=lambda n, seed: patients_per_item_month(n, seed, p),
        unit_note=("The gap is prescription items in a month, not patients: a year on a DOAC takes 12 to 13.04 "
                   "items (monthly issues: 12; 28-day packs: 13.04), so a monthly gap of G items sustained for a "
                   "year is G x 12 / 13 patient-years of treatment (interval: 12 to 13.04 items a patient-year)."),
    )


MODEL = model()
