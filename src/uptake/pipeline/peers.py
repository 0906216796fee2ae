"""Similar peers per level ("Similar 10", NHS RightCare), from real characteristics of the organisations'
populations (documented in docs/methods.md, "Similar peers", and docs/results.md):

* ``imd_score`` - deprivation: the organisation's own IMD score where the reference gives one (ICBs,
  practices), otherwise the list-size-weighted mean IMD score of its member practices (PCNs, sub-ICB
  locations, regions) through the current hierarchy;
* ``population`` - registered list size or population: the organisation's own (practices, sub-ICBs, ICBs,
  regions), otherwise the sum over its member practices (PCNs);
* ``aged_65_plus`` - age structure: the share of the registered list aged 65 or over, a practice's own
  (``uptake.reference.covariates``), otherwise the list-size-weighted mean over its member practices;
* ``rural`` - rurality: 1 for a practice in a rural LSOA, 0 in an urban one; for other levels the
  list-size-weighted share of member practices' patients registered at rural practices.

Every feature above comes from published reference data, never from an indicator's observations, so no
indicator (and no synthetic series) moves anyone's peers. Levels with none of them (trusts and stroke units:
providers without a registered population) are matched on ``activity:<indicators>`` instead - the size of
the groups the real (non-synthetic) indicators measure there (a stroke unit's admissions, a trust's
prescribing volume): for each such indicator ingested at the level, the organisation's mean denominator per
period over the indicator's latest 12 periods, divided by the level's median; the feature is the geometric
mean of those ratios over the indicators where the organisation has data.

A feature with no value for any organisation of the level is left out; remaining gaps take the level's
median. Trusts are matched only with trusts of the same type (acute with acute, mental health with
mental health). A level with no features (ISDNs) has no peers. The arithmetic (cap at mean + 5 SD,
square root, standardise, weighted squared Euclidean distance, ties by code) is ``stats.similar_peers``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from uptake import stats
from uptake.levels import Level
from uptake.pipeline.frame import Organisations
from uptake.reference.covariates import PRACTICE_COVARIATES, load_practice_covariates
from uptake.results.schema import PEERS, to_arrow

ACTIVITY_PERIODS = 12
#: The population characteristics matched on, in order; each weighs 1 (docs/methods.md says why).
POPULATION_FEATURES: tuple[str, ...] = ("imd_score", "population", *PRACTICE_COVARIATES)
#: Weight of each feature in the distance.
FEATURE_WEIGHTS: dict[str, float] = {name: 1.0 for name in POPULATION_FEATURES}
ACTIVITY_WEIGHT = 1.0


@dataclass(frozen=True)
class LevelPeers:
    """Peers of the current organisations of one level: ``org`` (directory positions) and ``peer``
    (n x k positions into ``org``), nearest first, and the distances."""

    level: str
    org: np.ndarray
    peer: np.ndarray
    distance: np.ndarray
    features: tuple[str, ...]


def practice_covariates(orgs: Organisations, covariates: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Each practice covariate as an array over the directory: the value of each practice (matched by code),
    NaN for every other organisation and where the practice has none. ``covariates`` is indexed by practice
    code with the columns ``PRACTICE_COVARIATES`` (default: the bundled ones)."""
    table = load_practice_covariates() if covariates is None else covariates
    is_practice = orgs.level == Level.PRACTICE.value
    codes = pd.Index(orgs.codes.astype(str))
    out: dict[str, np.ndarray] = {}
    for name in PRACTICE_COVARIATES:
        column = np.full(orgs.codes.size, np.nan)
        if name in table.columns and len(table):
            found = pd.to_numeric(table[name], errors="coerce").astype("float64").reindex(codes).to_numpy()
            column = np.where(is_practice, found, np.nan)
        out[name] = column
    return out


def member_features(
    orgs: Organisations, links: pa.Table, level: str, shares: dict[str, np.ndarray] | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The list-size-weighted mean over member practices of the practices' IMD score and of each array in
    ``shares`` (over the directory), and the total population, for each current organisation of ``level``
    (NaN where it has no member practice with data). A practice counts in a mean when it has both a list
    size and a value."""
    ids = orgs.of_level(level)
    values = {"imd_score": orgs.imd_score, **(shares or {})}
    means = {name: np.full(ids.size, np.nan) for name in values}
    pop = np.full(ids.size, np.nan)
    if links.num_rows == 0 or ids.size == 0:
        return means, pop
    child = orgs.index_of(links.column("child_code"))
    parent = orgs.index_of(links.column("parent_code"))
    child_level = np.asarray(links.column("child_level").to_numpy(zero_copy_only=False), dtype=object)
    parent_level = np.asarray(links.column("parent_level").to_numpy(zero_copy_only=False), dtype=object)
    sel = (child_level == Level.PRACTICE.value) & (parent_level == level) & (child >= 0) & (parent >= 0)
    child, parent = child[sel], parent[sel]
    position = np.full(orgs.codes.size, -1, dtype=np.int64)
    position[ids] = np.arange(ids.size)
    slot = position[parent]
    keep = slot >= 0
    child, slot = child[keep], slot[keep]
    p = orgs.population[child]
    has_pop = ~np.isnan(p)
    pop_sum = np.bincount(slot[has_pop], weights=p[has_pop], minlength=ids.size)
    pop_any = np.bincount(slot[has_pop], minlength=ids.size) > 0
    pop[pop_any] = pop_sum[pop_any]
    for name, array in values.items():
        s = array[child]
        both = has_pop & ~np.isnan(s)
        w = np.bincount(slot[both], weights=p[both], minlength=ids.size)
        ws = np.bincount(slot[both], weights=(p * s)[both], minlength=ids.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[name] = np.where(w > 0, ws / w, np.nan)
    return means, pop


def activity_index(
    orgs: Organisations, activity: pa.Table, level: str, ids: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """One activity feature for a level: the geometric mean, over the indicators ingested at the level,
    of each organisation's mean denominator relative to the level's median for that indicator (over the
    indicators where it has data). None when no indicator measures the level."""
    if activity.num_rows == 0 or ids.size == 0:
        return None
    levels = np.asarray(activity.column("level").to_numpy(zero_copy_only=False), dtype=object)
    mine = activity.filter(pa.array(levels == level))
    if mine.num_rows == 0:
        return None
    pos = np.full(orgs.codes.size, -1, dtype=np.int64)
    pos[ids] = np.arange(ids.size)
    org_of = orgs.index_of(mine.column("org_code"))
    ind_of = np.asarray(mine.column("indicator").to_numpy(zero_copy_only=False), dtype=object)
    mean_den = np.asarray(mine.column("mean_denominator").to_numpy(zero_copy_only=False), dtype=np.float64)
    log_sum = np.zeros(ids.size)
    count = np.zeros(ids.size)
    used: list[str] = []
    for ind in sorted(set(ind_of)):  # one pass per indicator, not per organisation
        sel = (ind_of == ind) & (org_of >= 0)
        slot = pos[org_of[sel]]
        ok = (slot >= 0) & (mean_den[sel] > 0)
        if not ok.any():
            continue
        values = mean_den[sel][ok]
        log_sum[slot[ok]] += np.log(values / np.median(values))
        count[slot[ok]] += 1
        used.append(str(ind))
    if not used:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(count > 0, np.exp(log_sum / np.maximum(count, 1)), np.nan)
    return index, tuple(used)


def level_features(
    orgs: Organisations,
    links: pa.Table,
    activity: pa.Table,
    level: str,
    covariates: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """(directory positions, features matrix, feature names, weights) for the current organisations of
    a level, gaps filled with the level median and empty features left out. ``covariates``: the practice
    covariates over the directory (``practice_covariates``; default: the bundled ones)."""
    ids = orgs.of_level(level)
    shares = practice_covariates(orgs) if covariates is None else covariates
    member, member_pop = member_features(orgs, links, level, shares)
    own = {"imd_score": orgs.imd_score, "population": orgs.population, **shares}
    columns: list[np.ndarray] = []
    names: list[str] = []
    weights: list[float] = []
    for name in POPULATION_FEATURES:
        mine = own[name][ids] if name in own else np.full(ids.size, np.nan)
        if np.all(np.isnan(mine)):  # none of its own: from its member practices
            mine = member_pop if name == "population" else member.get(name, np.full(ids.size, np.nan))
        if ids.size and not np.all(np.isnan(mine)):
            columns.append(mine)
            names.append(name)
            weights.append(FEATURE_WEIGHTS[name])
    if not columns:  # a provider level, with no registered population: matched on its real activity
        act = activity_index(orgs, activity, level, ids)
        if act is not None:
            columns.append(act[0])
            names.append(f"activity:{'+'.join(act[1])}")
            weights.append(ACTIVITY_WEIGHT)
    if not columns:
        return ids, np.zeros((ids.size, 0)), (), np.zeros(0)
    x = np.column_stack(columns)
    medians = np.nanmedian(np.where(np.isfinite(x), x, np.nan), axis=0)
    x = np.where(np.isnan(x), medians[None, :], x)
    x = np.maximum(x, 0.0)
    return ids, x, tuple(names), np.asarray(weights)


_BLOCK_CELLS = 4_000_000  # organisations x organisations per distance block (~32 MB of float64)


def similar_peers(
    features: np.ndarray, codes: np.ndarray, k: int, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``stats.similar_peers`` (RightCare "Similar 10") for thousands of organisations: the same
    standardisation and the same distances bit for bit (the weighted squares added feature by feature,
    left to right, as NumPy sums a short last axis), but each row's k nearest are found with a partial
    sort and only the candidates up to the k-th distance (ties included) are fully ordered by (distance,
    code). Returns (peer positions, distances), shape (n, min(k, n - 1)).

    Falls back to ``stats.similar_peers`` for 8 or more features (NumPy then sums pairwise)."""
    n, m = features.shape
    if m >= 8:
        result = stats.similar_peers(features, codes, k=k, weights=weights)
        return result.peer_index, result.distance
    z = stats.standardise_features(features)
    _, code_rank = np.unique(codes, return_inverse=True)
    if np.unique(codes).size != n:
        raise ValueError("codes must be unique")
    kk = min(int(k), n - 1)
    peer = np.empty((n, kk), dtype=np.int64)
    distance = np.empty((n, kk))
    if kk == 0:
        return peer, distance
    block = max(1, _BLOCK_CELLS // n)
    cols = np.arange(n)
    # Buffers reused by every block (fresh 32 MB arrays per operation cost more than the arithmetic).
    d_buf, term_buf, part_buf = (np.empty((min(block, n), n)) for _ in range(3))
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        d, term, part = d_buf[: rows.size], term_buf[: rows.size], part_buf[: rows.size]
        for j in range(m):
            # d += (z_i - z_j)^2 * w, feature by feature, in the same operations as stats.similar_peers
            # (a weight of 1 is skipped: multiplying by 1.0 changes no bits).
            out = d if j == 0 else term
            np.subtract(z[rows, j][:, None], z[None, :, j], out=out)
            np.multiply(out, out, out=out)
            if weights[j] != 1.0:
                np.multiply(out, weights[j], out=out)
            if j > 0:
                np.add(d, term, out=d)
        d[np.arange(rows.size), rows] = np.inf  # never one's own peer
        np.copyto(part, d)
        part.partition(kk - 1, axis=1)
        kth = part[:, kk - 1]
        cand_row, cand_col = np.nonzero(d <= kth[:, None])
        cand_d = d[cand_row, cand_col]
        order = np.lexsort((code_rank[cand_col], cand_d, cand_row))
        cand_row, cand_col, cand_d = cand_row[order], cand_col[order], cand_d[order]
        first = np.searchsorted(cand_row, np.arange(rows.size))
        rank = np.arange(cand_row.size) - first[cand_row]
        keep = rank < kk
        peer[rows[cand_row[keep]], rank[keep]] = cols[cand_col[keep]]
        distance[rows[cand_row[keep]], rank[keep]] = cand_d[keep]
    return peer, distance


def compute_level(
    orgs: Organisations,
    links: pa.Table,
    activity: pa.Table,
    level: str,
    k: int,
    covariates: dict[str, np.ndarray] | None = None,
) -> LevelPeers | None:
    """The similar peers of one level (None when it has fewer than two organisations or no features).
    ``activity`` must hold real indicators only (the run leaves synthetic ones out); ``covariates`` as for
    ``level_features``."""
    ids, x, names, weights = level_features(orgs, links, activity, level, covariates)
    if ids.size < 2 or not names:
        return None
    if level == Level.TRUST.value:
        groups = np.asarray([t if t is not None else "" for t in orgs.trust_type[ids]], dtype=object)
    else:
        groups = np.full(ids.size, "", dtype=object)
    kk = min(k, ids.size - 1)
    peer = np.full((ids.size, kk), -1, dtype=np.int64)
    distance = np.full((ids.size, kk), np.nan)
    for group in np.unique(groups):  # one match per trust type; a single group elsewhere
        members = np.flatnonzero(groups == group)
        if members.size < 2:
            continue
        index, dist = similar_peers(x[members], orgs.codes[ids[members]].astype(str), k, weights)
        width = index.shape[1]
        peer[members, :width] = members[index]
        distance[members, :width] = dist
    return LevelPeers(level, ids, peer, distance, names)


def peers_table(all_peers: list[LevelPeers], orgs: Organisations) -> pa.Table:
    parts = []
    for lp in all_peers:
        n, k = lp.peer.shape
        valid = lp.peer >= 0
        row, rank = np.nonzero(valid)
        parts.append(
            to_arrow(
                PEERS,
                {
                    "level": pa.array([lp.level] * row.size, type=pa.string()),
                    "org_code": orgs.take_codes(lp.org[row]),
                    "rank": (rank + 1).astype(np.int32),
                    "peer_code": orgs.take_codes(lp.org[lp.peer[row, rank]]),
                    "distance": lp.distance[row, rank],
                    "features": pa.array([",".join(lp.features)] * row.size, type=pa.string()),
                },
            )
        )
    return pa.concat_tables(parts) if parts else PEERS.schema.empty_table()


def peer_benchmark_matrix(values: np.ndarray, peer: np.ndarray, polarity: str, best: int) -> np.ndarray:
    """``stats.peer_benchmark`` for many periods at once: values (orgs x periods) -> the mean of the
    best ``best`` peers' values (orgs x periods). Missing peers (-1) count as missing values."""
    n, k = peer.shape
    if k == 0:
        return np.full(values.shape, np.nan)
    padded = np.vstack([values, np.full((1, values.shape[1]), np.nan)])
    pv = padded[np.where(peer >= 0, peer, values.shape[0])]  # (n, k, periods)
    pv = np.ascontiguousarray(np.moveaxis(pv, 1, 2))  # (n, periods, k): reduce over the last axis
    # Sorting the values themselves (negated when high is good) puts the best first and NaN last, as
    # stats.peer_benchmark's stable argsort does; equal values are interchangeable in the sum.
    if polarity == "high-is-good":
        ordered = -np.sort(-pv, axis=2)[:, :, :best]
    else:
        ordered = np.sort(pv, axis=2)[:, :, :best]
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(ordered), axis=2)
        totals = np.nansum(ordered, axis=2)
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
