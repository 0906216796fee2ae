"""Equity: the slope index of inequality across IMD quintiles, per (level, period), for the levels
whose organisations carry an IMD quintile in the reference (practices and ICBs in the bundled data).

The vectorised form of ``uptake.stats.slope_index_of_inequality``: organisations are pooled by quintile
(value weighted by denominator), groups placed at the midpoints of the cumulative population from most
to least deprived, and a weighted least-squares slope fitted. SII > 0: higher values in less deprived
areas. ``value_q1`` (most deprived) .. ``value_q5`` are the pooled values of each quintile.

``sii_ci95_low`` .. ``rii_ci95_high`` are the simulated 95% intervals of
``uptake.stats.equity.slope_index_interval`` (binomial draws for proportions, Poisson for rates, fixed
seed), with ``SIMULATIONS`` draws per (level, period) rather than PHE's 10,000: one interval of 1,000
draws costs about 0.4 ms against 3.4 ms, and a national run has thousands of (indicator, level, period)
cells; the interval's ends then carry a Monte Carlo error of about 2% of its width.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.results.schema import EQUITY, to_arrow
from uptake.stats.equity import SII_SEED, slope_index_interval

#: Draws per SII interval in the pipeline (PHE uses 10,000; see the module docstring for the cost).
SIMULATIONS = 1_000


def sii_packed(pop: np.ndarray, weighted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SII, RII and intercept for rows of packed groups (present groups first, all columns present):
    the same arithmetic as stats.slope_index_of_inequality on each row."""
    with np.errstate(invalid="ignore", divide="ignore"):
        group_value = weighted / pop
        total = pop.sum(axis=1)
        a = pop / total[:, None]
        ridit = np.cumsum(a, axis=1) - a / 2.0
        xbar = np.sum(a * ridit, axis=1)
        ybar = np.sum(a * group_value, axis=1)
        beta = np.sum(a * (ridit - xbar[:, None]) * (group_value - ybar[:, None]), axis=1) / np.sum(
            a * (ridit - xbar[:, None]) ** 2, axis=1
        )
        alpha = ybar - beta * xbar
        rii = np.where(ybar != 0, beta / ybar, np.nan)
    return beta, rii, alpha


def compute(frame: IndicatorFrame, usable: np.ndarray, orgs: Organisations) -> pa.Table:
    parts: list[pa.Table] = []
    n_periods = max(frame.periods.size, 1)
    quintile_of = orgs.imd_quintile
    measure = str(frame.indicator.measure)
    for level_idx, level in enumerate(frame.levels):
        if level_idx == frame.england_level:
            continue
        current = orgs.of_level(level)
        if current.size == 0 or np.all(np.isnan(quintile_of[current])):
            continue
        rows = frame.cross_section[frame.level[frame.cross_section] == level_idx]
        v = np.where(usable[rows], frame.value[rows], np.nan)
        n = frame.denominator[rows]
        q = quintile_of[frame.org[rows]]
        ok = np.isfinite(v) & np.isfinite(n) & (n > 0) & np.isfinite(q)
        rows, v, n, q = rows[ok], v[ok], n[ok], q[ok]
        if rows.size == 0:
            continue
        slots = np.unique(q)
        width = slots.size
        slot = np.searchsorted(slots, q)
        pidx = frame.pidx[rows]
        key = pidx * width + slot
        size = n_periods * width
        population = np.bincount(key, weights=n, minlength=size).reshape(n_periods, width)
        weighted = np.bincount(key, weights=v * n, minlength=size).reshape(n_periods, width)
        units = np.bincount(key, minlength=size).reshape(n_periods, width)
        present = units > 0
        cells = np.flatnonzero(present.any(axis=1))
        count = present.sum(axis=1)
        sii = np.full(n_periods, np.nan)
        rii = np.full(n_periods, np.nan)
        intercept = np.full(n_periods, np.nan)
        interval = np.full((n_periods, 4), np.nan)  # sii low, sii high, rii low, rii high
        order = np.argsort(~present, axis=1, kind="stable")  # present groups first, in quintile order
        packed_pop = np.take_along_axis(population, order, axis=1)
        packed_w = np.take_along_axis(weighted, order, axis=1)
        for c in range(2, width + 1):  # one block per number of quintiles present
            sel = np.flatnonzero(count == c)
            if sel.size == 0:
                continue
            b, r, a = sii_packed(packed_pop[sel, :c], packed_w[sel, :c])
            good = packed_pop[sel, :c].sum(axis=1) > 0
            sii[sel] = np.where(good, b, np.nan)
            rii[sel] = np.where(good, r, np.nan)
            intercept[sel] = np.where(good, a, np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                packed_value = packed_w[sel, :c] / packed_pop[sel, :c]
            for i in np.flatnonzero(good):  # one simulation per period, the same draws as stats gives
                interval[sel[i]] = slope_index_interval(
                    packed_value[i], packed_pop[sel[i], :c], measure=measure, simulations=SIMULATIONS,
                    seed=SII_SEED,
                )
        with np.errstate(invalid="ignore", divide="ignore"):
            group_value = np.where(present, weighted / population, np.nan)
        data: dict[str, object] = {
            "indicator": pa.array([frame.indicator.id] * cells.size, type=pa.string()),
            "level": pa.array([level] * cells.size, type=pa.string()),
            "period": frame.dates(cells),
            "organisations": units[cells].sum(axis=1).astype(np.int64),
            "quintiles": count[cells].astype(np.int32),
            "sii": sii[cells],
            "rii": rii[cells],
            "intercept": intercept[cells],
            "sii_ci95_low": interval[cells, 0],
            "sii_ci95_high": interval[cells, 1],
            "rii_ci95_low": interval[cells, 2],
            "rii_ci95_high": interval[cells, 3],
        }
        for qn in range(1, 6):
            where = np.flatnonzero(slots == qn)
            data[f"value_q{qn}"] = group_value[cells, where[0]] if where.size else np.full(cells.size, np.nan)
        parts.append(to_arrow(EQUITY, data))
    if not parts:
        return EQUITY.schema.empty_table()
    return pa.concat_tables(parts)

