"""CUSUM change detection on every organisation's percentile series at once: the vectorised form of
``uptake.stats.cusum_alerts`` (OpenPrescribing's measure alerts).

The series of an organisation is its percentile (percent rank x 100) in each of the indicator's
periods, NaN where it has no value. The recursion runs forward in time, so the loop is over periods
(a few hundred at most) with the series of all organisations of every level updated together. England
is not ranked, so it has no changes.
"""

from __future__ import annotations

import numpy as np

from uptake.pipeline import kernels
from uptake.pipeline.frame import IndicatorFrame
from uptake.results.schema import CUSUM_ALERT
from uptake.stats.cusum import ALLOWANCE_SD


def _reference(x: np.ndarray, rows: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD (ddof=1) of x[row, a:b] over its non-missing values, per row (NaN with fewer than
    2), with the same arithmetic as ``stats.cusum._reference`` on the compressed values."""
    mean = np.full(rows.size, np.nan)
    sd = np.full(rows.size, np.nan)
    if rows.size == 0 or b <= a:
        return mean, sd
    block = x[rows, max(a, 0) : b]
    missing = np.isnan(block)
    counts = block.shape[1] - missing.sum(axis=1)
    full = counts == block.shape[1]
    if full.any() and block.shape[1] >= 2:
        sub = block[full]
        mean[full] = sub.mean(axis=1)
        sd[full] = sub.std(axis=1, ddof=1)
    partial = ~full & (counts >= 2)
    if partial.any():
        sub = block[partial]
        order = np.argsort(np.isnan(sub), axis=1, kind="stable")
        packed = np.take_along_axis(sub, order, axis=1)
        c_sub = counts[partial]
        where = np.flatnonzero(partial)
        for c in np.unique(c_sub):
            pick = c_sub == c
            vals = packed[pick, :c]
            mean[where[pick]] = vals.mean(axis=1)
            sd[where[pick]] = vals.std(axis=1, ddof=1)
    return mean, sd


def _one_side(x: np.ndarray, sign: int, window: int, sensitivity: float):
    """One side of the CUSUM of every row: the compiled kernel (``pipeline.kernels``) when numba is
    available, else the NumPy reference ``_one_side_numpy``; the same floats either way."""
    out = kernels.cusum_one_side(x, sign, window, sensitivity, ALLOWANCE_SD)
    return _one_side_numpy(x, sign, window, sensitivity) if out is None else out


def _one_side_numpy(x: np.ndarray, sign: int, window: int, sensitivity: float):
    s, n = x.shape
    cusum = np.full((s, n), np.nan)
    ref_mean = np.full((s, n), np.nan)
    threshold = np.full((s, n), np.nan)
    alert = np.zeros((s, n), dtype=bool)
    every = np.arange(s)
    mean, sd = _reference(x, every, 0, min(window, n))
    total = np.zeros(s)
    alerting = np.zeros(s, dtype=bool)
    for t in range(window, n):
        need = np.isnan(mean) | np.isnan(sd)
        if need.any():
            rows = np.flatnonzero(need)
            m2, s2 = _reference(x, rows, t - window, t)
            mean[rows], sd[rows] = m2, s2
        active = ~(np.isnan(mean) | np.isnan(sd))
        ref_mean[active, t] = mean[active]
        threshold[active, t] = sensitivity * sd[active]
        xt = x[:, t]
        missing = active & np.isnan(xt)
        cusum[missing, t] = sign * total[missing]
        proc = active & ~np.isnan(xt)
        if not proc.any():
            continue
        with np.errstate(invalid="ignore"):
            excess = sign * (xt - mean) - ALLOWANCE_SD * sd
        cont = proc & alerting & (excess > 0)
        stop = proc & alerting & ~(excess > 0)
        fresh = proc & ~alerting
        new_total = np.where(fresh, np.maximum(0.0, total + excess), total)
        trig = fresh & (new_total > sensitivity * sd)
        new_total = np.where(cont, total + excess, new_total)
        new_total = np.where(stop, 0.0, new_total)
        recent_rows = np.flatnonzero(cont | stop | trig)
        if recent_rows.size:
            rm, rs = _reference(x, recent_rows, t - window + 1, t + 1)
            m_new = mean.copy()
            s_new = sd.copy()
            m_new[recent_rows] = rm
            s_new[recent_rows] = rs
            mean = np.where(cont | stop | trig, m_new, mean)
            sd = np.where(stop, s_new, sd)
        alert[cont | trig, t] = True
        alerting = (alerting & ~stop) | trig
        total = np.where(proc, new_total, total)
        cusum[proc, t] = sign * total[proc]
    return cusum, ref_mean, threshold, alert


def cusum_matrix(x: np.ndarray, window: int = 12, sensitivity: float = 5.0) -> dict[str, np.ndarray]:
    """CUSUMs of many series (rows of x, aligned in time) as ``stats.cusum_alerts`` computes each row."""
    return _matrix(x, window, sensitivity, _one_side)


def cusum_matrix_numpy(x: np.ndarray, window: int = 12, sensitivity: float = 5.0) -> dict[str, np.ndarray]:
    """``cusum_matrix`` by the NumPy reference alone (what the compiled kernel is checked against)."""
    return _matrix(x, window, sensitivity, _one_side_numpy)


def _matrix(x: np.ndarray, window: int, sensitivity: float, one_side) -> dict[str, np.ndarray]:
    up, up_mean, up_thr, up_alert = one_side(x, +1, window, float(sensitivity))
    down, down_mean, down_thr, down_alert = one_side(x, -1, window, float(sensitivity))
    # Codes into CUSUM_ALERT: "", increase, decrease, both.
    code = up_alert.astype(np.int8) + 2 * down_alert.astype(np.int8)
    alert = np.asarray(CUSUM_ALERT, dtype=object)[code]
    return {
        "cusum_increase": up,
        "cusum_decrease": down,
        "reference_mean_increase": up_mean,
        "reference_mean_decrease": down_mean,
        "threshold_increase": up_thr,
        "threshold_decrease": -down_thr,
        "alert": alert,
        "alert_code": code,
    }


def compute(
    frame: IndicatorFrame, percent_rank: np.ndarray, window: int, sensitivity: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(frame rows below England, their CUSUM columns of result_points)."""
    names = ("cusum_increase", "cusum_decrease", "cusum_threshold_increase", "cusum_threshold_decrease",
             "cusum_alert")
    rows = np.flatnonzero(frame.level != frame.england_level)
    if rows.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, {k: np.zeros(0, dtype=np.int8 if k == "cusum_alert" else np.float64) for k in names}
    # One matrix row per (level, organisation) series, every level at once (each row's recursion is
    # independent of the others, so the results are those of one matrix per level). Rows are in (level,
    # org, period) order, so the series number of a row is the count of series changes before it.
    level, org, pidx = frame.level[rows], frame.org[rows], frame.pidx[rows]
    change = (level[1:] != level[:-1]) | (org[1:] != org[:-1])
    series = np.concatenate([[0], np.cumsum(change, dtype=np.int64)])
    x = np.full((int(series[-1]) + 1, frame.periods.size), np.nan)
    x[series, pidx] = percent_rank[rows] * 100.0
    result = cusum_matrix(x, window, sensitivity)
    at = (series, pidx)
    return rows, {
        "cusum_increase": result["cusum_increase"][at],
        "cusum_decrease": result["cusum_decrease"][at],
        "cusum_threshold_increase": result["threshold_increase"][at],
        "cusum_threshold_decrease": result["threshold_decrease"][at],
        "cusum_alert": result["alert_code"][at],
    }
