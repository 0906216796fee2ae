"""XmR charts for every organisation's series at once: the vectorised form of ``uptake.stats.xmr``.

Each (level, organisation) series is the organisation's values in period order over the periods where
it has a value (a zero denominator or a missing period is skipped: Making Data Count charts need a
complete series, so gaps close up). Series with fewer than 2 points get no chart.

Settings: trend/shift length (7, or 6), a baseline (limits fixed on the first N points of each period of
the chart) and rebase dates (new limits from the first point on or after each date). A rebase is applied
to a series only where it leaves at least 2 points on each side; otherwise it is skipped for that
series (``stats.xmr`` would refuse it).

``tests/test_pipeline_units.py`` checks every series against ``stats.xmr``, flag for flag.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from uptake.catalogue.schemas import Polarity
from uptake.pipeline import grouped
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.results.schema import SPC_RULE, SPC_SERIES, SPC_SPECIAL_CAUSE, to_arrow
from uptake.stats.spc import (
    LIMIT_FACTOR,
    MIN_BASELINE,
    MIN_POINTS_FOR_ICONS,
    RULES,
    SCREEN_FACTOR,
    TWO_SIGMA_FACTOR,
)

if SPC_RULE[1:] != RULES:  # the stored codes follow the stats module's rule order
    raise ImportError("uptake.pipeline.tables.SPC_RULE no longer matches uptake.stats.spc.RULES")

IMPROVEMENT = {
    Polarity.HIGH_IS_GOOD: "increase",
    Polarity.LOW_IS_GOOD: "decrease",
    Polarity.NO_JUDGEMENT: "neutral",
}


def rebase_positions(
    series_of_row: np.ndarray, days: np.ndarray, n: np.ndarray, rebase_dates: tuple[dt.date, ...]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each rebase date in order: (position of the first point on or after it per series, whether
    it is applied to that series). Applied when it leaves >= 2 points since the last applied rebase
    (or the start) and >= 2 points after it."""
    out = []
    last = np.zeros(n.size, dtype=np.int64)
    for day in sorted(rebase_dates):
        before = days < np.datetime64(day, "D")
        pos = np.bincount(series_of_row[before], minlength=n.size).astype(np.int64)
        applied = (pos - last >= 2) & (n - pos >= 2)
        last = np.where(applied, pos, last)
        out.append((pos, applied))
    return out


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
) -> tuple[np.ndarray, dict[str, np.ndarray], pa.Table]:
    """(frame rows charted, their SPC columns of result_points) and result_spc_series."""
    improvement = IMPROVEMENT[frame.indicator.polarity]
    ok = usable & ~np.isnan(frame.value)
    rows_all = np.flatnonzero(ok)
    key_all = frame.level[rows_all] * (int(frame.org.max()) + 1 if frame.size else 1) + frame.org[rows_all]
    s_starts, s_lengths = grouped.boundaries(key_all)
    long_enough = np.repeat(s_lengths >= 2, s_lengths)
    rows = rows_all[long_enough]
    s_lengths = s_lengths[s_lengths >= 2]
    s_starts = (np.cumsum(s_lengths) - s_lengths).astype(np.int64)
    n_series = s_starts.size
    y = frame.value[rows]
    days = frame.periods[frame.pidx[rows]] if rows.size else np.zeros(0, dtype="datetime64[D]")
    series = grouped.group_index(s_starts, s_lengths)
    pos = grouped.position_in_group(s_starts, s_lengths)

    # Segments (periods between rebases) of each series.
    seg = np.zeros(rows.size, dtype=np.int64)
    for rpos, applied in rebase_positions(series, days, s_lengths, rebase_dates):
        seg += (applied[series] & (pos >= rpos[series])).astype(np.int64)
    seg_key = series * (len(rebase_dates) + 1) + seg
    g_starts, g_lengths = grouped.boundaries(seg_key)
    g_of_row = grouped.group_index(g_starts, g_lengths)
    used = np.minimum(g_lengths, baseline) if baseline is not None else g_lengths

    new_segment = np.zeros(rows.size, dtype=bool)
    new_segment[g_starts] = True
    moving_range = np.full(rows.size, np.nan)
    if rows.size > 1:
        moving_range[1:] = np.abs(np.diff(y))
    moving_range[new_segment] = np.nan

    seg_mean = grouped.reduce_groups(y, g_starts, used, lambda b: b.mean(axis=1))
    seg_mrbar = grouped.reduce_groups(moving_range, g_starts + 1, used - 1, lambda b: b.mean(axis=1))
    if screen_moving_ranges:
        seg_mrbar = _screened(moving_range, g_starts, used, seg_mrbar)

    mean = seg_mean[g_of_row]
    mrbar = seg_mrbar[g_of_row]
    upper = mean + LIMIT_FACTOR * mrbar
    lower = mean - LIMIT_FACTOR * mrbar
    upper2 = mean + TWO_SIGMA_FACTOR * mrbar
    lower2 = mean - TWO_SIGMA_FACTOR * mrbar

    outside = np.where(y > upper, 1, np.where(y < lower, -1, 0)).astype(np.int8)

    # Trend: rule_length points = rule_length - 1 strict steps the same way, within a segment.
    step = np.zeros(rows.size, dtype=np.int64)  # the step into each point; 0 at a segment's first point
    if rows.size > 1:
        step[1:] = np.sign(np.diff(y)).astype(np.int64)
    step[new_segment] = 0
    step_run = grouped.run_lengths(step, new_segment)
    step_flag = np.where((step != 0) & (step_run >= rule_length - 1), step, 0)
    starts_flag = np.zeros(rows.size, dtype=np.int64)
    starts_flag[:-1] = step_flag[1:]
    trend = np.where(step_flag != 0, step_flag, starts_flag).astype(np.int8)

    # Shift: rule_length points strictly on one side of the mean.
    side = np.sign(y - mean).astype(np.int64)
    side_run = grouped.run_lengths(side, new_segment)
    shift = np.where((side != 0) & (side_run >= rule_length), side, 0).astype(np.int8)

    # Two of three beyond two sigma, all three on the same side, within a segment.
    beyond = np.where(y > upper2, 1, np.where(y < lower2, -1, 0)).astype(np.int64)
    two3 = np.zeros(rows.size, dtype=np.int8)
    if rows.size >= 3:
        s0, s1, s2 = side[:-2], side[1:-1], side[2:]
        same = seg_key[:-2] == seg_key[2:]
        same_side = (s0 != 0) & (s0 == s1) & (s1 == s2) & same
        hits = (beyond[:-2] == s0).astype(int) + (beyond[1:-1] == s0) + (beyond[2:] == s0)
        window = same_side & (hits >= 2)
        for offset in range(3):
            p = np.arange(rows.size - 2) + offset
            mark = window & (beyond[p] == s0)
            two3[p[mark]] = s0[mark]

    stacked = np.vstack([outside, trend, two3, shift])
    flagged = stacked != 0
    first = np.argmax(flagged, axis=0)
    any_flag = flagged.any(axis=0)
    direction = np.where(any_flag, stacked[first, np.arange(rows.size)], 0).astype(np.int8)
    # Codes into SPC_RULE ("" first, then RULES in order) and SPC_SPECIAL_CAUSE.
    rule_code = np.where(any_flag, first + 1, 0).astype(np.int8)
    common, improving, concern, neutral = (SPC_SPECIAL_CAUSE.index(w) for w in
                                           ("common-cause", "improvement", "concern", "neutral"))
    if improvement == "neutral":
        special_code = np.where(direction != 0, neutral, common).astype(np.int8)
    else:
        good = 1 if improvement == "increase" else -1
        special_code = np.where(direction == 0, common, np.where(direction == good, improving, concern)).astype(
            np.int8
        )
    special = np.asarray(SPC_SPECIAL_CAUSE, dtype=object)[special_code] if rows.size else np.zeros(0, object)

    columns = {
        "spc_segment": seg.astype(np.int16),
        "spc_centre": mean,
        "spc_moving_range": moving_range,
        "spc_mean_moving_range": mrbar,
        "spc_outside_limits": outside,
        "spc_trend": trend,
        "spc_two_of_three": two3,
        "spc_shift": shift,
        "spc_direction": direction,
        "spc_rule": rule_code,
        "spc_special_cause": special_code,
    }

    # Per series: icons from the last point, warnings as stats.xmr words them.
    last = s_starts + s_lengths - 1
    enough = s_lengths >= MIN_POINTS_FOR_ICONS
    variation = np.full(n_series, None, dtype=object)
    last_special = special[last]
    last_dir = direction[last]
    suffix = np.where(last_dir > 0, "-high", "-low")
    icon = np.where(last_special == "common-cause", "common-cause", last_special.astype(str) + suffix)
    variation[enough] = icon[enough]
    assurance = np.full(n_series, None, dtype=object)
    if target is not None and improvement != "neutral":
        high_fails = target >= upper[last]
        low_fails = target <= lower[last]
        # a pass is checked first: limits equal to the target (no variation) always meet it
        if improvement == "increase":
            a = np.where(low_fails, "consistently-pass", np.where(high_fails, "consistently-fail", "hit-and-miss"))
        else:
            a = np.where(high_fails, "consistently-pass", np.where(low_fails, "consistently-fail", "hit-and-miss"))
        assurance[enough] = a[enough]
    warnings = _series_warnings(s_starts, s_lengths, g_starts, g_lengths, used, series, target, improvement)

    level_of_series = frame.level[rows[s_starts]] if n_series else np.zeros(0, dtype=np.int64)
    summary = to_arrow(
        SPC_SERIES,
        {
            "indicator": pa.array([frame.indicator.id] * n_series, type=pa.string()),
            "level": frame.level_name_array(level_of_series),
            "org_code": orgs.take_codes(frame.org[rows[s_starts]] if n_series else np.zeros(0, dtype=np.int64)),
            "points": s_lengths.astype(np.int32),
            "first_period": frame.dates(frame.pidx[rows[s_starts]] if n_series else np.zeros(0, np.int64)),
            "last_period": frame.dates(frame.pidx[rows[last]] if n_series else np.zeros(0, np.int64)),
            "improvement": pa.array([improvement] * n_series, type=pa.string()),
            "rule_length": np.full(n_series, rule_length, dtype=np.int32),
            "variation_icon": pa.array(variation, type=pa.string()),
            "assurance_icon": pa.array(assurance, type=pa.string()),
            "target": np.full(n_series, np.nan if target is None else float(target)),
            "warnings": pa.array(warnings, type=pa.string()),
        },
    )
    return rows, columns, summary


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
