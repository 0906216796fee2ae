"""Dates and trajectories of NSF commitments (pure functions, vectorised over periods).

Conventions (docs/mission.md):

- A result is judged **as of the last day of its period** (a month, quarter or year): the 2021 calendar
  year is judged as of 31 December 2021, QOF 2023/24 as of 31 March 2024.
- The **trajectory** is the straight line through (start, baseline), each milestone, and (deadline,
  target), and stays at the target after the deadline. Without a baseline it starts at the minimum standard.
- The **standard in force** is the minimum standard until the deadline; from the deadline on it is the
  target: a commitment is a promise that, by then, every organisation in scope reaches the target.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from uptake.catalogue.schemas import Period
from uptake.mission.schemas import Commitment, Framework

_MONTHS = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}


def period_end(starts: pd.Series | pd.DatetimeIndex | np.ndarray, period: Period | str) -> pd.Series:
    """The last day of each period that starts on the given dates."""
    months = _MONTHS[Period(period)]
    starts = pd.to_datetime(pd.Series(np.asarray(starts)))
    return starts + pd.DateOffset(months=months) - pd.Timedelta(days=1)


def rating_year(as_of: pd.Series, start_month: int = 4) -> pd.Series:
    """The first day of the rating year (April to March by default) that contains each date."""
    as_of = pd.to_datetime(as_of)
    year = as_of.dt.year - (as_of.dt.month < start_month).astype(int)
    return pd.to_datetime(pd.DataFrame({"year": year, "month": start_month, "day": 1}))


def trajectory_points(framework: Framework, commitment: Commitment) -> list[tuple[dt.date, float]]:
    """The corners of the trajectory: (start, baseline or minimum), milestones, (deadline, target)."""
    start = framework.commitment_start(commitment)
    first = commitment.baseline if commitment.baseline is not None else commitment.minimum_standard
    points = [(start, first)]
    points += [(m.date, m.value) for m in commitment.milestones]
    points.append((commitment.deadline, commitment.target))
    return points


def _days(dates: pd.Series | list[dt.date]) -> np.ndarray:
    return pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]").astype(np.int64)


def trajectory_value(
    points: list[tuple[dt.date, float]], as_of: pd.Series | list[dt.date]
) -> np.ndarray:
    """The trajectory at each date (NaN before its start; the target after the deadline)."""
    xs = _days([p[0] for p in points])
    ys = np.array([p[1] for p in points], dtype=float)
    at = _days(as_of)
    out = np.interp(at, xs, ys)
    out[at < xs[0]] = np.nan
    return out


def deadline_passed(commitment: Commitment, as_of: pd.Series | list[dt.date]) -> np.ndarray:
    """True where the date is on or after the commitment's deadline."""
    return _days(as_of) >= _days([commitment.deadline])[0]
