"""XmR (individuals and moving range) charts with NHS England "Making Data Count" rules.

Sources
-------
* NHS England / NHS Improvement, "Making Data Count" (2019) and its "Plot the dots" single-chart
  Excel tool: limits = mean +/- 2.66 mR-bar, four special-cause rules, variation and assurance icons.
* Making Data Count team, two-sigma rule update (GitHub nhs-r-community/NHSRplotthedots issue #194,
  Nov-Dec 2023): every point beyond two sigma counts (including beyond the process limits), all three
  points must be on the same side of the mean, and only the points beyond two sigma are flagged.
* Rule priority for a point flagged by several rules (NHSRplotthedots pull request #180): outside the
  limits, then trend, then two of three, then shift.
* Screening moving ranges (Nelson 1982; Provost & Murray 2011, pp.155, 192): optional, off in the
  Making Data Count Excel tool (NHSRplotthedots vignette "Deviations from Excel defaults").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import FloatArray, StatsInputError, as_1d_float, positions

__all__ = ["XmRResult", "xmr", "RULES"]

Improvement = Literal["increase", "decrease", "neutral"]

LIMIT_FACTOR = 2.66  # 3 / d2 with d2 = 1.128 for moving ranges of two points
TWO_SIGMA_FACTOR = 1.773  # 2 / 1.128
ONE_SIGMA_FACTOR = TWO_SIGMA_FACTOR / 2.0
SCREEN_FACTOR = 3.267  # D4 for n = 2: upper limit of the moving range chart
MIN_POINTS_FOR_ICONS = 13  # the Making Data Count tool shows limits and icons from 13 points
MIN_BASELINE = 12

#: Rule names in priority order; ``XmRResult.rule`` holds the first that flags each point.
RULES: tuple[str, ...] = ("outside-limits", "trend", "two-of-three", "shift")


@dataclass(frozen=True)
class XmRResult:
    """An XmR chart: limits per point (they change at rebases) and the Making Data Count signals.

    Rule arrays (``outside_limits``, ``trend``, ``two_of_three``, ``shift``) are int8 per point:
    +1 = flagged on the high side (above the mean or limit, or an increasing trend), -1 = low side or
    decreasing, 0 = not flagged by that rule. ``direction`` is the sign taken from the highest-priority
    rule that flags the point, ``rule`` its name ("" if none). ``special_cause`` is "common-cause",
    "improvement", "concern" or "neutral" (for ``improvement="neutral"``).
    """

    values: FloatArray
    improvement: str
    rule_length: int
    segment: NDArray[np.int64]  # 0 for the first period, +1 at each rebase
    mean: FloatArray
    moving_range: FloatArray  # |y_i - y_(i-1)|; NaN at the first point of each segment
    mean_moving_range: FloatArray
    upper_limit: FloatArray
    lower_limit: FloatArray
    upper_two_sigma: FloatArray
    lower_two_sigma: FloatArray
    upper_one_sigma: FloatArray
    lower_one_sigma: FloatArray
    outside_limits: NDArray[np.int8]
    trend: NDArray[np.int8]
    two_of_three: NDArray[np.int8]
    shift: NDArray[np.int8]
    direction: NDArray[np.int8]
    rule: NDArray[np.str_]
    special_cause: NDArray[np.str_]
    variation_icon: str | None
    assurance_icon: str | None
    target: float | None
    warnings: tuple[str, ...] = field(default=())


def _runs(key: NDArray[np.int64], brk: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Length of the run of equal ``key`` containing each element; ``brk`` forces a new run."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.ones(key.size, dtype=bool)
    start[1:] = (key[1:] != key[:-1]) | brk[1:]
    run_id = np.cumsum(start) - 1
    return np.bincount(run_id)[run_id]


def _segments(n: int, rebase_at: Sequence[int] | None) -> NDArray[np.int64]:
    if rebase_at is None:
        return np.zeros(n, dtype=np.int64)
    starts = sorted({int(i) for i in rebase_at})
    if any(i <= 0 or i >= n for i in starts):
        raise StatsInputError(
            f"rebase_at holds positions where new limits start; each must be between 1 and {n - 1} "
            f"(got {list(rebase_at)})"
        )
    seg = np.searchsorted(np.asarray(starts), np.arange(n), side="right").astype(np.int64)
    lengths = np.bincount(seg)
    if np.any(lengths < 2):
        raise StatsInputError(
            f"rebase_at {starts} leaves a period with a single point; each period needs at least 2 points"
        )
    return seg


def xmr(
    values: ArrayLike,
    improvement: Improvement = "increase",
    target: float | None = None,
    *,
    baseline: int | None = None,
    rebase_at: Sequence[int] | None = None,
    rule_length: int = 7,
    screen_moving_ranges: bool = False,
) -> XmRResult:
    """XmR chart with the four Making Data Count special-cause rules, icons and warnings.

    Limits (per period between rebases)::

        mean  = mean(y) over the baseline points
        mR_i  = |y_i - y_(i-1)|              (not across a rebase)
        mR-bar = mean(mR) over the baseline  (optionally after dropping mR >= 3.267 mR-bar)
        process limits = mean -/+ 2.66 mR-bar;  2 sigma = mean -/+ 1.773 mR-bar;  1 sigma = 0.8865 mR-bar

    Rules, in priority order (each is evaluated within one period):

    1. ``outside-limits``: a point strictly above the upper or below the lower process limit.
    2. ``trend``: ``rule_length`` points each strictly higher (or lower) than the previous, i.e.
       ``rule_length - 1`` rises (falls) in a row; an equal value breaks the run. All points of the run
       are flagged. A turning point shared by a rising and a falling trend keeps the direction of the
       trend it completes.
    3. ``two-of-three``: in three consecutive points all strictly on the same side of the mean, at least
       two strictly beyond the two-sigma line on that side; the points beyond two sigma are flagged.
    4. ``shift``: ``rule_length`` or more consecutive points strictly on one side of the mean; a point
       exactly on the mean breaks the run.

    A point flagged by several rules takes its direction from the first in this order. With
    ``improvement="increase"`` a high direction is "improvement" and a low one "concern" (reversed for
    "decrease"; always "neutral" for "neutral"). The variation icon describes the last point:
    "common-cause", "improvement-high", "improvement-low", "concern-high", "concern-low", "neutral-high"
    or "neutral-low". The assurance icon compares ``target`` with the latest process limits: for
    "increase", target >= upper limit -> "consistently-fail", target <= lower limit ->
    "consistently-pass", otherwise "hit-and-miss" (mirrored for "decrease"; none for "neutral"). A
    process with no variation sitting exactly on the target meets it every time: "consistently-pass".

    Parameters
    ----------
    values : the series in time order, no gaps or missing values.
    improvement : which direction is better: "increase", "decrease" or "neutral".
    target : optional target for the assurance icon.
    baseline : fix each period's limits using its first ``baseline`` points (Making Data Count advises
        at least 12); later points are judged against them.
    rebase_at : positions (0-based) where new limits start, e.g. after a known change in the process.
    rule_length : points needed for a trend or a shift: 7 by default, 6 is the Making Data Count option.
    screen_moving_ranges : drop moving ranges >= 3.267 mR-bar before the final mR-bar (Nelson 1982).

    Edge cases
    ----------
    * Missing values raise :class:`StatsInputError` (fill or drop them first: Making Data Count charts
      need a complete series). Fewer than 2 points raise.
    * Fewer than 13 points: limits and flags are computed, but both icons are None and a warning says
      why (the Making Data Count tool shows neither under 13 points).
    * A constant series has mR-bar = 0: limits equal the mean and nothing is flagged.
    """
    y = as_1d_float(values, "values")
    n = y.size
    if improvement not in ("increase", "decrease", "neutral"):
        raise StatsInputError(
            f"improvement must be 'increase', 'decrease' or 'neutral' (got {improvement!r})"
        )
    if n < 2:
        raise StatsInputError(f"an XmR chart needs at least 2 points (got {n})")
    if not np.all(np.isfinite(y)):
        raise StatsInputError(
            f"values has missing or infinite entries at {positions(~np.isfinite(y))}; XmR charts need a "
            "complete series, so fill or drop those periods first"
        )
    if int(rule_length) != rule_length or rule_length < 2:
        raise StatsInputError(
            f"rule_length must be a whole number of points >= 2; 7 or 6 (got {rule_length!r})"
        )
    rule_length = int(rule_length)
    if baseline is not None and (int(baseline) != baseline or baseline < 2):
        raise StatsInputError(f"baseline must be a whole number of points >= 2 (got {baseline!r})")
    if target is not None and not np.isfinite(target):
        raise StatsInputError(f"target must be a finite number or None (got {target!r})")

    warnings: list[str] = []
    seg = _segments(n, rebase_at)
    n_seg = int(seg.max()) + 1

    mean = np.empty(n)
    mrbar = np.empty(n)
    moving_range = np.full(n, np.nan)
    moving_range[1:] = np.abs(np.diff(y))
    new_segment = np.ones(n, dtype=bool)
    new_segment[1:] = seg[1:] != seg[:-1]
    moving_range[new_segment] = np.nan

    for s in range(n_seg):
        idx = np.flatnonzero(seg == s)
        used = idx if baseline is None else idx[: int(baseline)]
        if used.size < MIN_BASELINE:
            where = "the chart" if n_seg == 1 else f"the period starting at position {idx[0]}"
            warnings.append(
                f"limits for {where} come from only {used.size} points; Making Data Count advises at "
                f"least {MIN_BASELINE}"
            )
        mr = moving_range[used][1:]  # the first point of a period has no moving range
        mr_bar = float(mr.mean())
        if screen_moving_ranges and mr_bar > 0:
            mr_bar = float(mr[mr < SCREEN_FACTOR * mr_bar].mean())
        mean[idx] = float(y[used].mean())
        mrbar[idx] = mr_bar

    upper = mean + LIMIT_FACTOR * mrbar
    lower = mean - LIMIT_FACTOR * mrbar
    upper2 = mean + TWO_SIGMA_FACTOR * mrbar
    lower2 = mean - TWO_SIGMA_FACTOR * mrbar
    upper1 = mean + ONE_SIGMA_FACTOR * mrbar
    lower1 = mean - ONE_SIGMA_FACTOR * mrbar

    # Rule 1: outside the process limits.
    outside = np.where(y > upper, 1, np.where(y < lower, -1, 0)).astype(np.int8)

    # Rule 2: trend of rule_length points = rule_length - 1 strict steps the same way, within a period.
    step = np.sign(np.diff(y)).astype(np.int64)
    step[new_segment[1:]] = 0  # no step across a rebase
    step_run = _runs(step, new_segment[1:])
    step_flag = np.where((step != 0) & (step_run >= rule_length - 1), step, 0)
    ends = np.zeros(n, dtype=np.int64)
    ends[1:] = step_flag
    starts = np.zeros(n, dtype=np.int64)
    starts[:-1] = step_flag
    trend = np.where(ends != 0, ends, starts).astype(np.int8)

    # Rule 4 (computed before 3 because 3 uses the sides): shift of rule_length points on one side.
    side = np.sign(y - mean).astype(np.int64)
    side_run = _runs(side, new_segment)
    shift = np.where((side != 0) & (side_run >= rule_length), side, 0).astype(np.int8)

    # Rule 3: two of three beyond two sigma, all three on the same side, within a period.
    beyond = np.where(y > upper2, 1, np.where(y < lower2, -1, 0)).astype(np.int64)
    two3 = np.zeros(n, dtype=np.int8)
    if n >= 3:
        s0, s1, s2 = side[:-2], side[1:-1], side[2:]
        same_period = seg[:-2] == seg[2:]
        same_side = (s0 != 0) & (s0 == s1) & (s1 == s2) & same_period
        hits = (beyond[:-2] == s0).astype(int) + (beyond[1:-1] == s0) + (beyond[2:] == s0)
        window = same_side & (hits >= 2)
        for offset in range(3):
            pos = np.arange(n - 2) + offset
            mark = window & (beyond[pos] == s0)
            two3[pos[mark]] = s0[mark]

    # Priority: outside limits, trend, two of three, shift.
    stacked = np.vstack([outside, trend, two3, shift])
    flagged = stacked != 0
    first = np.argmax(flagged, axis=0)
    any_flag = flagged.any(axis=0)
    direction = np.where(any_flag, stacked[first, np.arange(n)], 0).astype(np.int8)
    rule = np.where(any_flag, np.asarray(RULES, dtype=object)[first], "").astype(str)

    if improvement == "neutral":
        special = np.where(direction != 0, "neutral", "common-cause")
    else:
        good = 1 if improvement == "increase" else -1
        judged = np.where(direction == good, "improvement", "concern")
        special = np.where(direction == 0, "common-cause", judged)
    special = special.astype(str)

    variation_icon: str | None = None
    assurance_icon: str | None = None
    if n < MIN_POINTS_FOR_ICONS:
        warnings.append(
            f"only {n} points: Making Data Count shows limits and icons from {MIN_POINTS_FOR_ICONS} points, "
            "so no icons are given"
        )
    else:
        last = special[-1]
        last_side = "high" if direction[-1] > 0 else "low"
        variation_icon = last if last == "common-cause" else f"{last}-{last_side}"
        if target is not None and improvement != "neutral":
            upl, lpl = float(upper[-1]), float(lower[-1])
            above, below = target >= upl, target <= lpl  # target outside the process's reach
            fails, passes = (above, below) if improvement == "increase" else (below, above)
            if passes:  # checked first: limits equal to the target (no variation) always meet it
                assurance_icon = "consistently-pass"
            elif fails:
                assurance_icon = "consistently-fail"
            else:
                assurance_icon = "hit-and-miss"
    if target is not None and improvement == "neutral":
        warnings.append("a target was given but improvement is 'neutral': there is no assurance icon")

    return XmRResult(
        values=y,
        improvement=improvement,
        rule_length=rule_length,
        segment=seg,
        mean=mean,
        moving_range=moving_range,
        mean_moving_range=mrbar,
        upper_limit=upper,
        lower_limit=lower,
        upper_two_sigma=upper2,
        lower_two_sigma=lower2,
        upper_one_sigma=upper1,
        lower_one_sigma=lower1,
        outside_limits=outside,
        trend=trend,
        two_of_three=two3,
        shift=shift,
        direction=direction,
        rule=rule,
        special_cause=special,
        variation_icon=variation_icon,
        assurance_icon=assurance_icon,
        target=None if target is None else float(target),
        warnings=tuple(dict.fromkeys(warnings)),
    )
