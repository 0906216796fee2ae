"""The heavy aggregation, written once in Ibis: pooled numerators and denominators up the hierarchy.

For one indicator the expression returns one row per (level, org_code, period) with
``numerator = sum(numerator)``, ``denominator = sum(denominator)`` and ``members`` (observation rows
pooled). It runs unchanged on DuckDB (the store file) and on PySpark (a Parquet export of the store).

Which rows feed which level (:func:`plan_levels`):

* every level the indicator is ingested at (``Indicator.levels``) keeps its own observations, so the
  data level reproduces the source counts exactly;
* every other level on the roll-up path (``uptake.levels.ROLLUP_PATHS``) is pooled from the finest
  ingest level whose path reaches it, through ``relationships``, which link each organisation directly
  to its parent at every level above (one join, no recursion);
* England is the sum of every observation at the finest ingest level, whether or not the organisation
  has a parent link (a national figure must not depend on the hierarchy).

Hierarchy choice: roll-ups use the **current** hierarchy (``relationships.valid_to IS NULL``), so a
series keeps one shape over time and matches today's organisations. An organisation with no current
link at a level (one closed before today) still counts at its own level and in England, but not in
that intermediate level; the run records how many observation rows that affects.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table

from uptake.catalogue.schemas import Indicator
from uptake.levels import ENGLAND_CODE, ROLLUP_PATHS, Level


@dataclass(frozen=True)
class LevelPlan:
    """Where each result level of an indicator comes from."""

    ingest_levels: tuple[str, ...]  # finest first
    #: (child level, parent level) pairs pooled through relationships
    rollups: tuple[tuple[str, str], ...]
    #: the ingest level whose observations sum to England
    england_source: str

    @property
    def levels(self) -> tuple[str, ...]:
        """All result levels, data levels first then upwards, England last."""
        out = list(self.ingest_levels)
        out += [parent for _, parent in self.rollups if parent not in out]
        out.append(Level.ENGLAND.value)
        return tuple(out)


def plan_levels(indicator: Indicator) -> LevelPlan:
    """Which levels an indicator has results at and where each comes from (module docstring)."""
    # Finest first: the longest roll-up path starts lowest in the hierarchy; ties keep catalogue order.
    ingest = sorted(dict.fromkeys(indicator.levels), key=lambda lv: -len(ROLLUP_PATHS[lv]))
    ingest_values = tuple(lv.value for lv in ingest)
    rollups: list[tuple[str, str]] = []
    seen = set(ingest_values)
    for source in ingest:
        for parent in ROLLUP_PATHS[source][1:]:
            if parent == Level.ENGLAND or parent.value in seen:
                continue
            seen.add(parent.value)
            rollups.append((source.value, parent.value))
    return LevelPlan(ingest_values, tuple(rollups), ingest_values[0])


@dataclass(frozen=True)
class SourceTables:
    """The store's tables as Ibis tables on one backend."""

    observations: Table  # observations_current: indicator, org_code, period, numerator, denominator, batch_id
    organisations: Table
    relationships: Table


def _known(tables: SourceTables, plan: LevelPlan) -> Table:
    """The organisations at the indicator's ingest levels: (child_code, child_level)."""
    orgs = tables.organisations
    return (
        orgs.filter(orgs.level.isin(list(plan.ingest_levels)))
        .select(child_code=orgs.code, child_level=orgs.level)
        .distinct()
    )


def links(tables: SourceTables, plan: LevelPlan) -> Table:
    """Where each observation is pooled above its own level: (child_code, child_level) -> (parent_code,
    parent_level) for each roll-up level through the current hierarchy, and England for observations at
    the England source level. Small: a few rows per organisation."""
    known = _known(tables, plan)
    england = known.filter(known.child_level == plan.england_source).select(
        "child_code",
        "child_level",
        parent_code=ibis.literal(ENGLAND_CODE, type=dt.String(nullable=True)),
        parent_level=ibis.literal(Level.ENGLAND.value, type=dt.String(nullable=True)),
    )
    parts = [england]
    if plan.rollups:
        rels = tables.relationships
        wanted = ibis.or_(*[(rels.child_level == c) & (rels.parent_level == p) for c, p in plan.rollups])
        current = rels.filter(rels.valid_to.isnull() & wanted)
        joined = current.join(
            known, (current.child_code == known.child_code) & (current.child_level == known.child_level)
        )
        parts.append(joined.select("child_code", "child_level", "parent_code", "parent_level"))
    nullable = dt.String(nullable=True)
    columns = ("child_code", "child_level", "parent_code", "parent_level")
    parts = [part.select(**{c: part[c].cast(nullable) for c in columns}) for part in parts]
    return ibis.union(*parts, distinct=False)


def rollup(tables: SourceTables, indicator_id: str, plan: LevelPlan) -> Table:
    """Per (level, org_code, period) at every result level of the indicator: the observations themselves
    at their own level (``members`` = 1), and pooled sums above it from one pass over the observations
    joined to ``links`` and one GROUP BY.

    The store keeps one current observation per (indicator, organisation, period) (ingest rejects
    duplicates), so the data level needs no grouping; ``IndicatorFrame`` adds up any duplicates a
    hand-made store might hold, so the totals are right either way.
    """
    obs = tables.observations
    obs = obs.filter(obs.indicator == indicator_id)
    reach = links(tables, plan)
    joined = obs.join(reach, obs.org_code == reach.child_code)
    rows = joined.select(
        level=joined.parent_level,
        org_code=joined.parent_code,
        period=joined.period.cast("date"),
        numerator=joined.numerator.cast("float64"),
        denominator=joined.denominator.cast("float64"),
    )
    pooled = rows.group_by(["level", "org_code", "period"]).aggregate(
        numerator=rows.numerator.sum(),
        denominator=rows.denominator.sum(),
        members=rows.count(),
    )
    known = _known(tables, plan)
    own = obs.join(known, obs.org_code == known.child_code)
    own = own.select(
        level=own.child_level.cast(dt.String(nullable=True)),
        org_code=own.org_code.cast(dt.String(nullable=True)),
        period=own.period.cast("date"),
        numerator=own.numerator.cast("float64"),
        denominator=own.denominator.cast("float64"),
        members=ibis.literal(1, type=dt.Int64(nullable=True)),
    )
    pooled = pooled.select(
        level=pooled.level.cast(dt.String(nullable=True)),
        org_code=pooled.org_code.cast(dt.String(nullable=True)),
        period=pooled.period,
        numerator=pooled.numerator,
        denominator=pooled.denominator,
        members=pooled.members.cast(dt.Int64(nullable=True)),
    )
    return ibis.union(own, pooled, distinct=False)


def inventory(tables: SourceTables) -> Table:
    """Observation rows per (indicator, period, batch): which indicators there are, their periods and the
    batches behind them, in one small query."""
    obs = tables.observations
    return obs.group_by(["indicator", obs.period.cast("date").name("period"), "batch_id"]).aggregate(
        rows=obs.count()
    )


def activity(tables: SourceTables, cutoffs: dict[str, object], levels_of: dict[str, tuple[str, ...]]) -> Table:
    """Each organisation's mean denominator per period since ``cutoffs[indicator]`` (its latest periods),
    at the indicator's ingest levels: the size of the population each indicator measures there (the
    register of a practice, the admissions of a stroke unit), a feature for similar peers."""
    obs = tables.observations
    if not cutoffs:
        raise ValueError("activity needs at least one indicator")
    recent = obs.filter(
        ibis.or_(*[(obs.indicator == ind) & (obs.period.cast("date") >= ibis.literal(day, type="date"))
                   for ind, day in cutoffs.items()])
    )
    orgs = tables.organisations
    all_levels = sorted({lv for levels in levels_of.values() for lv in levels})
    known = orgs.filter(orgs.level.isin(all_levels)).select(code=orgs.code, level=orgs.level).distinct()
    joined = recent.join(known, recent.org_code == known.code)
    allowed = ibis.or_(
        *[(joined.indicator == ind) & joined.level.isin(list(levels)) for ind, levels in levels_of.items()]
    )
    joined = joined.filter(allowed)
    return joined.group_by(["indicator", "level", "org_code"]).aggregate(
        mean_denominator=joined.denominator.cast("float64").mean()
    )
