"""Opportunity: the patients (and pounds) each organisation is short of four benchmarks.

Per (level, period) below England (OpenPrescribing's "if everyone matched ..." logic, METHODS.md):

* the median of the organisations' values (P50, unweighted);
* the top decile: P90 when high is good, P10 when low is good;
* the mean of the best 5 of the organisation's 10 similar peers in the same period (RightCare);
* a stated target (``PipelineSettings.targets``; none yet in the catalogue).

gap = max(0, P x denominator - numerator) when high is good (max(0, numerator - P x denominator) when
low is good), ``uptake.stats.opportunity``; pounds = gap x the indicator's ``unit_cost``. The peer gap
also gets a range from the organisation's own 95% interval (Dropkin 2018: the Similar 10 gap ignores
uncertainty): ``gap_peers_low`` if its true value were at the favourable end of its interval,
``gap_peers_high`` at the unfavourable end. Indicators without a polarity have no opportunity. Only the
peer benchmark is stored per point; the ``result_opportunity`` view derives the gaps (tables.py).

Totals add the positive gaps only (organisations above a benchmark do not offset others), nationally
and by ICB (organisations of levels below ICB, through the current hierarchy).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from uptake import stats
from uptake.catalogue.schemas import Polarity
from uptake.levels import ENGLAND_CODE, Level
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.pipeline.peers import LevelPeers, peer_benchmark_matrix
from uptake.pipeline.values import DECILE_KS, ValueColumns
from uptake.results.schema import OPPORTUNITY_TOTALS, to_arrow

BENCHMARKS = ("median", "top-decile", "peers", "target")


def compute(
    frame: IndicatorFrame,
    cols: ValueColumns,
    usable: np.ndarray,
    orgs: Organisations,
    peers: dict[str, LevelPeers],
    icb_of: dict[str, np.ndarray],
    *,
    target: float | None,
    best: int,
) -> tuple[np.ndarray, dict[str, np.ndarray], pa.Table]:
    """(frame rows, their peer benchmark for result_points) and result_opportunity_totals.

    Only the peer benchmark is stored per organisation and period: the result_opportunity view derives
    every gap from it, the deciles and the target with the same formula (``stats.opportunity``).
    """
    polarity = frame.indicator.polarity
    empty = np.zeros(0, dtype=np.int64)
    if polarity == Polarity.NO_JUDGEMENT:
        return empty, {"peer_value": np.zeros(0)}, OPPORTUNITY_TOTALS.schema.empty_table()
    pol = polarity.value
    value = np.where(usable, frame.value, np.nan)
    rows = np.flatnonzero((frame.level != frame.england_level) & ~np.isnan(value))
    num, den, pidx = frame.numerator[rows], frame.denominator[rows], frame.pidx[rows]
    cell = frame.cell[rows]
    median = cols.cell_deciles[cell, DECILE_KS.index(50)]
    top = cols.cell_deciles[cell, DECILE_KS.index(90 if polarity == Polarity.HIGH_IS_GOOD else 10)]

    peer_value = np.full(rows.size, np.nan)
    for level_idx, level in enumerate(frame.levels):
        lp = peers.get(level)
        if lp is None:
            continue
        at_level = frame.level[rows] == level_idx
        if not at_level.any():
            continue
        slot = np.full(orgs.codes.size, -1, dtype=np.int64)
        slot[lp.org] = np.arange(lp.org.size)
        all_rows = np.flatnonzero((frame.level == level_idx) & ~np.isnan(value))
        s = slot[frame.org[all_rows]]
        matrix = np.full((lp.org.size, max(frame.periods.size, 1)), np.nan)
        matrix[s[s >= 0], frame.pidx[all_rows][s >= 0]] = value[all_rows][s >= 0]
        bench = peer_benchmark_matrix(matrix, lp.peer, pol, best)
        mine = np.flatnonzero(at_level)
        ms = slot[frame.org[rows[mine]]]
        ok = ms >= 0
        peer_value[mine[ok]] = bench[ms[ok], pidx[mine[ok]]]

    target_value = np.full(rows.size, np.nan if target is None else float(target))
    gaps = {
        "median": stats.opportunity(num, den, median, pol),
        "top-decile": stats.opportunity(num, den, top, pol),
        "peers": stats.opportunity(num, den, peer_value, pol),
        "target": stats.opportunity(num, den, target_value, pol),
    }
    totals = _totals(frame, rows, gaps, orgs, icb_of, frame.indicator.unit_cost)
    return rows, {"peer_value": peer_value}, totals


def _totals(
    frame: IndicatorFrame,
    rows: np.ndarray,
    gaps: dict[str, np.ndarray],
    orgs: Organisations,
    icb_of: dict[str, np.ndarray],
    cost: float | None,
) -> pa.Table:
    """Sums of positive gaps by (level, period) nationally and by ICB, for each benchmark."""
    n_periods = max(frame.periods.size, 1)
    level = frame.level[rows]
    pidx = frame.pidx[rows]
    # Areas: 0 = England, then the ICBs (compact numbers keep the key space small).
    icb = np.full(rows.size, -1, dtype=np.int64)
    for level_idx, name in enumerate(frame.levels):
        if name in icb_of and name != Level.ICB.value:
            sel = level == level_idx
            icb[sel] = icb_of[name][frame.org[rows[sel]]]
    icb_ids, icb_area = np.unique(icb[icb >= 0], return_inverse=True)
    area_of_row = np.zeros(rows.size, dtype=np.int64)
    area_of_row[icb >= 0] = icb_area + 1
    n_area = icb_ids.size + 1
    stride = n_periods * n_area
    area_codes = pa.concat_arrays([pa.array([ENGLAND_CODE]), orgs.take_codes(icb_ids)])
    parts: list[pa.Table] = []

    # Dense key of (level, period, area) per row: England's (area 0) and the row's ICB's.
    england_key = level * stride + pidx * n_area
    icb_key = england_key + area_of_row

    def add(bench: str, area_level: str, key: np.ndarray, gap: np.ndarray, mask: np.ndarray) -> None:
        if not mask.any():
            return
        keys = key[mask]
        g = gap[mask]
        space = int(keys.max()) + 1  # levels x periods x areas: small, so count densely without sorting
        uniq = np.flatnonzero(np.bincount(keys, minlength=space))
        total = np.bincount(keys, weights=g, minlength=space)[uniq]
        count = np.bincount(keys, weights=(g > 0).astype(np.float64), minlength=space)[uniq]
        lv, rest = uniq // stride, uniq % stride
        p, a = rest // n_area, rest % n_area
        parts.append(
            to_arrow(
                OPPORTUNITY_TOTALS,
                {
                    "indicator": pa.array([frame.indicator.id] * uniq.size, type=pa.string()),
                    "level": frame.level_name_array(lv),
                    "period": frame.dates(p),
                    "benchmark": pa.array([bench] * uniq.size, type=pa.string()),
                    "area_level": pa.array([area_level] * uniq.size, type=pa.string()),
                    "area_code": area_codes.take(pa.array(a, type=pa.int64())),
                    "organisations": count.astype(np.int64),
                    "gap_patients": total,
                    "gap_pounds": total * cost if cost is not None else np.full(uniq.size, np.nan),
                    "synthetic": pa.array([frame.indicator.synthetic] * uniq.size, type=pa.bool_()),
                },
            )
        )

    for bench in BENCHMARKS:
        gap = gaps[bench]
        has = ~np.isnan(gap)
        add(bench, Level.ENGLAND.value, england_key, gap, has)
        add(bench, Level.ICB.value, icb_key, gap, has & (area_of_row > 0))
    if not parts:
        return OPPORTUNITY_TOTALS.schema.empty_table()
    return pa.concat_tables(parts).sort_by(
        [(c, "ascending") for c in ("level", "period", "benchmark", "area_level", "area_code")]
    )
