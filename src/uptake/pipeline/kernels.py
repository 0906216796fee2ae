"""Compiled per-series kernels (numba) for the two sequential steps of the pipeline: the SPC run rules and
the CUSUM recursion (issue 17.5).

The NumPy forms stay the reference: ``uptake.pipeline.spc.special_causes_numpy`` and
``uptake.pipeline.changes.cusum_matrix_numpy`` (themselves checked against the point-by-point
``uptake.stats.xmr`` and ``uptake.stats.cusum_alerts``). The kernels here compute the same flags and the
same floats, bit for bit: every comparison and every sum is done in the reference's order, and a mean or a
standard deviation is summed as NumPy sums (its pairwise summation, reproduced by ``_np_sum``), so a flag
that depends on a float exactly on a line comes out the same. ``tests/test_kernels.py`` checks it on random
and edge-case series (empty, one point, NaN, ties, flat references).

numba is a dependency (pyproject.toml). If it cannot be imported (a platform without a wheel), or
``UPTAKE_NUMBA=0`` is set, ``available()`` is False and the pipeline uses the NumPy reference: the same
results, slower. The kernels are compiled on first use and cached on disk (numba's ``cache=True``: the
package's ``__pycache__``, or numba's user cache directory when that is read-only), so ``uptake --help`` and
every module that does not run the pipeline never import numba.
"""

from __future__ import annotations

import functools
import math
import os
import types
from types import SimpleNamespace

import numpy as np

#: numpy's pairwise summation block (PW_BLOCKSIZE in numpy's loops_utils.h)
_PW_BLOCKSIZE = 128


def enabled_by_setting() -> bool:
    """False when UPTAKE_NUMBA is 0/false/no/off (use the NumPy reference)."""
    return os.environ.get("UPTAKE_NUMBA", "1").strip().lower() not in {"0", "false", "no", "off"}


#: the kernels and the helpers they call, compiled in this order (a helper before its callers)
_KERNELS = ("_block_sum", "_pairwise", "_np_sum", "_reference", "_run_lengths", "run_rules", "cusum_side")


@functools.cache
def _compiled() -> SimpleNamespace | None:
    """The jitted kernels, or None when numba cannot be imported. Each is this module's plain function,
    compiled with the others bound as globals (so a kernel calls the compiled helpers)."""
    try:
        # deferred: numba (about 0.5 s to import, and LLVM) is loaded only when a kernel first runs
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None
    jit = numba.njit(cache=os.environ.get("UPTAKE_NUMBA_CACHE", "1") != "0", nogil=True)
    scope = dict(globals())
    for name in _KERNELS:
        plain = globals()[name]
        scope[name] = jit(types.FunctionType(plain.__code__, scope, name, plain.__defaults__))
    return SimpleNamespace(**{name: scope[name] for name in _KERNELS})


def available() -> bool:
    """True when the compiled kernels are used (numba imports and UPTAKE_NUMBA is not off)."""
    return enabled_by_setting() and _compiled() is not None


# ----------------------------------------------------------------------------------------- NumPy's sums
def _np_sum(a, lo, n):
    """``a[lo:lo + n].sum()`` as NumPy computes it for a contiguous float64 run (the identity 0.0 plus
    NumPy's pairwise sum: under 8 values one by one; up to 128 in eight interleaved partial sums; above
    that, halves split at a multiple of 8)."""
    return 0.0 + _pairwise(a, lo, n)


def _pairwise(a, lo, n):
    # NumPy's recursion (halves split at a multiple of 8 down to blocks of at most 128, each half's sum
    # added left + right) done with an explicit stack: numba's on-disk cache does not keep recursive
    # functions safely.
    if n <= _PW_BLOCKSIZE:
        return _block_sum(a, lo, n)
    st_lo = np.empty(128, dtype=np.int64)
    st_n = np.empty(128, dtype=np.int64)
    st_stage = np.empty(128, dtype=np.int64)
    vals = np.empty(128, dtype=np.float64)
    nv = 0
    top = 0
    st_lo[0] = lo
    st_n[0] = n
    st_stage[0] = 0
    while top >= 0:
        blo = st_lo[top]
        bn = st_n[top]
        if bn <= _PW_BLOCKSIZE:
            vals[nv] = _block_sum(a, blo, bn)
            nv += 1
            top -= 1
        elif st_stage[top] == 0:
            st_stage[top] = 1
            n2 = bn // 2
            n2 -= n2 % 8
            top += 1  # the right half, summed second
            st_lo[top] = blo + n2
            st_n[top] = bn - n2
            st_stage[top] = 0
            top += 1  # the left half, summed first
            st_lo[top] = blo
            st_n[top] = n2
            st_stage[top] = 0
        else:
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
    return vals[0]


def _block_sum(a, lo, n):
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


# ------------------------------------------------------------------------------------------- SPC rules
def run_rules(y, mean, mrbar, new_segment, limit_factor, two_sigma_factor, trend_points, shift_points,
                  window, needed):
    """The four rules of ``SpecialCauseRules`` over series laid end to end (``new_segment`` marks the first
    point of each series and of each period between rebases): int8 flags (outside, trend, two-of-three,
    shift), +1 high or rising, -1 low or falling. The same definitions as ``spc.special_causes_numpy``:
    a NaN neither flags nor continues a run."""
    n = y.size
    outside = np.zeros(n, dtype=np.int8)
    trend = np.zeros(n, dtype=np.int8)
    two3 = np.zeros(n, dtype=np.int8)
    shift = np.zeros(n, dtype=np.int8)
    side = np.zeros(n, dtype=np.int8)
    beyond = np.zeros(n, dtype=np.int8)
    step = np.zeros(n, dtype=np.int8)
    for i in range(n):
        m = mean[i]
        r = mrbar[i]
        v = y[i]
        upper = m + limit_factor * r
        lower = m - limit_factor * r
        if v > upper:
            outside[i] = 1
        elif v < lower:
            outside[i] = -1
        upper2 = m + two_sigma_factor * r
        lower2 = m - two_sigma_factor * r
        if v > upper2:
            beyond[i] = 1
        elif v < lower2:
            beyond[i] = -1
        d = v - m
        if d > 0:
            side[i] = 1
        elif d < 0:
            side[i] = -1
        if i > 0 and not new_segment[i]:
            e = v - y[i - 1]
            if e > 0:
                step[i] = 1
            elif e < 0:
                step[i] = -1
    # Trend: trend_points points = trend_points - 1 equal non-zero steps in a row (the steps lead into the
    # points); the point the run leaves from takes the run's way unless a flagged step leads into it.
    step_run = _run_lengths(step, new_segment)
    step_flag = np.zeros(n, dtype=np.int8)
    for i in range(n):
        if step[i] != 0 and step_run[i] >= trend_points - 1:
            step_flag[i] = step[i]
    for i in range(n):
        if step_flag[i] != 0:
            trend[i] = step_flag[i]
        elif i + 1 < n:
            trend[i] = step_flag[i + 1]
    # Shift: shift_points points strictly on one side of the mean.
    side_run = _run_lengths(side, new_segment)
    for i in range(n):
        if side[i] != 0 and side_run[i] >= shift_points:
            shift[i] = side[i]
    # Two of three: windows of `window` points in one segment, all on one side, `needed` beyond two sigma.
    for s in range(n - window + 1):
        way = side[s]
        if way == 0:
            continue
        ok = True
        hits = 0
        for k in range(s, s + window):
            if (k > s and new_segment[k]) or side[k] != way:
                ok = False
                break
            if beyond[k] == way:
                hits += 1
        if ok and hits >= needed:
            for k in range(s, s + window):
                if beyond[k] == way:
                    two3[k] = way
    return outside, trend, two3, shift


def _run_lengths(key, brk):
    """The length of the run of equal ``key`` holding each element; ``brk`` starts a new run."""
    n = key.size
    out = np.zeros(n, dtype=np.int64)
    i = 0
    while i < n:
        j = i + 1
        while j < n and not brk[j] and key[j] == key[i]:
            j += 1
        for k in range(i, j):
            out[k] = j - i
        i = j
    return out


# ----------------------------------------------------------------------------------------------- CUSUM
def _reference(row, a, b, buf, sq):
    """(mean, SD with ddof=1) of the non-missing values of row[a:b], NaN for both under 2 values: as
    ``stats.cusum._reference`` computes them (NumPy's mean and std on the compressed values)."""
    c = 0
    for k in range(max(a, 0), b):
        v = row[k]
        if not math.isnan(v):
            buf[c] = v
            c += 1
    if c < 2:
        return math.nan, math.nan
    mean = _np_sum(buf, 0, c) / c
    for k in range(c):
        d = buf[k] - mean
        sq[k] = d * d
    return mean, math.sqrt(_np_sum(sq, 0, c) / (c - 1))


def cusum_side(x, sign, window, sensitivity, allowance, cusum, ref_mean, threshold, alert):
    """One side (sign +1 increases, -1 decreases) of the CUSUM of every row of x (series aligned in time),
    written into the given (rows, periods) arrays: the recursion of ``stats.cusum._one_side``, row by row."""
    s, n = x.shape
    buf = np.empty(max(window, 1), dtype=np.float64)
    sq = np.empty(max(window, 1), dtype=np.float64)
    for r in range(s):
        row = x[r]
        mean, sd = _reference(row, 0, min(window, n), buf, sq)
        total = 0.0
        alerting = False
        for t in range(window, n):
            if math.isnan(mean) or math.isnan(sd):
                mean, sd = _reference(row, t - window, t, buf, sq)
                if math.isnan(mean) or math.isnan(sd):
                    continue
            ref_mean[r, t] = mean
            threshold[r, t] = sensitivity * sd
            xt = row[t]
            if math.isnan(xt):  # a missing month changes nothing
                cusum[r, t] = sign * total
                continue
            excess = sign * (xt - mean) - allowance * sd
            if alerting:
                if excess > 0:  # the change persists: keep accumulating and alert again
                    total = total + excess
                    alert[r, t] = True
                    mean = _reference(row, t - window + 1, t + 1, buf, sq)[0]
                else:  # the change has stopped: start again from the recent level
                    total = 0.0
                    alerting = False
                    mean, sd = _reference(row, t - window + 1, t + 1, buf, sq)
            else:
                total = total + excess
                if not total > 0.0:  # np.maximum(0.0, total): NaN stays NaN
                    total = total if math.isnan(total) else 0.0
                if total > sensitivity * sd:
                    alert[r, t] = True
                    alerting = True
                    mean = _reference(row, t - window + 1, t + 1, buf, sq)[0]
            cusum[r, t] = sign * total


# ---------------------------------------------------------------------------------- calling the kernels
def special_causes(y, mean, mrbar, new_segment, rules) -> dict[str, np.ndarray] | None:
    """The compiled run rules, or None when the kernels are off (the caller uses the NumPy reference)."""
    if not available():
        return None
    k = _compiled()
    flags = dict(zip(
        ("outside-limits", "trend", "two-of-three", "shift"),
        k.run_rules(
            np.ascontiguousarray(y, dtype=np.float64), np.ascontiguousarray(mean, dtype=np.float64),
            np.ascontiguousarray(mrbar, dtype=np.float64), np.ascontiguousarray(new_segment, dtype=np.bool_),
            float(rules.limit_factor), float(rules.two_sigma_factor), int(rules.trend_points),
            int(rules.shift_points), int(rules.window), int(rules.needed),
        ),
        strict=True,
    ))
    return {name: flags[name] for name in rules.priority}


def cusum_one_side(x: np.ndarray, sign: int, window: int, sensitivity: float, allowance: float):
    """The compiled CUSUM side (cusum, reference mean, threshold, alert), or None when the kernels are off."""
    if not available():
        return None
    s, n = x.shape
    cusum = np.full((s, n), np.nan)
    ref_mean = np.full((s, n), np.nan)
    threshold = np.full((s, n), np.nan)
    alert = np.zeros((s, n), dtype=np.bool_)
    _compiled().cusum_side(np.ascontiguousarray(x, dtype=np.float64), float(sign), int(window),
                           float(sensitivity), float(allowance), cusum, ref_mean, threshold, alert)
    return cusum, ref_mean, threshold, alert
