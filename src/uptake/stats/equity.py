"""Slope index of inequality (SII) across deprivation quintiles.

Sources: Low A, Low A. Measuring the gap: quantifying and comparing local health inequalities.
J Public Health 2004;26:388-395 (weighted regression on the cumulative-population midpoint); PHE/OHID
"Slope index of inequality" technical guidance (Fingertips), which ranks the population from most
deprived (0) to least deprived (1) and weights each group by its share of the population, and gives
the SII a 95% confidence interval by Monte Carlo simulation: redraw each group's value from its sampling
distribution many times, refit, and take the 2.5th and 97.5th percentiles of the refitted SIIs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import FloatArray, StatsInputError, as_1d_float

__all__ = [
    "SII_SEED",
    "SII_SIMULATIONS",
    "SlopeIndex",
    "simulate_group_values",
    "slope_index_of_inequality",
    "slope_index_interval",
]

#: Simulations per SII interval, as in PHE's guidance: the 2.5th and 97.5th percentiles of 10,000 draws
#: move by under 1% of the interval's width between seeds; one interval of five groups costs about 3 ms
#: (the pipeline uses fewer, see ``uptake.pipeline.equity.SIMULATIONS``).
SII_SIMULATIONS = 10_000
#: The fixed seed of every SII simulation: the same inputs always give the same interval, whatever else
#: is computed in the run.
SII_SEED = 20_040_388
_MEASURES = ("proportion", "rate")


@dataclass(frozen=True)
class SlopeIndex:
    """The SII and what it was fitted to, group by group (most deprived first).

    ``sii`` is the fitted value at the least deprived end (x = 1) minus the fitted value at the most
    deprived end (x = 0): positive means higher values in less deprived areas. ``rii`` = sii divided by
    the population-weighted mean value. ``sii_ci95_low`` .. ``rii_ci95_high`` are the simulated 95%
    intervals (see ``slope_index_interval``); NaN when the SII is NaN or no simulation was asked for.
    """

    sii: float
    rii: float
    intercept: float
    groups: NDArray[np.int64]
    group_value: FloatArray
    group_population: FloatArray
    ridit: FloatArray
    sii_ci95_low: float = float("nan")
    sii_ci95_high: float = float("nan")
    rii_ci95_low: float = float("nan")
    rii_ci95_high: float = float("nan")


def simulate_group_values(
    group_value: ArrayLike,
    group_population: ArrayLike,
    *,
    measure: str = "proportion",
    simulations: int = SII_SIMULATIONS,
    seed: int = SII_SEED,
) -> FloatArray:
    """Draws of each group's value from its sampling distribution: a (simulations, groups) matrix.

    * ``measure="proportion"`` (value = numerator / denominator, in [0, 1]): the group's numerator is
      redrawn as Binomial(N_g, p_g) and divided by N_g, with p_g the pooled value (clipped to [0, 1])
      and N_g the pooled denominator rounded to a whole number (at least 1).
    * ``measure="rate"`` (events per unit of denominator): the event count is redrawn as
      Poisson(value_g * N_g) and divided by N_g (negative values are treated as 0).

    The exact count distributions are used rather than a normal approximation with standard error
    sqrt(p(1 - p)/N) so that groups with few events or values near 0 or 1 get their skewed, bounded
    spread (PHE draws from each group's own confidence interval for the same reason). One generator,
    ``numpy.random.default_rng(seed)``, makes every draw in one call, so the result depends only on the
    inputs, ``simulations`` and ``seed``.
    """
    if measure not in _MEASURES:
        raise StatsInputError(f"measure must be one of {_MEASURES} (got {measure!r})")
    if simulations < 0:
        raise StatsInputError("simulations must be >= 0")
    value = np.asarray(group_value, dtype=np.float64)
    population = np.asarray(group_population, dtype=np.float64)
    rng = np.random.default_rng(seed)
    shape = (int(simulations), value.size)
    if measure == "proportion":
        trials = np.maximum(np.rint(population), 1.0).astype(np.int64)
        return rng.binomial(trials, np.clip(value, 0.0, 1.0), size=shape) / trials
    return rng.poisson(np.maximum(value, 0.0) * population, size=shape) / population


def slope_index_interval(
    group_value: ArrayLike,
    group_population: ArrayLike,
    *,
    measure: str = "proportion",
    simulations: int = SII_SIMULATIONS,
    seed: int = SII_SEED,
) -> tuple[float, float, float, float]:
    """Simulated 95% intervals of the SII and RII of pooled groups (most deprived first):
    ``(sii_low, sii_high, rii_low, rii_high)``.

    Method (PHE/OHID Fingertips SII technical guidance, implemented from its description):

    1. Draw the groups' values ``simulations`` times (``simulate_group_values``): Y, a matrix with one
       row per simulation. The populations, and so the shares a_g and ridits x_g, stay fixed.
    2. Refit the SII of every row at once. The weighted least-squares slope is linear in the values::

           SII_s = sum_g c_g Y_sg,   c_g = a_g (x_g - xbar) / sum_h a_h (x_h - xbar)^2
           RII_s = SII_s / ybar_s,   ybar_s = sum_g a_g Y_sg

       (the same slope as ``slope_index_of_inequality``, since sum a (x - xbar) = 0).
    3. The interval is the 2.5th and 97.5th percentiles (linear interpolation) of the SII_s, and of
       the RII_s (simulations with ybar_s = 0 have no RII and are left out of its percentiles).

    Fewer than two groups, a non-positive total population or ``simulations == 0`` -> NaN intervals.
    """
    value = np.asarray(group_value, dtype=np.float64)
    population = np.asarray(group_population, dtype=np.float64)
    nan = float("nan")
    total = float(population.sum()) if population.size else 0.0
    if value.size < 2 or not total > 0 or simulations == 0 or not np.all(np.isfinite(value)):
        return nan, nan, nan, nan
    a = population / total
    ridit = np.cumsum(a) - a / 2.0
    dx = ridit - np.sum(a * ridit)
    coef = a * dx / np.sum(a * dx**2)
    draws = simulate_group_values(value, population, measure=measure, simulations=simulations, seed=seed)
    sii = draws @ coef
    ybar = draws @ a
    sii_low, sii_high = np.percentile(sii, [2.5, 97.5])
    with np.errstate(invalid="ignore", divide="ignore"):
        rii = sii[ybar != 0] / ybar[ybar != 0]
    rii_low, rii_high = np.percentile(rii, [2.5, 97.5]) if rii.size else (nan, nan)
    return float(sii_low), float(sii_high), float(rii_low), float(rii_high)


def slope_index_of_inequality(
    values: ArrayLike,
    denominators: ArrayLike,
    quintile: ArrayLike,
    *,
    measure: str = "proportion",
    simulations: int = SII_SIMULATIONS,
    seed: int = SII_SEED,
) -> SlopeIndex:
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
    5. 95% intervals of SII and RII by simulation (``slope_index_interval``): each group's value is
       redrawn ``simulations`` times from its binomial (proportions) or Poisson (rates) distribution,
       the SII refitted to each draw, and the 2.5th and 97.5th percentiles taken.

    Parameters
    ----------
    values : the indicator per unit (a rate or proportion), or per group.
    denominators : the unit's population (the weight), > 0 to count; a count of people or events for
        the interval.
    quintile : the unit's deprivation group, 1 = most deprived.
    measure : "proportion" (binomial draws) or "rate" (Poisson draws), for the interval.
    simulations : draws for the interval (0: no interval, NaN); seed : the generator's fixed seed.

    Edge cases: units with a zero or missing denominator or value are ignored; fewer than two groups
    with population -> NaN SII, RII and intervals.
    """
    if measure not in _MEASURES:
        raise StatsInputError(f"measure must be one of {_MEASURES} (got {measure!r})")
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
    sii_low, sii_high, rii_low, rii_high = slope_index_interval(
        group_value, population, measure=measure, simulations=simulations, seed=seed
    )
    return SlopeIndex(
        sii=beta,
        rii=rii,
        intercept=alpha,
        groups=groups,
        group_value=group_value,
        group_population=population,
        ridit=ridit,
        sii_ci95_low=sii_low,
        sii_ci95_high=sii_high,
        rii_ci95_low=rii_low,
        rii_ci95_high=rii_high,
    )
