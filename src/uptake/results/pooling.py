"""Pooling the members of a custom group (docs/groups.md): the group's figure for one indicator and period
from its members' counts.

- proportion: the pooled numerator over the pooled denominator (sum of numerators / sum of denominators),
  with the Wilson score 95% interval of that pooled count (uptake.stats.intervals.wilson);
- rate: the same pooled ratio, with Byar's 95% limits on the pooled numerator divided by the pooled
  denominator (uptake.stats.intervals.byar);
- share-only (published without counts): there is no count to pool, so no pooled count and no interval; the
  group's figure is the unweighted mean of its members' values, as England's is for such indicators
  (uptake.catalogue.schemas.Measure.SHARE_ONLY), and ``why`` says so.

Members that have no value in the period, or whose denominator is zero, are left out and counted in
``missing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from uptake.stats.intervals import byar, wilson

SHARE_ONLY_WHY = ("Published as shares without their counts, so there is no numerator or denominator to pool and "
                  "no interval: the group's figure is the unweighted mean of its members' values.")


@dataclass(frozen=True)
class Pooled:
    """A group's pooled figure for one indicator."""

    measure: str
    members: int  # members that count towards it
    missing: int  # members with no usable value in the period
    numerator: float | None
    denominator: float | None
    value: float | None
    ci95_low: float | None
    ci95_high: float | None
    method: str
    why: str | None = None


def pool(measure: str, member_rows: Iterable[Mapping[str, Any]], group_size: int) -> Pooled:
    """The group's figure from its members' rows (each with numerator, denominator and value) for one
    indicator and period; ``group_size`` is how many members the group has (to count the missing)."""
    usable = [r for r in member_rows if r.get("value") is not None and (r.get("denominator") or 0) > 0]
    missing = group_size - len(usable)
    if measure == "share-only":
        value = sum(float(r["value"]) for r in usable) / len(usable) if usable else None
        return Pooled(measure, len(usable), missing, None, None, value, None, None,
                      "unweighted mean of the members' values", SHARE_ONLY_WHY)
    if not usable:
        return Pooled(measure, 0, missing, None, None, None, None, None, "no member has a value in the period")
    numerator = sum(float(r["numerator"]) for r in usable)
    denominator = sum(float(r["denominator"]) for r in usable)
    value = numerator / denominator
    if measure == "proportion":
        low, high = wilson(numerator, denominator)
        method = "pooled numerator / pooled denominator; Wilson score 95% interval"
    else:
        low, high = (limit / denominator for limit in byar(numerator))
        method = "pooled numerator / pooled denominator; Byar's 95% limits on the pooled numerator"
    return Pooled(measure, len(usable), missing, numerator, denominator, value, float(low), float(high), method)
