"""result_pathway_national and result_pathway_units: the stroke pathway model's scenarios (SAMueL-1), as
``uptake compute`` published them."""

from __future__ import annotations

from uptake.results.read._sql import Cursor, Row, rows
from uptake.results.schema import PATHWAY_NATIONAL, PATHWAY_UNITS

_ORDER = "CASE scenario WHEN 'base' THEN 0 WHEN 'speed' THEN 1 WHEN 'onset' THEN 2 WHEN 'speed_onset' THEN 3 ELSE 4 END"


def national(cur: Cursor) -> list[Row]:
    """One row per scenario, base first."""
    columns = ", ".join(f'"{c}"' for c in PATHWAY_NATIONAL.column_names)
    return rows(cur, f"SELECT {columns} FROM result_pathway_national ORDER BY {_ORDER}", lasting=True)


def units(cur: Cursor, scenario: str | None = None, stroke_team: str | None = None) -> list[Row]:
    """Per unit and scenario (optionally one scenario and/or one unit), by scenario then unit."""
    columns = ", ".join(f'"{c}"' for c in PATHWAY_UNITS.column_names)
    where, params = [], []
    if scenario is not None:
        where.append("scenario = ?")
        params.append(scenario)
    if stroke_team is not None:
        where.append("stroke_team = ?")
        params.append(stroke_team)
    condition = f"WHERE {' AND '.join(where)} " if where else ""
    return rows(cur, f"SELECT {columns} FROM result_pathway_units {condition}ORDER BY {_ORDER}, stroke_team", params)
