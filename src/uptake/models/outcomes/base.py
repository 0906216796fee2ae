"""What every outcome model offers, so the opportunity table, pages and API can treat them alike.

An outcome model turns "one more patient treated" (for one indicator) into draws of each outcome it
models (e.g. ``good_outcomes``, ``strokes_avoided``, ``deaths_avoided``, ``pounds``), drawn from the stated
uncertainty of its parameters. Totals for an opportunity of ``n`` extra patients are ``n`` times the draws
(summarised as a mean and a 95% interval by ``summarise``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["Outcome", "OutcomeModel", "OutcomeSummary", "summarise", "per_unit_draws"]


@dataclass(frozen=True)
class Outcome:
    """One modelled outcome: its key, what it counts (a sentence a reader cannot misread) and its unit."""

    key: str
    label: str
    counts: str
    unit: str = "people"


@dataclass(frozen=True)
class OutcomeModel:
    """A condition's model: the indicators it applies to, the outcomes, and the draws per extra patient.

    ``draws(n_draws, seed)`` returns, for each outcome key, an array of ``n_draws`` values per ONE extra
    patient treated (for a year, where the outcome accrues over time: ``per`` says so)."""

    key: str
    title: str
    indicator_ids: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    per: str
    method: str
    draws: Callable[[int, int], Mapping[str, NDArray[np.float64]]]
    synthetic: bool = False
    sources: tuple[str, ...] = field(default_factory=tuple)
    #: where the indicator's gap is not counted in patients (e.g. prescription items in a month): draws of
    #: patients per ONE unit of the gap (None: the gap is already patients), and a sentence saying how
    patients_per_unit: Callable[[int, int], NDArray[np.float64]] | None = None
    unit_note: str = ""


def per_unit_draws(model: OutcomeModel, n_draws: int, seed: int) -> dict[str, NDArray[np.float64]]:
    """Draws of each outcome per ONE unit of the indicator's gap: per patient, times patients per unit (drawn
    too, from a seed of its own, when the gap is not counted in patients)."""
    draws = {k: np.asarray(v, dtype=float) for k, v in model.draws(n_draws, seed).items()}
    if model.patients_per_unit is None:
        return draws
    factor = np.asarray(model.patients_per_unit(n_draws, seed + 1), dtype=float)
    return {k: v * factor for k, v in draws.items()}


@dataclass(frozen=True)
class OutcomeSummary:
    mean: float
    low: float
    high: float


def summarise(draws: NDArray[np.float64], scale: float = 1.0) -> OutcomeSummary:
    """Mean and 95% interval (2.5th and 97.5th percentiles) of ``scale`` times the draws."""
    values = np.asarray(draws, dtype=float) * scale
    low, high = np.percentile(values, [2.5, 97.5])
    return OutcomeSummary(float(values.mean()), float(low), float(high))
