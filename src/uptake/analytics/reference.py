"""The reference organisations and their relationships in the analytics store: checked, then replaced
as a whole."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from uptake.analytics.schema import ORG_REQUIRED, ORG_TYPES, REL_REQUIRED, REL_TYPES
from uptake.analytics.sql import scalar
from uptake.errors import UptakeError
from uptake.levels import Level


def reference_tables(organisations: pd.DataFrame, relationships: pd.DataFrame) -> tuple[pa.Table, pa.Table]:
    """The frames as Arrow tables of the stored columns, checked: required columns present and filled,
    levels known. Empty strings become NULL."""
    orgs = _reference_table(organisations, ORG_TYPES, ORG_REQUIRED, "organisations")
    rels = _reference_table(relationships, REL_TYPES, REL_REQUIRED, "relationships")
    _check_levels(orgs, ["level"], "organisations")
    _check_levels(rels, ["child_level", "parent_level"], "relationships")
    return orgs, rels


def replace_reference(con: duckdb.DuckDBPyConnection, orgs: pa.Table, rels: pa.Table) -> None:
    """Replace the organisations and relationships tables with these, in one transaction (the caller
    holds the write lock)."""
    con.begin()
    try:
        for table, arrow, types in (
            ("organisations", orgs, ORG_TYPES),
            ("relationships", rels, REL_TYPES),
        ):
            con.register("incoming_reference", arrow)
            select = ", ".join(
                f"CAST({name} AS {kind})" if name in arrow.column_names else f"CAST(NULL AS {kind})"
                for name, kind in types.items()
            )
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT {select} FROM incoming_reference")
            con.unregister("incoming_reference")
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise UptakeError(f"could not store the reference organisations: {exc}") from None


def has_organisations(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        return scalar(con, "SELECT count(*) FROM organisations") > 0
    except duckdb.CatalogException:
        return False


def organisation_levels(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Distinct (code, level) pairs of every organisation the store knows."""
    return con.execute("SELECT DISTINCT code, level FROM organisations ORDER BY code, level").df()


def organisation_facts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per (code, level) with its latest version's population and valid_to."""
    return con.execute(
        """
        SELECT code, level,
               CAST(arg_max(population, coalesce(valid_from, DATE '1900-01-01')) AS DOUBLE) AS population,
               arg_max(valid_to, coalesce(valid_from, DATE '1900-01-01')) AS valid_to
        FROM organisations GROUP BY code, level ORDER BY code, level
        """
    ).df()


def _reference_table(
    frame: pd.DataFrame, types: dict[str, str], required: tuple[str, ...], what: str
) -> pa.Table:
    if not isinstance(frame, pd.DataFrame):
        raise UptakeError(f"{what} must be a pandas DataFrame")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise UptakeError(
            f"the {what} frame lacks required columns {', '.join(missing)}; "
            f"it has {', '.join(map(str, frame.columns))}"
        )
    keep = frame[[name for name in types if name in frame.columns]].copy()
    for name in keep.columns:
        column = keep[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            stripped = column.astype("str").str.strip()
            keep[name] = stripped.where(column.notna() & (stripped != ""), None).astype(object)
    for name in required:
        if keep[name].isna().any():
            raise UptakeError(f"the {what} frame has empty values in required column {name}")
    return pa.Table.from_pandas(keep, preserve_index=False)


def _check_levels(table: pa.Table, columns: list[str], what: str) -> None:
    valid = {level.value for level in Level}
    for name in columns:
        found = set(table.column(name).unique().to_pylist()) - valid
        if found:
            raise UptakeError(
                f"the {what} frame has unknown levels in {name}: {', '.join(sorted(map(str, found)))}; "
                f"levels are {', '.join(sorted(valid))}"
            )
