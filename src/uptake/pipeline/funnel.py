"""Funnel plots for every (level, period) at once: the vectorised form of ``uptake.stats.funnel_limits``.

Per (level, period) below England, over the organisations with a positive denominator:
benchmark theta = pooled value; plain limits (Wilson-touching for proportions, exact Poisson with
Spiegelhalter's interpolation for rates) at 95% and 99.8%; Spiegelhalter's over-dispersion estimate
(winsorised z-scores at the 10th and 90th percentiles, phi, tau^2) and random-effects limits when
phi > 1. ``tests/test_pipeline_units.py`` checks every cell against ``stats.funnel_limits``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy.special import ndtri, pdtr

from uptake import stats
from uptake.catalogue.schemas import Measure
from uptake.pipeline import grouped
from uptake.pipeline.frame import IndicatorFrame
from uptake.results.schema import FUNNEL_BAND, FUNNEL_CURVE, FUNNEL_SIDE, FUNNEL_SUMMARY, to_arrow
from uptake.stats.funnel import (
    CONFIDENCE_INNER,
    CONFIDENCE_OUTER,
    WINSORISE_FRACTION,
    _back_transform,
    _transform,
)

WITHIN, BETWEEN, BEYOND, NOT_COMPARED = "within 95%", "between 95% and 99.8%", "beyond 99.8%", "not compared"


def _cell_parameters(
    measure: str, num: np.ndarray, den: np.ndarray, starts: np.ndarray, lengths: np.ndarray, overdispersion: bool
) -> tuple[np.ndarray, ...]:
    """theta, theta_t, k, phi, tau2, adjusted, z per row, for groups laid out contiguously (rows are the
    valid units of each cell, in organisation order)."""
    k = lengths
    with np.errstate(invalid="ignore", divide="ignore"):
        num_sum = grouped.reduce_groups(num, starts, lengths, lambda b: b.sum(axis=1))
        den_sum = grouped.reduce_groups(den, starts, lengths, lambda b: b.sum(axis=1))
        theta = np.where(k > 0, num_sum / den_sum, np.nan)
        theta_t = _transform(measure, theta)  # type: ignore[arg-type]
    phi = np.full(k.shape, np.nan)
    tau2 = np.zeros(k.shape)
    z = np.full(num.shape, np.nan)
    big = k >= 3
    if big.any():
        rows_big = np.repeat(big, lengths)
        idx = np.flatnonzero(rows_big)
        s = 1.0 / (2.0 * np.sqrt(den[idx]))
        group_of_row = grouped.group_index(starts, lengths)[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            zb = (_transform(measure, num[idx] / den[idx]) - theta_t[group_of_row]) / s  # type: ignore[arg-type]
        z[idx] = zb
        b_starts, b_lengths = starts[big], lengths[big]
        # the big groups' rows in the same order: recompute compact starts
        c_starts = (np.cumsum(b_lengths) - b_lengths).astype(np.int64)
        pct = grouped.reduce_groups(
            zb,
            c_starts,
            b_lengths,
            lambda blk: np.percentile(blk, [100 * WINSORISE_FRACTION, 100 * (1 - WINSORISE_FRACTION)], axis=1).T,
            width=2,
        )
        g = np.repeat(np.arange(b_starts.size), b_lengths)
        z_w = np.clip(zb, pct[g, 0], pct[g, 1])
        phi_b = grouped.reduce_groups(z_w**2, c_starts, b_lengths, lambda blk: np.mean(blk, axis=1))
        w = 1.0 / s**2
        w_sum = grouped.reduce_groups(w, c_starts, b_lengths, lambda blk: blk.sum(axis=1))
        w2_sum = grouped.reduce_groups(w**2, c_starts, b_lengths, lambda blk: blk.sum(axis=1))
        kb = k[big]
        dispersed = kb * phi_b > kb - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            tau_b = np.where(dispersed, (kb * phi_b - (kb - 1)) / (w_sum - w2_sum / w_sum), 0.0)
        phi[big] = phi_b
        tau2[big] = tau_b
    adjusted = overdispersion & big & (phi > 1.0) & (tau2 > 0.0)
    return theta, theta_t, k, phi, tau2, adjusted, z


def poisson_ppf(p: float, mu: np.ndarray) -> np.ndarray:
    """The smallest count r with P(X <= r) >= p for X ~ Poisson(mu), element by element: what
    ``scipy.stats.poisson.ppf`` returns, found from a Cornish-Fisher start and a few exact steps of the
    cumulative distribution (``scipy.special.pdtr``) instead of its slow iterative inverse."""
    mu = np.asarray(mu, dtype=np.float64)
    z = float(ndtri(p))
    with np.errstate(invalid="ignore"):
        r = np.floor(mu + np.sqrt(mu) * z + (z * z - 1.0) / 6.0)
    r = np.where(np.isfinite(r), np.maximum(r, 0.0), 0.0)
    todo = np.flatnonzero(mu >= 0)
    while todo.size:  # typically one or two passes
        rt, mt = r[todo], mu[todo]
        down = (rt >= 1) & (pdtr(rt - 1, mt) >= p)
        up = ~down & (pdtr(rt, mt) < p)
        r[todo[down]] -= 1
        r[todo[up]] += 1
        todo = todo[down | up]
    return r


def plain_limits(
    measure: str, theta: np.ndarray, n: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Limits without over-dispersion at denominators n, theta given per element: the Wilson-touching
    limits for proportions (``stats.wilson_funnel_limit``) and exact Poisson limits with Spiegelhalter's
    interpolation for rates (``stats.exact_funnel_limit``), same formulas element by element."""
    valid = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "proportion":
            half = stats.z_value(confidence) * np.sqrt(theta * (1.0 - theta) / n)
            low = np.clip(theta - half, 0.0, 1.0)
            high = np.clip(theta + half, 0.0, 1.0)
            return np.where(valid, low, np.nan), np.where(valid, high, np.nan)
        tail = (1.0 - confidence) / 2.0
        nn = np.where(valid, n, 1.0)
        safe_theta = np.where(np.isnan(theta), 0.0, theta)
        mu = safe_theta * nn
        out = []
        for p in (tail, 1.0 - tail):
            r = poisson_ppf(p, mu)
            cdf_r, cdf_rm1 = pdtr(r, mu), np.where(r >= 1, pdtr(r - 1, mu), 0.0)
            alpha = (cdf_r - p) / (cdf_r - cdf_rm1)
            alpha = np.where(np.isfinite(alpha), alpha, 0.0)
            limit = np.maximum((r - alpha) / nn, 0.0)
            # A benchmark of zero events has no spread: the limits are theta itself.
            limit = np.where(safe_theta == 0.0, safe_theta, limit)
            out.append(np.where(valid & ~np.isnan(theta), limit, np.nan))
    return out[0], out[1]


def _limits(
    measure: str, theta: np.ndarray, theta_t: np.ndarray, tau2: np.ndarray, adjusted: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """95% and 99.8% limits at denominators n (theta, theta_t, tau2, adjusted given per element)."""
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = 1.0 / (4.0 * n)
        for confidence in (CONFIDENCE_INNER, CONFIDENCE_OUTER):
            zc = stats.z_value(confidence)
            half = zc * np.sqrt(s2 + tau2)
            re_low = _back_transform(measure, theta_t - half)  # type: ignore[arg-type]
            re_high = _back_transform(measure, theta_t + half)  # type: ignore[arg-type]
            pl, ph = plain_limits(measure, theta, n, confidence)
            low = np.where(adjusted, re_low, pl)
            high = np.where(adjusted, re_high, ph)
            empty = ~(n > 0) | np.isnan(theta)
            out += [np.where(empty, np.nan, low), np.where(empty, np.nan, high)]
    return out[0], out[1], out[2], out[3]


@dataclass
class Dispersion:
    """Spiegelhalter's over-dispersion estimate of every (level, period) funnel of an indicator, and the
    layout it was computed on (the frame's rows below England in (level, period, organisation) order)."""

    measure: str
    rows: np.ndarray  # frame rows below England, by (level, period, organisation)
    valid: np.ndarray  # per row: counted in its funnel (usable, positive denominator)
    cells: np.ndarray  # the (level, period) cell of each funnel, in order
    c_starts: np.ndarray  # where each cell's rows start in ``rows``
    c_lengths: np.ndarray
    kept: np.ndarray  # positions (in ``rows``) of the valid rows, cell after cell
    theta: np.ndarray  # per funnel: the pooled value (its centre)
    theta_t: np.ndarray  # ... on the variance-stabilised scale
    k: np.ndarray  # units with a positive denominator
    phi: np.ndarray
    tau2: np.ndarray
    adjusted: np.ndarray  # random-effects limits (phi > 1 and tau2 > 0, at least 3 units)
    z_valid: np.ndarray  # z-score of each kept row

    def per_cell(self, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
        """(tau2, adjusted) indexed by the frame's cell number (0 and False where there is no funnel)."""
        tau2 = np.zeros(n_cells)
        adjusted = np.zeros(n_cells, dtype=bool)
        tau2[self.cells] = self.tau2
        adjusted[self.cells] = self.adjusted
        return tau2, adjusted


def dispersion(frame: IndicatorFrame, usable: np.ndarray, overdispersion: bool = True) -> Dispersion:
    """The over-dispersion of every funnel of the frame (the first half of ``compute``; the comparison with
    England in ``uptake.pipeline.values`` uses it too, so that the two never disagree). Kept on the frame, so
    the second caller with the same ``usable`` rows reuses it."""
    key = (bool(overdispersion), np.asarray(usable, dtype=bool).tobytes())
    if frame.dispersion_memo is not None and frame.dispersion_memo[0] == key:
        return frame.dispersion_memo[1]
    found = _dispersion(frame, usable, overdispersion)
    frame.dispersion_memo = (key, found)
    return found


def _dispersion(frame: IndicatorFrame, usable: np.ndarray, overdispersion: bool) -> Dispersion:
    measure = "proportion" if frame.indicator.measure == Measure.PROPORTION else "rate"
    rows = frame.cross_section
    rows = rows[frame.level[rows] != frame.england_level]
    num = frame.numerator[rows]
    den = frame.denominator[rows]
    valid = usable[rows] & np.isfinite(num) & np.isfinite(den) & (den > 0)
    cells, c_starts_all, c_lengths_all = _cells(frame.cell[rows])
    # Valid units of each cell, laid out contiguously in organisation order.
    kept, v_starts, v_lengths = grouped.compress_groups(valid, c_starts_all, c_lengths_all)
    theta, theta_t, k, phi, tau2, adjusted, z_valid = _cell_parameters(
        measure, num[kept], den[kept], v_starts, v_lengths, overdispersion
    )
    return Dispersion(measure, rows, valid, cells, c_starts_all, c_lengths_all, kept, theta, theta_t, k, phi,
                      tau2, adjusted, z_valid)


def compute(
    frame: IndicatorFrame, usable: np.ndarray, points: int, overdispersion: bool = True
) -> tuple[np.ndarray, dict[str, np.ndarray], pa.Table, pa.Table]:
    """(frame rows, their funnel columns of result_points), result_funnel_curve and result_funnel_summary.

    ``usable`` marks rows whose counts are valid for the measure (others are "not compared" and do not
    enter the benchmark, as if absent).
    """
    d = dispersion(frame, usable, overdispersion)
    measure, rows, valid, cells = d.measure, d.rows, d.valid, d.cells
    c_starts_all, c_lengths_all, kept = d.c_starts, d.c_lengths, d.kept
    theta, theta_t, k, phi, tau2, adjusted, z_valid = d.theta, d.theta_t, d.k, d.phi, d.tau2, d.adjusted, d.z_valid
    num = frame.numerator[rows]
    den = frame.denominator[rows]
    good = usable[rows]

    # Per-unit limits and bands.
    gi = grouped.group_index(c_starts_all, c_lengths_all)
    n_unit = np.where(valid, den, 0.0)
    l95, u95, l998, u998 = _limits(measure, theta[gi], theta_t[gi], tau2[gi], adjusted[gi], n_unit)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(valid, num / den, np.nan)
    # Codes into FUNNEL_BAND and FUNNEL_SIDE (result_points stores positions; the view shows words).
    band = np.zeros(rows.size, dtype=np.int8)  # within 95%
    side = np.zeros(rows.size, dtype=np.int8)  # ""
    high95 = valid & (value > u95)
    low95 = valid & (value < l95)
    band[high95 | low95] = FUNNEL_BAND.index(BETWEEN)
    band[valid & ((value > u998) | (value < l998))] = FUNNEL_BAND.index(BEYOND)
    side[high95] = FUNNEL_SIDE.index("high")
    side[low95] = FUNNEL_SIDE.index("low")
    compared = valid & ~np.isnan(theta[gi])
    band[~compared] = FUNNEL_BAND.index(NOT_COMPARED)
    side[~compared] = 0
    z = np.full(rows.size, np.nan)
    z[kept] = z_valid

    level_idx, pidx = _split(frame, cells)
    columns = {
        "funnel_lower95": l95,
        "funnel_upper95": u95,
        "funnel_lower998": l998,
        "funnel_upper998": u998,
        "funnel_z": z,
        "funnel_band": band,
        "funnel_side": side,
        **derived_masks(measure, adjusted[gi]),
    }

    # Smooth curves: `points` log-spaced denominators across each cell's positive denominators.
    positive = good & (den > 0)
    kept_p, p_starts, p_lengths = grouped.compress_groups(positive, c_starts_all, c_lengths_all)
    den_p = den[kept_p]
    lo = grouped.reduce_groups(den_p, p_starts, p_lengths, lambda b: b.min(axis=1))
    hi = grouped.reduce_groups(den_p, p_starts, p_lengths, lambda b: b.max(axis=1))
    grid_rows: list[np.ndarray] = []
    grid_cell: list[np.ndarray] = []
    spread = (p_lengths > 0) & (hi > lo)
    if spread.any():
        g = np.geomspace(lo[spread], hi[spread], points, axis=1)
        increasing = np.all(np.diff(g, axis=1) > 0, axis=1)
        ids = np.flatnonzero(spread)
        grid_rows.append(g[increasing].ravel())
        grid_cell.append(np.repeat(ids[increasing], points))
        for i, row in zip(ids[~increasing], g[~increasing], strict=True):  # rare: lo and hi nearly equal
            u = np.unique(row)
            grid_rows.append(u)
            grid_cell.append(np.full(u.size, i))
    single = (p_lengths > 0) & ~(hi > lo)
    if single.any():
        ids = np.flatnonzero(single)
        grid_rows.append(lo[ids])
        grid_cell.append(ids)
    if grid_rows:
        grid = np.concatenate(grid_rows)
        gcell = np.concatenate(grid_cell).astype(np.int64)
        order = np.lexsort((grid, gcell))
        grid, gcell = grid[order], gcell[order]
    else:
        grid, gcell = np.zeros(0), np.zeros(0, dtype=np.int64)
    gl95, gu95, gl998, gu998 = _limits(measure, theta[gcell], theta_t[gcell], tau2[gcell], adjusted[gcell], grid)
    c_level, c_pidx = level_idx[gcell], pidx[gcell]
    curve = to_arrow(
        FUNNEL_CURVE,
        {
            "indicator": pa.array([frame.indicator.id] * grid.size, type=pa.string()),
            "level": frame.level_name_array(c_level),
            "period": frame.dates(c_pidx),
            "denominator": grid,
            "lower95": gl95,
            "upper95": gu95,
            "lower998": gl998,
            "upper998": gu998,
        },
    )

    warnings = np.full(cells.size, None, dtype=object)
    few = (k > 0) & (k < 3)
    warnings[few] = [
        f"only {int(kk)} unit(s) with a positive denominator: over-dispersion cannot be estimated, "
        "plain limits are shown"
        for kk in k[few]
    ]
    warnings[k == 0] = "no unit has a positive denominator: nothing can be compared"
    method = np.where(adjusted, "random-effects", "wilson" if measure == "proportion" else "exact-poisson")
    summary = to_arrow(
        FUNNEL_SUMMARY,
        {
            "indicator": pa.array([frame.indicator.id] * cells.size, type=pa.string()),
            "level": frame.level_name_array(level_idx),
            "period": frame.dates(pidx),
            "benchmark": theta,
            "units": k.astype(np.int64),
            "method": pa.array(method.astype(object), type=pa.string()),
            "phi": phi,
            "tau2": tau2,
            "overdispersion_adjusted": pa.array(adjusted, type=pa.bool_()),
            "warnings": pa.array(warnings, type=pa.string()),
        },
    )
    return rows, columns, curve, summary


#: Which funnel columns of a point the result_funnel view derives exactly from its cell's
#: result_funnel_summary (benchmark, tau2, method, units) and the point's counts, by the mask that marks
#: the points where it can: result_points stores NULL there (uptake.pipeline.indicator.points_table).
DERIVED = {
    "funnel_limits_derived": ("funnel_lower95", "funnel_upper95", "funnel_lower998", "funnel_upper998"),
    "funnel_z_derived": ("funnel_z",),
}


def derived_masks(measure: str, adjusted: np.ndarray) -> dict[str, np.ndarray]:
    """Per point, whether SQL gives its limits and its z-score bit for bit as ``compute`` does: only
    arithmetic and square roots (correctly rounded in NumPy and in DuckDB alike). Those are the plain
    (Wilson-touching) limits of proportions, the random-effects limits of rates (square-root scale) and
    every z-score of a rate. The exact Poisson limits need the Poisson distribution, and the arcsine scale
    of proportions (random-effects limits, z-scores) NumPy's own arcsine, whose last bit can differ from
    DuckDB's: those stay stored."""
    proportion = measure == "proportion"
    limits = ~adjusted if proportion else adjusted.copy()
    z = np.full(adjusted.shape, not proportion)
    return {"funnel_limits_derived": limits, "funnel_z_derived": z}


def _cells(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts, lengths = grouped.boundaries(cell)
    return cell[starts] if starts.size else starts, starts, lengths


def _split(frame: IndicatorFrame, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_periods = max(frame.periods.size, 1)
    return cells // n_periods, cells % n_periods
