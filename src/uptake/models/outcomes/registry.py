"""Every outcome model, by the indicators it applies to, and the outcome columns of an opportunity table.

``MODELS``: the condition models (DOAC, lung cancer screening, and stroke thrombolysis when
``uptake.models.outcomes.stroke`` is present: it exposes ``MODEL``, an OutcomeModel, or ``model()``).
``outcome_rows`` turns gaps (extra units of an indicator per organisation, or nationally) into rows of
outcomes with 95% intervals: the gap times the model's draws per unit. Outcomes are linear in the gap, so
one set of draws per model serves every row (the interval of ``n`` times the draws is ``n`` times theirs).
The gap itself is taken as measured; the intervals carry the parameters' uncertainty.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd

from uptake.models.outcomes import doac, lung
from uptake.models.outcomes.base import OutcomeModel, per_unit_draws

try:  # the stroke thrombolysis model, built beside this one (absent until it is merged)
    from uptake.models.outcomes import stroke as _stroke_module
except ImportError:  # pragma: no cover - depends on what is installed
    _stroke_module = None

__all__ = ["MODELS", "BY_INDICATOR", "CONDITION_OF", "DRAWS", "SEED", "models", "model_for", "per_unit_summary",
           "outcome_rows", "OUTCOME_COLUMNS"]

#: draws per model for the outcome tables (percentiles of 10,000 draws are stable to about 1%)
DRAWS = 10_000
SEED = 20140301
#: the report's condition each model's outcomes count towards (the health and wealth model's columns)
CONDITION_OF = {"doac": "cvd", "stroke": "cvd", "stroke-thrombolysis": "cvd", "lung": "cancer"}


def _from_module(module: ModuleType | None) -> OutcomeModel | None:
    if module is None:
        return None
    found = getattr(module, "MODEL", None)
    if found is None and callable(getattr(module, "model", None)):
        found = module.model()
    return found if isinstance(found, OutcomeModel) else None


def models() -> tuple[OutcomeModel, ...]:
    found = [doac.MODEL, lung.MODEL]
    stroke = _from_module(_stroke_module)
    if stroke is not None:
        found.insert(0, stroke)
    return tuple(found)


MODELS: tuple[OutcomeModel, ...] = models()
BY_INDICATOR: dict[str, OutcomeModel] = {i: m for m in MODELS for i in m.indicator_ids}


def model_for(indicator: str) -> OutcomeModel | None:
    return BY_INDICATOR.get(indicator)


def per_unit_summary(model: OutcomeModel, n_draws: int = DRAWS, seed: int = SEED) -> dict[str, tuple[float, float, float, float]]:
    """Per ONE unit of the gap, for each outcome: (mean, 2.5th, 97.5th percentile, patients per unit)."""
    draws = per_unit_draws(model, n_draws, seed)
    patients = 1.0 if model.patients_per_unit is None else float(np.mean(model.patients_per_unit(n_draws, seed + 1)))
    out = {}
    for outcome in model.outcomes:
        values = draws[outcome.key]
        low, high = np.percentile(values, [2.5, 97.5])
        out[outcome.key] = (float(values.mean()), float(low), float(high), patients)
    return out


OUTCOME_COLUMNS = ("indicator", "level", "org_code", "period", "benchmark", "model", "outcome", "outcome_label",
                   "counts", "per", "extra_units", "extra_patients", "mean", "low", "high", "per_unit_mean",
                   "per_unit_low", "per_unit_high", "synthetic", "method")


def outcome_rows(gaps: pd.DataFrame, n_draws: int = DRAWS, seed: int = SEED,
                 synthetic_indicators: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Outcome rows for gaps: ``gaps`` has indicator, level, org_code, period, benchmark, extra_units (the gap
    in the indicator's unit; NULL or negative: no row) and synthetic. One row per gap and outcome of the
    indicator's model (indicators without a model give none)."""
    frames = []
    usable = gaps[gaps["extra_units"].notna()]
    for model in MODELS:
        part = usable[usable["indicator"].isin(model.indicator_ids)]
        if part.empty:
            continue
        summary = per_unit_summary(model, n_draws, seed)
        for outcome in model.outcomes:
            mean, low, high, patients = summary[outcome.key]
            units = part["extra_units"].clip(lower=0.0).to_numpy(dtype=float)
            frame = part[["indicator", "level", "org_code", "period", "benchmark"]].copy()
            frame["model"] = model.key
            frame["outcome"] = outcome.key
            frame["outcome_label"] = outcome.label
            frame["counts"] = outcome.counts
            frame["per"] = model.per
            frame["extra_units"] = units
            frame["extra_patients"] = units * patients
            frame["mean"] = units * mean
            frame["low"] = units * low
            frame["high"] = units * high
            frame["per_unit_mean"] = mean
            frame["per_unit_low"] = low
            frame["per_unit_high"] = high
            flags = part["synthetic"].fillna(False).astype(bool).to_numpy()
            frame["synthetic"] = flags | model.synthetic | part["indicator"].isin(synthetic_indicators).to_numpy()
            frame["method"] = model.method + (" " + model.unit_note if model.unit_note else "")
            frames.append(frame)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTCOME_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(OUTCOME_COLUMNS)]
