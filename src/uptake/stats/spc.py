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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import FloatArray, StatsInputError, as_1d_float, positions

__all__ = ["XmRResult", "xmr", "RULES", "SpecialCauseRules", "looks_like_spread_curve"]

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
class SpecialCauseRules:
    """The four Making Data Count special-cause rules, declared once: read by the per-series reference
    below (``xmr``) and by the pipeline's vectorised form over many series (``uptake.pipeline.spc``),
    which is tested against it.

    1. ``outside-limits``: a point strictly beyond a process limit, mean -/+ ``limit_factor`` mR-bar.
    2. ``trend``: ``trend_points`` points in a row, each strictly higher (or lower) than the previous
       (``trend_points - 1`` steps the same way); an equal value breaks the run. All its points are
       flagged; a turning point shared by a rising and a falling trend keeps the direction of the trend
       it completes.
    3. ``two-of-three``: ``window`` points in a row all strictly on the same side of the mean, of which at
       least ``needed`` are strictly beyond the two-sigma line (mean -/+ ``two_sigma_factor`` mR-bar) on
       that side; the points beyond it are flagged.
    4. ``shift``: ``shift_points`` or more points in a row strictly on one side of the mean; a point
       exactly on the mean breaks the run.

    Every window lies within one period between rebases. A point flagged by several rules takes its
    direction from the first in ``priority``.
    """

    #: Points in a trend or a shift: 7 (Making Data Count's default) or 6 (its option).
    rule_length: int = 7

    limit_factor: ClassVar[float] = LIMIT_FACTOR
    two_sigma_factor: ClassVar[float] = TWO_SIGMA_FACTOR
    window: ClassVar[int] = 3
    needed: ClassVar[int] = 2
    priority: ClassVar[tuple[str, ...]] = RULES

    @property
    def trend_points(self) -> int:
        return self.rule_length

    @property
    def shift_points(self) -> int:
        return self.rule_length


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

    Rules: the four of :class:`SpecialCauseRules` (trend and shift of ``rule_length`` points), each
    within one period, evaluated here point by point and window by window as that class words them.

    A point flagged by several rules takes its direction from the first in priority order. With
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
    rules = SpecialCauseRules(_checked_rule_length(y, improvement, rule_length, baseline, target))
    n = y.size
    warnings: list[str] = []
    seg = _segments(n, rebase_at)
    mean, mrbar, moving_range = _centre_and_spread(y, seg, baseline, screen_moving_ranges, warnings)

    upper = mean + rules.limit_factor * mrbar
    lower = mean - rules.limit_factor * mrbar
    upper2 = mean + rules.two_sigma_factor * mrbar
    lower2 = mean - rules.two_sigma_factor * mrbar
    upper1 = mean + ONE_SIGMA_FACTOR * mrbar
    lower1 = mean - ONE_SIGMA_FACTOR * mrbar

    flags = _flag_points(y, mean, (lower, upper), (lower2, upper2), seg, rules)
    direction, rule = _first_flags(flags, rules)

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
        variation_icon = _variation_icon(str(special[-1]), int(direction[-1]))
        assurance_icon = _assurance_icon(target, improvement, float(upper[-1]), float(lower[-1]))
    if target is not None and improvement == "neutral":
        warnings.append("a target was given but improvement is 'neutral': there is no assurance icon")

    return XmRResult(
        values=y,
        improvement=improvement,
        rule_length=rules.rule_length,
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
        outside_limits=flags["outside-limits"],
        trend=flags["trend"],
        two_of_three=flags["two-of-three"],
        shift=flags["shift"],
        direction=direction,
        rule=rule,
        special_cause=special,
        variation_icon=variation_icon,
        assurance_icon=assurance_icon,
        target=None if target is None else float(target),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _checked_rule_length(
    y: FloatArray, improvement: str, rule_length: int, baseline: int | None, target: float | None
) -> int:
    """Refuse inputs xmr cannot chart; the rule length as an int."""
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
    if baseline is not None and (int(baseline) != baseline or baseline < 2):
        raise StatsInputError(f"baseline must be a whole number of points >= 2 (got {baseline!r})")
    if target is not None and not np.isfinite(target):
        raise StatsInputError(f"target must be a finite number or None (got {target!r})")
    return int(rule_length)


def _centre_and_spread(
    y: FloatArray, seg: NDArray[np.int64], baseline: int | None, screen: bool, warnings: list[str]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per point: its period's mean and mR-bar (over the period's baseline points), and the moving range
    (NaN at the first point of each period). Warns of periods with few baseline points."""
    n = y.size
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
        if screen and mr_bar > 0:
            mr_bar = float(mr[mr < SCREEN_FACTOR * mr_bar].mean())
        mean[idx] = float(y[used].mean())
        mrbar[idx] = mr_bar
    return mean, mrbar, moving_range


# ------------------------------------------------------------------------------ the rules, point by point
def _flag_points(
    y: FloatArray,
    mean: FloatArray,
    limits: tuple[FloatArray, FloatArray],
    two_sigma: tuple[FloatArray, FloatArray],
    seg: NDArray[np.int64],
    rules: SpecialCauseRules,
) -> dict[str, NDArray[np.int8]]:
    """Each rule's flags per point (+1 high side or rising, -1 low side or falling, 0 not flagged), by
    plain loops over points and windows, as :class:`SpecialCauseRules` words the rules."""
    values, centre, period = y.tolist(), mean.tolist(), seg.tolist()
    lower, upper = (line.tolist() for line in limits)
    lower2, upper2 = (line.tolist() for line in two_sigma)
    n = len(values)
    side = [_beyond(values[i], centre[i], centre[i]) for i in range(n)]
    flags = {
        "outside-limits": [_beyond(values[i], lower[i], upper[i]) for i in range(n)],
        "trend": _trend(values, period, rules.trend_points),
        "two-of-three": _two_of_three(
            side, [_beyond(values[i], lower2[i], upper2[i]) for i in range(n)], period, rules
        ),
        "shift": _shift(side, period, rules.shift_points),
    }
    return {name: np.asarray(flags[name], dtype=np.int8) for name in rules.priority}


def _beyond(value: float, low: float, high: float) -> int:
    """+1 strictly above ``high``, -1 strictly below ``low``, else 0 (a tie is not beyond)."""
    return 1 if value > high else -1 if value < low else 0


def _windows(period: list[int], length: int) -> Iterator[range]:
    """Every run of ``length`` consecutive positions inside one period."""
    for start in range(len(period) - length + 1):
        if period[start] == period[start + length - 1]:
            yield range(start, start + length)


def _trend(values: list[float], period: list[int], points: int) -> list[int]:
    """``points`` values in a row each strictly above (+1) or below (-1) the previous; a point both ends
    one trend and starts the opposite one takes the trend it ends."""
    ends = [0] * len(values)
    begins = [0] * len(values)
    for window in _windows(period, points):
        steps = [(values[i], values[i + 1]) for i in window[:-1]]
        if all(a < b for a, b in steps):
            way = 1
        elif all(a > b for a, b in steps):
            way = -1
        else:
            continue
        begins[window[0]] = way
        for i in window[1:]:
            ends[i] = way
    return [end if end else begin for end, begin in zip(ends, begins)]


def _two_of_three(
    side: list[int], beyond: list[int], period: list[int], rules: SpecialCauseRules
) -> list[int]:
    """``rules.window`` points in a row on one side of the mean with at least ``rules.needed`` of them
    beyond the two-sigma line on that side: those beyond it are flagged."""
    flags = [0] * len(side)
    for window in _windows(period, rules.window):
        way = side[window[0]]
        if way == 0 or any(side[i] != way for i in window):
            continue
        hits = [i for i in window if beyond[i] == way]
        if len(hits) >= rules.needed:
            for i in hits:
                flags[i] = way
    return flags


def _shift(side: list[int], period: list[int], points: int) -> list[int]:
    """``points`` or more points in a row strictly on one side of the mean."""
    flags = [0] * len(side)
    for window in _windows(period, points):
        way = side[window[0]]
        if way != 0 and all(side[i] == way for i in window):
            for i in window:
                flags[i] = way
    return flags


def _first_flags(
    flags: dict[str, NDArray[np.int8]], rules: SpecialCauseRules
) -> tuple[NDArray[np.int8], NDArray[np.str_]]:
    """Per point: the direction and name of the first rule in priority order that flags it (0, "")."""
    direction: list[int] = []
    rule: list[str] = []
    for i in range(len(flags[rules.priority[0]])):
        name = next((name for name in rules.priority if flags[name][i] != 0), "")
        direction.append(int(flags[name][i]) if name else 0)
        rule.append(name)
    return np.asarray(direction, dtype=np.int8), np.asarray(rule, dtype=str)


# ------------------------------------------------------------------------------------------------- icons
def _variation_icon(last_special: str, last_direction: int) -> str:
    """The icon for the last point: "common-cause", or its special cause and side ("improvement-high")."""
    if last_special == "common-cause":
        return last_special
    return f"{last_special}-{'high' if last_direction > 0 else 'low'}"


def _assurance_icon(target: float | None, improvement: str, upl: float, lpl: float) -> str | None:
    """Whether the process can meet ``target``, from the latest process limits (None without a target or
    for "neutral")."""
    if target is None or improvement == "neutral":
        return None
    above, below = target >= upl, target <= lpl  # target outside the process's reach
    fails, passes = (above, below) if improvement == "increase" else (below, above)
    if passes:  # checked first: limits equal to the target (no variation) always meet it
        return "consistently-pass"
    if fails:
        return "consistently-fail"
    return "hit-and-miss"


# ------------------------------------------------------------------------------ spreading innovations
def looks_like_spread_curve(
    values: ArrayLike, *, min_points: int = 24, min_change: float = 0.10, min_rho: float = 0.9
) -> bool:
    """Whether a national series looks like a spreading innovation's S-curve (or its mirror, a decline):

    * at least ``min_points`` points (two years of months);
    * a monotone trend: the Spearman rank correlation of the values with time is at least ``min_rho`` in
      absolute value (ties take their mean rank);
    * a large change: the mean of the last 12 points differs from the mean of the first 12 by at least
      ``min_change`` (a fraction: 0.10 is 10 percentage points of a share).

    On such a series an XmR chart of the values restates the trend (nearly every point is special cause), so
    the pipeline charts each organisation's difference from England instead; the catalogue's ``spread_curve``
    flag records the choice and tests check it against this (docs/methods.md, "SPC for a spreading
    innovation"). Missing values are dropped first.
    """
    y = as_1d_float(values, "values")
    y = y[np.isfinite(y)]
    if y.size < max(min_points, 2):
        return False
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    last = np.cumsum(counts).astype(np.float64)
    ranks = ((last - counts + 1.0 + last) / 2.0)[inverse]  # ties share their mean rank
    t = np.arange(1, y.size + 1, dtype=np.float64)
    rho = float(np.corrcoef(ranks, t)[0, 1]) if np.ptp(ranks) > 0 else 0.0
    window = min(12, y.size // 2)
    change = float(y[-window:].mean() - y[:window].mean())
    return abs(rho) >= min_rho and abs(change) >= min_change
