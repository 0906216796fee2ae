"""Slope index of inequality (SII) across deprivation quintiles.

Sources: Low A, Low A. Measuring the gap: quantifying and comparing local health inequalities.
J Public Health 2004;26:388-395 (weighted regression on the cumulative-population midpoint); PHE/OHID
"Slope index of inequality" technical guidance (Fingertips), which ranks the population from most
deprived (0) to least deprived (1) and weights each group by its share of the population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import FloatArray, StatsInputError, as_1d_float

__all__ = ["SlopeIndex", "slope_index_of_inequality"]


@dataclass(frozen=True)
class SlopeIndex:
    """The SII and what it was fitted to, group by group (most deprived first).

    ``sii`` is the fitted value at the least deprived end (x = 1) minus the fitted value at the most
    deprived end (x = 0): positive means higher values in less deprived areas. ``rii`` = sii divided by
    the population-weighted mean value.
    """

    sii: float
    rii: float
    intercept: float
    groups: NDArray[np.int64]
    group_value: FloatArray
    group_population: FloatArray
    ridit: FloatArray


def slope_index_of_inequality(values: ArrayLike, denominators: ArrayLike, quintile: ArrayLike) -> SlopeIndex:
    """Slope index of inequality by weighted least squares on the ridit (cumulative population midpoint).

    Method:

    1. Pool units by deprivation group g (IMD quintile 1 = most deprived ... 5 = least deprived; any
       ordered whole numbers work, e.g. deciles): value_g = sum(v_i n_i) / sum(n_i) (the pooled rate
       when v_i = num_i / n_i), population N_g = sum(n_i).
    2. Order groups from most to least deprived; a_g = N_g / sum N; x_g = sum_{h<g} a_h + a_g / 2.
    3. Fit value_g = alpha + beta x_g by least squares weighted by a_g::

           beta = sum a (x - xbar)(y - ybar) / sum a (x - xbar)^2,  xbar, ybar weighted by a

    4. SII = beta (the modelled gap across the whole population, least minus most deprived);
       RII = beta / ybar.

    Parameters
    ----------
    values : the indicator per unit (a rate or proportion), or per group.
    denominators : the unit's population (the weight), > 0 to count.
    quintile : the unit's deprivation group, 1 = most deprived.

    Edge cases: units with a zero or missing denominator or value are ignored; fewer than two groups
    with population -> NaN SII and RII. Confidence intervals (PHE uses simulation) are not computed here.
    """
    v = as_1d_float(values, "values")
    n = as_1d_float(denominators, "denominators")
    q = as_1d_float(quintile, "quintile")
    if not (v.size == n.size == q.size):
        raise StatsInputError(
            f"values, denominators and quintile must have the same length (got {v.size}, {n.size}, {q.size})"
        )
    if np.any(n < 0):
        raise StatsInputError("denominators must be >= 0")
    ok = np.isfinite(v) & np.isfinite(n) & (n > 0) & np.isfinite(q)
    if np.any(q[ok] != np.round(q[ok])):
        raise StatsInputError("quintile must hold whole numbers (1 = most deprived)")
    groups, inverse = np.unique(q[ok].astype(np.int64), return_inverse=True)
    population = np.bincount(inverse, weights=n[ok], minlength=groups.size)
    weighted = np.bincount(inverse, weights=(v * n)[ok], minlength=groups.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        group_value = weighted / population
    total = population.sum()
    if groups.size < 2 or total <= 0:
        nan = float("nan")
        empty = np.full(groups.shape, nan)
        return SlopeIndex(nan, nan, nan, groups, group_value, population, empty)
    a = population / total
    ridit = np.cumsum(a) - a / 2.0
    xbar = float(np.sum(a * ridit))
    ybar = float(np.sum(a * group_value))
    beta = float(np.sum(a * (ridit - xbar) * (group_value - ybar)) / np.sum(a * (ridit - xbar) ** 2))
    alpha = ybar - beta * xbar
    rii = beta / ybar if ybar != 0 else float("nan")
    return SlopeIndex(
        sii=beta,
        rii=rii,
        intercept=alpha,
        groups=groups,
        group_value=group_value,
        group_population=population,
        ridit=ridit,
    )
