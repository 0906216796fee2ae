"""Every statistic of one indicator from its rolled-up frame: the unit of work the pipeline runs per
indicator, on the driver (DuckDB engine) or inside a Spark executor (``uptake.pipeline.spark``). Both call
these same functions, so both engines give the same bits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from uptake.catalogue.schemas import Indicator
from uptake.pipeline import adoption, changes, equity, funnel, opportunity, peers, spc, values
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.pipeline.settings import PipelineSettings
from uptake.results.schema import (
    ADOPTION,
    CHANGES,
    DECILES,
    EQUITY,
    FUNNEL,
    FUNNEL_CURVE,
    FUNNEL_SUMMARY,
    INDICATORS,
    OPPORTUNITY,
    OPPORTUNITY_TOTALS,
    POINTS,
    SPC,
    SPC_SEGMENTS,
    SPC_SERIES,
    VALUES,
    ResultTable,
    to_arrow,
)


#: Columns of result_points the views derive at the rows a step's mask marks (NULL stored there), by mask
DERIVED: dict[str, tuple[str, ...]] = {**values.DERIVED, **funnel.DERIVED}


@dataclass
class IndicatorResults:
    tables: list[tuple[Any, pa.Table]]
    view_rows: dict[str, int]
    warnings: list[str]


def compute_indicator(
    frame: IndicatorFrame,
    indicator_id: int,
    settings: PipelineSettings,
    orgs: Organisations,
    level_peers: dict[str, peers.LevelPeers],
    icb_of: dict[str, np.ndarray],
    step: Callable[[str, Callable[[], Any]], Any],
) -> IndicatorResults:
    """Every statistic of one indicator from its aggregated frame. ``step(name, func)`` runs and times
    each step. Point columns go into one result_points batch; the small tables are returned as they are."""
    indicator = frame.indicator
    warnings = [
        f"{indicator.id}: {missing:,} observation rows have no current {parent} link and are not rolled up to "
        f"{parent} (they count at their own level and in England)"
        for parent, missing in frame.unlinked.items()
    ]
    target = settings.targets.get(indicator.id)
    tables: list[tuple[Any, pa.Table]] = []
    parts: list[tuple[np.ndarray | None, dict[str, Any]]] = []

    cols = step("values", lambda: values.compute(frame))
    warnings += [f"{indicator.id}: {w}" for w in cols.warnings]
    usable = ~np.isnan(cols.ci95_low) & frame.eligible  # eligible: the indicator's eligibility rule
    # A share-only indicator has values but no counts: SPC and adoption chart its values; the funnel, the
    # opportunity and equity (which weigh by counts) are not computed for it.
    charted = (~np.isnan(frame.value) & frame.eligible) if indicator.share_only else usable
    parts.append((None, step("values", lambda: values.point_columns(frame, cols))))
    tables.append((DECILES, step("values", lambda: values.deciles_table(frame, cols))))

    f_rows, f_cols, f_curve, f_summary = step("funnel", lambda: funnel.compute(frame, usable, settings.funnel_points))
    parts.append((f_rows, f_cols))
    tables += [(FUNNEL_CURVE, f_curve), (FUNNEL_SUMMARY, f_summary)]

    s_rows, s_cols, s_series = step(
        "spc",
        lambda: spc.compute(
            frame,
            charted,
            orgs,
            rule_length=settings.spc_rule_length,
            baseline=settings.spc_baseline,
            rebase_dates=settings.spc_rebase_dates,
            screen_moving_ranges=settings.spc_screen_moving_ranges,
            target=target,
            basis=settings.spc_basis,  # stats11: the SPC basis (difference from England for spread curves)
        ),
    )
    parts.append((s_rows, s_cols))
    tables.append((SPC_SERIES, s_series))
    tables.append((SPC_SEGMENTS, step("spc", lambda: spc.segments_table(frame, indicator_id, s_rows, s_cols))))

    c_rows, c_cols = step(
        "changes", lambda: changes.compute(frame, cols.percent_rank, settings.cusum_window, settings.cusum_sensitivity)
    )
    parts.append((c_rows, c_cols))

    o_rows, o_cols, o_totals = step(
        "opportunity",
        lambda: opportunity.compute(frame, cols, usable, orgs, level_peers, icb_of, target=target,
                                    best=settings.peer_best),
    )
    parts.append((o_rows, o_cols))
    tables.append((OPPORTUNITY_TOTALS, o_totals))
    tables.append((ADOPTION, step("adoption", lambda: adoption.compute(frame, charted, orgs))))
    tables.append((EQUITY, step("equity", lambda: equity.compute(frame, usable, orgs))))
    # Built by the writer's thread (it is the largest table and NumPy work off the critical path).
    tables.append((POINTS, functools.partial(points_table, frame, indicator_id, parts)))
    tables.append((INDICATORS, indicator_row(indicator, indicator_id, target)))
    view_rows = {
        VALUES.name: frame.size,
        FUNNEL.name: int(f_rows.size),
        SPC.name: int(s_rows.size),
        CHANGES.name: int(c_rows.size),
        OPPORTUNITY.name: int(o_rows.size),
    }
    return IndicatorResults(tables, view_rows, warnings)


def points_table(
    frame: IndicatorFrame,
    indicator_id: int,
    parts: list[tuple[np.ndarray | None, dict[str, Any]]],
    table: ResultTable = POINTS,
    keep_derived: bool = False,
) -> pa.Table:
    """result_points rows of one indicator: every frame row, with each step's columns filled in where the
    step applies (rows=None: every row) and NULL elsewhere. A step's columns that ``table`` does not have
    (result_points leaves out what the views derive and what result_spc_segments holds per segment) are
    left out, and so are the values the views derive at some points only (``DERIVED``: NULL where
    the step's mask says the view computes them) unless ``keep_derived``; tests give a wider ``table`` and
    ``keep_derived`` to see every value the steps computed."""
    n = frame.size
    data: dict[str, Any] = {}
    present: dict[str, np.ndarray] = {}
    for col in table.columns:
        if col.sql == "DOUBLE":
            data[col.name] = np.full(n, np.nan)
        elif col.sql not in ("DATE",):
            data[col.name] = np.zeros(n, dtype=col.arrow.to_pandas_dtype())
            present[col.name] = np.zeros(n, dtype=bool)
    for rows, columns in parts:
        where = slice(None) if rows is None else rows
        for name, values_ in columns.items():
            if name not in data and name not in present:
                continue  # not stored (table.columns has no such column)
            if isinstance(values_, np.ma.MaskedArray):
                data[name][where] = values_.filled(0)
                if name in present:
                    present[name][where] = ~np.ma.getmaskarray(values_)
                continue
            data[name][where] = values_
            if name in present:
                present[name][where] = True
        for mask, names in ({} if keep_derived else DERIVED).items():
            if mask in columns:
                at = np.arange(n)[where][np.asarray(columns[mask], dtype=bool)]
                for name in names:
                    data[name][at] = np.nan
    data["indicator_id"] = np.full(n, indicator_id, dtype=np.int16)
    present["indicator_id"] = np.ones(n, dtype=bool)
    data["org_id"] = frame.org.astype(np.int32)
    present["org_id"] = np.ones(n, dtype=bool)
    data["period"] = frame.dates(frame.pidx)
    arrays = {}
    for col in table.columns:
        value = data[col.name]
        if col.name in present:
            arrays[col.name] = pa.array(value, type=col.arrow, mask=~present[col.name])
        else:
            arrays[col.name] = value
    return to_arrow(table, arrays)


def indicator_row(indicator: Indicator, indicator_id: int, target: float | None) -> pa.Table:
    return to_arrow(
        INDICATORS,
        {
            "indicator_id": [indicator_id],
            "indicator": [indicator.id],
            "title": [indicator.title],
            "measure": [indicator.measure.value],
            "polarity": [indicator.polarity.value],
            "multiplier": [indicator.multiplier],
            "unit": [indicator.unit],
            "unit_cost": [indicator.unit_cost],
            "target": [target],
            "adoption_threshold": [indicator.adoption_threshold],
            "synthetic": [indicator.synthetic],
            "levels": [[lv.value for lv in indicator.levels]],
        },
    )
