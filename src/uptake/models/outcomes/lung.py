"""Lung cancer screening, stage shift: deaths within five years avoided per extra lung cancer diagnosed at
stage 1 or 2 instead of stage 3 or 4.

Method: IPPR's table 2.4 gives today's stage distribution and the ambition; the shift between them says
where the earlier diagnoses come from (stage III loses 12 points, IV 28) and go to (I gains 20, II 21). An
extra early diagnosis is then worth the five-year survival of the stages gained minus that of the stages
lost, each weighted by its share of the shift (survival by stage: Cancer Research UK's summary of the
national statistics, England, diagnosed 2013-2017). Uncertainty: each survival uniform over its published
range. The same arithmetic gives the deaths avoided per 1,000 lung cancers if the whole distribution moved
to the ambition (``stage_mix_deaths_avoided_per_1000``). The indicator these apply to is SYNTHETIC demo data.
Parameters: params/lung.yaml.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from uptake.errors import UptakeError
from uptake.models.outcomes.base import Outcome, OutcomeModel
from uptake.models.parameters import ParameterSet, load_parameters

__all__ = ["PARAMS_PATH", "parameters", "shift_weights", "per_early_diagnosis", "stage_mix_deaths_avoided_per_1000",
           "model", "MODEL"]

PARAMS_PATH = Path(__file__).with_name("params") / "lung.yaml"
STAGES = (1, 2, 3, 4)
_REQUIRED = tuple(f"{k}_stage_{s}" for k in ("current", "target") for s in STAGES) + tuple(
    f"survival_5y_stage_{s}" for s in STAGES)

OUTCOMES = (
    Outcome("deaths_avoided", "Deaths avoided",
            "deaths within five years of diagnosis avoided (lung cancers found at stage 1-2 instead of 3-4)",
            "deaths"),
)


def parameters(path: Path | str = PARAMS_PATH) -> ParameterSet:
    p = load_parameters(path, model="lung", required=_REQUIRED)
    for which in ("current", "target"):
        total = sum(p.value(f"{which}_stage_{s}") for s in STAGES)
        if total > 100.0 + 1e-9:
            raise UptakeError(f"{p.path}: parameters.{which}_stage_1..4: the shares add to {total:g}%, more than "
                              "100%. Correct the stage distribution")
    return p


@lru_cache(maxsize=4)
def _cached(path: str) -> ParameterSet:
    return parameters(path)


def shift_weights(params: ParameterSet | None = None) -> tuple[dict[int, float], dict[int, float]]:
    """Where an earlier diagnosis goes to (stages that gain, weights adding to 1) and comes from (stages that
    lose), from the change between the current and target distributions."""
    p = params or _cached(str(PARAMS_PATH))
    change = {s: p.value(f"target_stage_{s}") - p.value(f"current_stage_{s}") for s in STAGES}
    gain = {s: c for s, c in change.items() if c > 0}
    loss = {s: -c for s, c in change.items() if c < 0}
    return ({s: c / sum(gain.values()) for s, c in gain.items()},
            {s: c / sum(loss.values()) for s, c in loss.items()})


def per_early_diagnosis(n_draws: int, seed: int, params: ParameterSet | None = None) -> dict[str, NDArray[np.float64]]:
    """Draws of deaths (within five years) avoided per ONE extra cancer diagnosed at stage 1-2."""
    p = params or _cached(str(PARAMS_PATH))
    rng = np.random.default_rng(seed)
    survival = {s: p[f"survival_5y_stage_{s}"].draw(n_draws, rng) for s in STAGES}
    to, came_from = shift_weights(p)
    early = sum(w * survival[s] for s, w in to.items())
    late = sum(w * survival[s] for s, w in came_from.items())
    return {"deaths_avoided": early - late}


def stage_mix_deaths_avoided_per_1000(params: ParameterSet | None = None) -> float:
    """Deaths within five years avoided per 1,000 lung cancers if the stage mix moved from the current
    distribution to the ambition (IPPR table 2.4), at the central survival figures. The staged shares add to
    96%: the rest (unknown stage) is left as it is."""
    p = params or _cached(str(PARAMS_PATH))
    return 1000 * sum((p.value(f"target_stage_{s}") - p.value(f"current_stage_{s}")) / 100
                      * p.value(f"survival_5y_stage_{s}") for s in STAGES)


def model(params_path: Path | str = PARAMS_PATH) -> OutcomeModel:
    p = parameters(params_path)
    return OutcomeModel(
        key="lung",
        title=p.title,
        indicator_ids=("lung-cancer-early-stage",),
        outcomes=OUTCOMES,
        per="extra lung cancer diagnosed at stage 1 or 2 (within five years of diagnosis)",
        method=(
            "Five-year survival of the stages an earlier diagnosis moves to (I and II, weighted 20:21 by the "
            "shift in IPPR table 2.4) minus that of the stages it moves from (III and IV, 12:28), survival by "
            "stage from Cancer Research UK (England, diagnosed 2013-2017); 95% intervals from 10,000 draws over "
            "each survival's published range. The lung cancer data are SYNTHETIC."
        ),
        draws=lambda n, seed: per_early_diagnosis(n, seed, p),
        synthetic=True,
        sources=("IPPR (2020) The innovation lottery, table 2.4", "Cancer Research UK, lung cancer survival by stage"),
    )


MODEL = model()
