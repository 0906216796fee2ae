"""Percent ranks, deciles and the opportunity gap, following OpenPrescribing's conventions.

OpenPrescribing (Bennett Institute, bennettoxford/openprescribing) ranks each organisation's measure
value within its organisation level and month with SQL ``PERCENT_RANK()`` and draws the 10th..90th
percentile lines of the unweighted distribution of organisations' values ("deciles"). The definitions
here are written so that a SQL engine (DuckDB, PostgreSQL, Spark) can reproduce them bit for bit; see
each docstring and docs/methods.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from uptake.stats._validation import FloatArray, StatsInputError, as_1d_float, as_float_array, check_polarity

__all__ = ["percent_rank", "centile", "deciles", "opportunity", "DECILE_CENTILES"]

#: The centiles drawn as "deciles" on OpenPrescribing charts.
DECILE_CENTILES: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def percent_rank(values: ArrayLike) -> FloatArray:
    """SQL ``PERCENT_RANK()`` in ascending order, ignoring missing values.

    Definition (exactly)::

        rank_i = 1 + #{j : v_j < v_i}          (SQL RANK(): ties share the lowest rank)
        percent_rank_i = float64(rank_i - 1) / float64(m - 1)

    where m is the number of non-missing values. Equivalent SQL::

        PERCENT_RANK() OVER (PARTITION BY level, month ORDER BY value)   -- over rows WHERE value IS NOT NULL

    Missing values must be filtered out in SQL (SQL would rank NULLs too); here they get NaN.
    Ties are exact float equality, so both sides must rank the same doubles (compute ratios once).
    Multiply by 100 for OpenPrescribing's "percentile" column.

    Edge cases: one non-missing value -> 0.0 (as SQL); no values -> all NaN. Result lies in [0, 1] and is
    order-preserving (v_i < v_j implies rank_i < rank_j).
    """
    v = as_1d_float(values, "values")
    out = np.full(v.shape, np.nan)
    ok = ~np.isnan(v)
    x = v[ok]
    m = x.size
    if m == 1:
        out[ok] = 0.0
    elif m > 1:
        below = np.searchsorted(np.sort(x), x, side="left")  # #{j : x_j < x_i} = rank - 1
        out[ok] = below.astype(np.float64) / np.float64(m - 1)
    return out


def _continuous_centiles(sorted_x: FloatArray, centiles: FloatArray) -> FloatArray:
    m = sorted_x.size
    if m == 0:
        return np.full(centiles.shape, np.nan)
    q = centiles / 100.0  # k/100 is the same double as the SQL literal 0.k
    h = (m - 1) * q
    lo = np.floor(h).astype(np.int64)
    hi = np.ceil(h).astype(np.int64)
    low_v = sorted_x[lo]
    high_v = sorted_x[hi]
    with np.errstate(invalid="ignore"):
        interpolated = low_v + (h - lo) * (high_v - low_v)
    return np.where(lo == hi, low_v, interpolated)


def centile(values: ArrayLike, k: ArrayLike) -> FloatArray:
    """Continuous centile(s) k (0..100) of the non-missing values, unweighted (SQL PERCENTILE_CONT).

    Definition (exactly), with x sorted ascending and m values::

        q = k / 100;  h = (m - 1) * q;  lo = floor(h);  hi = ceil(h)
        centile = x[lo]                                  if lo == hi
                  x[lo] + (h - lo) * (x[hi] - x[lo])     otherwise

    This is numpy's "linear" method (Hyndman & Fan type 7), PostgreSQL's ``percentile_cont`` and
    DuckDB's ``quantile_cont``; written out so a SQL version can match bit for bit.

    Edge cases: missing values are ignored; no values -> NaN; one value -> that value.
    """
    v = as_1d_float(values, "values")
    ks = as_float_array(k, "k")
    if np.any((ks < 0) | (ks > 100) | np.isnan(ks)):
        raise StatsInputError(f"centiles must lie between 0 and 100 (got {k!r})")
    x = np.sort(v[~np.isnan(v)])
    return _continuous_centiles(x, np.atleast_1d(ks)).reshape(ks.shape)


def deciles(values: ArrayLike) -> FloatArray:
    """The 10th, 20th, ..., 90th continuous centiles of the values (OpenPrescribing's decile lines).

    Unweighted: each organisation counts once whatever its list size. See :func:`centile` for the exact
    definition. Returns an array of 9 values (NaN if there are no non-missing values).
    """
    return centile(values, np.asarray(DECILE_CENTILES, dtype=np.float64))


#: gaps nearer zero than this (in the indicator's counts) are rounding, not a shortfall: they count as 0
GAP_TOLERANCE = 1e-6


def opportunity(
    num: ArrayLike, den: ArrayLike, benchmark_value: ArrayLike, polarity: str
) -> FloatArray:
    """Positive gap per organisation, in patients: how many more (or fewer) at the benchmark rate.

    Formula (METHODS.md; OpenPrescribing's "potential savings" logic applied to patients)::

        high is good: gap_i = max(0, P * den_i - num_i)
        low is good:  gap_i = max(0, num_i - P * den_i)

    where P is the benchmark proportion (e.g. the 90th centile from :func:`centile`, the best-5-of-10
    peer mean, or an NSF target), a scalar or one value per organisation. The national opportunity is
    the sum of these gaps (positive gaps only: organisations above the benchmark do not offset others).

    Edge cases: den == 0 -> gap 0; NaN in any input -> NaN (use ``np.nansum`` to total);
    ``polarity="no-judgement"`` raises, as there is no better direction to close a gap towards.
    """
    check_polarity(polarity)
    if polarity == "no-judgement":
        raise StatsInputError(
            "opportunity needs a direction: polarity 'no-judgement' has no better value "
            "to close a gap towards"
        )
    n_ = as_float_array(num, "num")
    d = as_float_array(den, "den")
    p = as_float_array(benchmark_value, "benchmark_value")
    if np.any(d < 0) or np.any(n_ < 0):
        raise StatsInputError("num and den must be >= 0")
    expected = p * d
    gap = expected - n_ if polarity == "high-is-good" else n_ - expected
    # An organisation at the benchmark has no gap: 0.07 x 100 - 7 is 8.9e-16 in floating point, not a patient.
    return np.where(np.abs(gap) < GAP_TOLERANCE, 0.0, np.maximum(gap, 0.0))
