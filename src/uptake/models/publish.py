"""The models' result tables, written inside a publication (``uptake compute``'s publish_with hook, so they
become visible with the results they are computed from, or not at all).

- ``result_outcomes``: every opportunity gap (each organisation, and England) of an indicator that has an
  outcome model, turned into outcomes with 95% intervals (uptake.models.outcomes.registry);
- ``result_impact``: "if every organisation matched the best" (the national top-decile gap, latest complete
  period, at the indicator's own level) valued with the health and wealth model (uptake.models.wealth).

The pipeline never imports this (layers): the command line hands ``write_model_tables`` to the publication.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from uptake.catalogue import Catalogue, load_catalogue
from uptake.models import wealth
from uptake.models.outcomes import registry
from uptake.models.outcomes.base import per_unit_draws
from uptake.results import read
from uptake.results.schema import IMPACT, MODEL_BY_NAME, OUTCOMES, ResultTable

__all__ = ["write_model_tables", "write_table", "impact_frame", "outcomes_frame", "INDICATOR_CONDITIONS",
           "IMPACT_DRAWS"]

#: indicators without an outcome model that still count towards one of the report's conditions
INDICATOR_CONDITIONS = {"dementia-diagnosis-rate": "dementia"}
#: draws for the impact rows (per indicator)
IMPACT_DRAWS = 20_000


def write_table(con: duckdb.DuckDBPyConnection, table: ResultTable, frame: pd.DataFrame) -> int:
    """Replace ``table`` with ``frame`` in the caller's transaction (columns and types from the schema)."""
    assert table.name in MODEL_BY_NAME, table.name
    types = {c.name: c.sql for c in table.columns}
    missing = [c for c in types if c not in frame.columns]
    if missing:
        raise ValueError(f"{table.name}: the frame lacks columns {missing}")
    data = frame[list(types)].copy()
    for column, kind in types.items():
        if kind == "VARCHAR":
            data[column] = data[column].astype(object).where(data[column].notna(), None)
    select = ", ".join(f'CAST("{c}" AS {kind}) AS "{c}"' for c, kind in types.items())
    con.register("_models_incoming", data)
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{table.name}" AS SELECT {select} FROM _models_incoming')
    finally:
        con.unregister("_models_incoming")
    return len(data)


def outcomes_frame(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> pd.DataFrame:
    present = read.tables(con)
    if "result_opportunity" not in present or "result_opportunity_totals" not in present:
        return registry.outcome_rows(pd.DataFrame(columns=["indicator", "level", "org_code", "period", "benchmark",
                                                           "extra_units", "synthetic"]))
    indicators = [i for i in registry.BY_INDICATOR if i in catalogue.indicators]
    gaps = read.outcomes.gaps_frame(con, indicators)
    synthetic = frozenset(i for i in indicators if catalogue.indicators[i].synthetic)
    return registry.outcome_rows(gaps, synthetic_indicators=synthetic)


def _condition(indicator: str) -> str | None:
    model = registry.model_for(indicator)
    if model is not None:
        return registry.CONDITION_OF.get(model.key)
    return INDICATOR_CONDITIONS.get(indicator)


def impact_frame(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> pd.DataFrame:
    """The impact rows (result_impact) from the published national opportunity totals."""
    present = read.tables(con)
    gaps: list[wealth.MeasuredGap] = []
    if "result_opportunity_totals" in present:
        for indicator in sorted(catalogue.indicators):
            condition = _condition(indicator)
            if condition is None:
                continue
            ind = catalogue.indicators[indicator]
            provisional = read.runs.provisional_periods(con, indicator) if "batches" in present else []
            found = [r for r in read.opportunity.latest_national_opportunity(con, indicator, provisional)
                     if r["benchmark"] == "top-decile"]
            if not found:
                continue
            by_level = {r["level"]: r for r in found}
            level = next((lv.value for lv in ind.levels if lv.value in by_level), sorted(by_level)[0])
            row = by_level[level]
            units = max(float(row["extra_patients"] or 0.0), 0.0)
            unit = ind.counts.plural if ind.counts else "people"
            model = registry.model_for(indicator)
            deaths = illness = None
            other: tuple = ()
            note = ""
            if model is None:
                note = "No outcome model for this indicator yet: the gap is shown in its own unit only."
            else:
                draws = per_unit_draws(model, IMPACT_DRAWS, registry.SEED)
                deaths = units * draws["deaths_avoided"] if "deaths_avoided" in draws else None
                illness = units * draws["strokes_avoided"] if "strokes_avoided" in draws else None
                other = tuple((o.key, o.label, units * draws[o.key]) for o in model.outcomes
                              if o.key not in ("deaths_avoided", "strokes_avoided", "ich_avoided"))
                note = model.per
            gaps.append(wealth.MeasuredGap(condition, indicator, level, row["period"], units, unit, deaths, illness,
                                           bool(row["synthetic"]) or ind.synthetic or bool(model and model.synthetic),
                                           note, other))
    rows = wealth.measured_impact(gaps)
    frame = pd.DataFrame(rows, columns=[*IMPACT.column_names])
    frame["benchmark"] = "top-decile"
    for column in ("mean", "low", "high", "extra_units"):
        frame[column] = frame[column].astype(float)
    return frame


def write_model_tables(con: duckdb.DuckDBPyConnection, catalogue: Catalogue | None = None) -> dict[str, int]:
    """Compute and write result_outcomes and result_impact on ``con`` (inside a publication's transaction:
    the new results are visible to it). Returns rows written per table."""
    catalogue = catalogue or load_catalogue()
    outcomes = outcomes_frame(con, catalogue)
    impact = impact_frame(con, catalogue)
    return {OUTCOMES.name: write_table(con, OUTCOMES, outcomes), IMPACT.name: write_table(con, IMPACT, impact)}
