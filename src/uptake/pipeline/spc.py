"""XmR charts for every organisation's series at once: the vectorised form of ``uptake.stats.xmr``.

The rules (thresholds, run lengths, which sigma line, priority) are declared once, by
``uptake.stats.spc.SpecialCauseRules``; ``stats.xmr`` applies them to one series point by point (the
reference), ``special_causes`` here to every series at once (the fast path).

Each (level, organisation) series is the organisation's values in period order over the periods where
it has a value (a zero denominator or a missing period is skipped: Making Data Count charts need a
complete series, so gaps close up). Series with fewer than 2 points get no chart.

Settings: trend/shift length (7, or 6), a baseline (limits fixed on the first N points of each period of
the chart) and rebase dates (new limits from the first point on or after each date). A rebase is applied
to a series only where it leaves at least 2 points on each side; otherwise it is skipped for that
series (``stats.xmr`` would refuse it).

Basis (docs/methods.md, "SPC for a spreading innovation"): a series is charted on its values, or - for an
indicator whose national series is a spreading S-curve (the catalogue's ``spread_curve``), below England -
on its difference from England in each period (value minus England's value), with new limits each 1 April
(the NHS year) where that leaves at least ``YEAR_POINTS`` points since the last new limits and after it.
``result_points.spc_reference`` holds England's value subtracted (NULL on the value basis); the centre, the
moving ranges and the flags are those of the charted difference, and the result_spc view adds England's
value back to the centre and the limits. ``basis="value"`` (``UPTAKE_SPC_BASIS=value``) charts every series
on its values: the whole-series chart.

``tests/test_pipeline_units.py`` checks every series against ``stats.xmr``, flag for flag, including
points exactly on the mean, the two-sigma lines and the process limits.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from uptake.catalogue.schemas import Polarity
from uptake.pipeline import grouped, kernels
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.results.schema import SPC_RULE, SPC_SEGMENTS, SPC_SERIES, SPC_SPECIAL_CAUSE, to_arrow
from uptake.stats.spc import (
    LIMIT_FACTOR,
    MIN_BASELINE,
    MIN_POINTS_FOR_ICONS,
    RULES,
    SCREEN_FACTOR,
    SpecialCauseRules,
)

if SPC_RULE[1:] != RULES:  # the stored codes follow the stats module's rule order
    raise ImportError("uptake.results.schema.SPC_RULE no longer matches uptake.stats.spc.RULES")

IMPROVEMENT = {
    Polarity.HIGH_IS_GOOD: "increase",
    Polarity.LOW_IS_GOOD: "decrease",
    Polarity.NO_JUDGEMENT: "neutral",
}
#: result_spc_series.basis
VALUE_BASIS = "value"
DIFFERENCE_BASIS = "difference from England"
#: UPTAKE_SPC_BASIS: "auto" charts spread-curve indicators on the difference from England, "value" every series
#: on its values
BASES = ("auto", "value")
#: points a period of limits keeps, at least, when a difference chart starts new limits each April
YEAR_POINTS = 12
#: a stated rebase (UPTAKE_SPC_REBASE_DATES) needs this many points on each side
MIN_REBASE_POINTS = 2


def rebase_positions(
    series_of_row: np.ndarray,
    days: np.ndarray,
    n: np.ndarray,
    rebase_dates: tuple[dt.date, ...],
    yearly: tuple[dt.date, ...] = (),
    yearly_series: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each rebase date in order: (position of the first point on or after it per series, whether
    it is applied to that series). A stated date (``rebase_dates``) is applied when it leaves >= 2 points
    since the last applied rebase (or the start) and >= 2 points after it; a yearly date (``yearly``, 1 April)
    only to the series marked in ``yearly_series`` and when it leaves >= YEAR_POINTS on both sides."""
    out = []
    last = np.zeros(n.size, dtype=np.int64)
    marked = np.zeros(n.size, dtype=bool) if yearly_series is None else yearly_series
    dates = sorted({*((d, False) for d in rebase_dates), *((d, True) for d in yearly)})
    for day, is_yearly in dates:
        before = days < np.datetime64(day, "D")
        pos = np.bincount(series_of_row[before], minlength=n.size).astype(np.int64)
        need = YEAR_POINTS if is_yearly else MIN_REBASE_POINTS
        applied = (pos - last >= need) & (n - pos >= need)
        if is_yearly:
            applied &= marked
        last = np.where(applied, pos, last)
        out.append((pos, applied))
    return out


def aprils(periods: np.ndarray) -> tuple[dt.date, ...]:
    """Every 1 April after the first of the periods and up to the last (the NHS year's starts)."""
    if periods.size == 0:
        return ()
    first = periods[0].astype(object)
    last = periods[-1].astype(object)
    return tuple(dt.date(y, 4, 1) for y in range(first.year, last.year + 1) if first < dt.date(y, 4, 1) <= last)


def compute(
    frame: IndicatorFrame,
    usable: np.ndarray,
    orgs: Organisations,
    *,
    rule_length: int = 7,
    baseline: int | None = None,
    rebase_dates: tuple[dt.date, ...] = (),
    screen_moving_ranges: bool = False,
    target: float | None = None,
    basis: str = "auto",
) -> tuple[np.ndarray, dict[str, np.ndarray], pa.Table]:
    """(frame rows charted, their SPC columns of result_points) and result_spc_series."""
    if basis not in BASES:
        raise ValueError(f"the SPC basis is one of {', '.join(BASES)} (got {basis!r})")
    improvement = IMPROVEMENT[frame.indicator.polarity]
    rules = SpecialCauseRules(rule_length)
    # On the difference basis every series below England charts value minus England's value in the period.
    below = frame.level != frame.england_level
    difference = below if (basis == "auto" and frame.indicator.spread_curve) else np.zeros(frame.size, bool)
    reference = np.where(difference, frame.england_value, np.nan)
    rows, s_starts, s_lengths = _series(frame, usable & ~(difference & np.isnan(reference)))
    charted_reference = reference[rows]
    y = np.where(difference[rows], frame.value[rows] - charted_reference, frame.value[rows])
    days = frame.periods[frame.pidx[rows]] if rows.size else np.zeros(0, dtype="datetime64[D]")
    series_difference = difference[rows[s_starts]] if rows.size else np.zeros(0, dtype=bool)
    yearly = aprils(frame.periods) if series_difference.any() else ()
    seg, g_starts, g_lengths = _segments(s_starts, s_lengths, days, rebase_dates, yearly, series_difference)
    used = np.minimum(g_lengths, baseline) if baseline is not None else g_lengths
    new_segment = np.zeros(rows.size, dtype=bool)
    new_segment[g_starts] = True
    mean, mrbar, moving_range = _centre_and_spread(
        y, new_segment, g_starts, g_lengths, used, screen_moving_ranges
    )

    flags = special_causes(y, mean, mrbar, new_segment, rules)
    direction, rule_code = first_flags(flags, rules)
    special_code = _special_cause_codes(direction, improvement)
    columns = {
        "spc_segment": seg.astype(np.int16),
        "spc_centre": mean,
        "spc_moving_range": moving_range,
        "spc_mean_moving_range": mrbar,
        "spc_outside_limits": flags["outside-limits"],
        "spc_trend": flags["trend"],
        "spc_two_of_three": flags["two-of-three"],
        "spc_shift": flags["shift"],
        "spc_direction": direction,
        "spc_rule": rule_code,
        "spc_special_cause": special_code,
        "spc_reference": charted_reference,
    }

    last = s_starts + s_lengths - 1
    # The icons judge the latest limits on the value scale (England's value added back on the difference
    # basis), as the result_spc view presents them.
    last_mean = np.where(np.isnan(charted_reference[last]), mean[last], charted_reference[last] + mean[last])
    variation, assurance = _icons(
        s_lengths, special_code[last], direction[last], last_mean, mrbar[last], target, improvement
    )
    series = grouped.group_index(s_starts, s_lengths)
    warnings = _series_warnings(s_starts, s_lengths, g_starts, g_lengths, used, series, target, improvement)
    bases = np.where(series_difference, DIFFERENCE_BASIS, VALUE_BASIS)
    summary = _summary(frame, orgs, rows, s_starts, s_lengths, improvement, rule_length, target,
                       (variation, assurance, warnings), bases)
    return rows, columns, summary


def segments_table(
    frame: IndicatorFrame, indicator_id: int, rows: np.ndarray, columns: dict[str, np.ndarray]
) -> pa.Table:
    """result_spc_segments from ``compute``'s output: one row per (series, segment) with the centre and
    mR-bar that ``compute`` gives every point of it (constant within a segment), so result_points need not
    repeat them. Rows lie series after series, each in period order, so a segment starts where the
    organisation or the segment number changes."""
    org = frame.org[rows]
    seg = np.asarray(columns["spc_segment"])
    first = np.ones(rows.size, dtype=bool)
    if rows.size > 1:
        first[1:] = (org[1:] != org[:-1]) | (seg[1:] != seg[:-1])
    at = np.flatnonzero(first)
    return to_arrow(
        SPC_SEGMENTS,
        {
            "indicator_id": np.full(at.size, indicator_id, dtype=np.int16),
            "org_id": org[at].astype(np.int32),
            "segment": seg[at].astype(np.int16),
            "centre": np.asarray(columns["spc_centre"])[at],
            "mean_moving_range": np.asarray(columns["spc_mean_moving_range"])[at],
        },
    )


def _summary(
    frame: IndicatorFrame,
    orgs: Organisations,
    rows: np.ndarray,
    s_starts: np.ndarray,
    s_lengths: np.ndarray,
    improvement: str,
    rule_length: int,
    target: float | None,
    notes: tuple[np.ndarray, np.ndarray, np.ndarray],
    bases: np.ndarray,
) -> pa.Table:
    """result_spc_series: one row per series; ``notes`` are the variation and assurance icons and the
    warnings of each, ``bases`` what each charts."""
    variation, assurance, warnings = notes
    n_series = s_starts.size
    last = s_starts + s_lengths - 1
    level_of_series = frame.level[rows[s_starts]] if n_series else np.zeros(0, dtype=np.int64)
    return to_arrow(
        SPC_SERIES,
        {
            "indicator": pa.array([frame.indicator.id] * n_series, type=pa.string()),
            "level": frame.level_name_array(level_of_series),
            "org_code": orgs.take_codes(frame.org[rows[s_starts]] if n_series else np.zeros(0, np.int64)),
            "points": s_lengths.astype(np.int32),
            "first_period": frame.dates(frame.pidx[rows[s_starts]] if n_series else np.zeros(0, np.int64)),
            "last_period": frame.dates(frame.pidx[rows[last]] if n_series else np.zeros(0, np.int64)),
            "basis": pa.array(bases.astype(object), type=pa.string()),
            "improvement": pa.array([improvement] * n_series, type=pa.string()),
            "rule_length": np.full(n_series, rule_length, dtype=np.int32),
            "variation_icon": pa.array(variation, type=pa.string()),
            "assurance_icon": pa.array(assurance, type=pa.string()),
            "target": np.full(n_series, np.nan if target is None else float(target)),
            "warnings": pa.array(warnings, type=pa.string()),
        },
    )


def _series(frame: IndicatorFrame, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frame rows charted (each (level, organisation) series of >= 2 values, in period order, one
    series after another), and the start and length of each series in them."""
    ok = usable & ~np.isnan(frame.value)
    rows_all = np.flatnonzero(ok)
    key_all = frame.level[rows_all] * (int(frame.org.max()) + 1 if frame.size else 1) + frame.org[rows_all]
    _, s_lengths = grouped.boundaries(key_all)
    long_enough = np.repeat(s_lengths >= 2, s_lengths)
    rows = rows_all[long_enough]
    s_lengths = s_lengths[s_lengths >= 2]
    s_starts = (np.cumsum(s_lengths) - s_lengths).astype(np.int64)
    return rows, s_starts, s_lengths


def _segments(
    s_starts: np.ndarray,
    s_lengths: np.ndarray,
    days: np.ndarray,
    rebase_dates: tuple[dt.date, ...],
    yearly: tuple[dt.date, ...] = (),
    yearly_series: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point its segment (period between rebases) within its series; the start and length of every
    (series, segment) group."""
    series = grouped.group_index(s_starts, s_lengths)
    pos = grouped.position_in_group(s_starts, s_lengths)
    seg = np.zeros(series.size, dtype=np.int64)
    cuts = rebase_positions(series, days, s_lengths, rebase_dates, yearly, yearly_series)
    for rpos, applied in cuts:
        seg += (applied[series] & (pos >= rpos[series])).astype(np.int64)
    g_starts, g_lengths = grouped.boundaries(series * (len(cuts) + 1) + seg)
    return seg, g_starts, g_lengths


def _centre_and_spread(
    y: np.ndarray,
    new_segment: np.ndarray,
    g_starts: np.ndarray,
    g_lengths: np.ndarray,
    used: np.ndarray,
    screen_moving_ranges: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: its segment's mean and mR-bar over the segment's first ``used`` points (the same bits as
    ``stats.xmr``), and the moving range (NaN at a segment's first point)."""
    moving_range = np.full(y.size, np.nan)
    if y.size > 1:
        moving_range[1:] = np.abs(np.diff(y))
    moving_range[new_segment] = np.nan
    seg_mean = grouped.reduce_groups(y, g_starts, used, lambda b: b.mean(axis=1))
    seg_mrbar = grouped.reduce_groups(moving_range, g_starts + 1, used - 1, lambda b: b.mean(axis=1))
    if screen_moving_ranges:
        seg_mrbar = _screened(moving_range, g_starts, used, seg_mrbar)
    g_of_row = grouped.group_index(g_starts, g_lengths)
    return seg_mean[g_of_row], seg_mrbar[g_of_row], moving_range


def special_causes(
    y: np.ndarray, mean: np.ndarray, mrbar: np.ndarray, new_segment: np.ndarray, rules: SpecialCauseRules
) -> dict[str, np.ndarray]:
    """The rules of ``SpecialCauseRules`` over many series at once: int8 flags per point by rule name (+1
    high side or rising, -1 low side or falling), as ``stats.xmr`` gives them series by series. Series
    and their segments lie one after another; ``new_segment`` marks the first point of each (every window
    stays within one). The compiled kernel (``pipeline.kernels``) when numba is available, else the NumPy
    reference ``special_causes_numpy``; the same flags either way (tests/test_kernels.py)."""
    flags = kernels.special_causes(y, mean, mrbar, new_segment, rules)
    return special_causes_numpy(y, mean, mrbar, new_segment, rules) if flags is None else flags


def _sign(x: np.ndarray) -> np.ndarray:
    """+1, -1 or 0 per value as int64; 0 for NaN (a NaN neither flags nor continues a run)."""
    return np.where(x > 0, 1, np.where(x < 0, -1, 0)).astype(np.int64)


def special_causes_numpy(
    y: np.ndarray, mean: np.ndarray, mrbar: np.ndarray, new_segment: np.ndarray, rules: SpecialCauseRules
) -> dict[str, np.ndarray]:
    """The rules of ``SpecialCauseRules`` over many series at once, vectorised in NumPy (the reference the
    compiled kernel is checked against): int8 flags per point by rule name, as ``special_causes``."""
    n = y.size
    upper = mean + rules.limit_factor * mrbar
    lower = mean - rules.limit_factor * mrbar
    upper2 = mean + rules.two_sigma_factor * mrbar
    lower2 = mean - rules.two_sigma_factor * mrbar
    outside = np.where(y > upper, 1, np.where(y < lower, -1, 0)).astype(np.int8)

    # Trend: trend_points points = trend_points - 1 strict steps the same way, within a segment.
    step = np.zeros(n, dtype=np.int64)  # the step into each point; 0 at a segment's first point
    if n > 1:
        with np.errstate(invalid="ignore"):
            step[1:] = _sign(np.diff(y))
    step[new_segment] = 0
    step_run = grouped.run_lengths(step, new_segment)
    step_flag = np.where((step != 0) & (step_run >= rules.trend_points - 1), step, 0)
    starts_flag = np.zeros(n, dtype=np.int64)
    starts_flag[:-1] = step_flag[1:]
    trend = np.where(step_flag != 0, step_flag, starts_flag).astype(np.int8)

    # Shift: shift_points points strictly on one side of the mean.
    with np.errstate(invalid="ignore"):
        side = _sign(y - mean)
    side_run = grouped.run_lengths(side, new_segment)
    shift = np.where((side != 0) & (side_run >= rules.shift_points), side, 0).astype(np.int8)

    beyond = np.where(y > upper2, 1, np.where(y < lower2, -1, 0)).astype(np.int64)
    two3 = _two_of_three(side, beyond, np.cumsum(new_segment), rules)
    flags = {"outside-limits": outside, "trend": trend, "two-of-three": two3, "shift": shift}
    return {name: flags[name] for name in rules.priority}


def _two_of_three(
    side: np.ndarray, beyond: np.ndarray, segment: np.ndarray, rules: SpecialCauseRules
) -> np.ndarray:
    """Windows of ``rules.window`` points in one segment, all on one side of the mean, with at least
    ``rules.needed`` beyond two sigma on that side: the points beyond it are flagged."""
    n, width = side.size, rules.window
    two3 = np.zeros(n, dtype=np.int8)
    if n < width:
        return two3
    m = n - width + 1  # windows, by their first point
    way = side[:m]
    same_side = (way != 0) & (segment[:m] == segment[width - 1 :])
    hits = np.zeros(m, dtype=np.int64)
    for offset in range(width):
        same_side &= side[offset : offset + m] == way
        hits += beyond[offset : offset + m] == way
    window = same_side & (hits >= rules.needed)
    for offset in range(width):
        p = np.arange(m) + offset
        mark = window & (beyond[p] == way)
        two3[p[mark]] = way[mark]
    return two3


def first_flags(flags: dict[str, np.ndarray], rules: SpecialCauseRules) -> tuple[np.ndarray, np.ndarray]:
    """Per point: the direction of the first rule in priority order that flags it (0 if none), and its
    code into SPC_RULE ("" first, then the rules in priority order)."""
    stacked = np.vstack([flags[name] for name in rules.priority])
    flagged = stacked != 0
    first = np.argmax(flagged, axis=0)
    any_flag = flagged.any(axis=0)
    direction = np.where(any_flag, stacked[first, np.arange(stacked.shape[1])], 0).astype(np.int8)
    return direction, np.where(any_flag, first + 1, 0).astype(np.int8)


def _special_cause_codes(direction: np.ndarray, improvement: str) -> np.ndarray:
    """Codes into SPC_SPECIAL_CAUSE: common cause, or the direction judged against the improvement."""
    common, improving, concern, neutral = (SPC_SPECIAL_CAUSE.index(w) for w in
                                           ("common-cause", "improvement", "concern", "neutral"))
    if improvement == "neutral":
        return np.where(direction != 0, neutral, common).astype(np.int8)
    good = 1 if improvement == "increase" else -1
    return np.where(direction == 0, common, np.where(direction == good, improving, concern)).astype(np.int8)


def _icons(
    s_lengths: np.ndarray,
    last_code: np.ndarray,
    last_dir: np.ndarray,
    last_mean: np.ndarray,
    last_mrbar: np.ndarray,
    target: float | None,
    improvement: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Per series: the variation and assurance icons, from its last point (None under 13 points)."""
    n_series = s_lengths.size
    enough = s_lengths >= MIN_POINTS_FOR_ICONS
    variation = np.full(n_series, None, dtype=object)
    last_special = np.asarray(SPC_SPECIAL_CAUSE, dtype=object)[last_code] if n_series else np.zeros(0, object)
    suffix = np.where(last_dir > 0, "-high", "-low")
    icon = np.where(last_special == "common-cause", "common-cause", last_special.astype(str) + suffix)
    variation[enough] = icon[enough]
    assurance = np.full(n_series, None, dtype=object)
    if target is not None and improvement != "neutral":
        high_fails = target >= last_mean + LIMIT_FACTOR * last_mrbar
        low_fails = target <= last_mean - LIMIT_FACTOR * last_mrbar
        # a pass is checked first: limits equal to the target (no variation) always meet it
        passes, fails = (low_fails, high_fails) if improvement == "increase" else (high_fails, low_fails)
        a = np.where(passes, "consistently-pass", np.where(fails, "consistently-fail", "hit-and-miss"))
        assurance[enough] = a[enough]
    return variation, assurance


def _screened(moving_range: np.ndarray, g_starts: np.ndarray, used: np.ndarray, mrbar: np.ndarray) -> np.ndarray:
    """mR-bar after dropping moving ranges >= 3.267 mR-bar (Nelson 1982), where mR-bar > 0."""
    lengths = used - 1
    starts = (np.cumsum(lengths) - lengths).astype(np.int64)
    idx = np.repeat(g_starts + 1, lengths) + grouped.position_in_group(starts, lengths)
    mr = moving_range[idx]
    group = grouped.group_index(starts, lengths)
    keep = (mr < SCREEN_FACTOR * mrbar[group]) | ~(mrbar[group] > 0)
    kept, k_starts, k_lengths = grouped.compress_groups(keep, starts, lengths)
    screened = grouped.reduce_groups(mr[kept], k_starts, k_lengths, lambda b: b.mean(axis=1))
    return np.where(mrbar > 0, screened, mrbar)


def _series_warnings(
    s_starts: np.ndarray,
    s_lengths: np.ndarray,
    g_starts: np.ndarray,
    g_lengths: np.ndarray,
    used: np.ndarray,
    series: np.ndarray,
    target: float | None,
    improvement: str,
) -> np.ndarray:
    """The warnings stats.xmr gives each series, joined with '; ' (None when there are none)."""
    n_series = s_starts.size
    out = np.full(n_series, "", dtype=object)
    seg_series = series[g_starts] if g_starts.size else np.zeros(0, dtype=np.int64)
    segments_per_series = np.bincount(seg_series, minlength=n_series)
    short = np.flatnonzero(used < MIN_BASELINE)
    if short.size:
        ss = seg_series[short]
        offset = (g_starts[short] - s_starts[ss]).astype(str)
        where = np.where(
            segments_per_series[ss] == 1, "the chart", np.char.add("the period starting at position ", offset)
        )
        text = np.char.add(
            np.char.add(np.char.add("limits for ", where), " come from only "),
            np.char.add(used[short].astype(str), f" points; Making Data Count advises at least {MIN_BASELINE}"),
        ).astype(object)
        out = _append(out, ss, text)  # segments are in order within each series
    few = np.flatnonzero(s_lengths < MIN_POINTS_FOR_ICONS)
    if few.size:
        note = np.char.add(
            np.char.add("only ", s_lengths[few].astype(str)),
            f" points: Making Data Count shows limits and icons from {MIN_POINTS_FOR_ICONS} points, "
            "so no icons are given",
        ).astype(object)
        out = _append(out, few, note)
    if target is not None and improvement == "neutral":
        note = "a target was given but improvement is 'neutral': there is no assurance icon"
        out = _append(out, np.arange(n_series), np.full(n_series, note, dtype=object))
    return np.where(out == "", None, out)


def _append(out: np.ndarray, where: np.ndarray, text: np.ndarray) -> np.ndarray:
    """Append text[i] to out[where[i]] with '; ' (``where`` may repeat: appended in order)."""
    out = out.copy()
    remaining = np.arange(where.size)
    while remaining.size:  # one pass per repeat of a series (at most the number of its segments)
        _, first = np.unique(where[remaining], return_index=True)
        take = remaining[first]
        targets = where[take]
        current = out[targets]
        joined = np.where(current == "", text[take], current + "; " + text[take])
        out[targets] = joined
        remaining = np.setdiff1d(remaining, take, assume_unique=True)
    return out
