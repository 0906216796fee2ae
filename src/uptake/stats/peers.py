"""Similar peers ("Similar 10", NHS RightCare) and the best-of-peers benchmark.

Source: NHS RightCare "Similar 10" methodology (Commissioning for Value packs; "Similar 10 CCG
explorer tool"): demographic variables capped at mean + 5 SD, square-rooted, standardised, combined by a
weighted squared Euclidean distance; each organisation's 10 nearest of the same level are its peers and
the opportunity is measured against the mean of the best 5 of them (METHODS.md). Dropkin (2018) notes
the method ignores the peers' own uncertainty; report such gaps with an interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import (
    FloatArray,
    StatsInputError,
    as_1d_float,
    as_float_array,
    check_polarity,
    positions,
)

__all__ = ["SimilarPeers", "similar_peers", "standardise_features", "peer_benchmark"]

CAP_SD = 5.0
_BLOCK_ELEMENTS = 4_000_000  # rows x units x variables per distance block (~32 MB of float64)


@dataclass(frozen=True)
class SimilarPeers:
    """Each organisation's k nearest peers, nearest first.

    ``peer_index[i]`` are row positions in the input, ``peer_codes[i]`` the matching codes and
    ``distance[i]`` the weighted squared Euclidean distances. Shape (n, k) with k = min(k, n - 1).
    """

    codes: NDArray[np.str_]
    peer_index: NDArray[np.int64]
    peer_codes: NDArray[np.str_]
    distance: FloatArray


def standardise_features(features: ArrayLike) -> FloatArray:
    """RightCare preprocessing: cap at mean + 5 SD, square root, then z-score each column.

    Means and SDs are population (ddof=0) statistics over the organisations given: they are the whole
    level (every ICB, every practice), not a sample. A column with zero spread becomes all zeros, so it
    adds nothing to any distance. Values must be >= 0 (they are square-rooted) and not missing.
    """
    x = as_float_array(features, "features")
    if x.ndim != 2:
        raise StatsInputError(
            f"features must be a 2-D array, organisations x variables (got shape {x.shape})"
        )
    if np.any(np.isnan(x)):
        raise StatsInputError(
            f"features has missing values at {positions(np.isnan(x).any(axis=1))} (rows); "
            "impute or drop those organisations before matching peers"
        )
    if np.any(x < 0):
        raise StatsInputError(
            f"features must be >= 0 to take square roots; negative in rows {positions((x < 0).any(axis=1))}"
        )
    cap = x.mean(axis=0) + CAP_SD * x.std(axis=0)
    root = np.sqrt(np.minimum(x, cap))
    # Test for constant columns on the values themselves: the SD of identical values can come out as a
    # rounding-sized number rather than 0, and dividing by it would invent differences.
    varies = np.ptp(root, axis=0) > 0
    sd = np.where(varies, root.std(axis=0), 1.0)
    return np.where(varies, (root - root.mean(axis=0)) / sd, 0.0)


def similar_peers(
    features: ArrayLike, codes: ArrayLike, k: int = 10, weights: ArrayLike | None = None
) -> SimilarPeers:
    """Each organisation's k most similar organisations of the same set (RightCare "Similar 10").

    Distance between organisations i and j, after :func:`standardise_features`::

        d_ij = sum_v w_v (z_iv - z_jv)^2

    Peers are the k smallest d_ij with j != i; ties are broken by code (ascending), so the result does
    not depend on row order. d_ij == d_ji exactly.

    Parameters
    ----------
    features : (n organisations, m variables) demographic values, >= 0, no missing values.
    codes : n unique organisation codes (ODS codes).
    k : number of peers; capped at n - 1 (a single organisation has no peers: shape (1, 0)).
    weights : m non-negative weights (default all 1).
    """
    z = standardise_features(features)
    n, m = z.shape
    code_arr = np.asarray(codes).astype(str)
    if code_arr.shape != (n,):
        raise StatsInputError(
            f"codes must have one entry per row of features ({n}); got shape {code_arr.shape}"
        )
    unique, inverse = np.unique(code_arr, return_inverse=True)
    if unique.size != n:
        raise StatsInputError("codes must be unique; each organisation appears once per peer match")
    w = np.ones(m) if weights is None else as_1d_float(weights, "weights")
    if w.shape != (m,) or np.any(w < 0) or np.any(np.isnan(w)):
        raise StatsInputError(f"weights must be {m} non-negative numbers, one per variable")
    if int(k) != k or k < 0:
        raise StatsInputError(f"k must be a whole number >= 0 (got {k!r})")
    kk = min(int(k), n - 1)

    code_rank = inverse.astype(np.int64)  # position of each code in sorted order, for tie-breaks
    peer_index = np.empty((n, kk), dtype=np.int64)
    distance = np.empty((n, kk))
    block = max(1, _BLOCK_ELEMENTS // max(1, n * m))
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        diff = z[rows, None, :] - z[None, :, :]
        # A plain sum over the last axis adds the same terms in the same order for (i, j) and (j, i).
        d = np.sum(diff * diff * w, axis=2)
        d[np.arange(rows.size), rows] = np.inf  # never one's own peer
        # Sort each row by distance, then by code: lexsort uses the last key as primary.
        order = np.lexsort((np.broadcast_to(code_rank, d.shape), d), axis=1)[:, :kk]
        peer_index[rows] = order
        distance[rows] = np.take_along_axis(d, order, axis=1)
    return SimilarPeers(
        codes=code_arr,
        peer_index=peer_index,
        peer_codes=code_arr[peer_index],
        distance=distance,
    )


def peer_benchmark(values: ArrayLike, peers: SimilarPeers, polarity: str, best: int = 5) -> FloatArray:
    """Mean of the best ``best`` peers' values for each organisation (RightCare: best 5 of 10).

    "Best" is highest for ``high-is-good`` and lowest for ``low-is-good``; missing peer values are
    skipped (fewer than ``best`` available -> mean of those there are; none -> NaN).
    """
    check_polarity(polarity)
    if polarity == "no-judgement":
        raise StatsInputError("a best-of-peers benchmark needs polarity 'high-is-good' or 'low-is-good'")
    v = as_1d_float(values, "values")
    if v.size != peers.codes.size:
        raise StatsInputError(
            f"values must have one entry per organisation ({peers.codes.size}); got {v.size}"
        )
    pv = v[peers.peer_index]
    if pv.shape[1] == 0:
        return np.full(v.shape, np.nan)
    # Sort so the best come first; NaN sorts last either way.
    key = -pv if polarity == "high-is-good" else pv
    ordered = np.take_along_axis(pv, np.argsort(key, axis=1, kind="stable"), axis=1)[:, :best]
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(ordered), axis=1)
        totals = np.nansum(ordered, axis=1)
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
