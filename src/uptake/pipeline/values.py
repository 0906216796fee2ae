"""Values, intervals, percent ranks, deciles and the comparison with England.

* Intervals: Wilson score for proportions; Byar's method (exact Poisson below 10 events) on the count,
  divided by the denominator, for rates (``uptake.stats.wilson`` / ``byar``); none for share-only indicators
  (published values without counts), which are therefore never compared with England either.
* Percent rank within (level, period), ascending, as SQL PERCENT_RANK() (OpenPrescribing).
* Deciles: continuous 10th..90th centiles of the organisations' values, unweighted, per (level, period).
  ``decile`` places a value in a band: 1 + the number of decile lines strictly below it (1 = at or below
  the 10th centile, 10 = above the 90th); organisations at the level's maximum share the top band (10)
  however many of them there are (the lines pile up at a maximum many organisations reach, such as 100%).
* Comparison with England in the same period, two-level (95% and 99.8%) and polarity-aware. Where the
  level's funnel plot in that period finds over-dispersion (Spiegelhalter's random-effects limits), the
  comparison is the funnel's judgement: the value against the random-effects limits around England at the
  organisation's denominator (``uptake.stats.compare_random_effects``), so the league table and the funnel
  give one answer; otherwise the plain interval's (``uptake.stats.compare_to_benchmark``). The plain
  judgement is kept as ``comparison_plain`` and the method used as ``comparison_method``. England itself
  and indicators without a polarity are "not compared".
England has no percent rank or decile (there is one England). Rows the indicator's eligibility rule
excludes (organisations that do not provide the service) keep their value and intervals but get no rank
or decile and the comparison "not eligible".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from uptake import stats
from uptake.catalogue.schemas import Measure, Polarity
from uptake.pipeline import funnel, grouped
from uptake.pipeline.frame import IndicatorFrame
from uptake.results.schema import COMPARISON, COMPARISON_METHOD, DECILES, to_arrow
from uptake.stats.funnel import CONFIDENCE_INNER, CONFIDENCE_OUTER, random_effects_limits

DECILE_KS: tuple[int, ...] = stats.DECILE_CENTILES
NOT_COMPARED = "not compared"
#: the comparison of an organisation that does not provide the service (the indicator's eligibility rule)
NOT_ELIGIBLE = "not eligible"


@dataclass
class ValueColumns:
    """Per-row results other steps reuse (same row order as the frame)."""

    ci95_low: np.ndarray
    ci95_high: np.ndarray
    ci998_low: np.ndarray
    ci998_high: np.ndarray
    percent_rank: np.ndarray
    #: deciles per (level, period) cell: shape (cells, 9)
    cell_deciles: np.ndarray
    #: the highest ranked value per (level, period) cell (NaN where none)
    cell_max: np.ndarray
    warnings: list[str]


def intervals(frame: IndicatorFrame, confidence: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Confidence limits of each row's value; (low, high, rows that could not be given an interval)."""
    num, den = frame.numerator, frame.denominator
    if frame.indicator.measure == Measure.SHARE_ONLY:  # no counts, so no interval (and no comparison)
        none = np.full(frame.size, np.nan)
        return none, none.copy(), 0
    if frame.indicator.measure == Measure.PROPORTION:
        ok = (den > 0) & (num >= 0) & (num <= den)
        low, high = stats.wilson(np.where(ok, num, 0.0), np.where(ok, den, 1.0), confidence)
    else:
        ok = (den > 0) & (num >= 0)
        x_low, x_high = stats.byar(np.where(ok, num, 0.0), confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            low, high = x_low / np.where(ok, den, 1.0), x_high / np.where(ok, den, 1.0)
    bad = int(((den > 0) & ~ok).sum())
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan), bad


def compute(frame: IndicatorFrame) -> ValueColumns:
    warnings: list[str] = []
    lo95, hi95, bad = intervals(frame, 0.95)
    lo998, hi998, _ = intervals(frame, 0.998)
    if bad:
        warnings.append(
            f"{bad} row(s) have a numerator that is negative or (for a proportion) above the denominator: "
            "no interval, rank, comparison or funnel for them"
        )
    value = np.where(np.isnan(lo95), np.nan, frame.value) if bad else frame.value
    # England is not ranked, nor an organisation that does not provide the service (the eligibility rule)
    ranked = np.where((frame.level == frame.england_level) | ~frame.eligible, np.nan, value)
    pr, sv, sorted_cells, starts, lengths = grouped.rank_and_sort(ranked, frame.cell)
    cells_present = sorted_cells[starts]
    n_cells = len(frame.levels) * max(frame.periods.size, 1)
    cell_dec = np.full((n_cells, len(DECILE_KS)), np.nan)
    cell_max = np.full(n_cells, np.nan)
    if cells_present.size:
        cell_dec[cells_present] = grouped.centiles(sv, starts, lengths, tuple(float(k) for k in DECILE_KS))
        cell_max[cells_present] = sv[starts + lengths - 1]
    return ValueColumns(lo95, hi95, lo998, hi998, pr, cell_dec, cell_max, warnings)


def comparison(frame: IndicatorFrame, cols: ValueColumns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes into COMPARISON against England in the same period: (the comparison, the plain interval's
    comparison, the method used as codes into COMPARISON_METHOD with -1 where not compared).

    The comparison is the plain one (Wilson or Byar interval against England) unless the funnel of the row's
    level and period is over-dispersed; then it is the funnel's random-effects judgement around England."""
    plain = np.zeros(frame.size, dtype=np.int8)  # not compared
    method = np.full(frame.size, -1, dtype=np.int8)
    polarity = frame.indicator.polarity
    if polarity == Polarity.NO_JUDGEMENT:
        return plain, plain.copy(), method
    eng = frame.level == frame.england_level
    benchmark = frame.england_value
    value = np.where(np.isnan(cols.ci95_low), np.nan, frame.value)
    plain = comparison_codes(
        value, cols.ci95_low, cols.ci95_high, cols.ci998_low, cols.ci998_high, benchmark, polarity.value
    )
    plain[eng] = 0
    plain[~frame.eligible] = COMPARISON.index(NOT_ELIGIBLE)
    out = plain.copy()
    compared = (plain != 0) & (plain != COMPARISON.index(NOT_ELIGIBLE))
    method[compared] = COMPARISON_METHOD.index("interval")

    # Over-dispersed funnels: the funnel's own judgement, around England.
    usable = ~np.isnan(cols.ci95_low) & frame.eligible
    n_cells = len(frame.levels) * max(frame.periods.size, 1)
    tau2, adjusted = funnel.dispersion(frame, usable).per_cell(n_cells)
    dispersed = compared & adjusted[frame.cell] & (frame.denominator > 0)
    if dispersed.any():
        measure = "proportion" if frame.indicator.measure == Measure.PROPORTION else "rate"
        rows = np.flatnonzero(dispersed)
        out[rows] = random_effects_codes(
            value[rows], frame.denominator[rows], benchmark[rows], tau2[frame.cell[rows]], polarity.value, measure
        )
        method[rows] = COMPARISON_METHOD.index("random-effects")
    return out, plain, method


def random_effects_codes(
    value: np.ndarray, denominator: np.ndarray, benchmark: np.ndarray, tau2: np.ndarray, polarity: str,
    measure: str,
) -> np.ndarray:
    """``stats.compare_random_effects`` as codes into COMPARISON (tests/test_pipeline_units.py checks the two
    agree): the value against the random-effects limits around the benchmark at its denominator."""
    l95, u95 = random_effects_limits(benchmark, denominator, tau2, CONFIDENCE_INNER, measure)  # type: ignore[arg-type]
    l998, u998 = random_effects_limits(benchmark, denominator, tau2, CONFIDENCE_OUTER, measure)  # type: ignore[arg-type]
    up, down, up2, down2 = _labels(polarity)
    code = np.full(value.shape, COMPARISON.index("similar"), dtype=np.int8)
    with np.errstate(invalid="ignore"):
        code[value > u95] = COMPARISON.index(up)
        code[value < l95] = COMPARISON.index(down)
        code[value > u998] = COMPARISON.index(up2)
        code[value < l998] = COMPARISON.index(down2)
    missing = np.isnan(value) | np.isnan(l95) | np.isnan(u95) | np.isnan(benchmark)
    code[missing] = COMPARISON.index("not compared")
    return code


def _labels(polarity: str) -> tuple[str, str, str, str]:
    """The words for (above, below, above at 99.8%, below at 99.8%) by polarity."""
    if polarity == "high-is-good":
        return "better", "worse", "best", "worst"
    if polarity == "low-is-good":
        return "worse", "better", "worst", "best"
    return "higher", "lower", "higher", "lower"


def comparison_codes(
    value: np.ndarray,
    low95: np.ndarray,
    high95: np.ndarray,
    low998: np.ndarray,
    high998: np.ndarray,
    benchmark: np.ndarray,
    polarity: str,
) -> np.ndarray:
    """``stats.compare_to_benchmark`` (two-level) as codes into COMPARISON, without building a string per
    row (tests/test_pipeline_units.py checks the two agree)."""
    with np.errstate(invalid="ignore"):
        above95 = low95 > benchmark
        below95 = high95 < benchmark
        above998 = low998 > benchmark
        below998 = high998 < benchmark
    up, down, up2, down2 = _labels(polarity)
    code = np.full(value.shape, COMPARISON.index("similar"), dtype=np.int8)
    code[above95] = COMPARISON.index(up)
    code[below95] = COMPARISON.index(down)
    code[above95 & above998] = COMPARISON.index(up2)
    code[below95 & below998] = COMPARISON.index(down2)
    missing = np.isnan(value) | np.isnan(low95) | np.isnan(high95) | np.isnan(benchmark)
    code[missing] = COMPARISON.index("not compared")
    return code


def decile_band(frame: IndicatorFrame, cols: ValueColumns) -> np.ndarray:
    """1 + the number of decile lines strictly below each value, and 10 for a value equal to its level's
    maximum in the period (ties at the top share the top decile); -1 where there is no rank."""
    cell, value = frame.cell, frame.value
    band = np.ones(frame.size, dtype=np.int64)
    for j in range(cols.cell_deciles.shape[1]):  # one decile line at a time: no (rows x 9) temporary
        band += cols.cell_deciles[:, j][cell] < value
    band[value == cols.cell_max[cell]] = len(DECILE_KS) + 1
    return np.where(np.isnan(cols.percent_rank), -1, band)


#: The intervals the views derive from the counts (a proportion's Wilson intervals: arithmetic and a square
#: root, the same bits in SQL), under the mask marking the rows where they do: result_points stores NULL
#: there (uptake.pipeline.indicator.points_table). Rates' Byar and exact Poisson intervals stay stored.
DERIVED = {"ci_derived": ("ci95_low", "ci95_high", "ci998_low", "ci998_high")}


def point_columns(frame: IndicatorFrame, cols: ValueColumns) -> dict[str, object]:
    """The value columns of result_points, one entry per frame row."""
    band = decile_band(frame, cols)
    judged, plain, method = comparison(frame, cols)
    return {
        "ci_derived": np.full(frame.size, frame.indicator.measure == Measure.PROPORTION),
        "numerator": frame.numerator,
        "denominator": frame.denominator,
        "members": frame.members.astype(np.int32),
        "ci95_low": cols.ci95_low,
        "ci95_high": cols.ci95_high,
        "ci998_low": cols.ci998_low,
        "ci998_high": cols.ci998_high,
        "percent_rank": cols.percent_rank,
        "decile": np.ma.masked_array(np.where(band < 0, 0, band).astype(np.int8), mask=band < 0),
        "comparison": judged,
        "comparison_plain": plain,
        "comparison_method": np.ma.masked_array(np.maximum(method, 0), mask=method < 0),
    }


def deciles_table(frame: IndicatorFrame, cols: ValueColumns) -> pa.Table:
    """One row per (level, period) below England that has at least one value."""
    ranked = ~np.isnan(cols.percent_rank)
    counts = np.bincount(frame.cell[ranked], minlength=cols.cell_deciles.shape[0])
    cells = np.flatnonzero(counts > 0)
    n_periods = max(frame.periods.size, 1)
    level_idx, pidx = cells // n_periods, cells % n_periods
    data: dict[str, object] = {
        "indicator": pa.array([frame.indicator.id] * cells.size, type=pa.string()),
        "level": frame.level_name_array(level_idx),
        "period": frame.dates(pidx),
        "organisations": counts[cells].astype(np.int64),
    }
    for j, k in enumerate(DECILE_KS):
        data[f"p{k}"] = cols.cell_deciles[cells, j]
    return to_arrow(DECILES, data)
