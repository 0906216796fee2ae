"""Vectorised group operations over flat arrays, arranged to give *the same bits* as the per-group
functions in ``uptake.stats``.

Why the care: rule flags (a point above a limit, a run on one side of the mean) compare floats exactly,
so a mean summed in a different order can flip a flag. NumPy sums with pairwise summation whose
grouping depends on the length of the array, so a group's mean is reproduced exactly by applying the
same NumPy reduction to a row of a 2-D block of groups *of the same length* (``by_length``). Real data
has few distinct lengths (most organisations report every period), so the loop is over lengths, never
over organisations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def boundaries(sorted_keys: NDArray) -> tuple[IntArray, IntArray]:
    """Start positions and lengths of the runs of equal values in an already sorted key array."""
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.ones(n, dtype=bool)
    change[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(change).astype(np.int64)
    lengths = np.diff(np.append(starts, n)).astype(np.int64)
    return starts, lengths


def group_index(starts: IntArray, lengths: IntArray) -> IntArray:
    """For flat rows laid out group after group, the group number of each row."""
    return np.repeat(np.arange(starts.size, dtype=np.int64), lengths)


def position_in_group(starts: IntArray, lengths: IntArray) -> IntArray:
    """For flat rows laid out group after group, the position of each row inside its group."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)


def by_length(lengths: IntArray) -> Iterator[tuple[int, IntArray]]:
    """(length, group numbers) for each distinct group length."""
    if lengths.size == 0:
        return
    order = np.argsort(lengths, kind="stable")
    sorted_len = lengths[order]
    starts, counts = boundaries(sorted_len)
    for s, c in zip(starts, counts, strict=True):
        yield int(sorted_len[s]), order[s : s + c]


def block(values: NDArray, starts: IntArray, length: int) -> NDArray:
    """The 2-D block values[start + 0 .. start + length - 1] for each start (one row per group)."""
    return values[starts[:, None] + np.arange(length, dtype=np.int64)[None, :]]


def reduce_groups(
    values: FloatArray,
    starts: IntArray,
    lengths: IntArray,
    func: Callable[[FloatArray], NDArray],
    empty: float = np.nan,
    width: int | None = None,
) -> NDArray:
    """``func`` (a NumPy reduction along axis 1) applied to each group's contiguous values.

    Identical to calling the 1-D reduction on each group separately (see the module docstring).
    ``width`` > None means func returns ``width`` values per group (shape (groups, width)).
    """
    shape = (starts.size,) if width is None else (starts.size, width)
    out = np.full(shape, empty, dtype=np.float64)
    for length, groups in by_length(lengths):
        if length == 0:
            continue
        result = func(block(values, starts[groups], length))
        out[groups] = result
    return out


def compress_groups(mask: NDArray[np.bool_], starts: IntArray, lengths: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Keep only the rows where ``mask`` holds, preserving order: (kept row positions, new starts, new
    lengths) for the same groups (a group may become empty)."""
    kept = np.flatnonzero(mask).astype(np.int64)
    groups = group_index(starts, lengths)
    counts = np.bincount(groups[mask], minlength=starts.size).astype(np.int64)
    new_starts = (np.cumsum(counts) - counts).astype(np.int64)
    return kept, new_starts, counts


def run_lengths(key: NDArray, brk: NDArray[np.bool_]) -> IntArray:
    """Length of the run of equal ``key`` containing each element; ``brk`` forces a new run (the SPC
    trend and shift rules over many series at once)."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.ones(key.size, dtype=bool)
    start[1:] = (key[1:] != key[:-1]) | brk[1:]
    run_id = np.cumsum(start) - 1
    return np.bincount(run_id)[run_id]


def percent_rank(values: FloatArray, group: IntArray) -> FloatArray:
    """SQL PERCENT_RANK() of each value within its group, ignoring NaN (as ``uptake.stats.percent_rank``):
    #{values in the group strictly below} / (m - 1), 0 when the group has one value."""
    return rank_and_sort(values, group)[0]


def sorted_by_group(values: FloatArray, group: IntArray) -> tuple[FloatArray, IntArray, IntArray, IntArray]:
    """The non-NaN values sorted within their groups: (sorted values, group of each, starts, lengths)."""
    _, sv, g, starts, lengths = rank_and_sort(values, group)
    return sv, g, starts, lengths


def rank_and_sort(
    values: FloatArray, group: IntArray
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, IntArray]:
    """Percent ranks and the sorted values per group from one sort: (percent rank per input row, sorted
    non-NaN values, their groups, group starts, group lengths)."""
    out = np.full(values.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(values))
    if ok.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return out, np.zeros(0), empty, empty, empty
    order = ok[_value_group_order(values[ok], group[ok])]
    g = group[order]
    v = values[order]
    g_starts, g_lengths = boundaries(g)
    group_start = np.repeat(g_starts, g_lengths)
    m = np.repeat(g_lengths, g_lengths)
    new_run = np.ones(order.size, dtype=bool)
    new_run[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    run_first = np.maximum.accumulate(np.where(new_run, np.arange(order.size), 0))
    below = (run_first - group_start).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rank = np.where(m > 1, below / (m - 1).astype(np.float64), 0.0)
    out[order] = rank
    return out, v, g, g_starts, g_lengths


def _value_group_order(values: FloatArray, group: IntArray) -> IntArray:
    """The permutation ``np.lexsort((values, group))`` (by group, then value) of non-NaN values, in two
    cheaper passes: an unstable sort by value, then a stable sort by group (a radix sort when the group
    numbers fit in 16 bits, as the (level, period) cells of an indicator do).

    Equal values are interchangeable in every use (ranks and sorted values), so the order among them does
    not matter - except 0.0 and -0.0, which compare equal but are different bits: then lexsort is used."""
    if values.size and np.any((values == 0.0) & np.signbit(values)):
        return np.lexsort((values, group))
    by_value = np.argsort(values)
    g = group[by_value]
    if g.size and 0 <= int(g.min()) and int(g.max()) < 2**16:
        g = g.astype(np.uint16)
    return by_value[np.argsort(g, kind="stable")]


def centiles(sorted_values: FloatArray, starts: IntArray, lengths: IntArray, ks: tuple[float, ...]) -> FloatArray:
    """Continuous centiles (SQL PERCENTILE_CONT, ``uptake.stats.centile``) of each group's sorted
    values; shape (groups, len(ks)); NaN for an empty group. Same arithmetic, so the same bits."""
    out = np.full((starts.size, len(ks)), np.nan)
    has = lengths > 0
    if not has.any():
        return out
    s = starts[has]
    m = lengths[has]
    q = np.asarray(ks, dtype=np.float64) / 100.0
    for j, qj in enumerate(q):
        h = (m - 1) * qj
        lo = np.floor(h).astype(np.int64)
        hi = np.ceil(h).astype(np.int64)
        low_v = sorted_values[s + lo]
        high_v = sorted_values[s + hi]
        with np.errstate(invalid="ignore"):
            interpolated = low_v + (h - lo) * (high_v - low_v)
        out[has, j] = np.where(lo == hi, low_v, interpolated)
    return out
