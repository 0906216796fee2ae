"""The analytics store's tables, their column types, and creating or upgrading them.

Tables (schema version ``SCHEMA_VERSION``)::

    schema_version   (version, applied_at, uptake_version)
    organisations    reference organisations (see uptake.reference ORG_COLUMNS), replaced by sync_reference
    relationships    child -> parent links (REL_COLUMNS), replaced by sync_reference
    batches          one row per load: batch_id, indicator, source, file_name, file_sha256, row_count,
                     periods DATE[], loaded_at TIMESTAMP (UTC), loaded_by, mapping JSON,
                     provisional BOOLEAN (loaded with --partial), checks JSON (the plausibility checks'
                     overrides and outcome: partial, allow_jumps, the jumps allowed)
    observations     (batch_id, indicator, org_code, period, numerator, denominator): every version
    period_versions  (indicator, period, batch_id, loaded_at, provisional): the current batch of each
                     indicator+period, and whether that version is provisional (incomplete)
    observations_current  VIEW: the observations of the current batch of each indicator and period
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from uptake import __version__
from uptake.analytics.sql import scalar, utcnow
from uptake.errors import UptakeError

SCHEMA_VERSION = 2

#: Organisation columns and their types in the store (the reference loader's ORG_COLUMNS).
ORG_TYPES: dict[str, str] = {
    "code": "VARCHAR",
    "level": "VARCHAR",
    "name": "VARCHAR",
    "ons_code": "VARCHAR",
    "postcode": "VARCHAR",
    "lat": "DOUBLE",
    "lon": "DOUBLE",
    "imd_score": "DOUBLE",
    "imd_quintile": "INTEGER",
    "population": "BIGINT",
    "trust_type": "VARCHAR",
    "valid_from": "DATE",
    "valid_to": "DATE",
}
#: Relationship columns and their types in the store (the reference loader's REL_COLUMNS).
REL_TYPES: dict[str, str] = {
    "child_code": "VARCHAR",
    "child_level": "VARCHAR",
    "parent_code": "VARCHAR",
    "parent_level": "VARCHAR",
    "valid_from": "DATE",
    "valid_to": "DATE",
}
ORG_REQUIRED = ("code", "level")
REL_REQUIRED = ("child_code", "child_level", "parent_code", "parent_level")

#: Columns of the frame handed to ``load_observations`` (an Arrow table or a DataFrame).
OBSERVATION_COLUMNS = ("org_code", "period", "numerator", "denominator")
OBSERVATION_SCHEMA = pa.schema(
    [
        ("org_code", pa.string()),
        ("period", pa.date32()),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
    ]
)

#: The columns of ``batches``, in order (for reading them back into ``Batch``).
BATCH_COLUMNS = (
    "batch_id, indicator, source, file_name, file_sha256, row_count, periods, loaded_at, loaded_by, mapping, "
    "provisional, checks"
)


def _columns_ddl(types: dict[str, str], required: tuple[str, ...]) -> str:
    return ", ".join(
        f"{name} {kind}{' NOT NULL' if name in required else ''}" for name, kind in types.items()
    )


_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL, uptake_version VARCHAR)"
)
_DDL = [
    f"CREATE TABLE IF NOT EXISTS organisations ({_columns_ddl(ORG_TYPES, ORG_REQUIRED)})",
    f"CREATE TABLE IF NOT EXISTS relationships ({_columns_ddl(REL_TYPES, REL_REQUIRED)})",
    """CREATE TABLE IF NOT EXISTS batches (
        batch_id BIGINT NOT NULL,
        indicator VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        file_sha256 VARCHAR NOT NULL,
        row_count BIGINT NOT NULL,
        periods DATE[] NOT NULL,
        loaded_at TIMESTAMP NOT NULL,
        loaded_by VARCHAR NOT NULL,
        mapping JSON,
        provisional BOOLEAN NOT NULL DEFAULT false,
        checks JSON
    )""",
    """CREATE TABLE IF NOT EXISTS observations (
        batch_id BIGINT NOT NULL,
        indicator VARCHAR NOT NULL,
        org_code VARCHAR NOT NULL,
        period DATE NOT NULL,
        numerator DOUBLE NOT NULL,
        denominator DOUBLE NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS period_versions (
        indicator VARCHAR NOT NULL,
        period DATE NOT NULL,
        batch_id BIGINT NOT NULL,
        loaded_at TIMESTAMP NOT NULL,
        provisional BOOLEAN NOT NULL DEFAULT false
    )""",
    """CREATE OR REPLACE VIEW observations_current AS
        SELECT o.batch_id, o.indicator, o.org_code, o.period, o.numerator, o.denominator
        FROM observations AS o
        JOIN period_versions AS v
          ON o.batch_id = v.batch_id AND o.indicator = v.indicator AND o.period = v.period""",
]


_UPGRADE_TO_2 = [
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS provisional BOOLEAN DEFAULT false",
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS checks JSON",
    "ALTER TABLE period_versions ADD COLUMN IF NOT EXISTS provisional BOOLEAN DEFAULT false",
]


def create_or_upgrade(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Create the tables and views if they are missing (idempotent), recording the schema version; refuse
    a store made by a newer Uptake. The caller holds the write lock."""
    con.execute(_VERSION_DDL)
    found = scalar(con, "SELECT max(version) FROM schema_version")
    if found is not None and found > SCHEMA_VERSION:
        raise UptakeError(
            f"the analytics store {path} has schema version {found}, newer than this Uptake "
            f"(version {__version__}, schema {SCHEMA_VERSION}); upgrade Uptake to use it"
        )
    con.begin()
    for statement in _DDL:
        con.execute(statement)
    if found is not None and found < 2:
        # version 2: provisional (partial) periods and the plausibility checks' record on each batch
        for statement in _UPGRADE_TO_2:
            con.execute(statement)
    if found is None or found < SCHEMA_VERSION:
        con.execute(
            "INSERT INTO schema_version VALUES (?, ?, ?)", [SCHEMA_VERSION, utcnow(), __version__]
        )
    # future migrations: `if found < N: ...` here, then record version N
    con.commit()


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The store's schema version (None before the schema exists)."""
    try:
        return scalar(con, "SELECT max(version) FROM schema_version")
    except duckdb.CatalogException:
        return None
