"""The analytics store's organisations and relationships, as readers see them (the current hierarchy).

Serves the organisation pages and search, the API's /organisations, who a role covers (descendants), and the
mission's maps and regional tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from uptake.results.read._sql import CURRENT_ORG, Cursor, Row, in_list, one, rows


def organisation(cur: Cursor, code: str) -> Row | None:
    """The current (else latest) version of one organisation."""
    return one(
        cur,
        "SELECT code, level, name, ons_code, postcode, lat, lon, imd_score, imd_quintile, population, "
        "trust_type, valid_from, valid_to FROM organisations WHERE code = ? "
        "ORDER BY valid_to IS NULL DESC, valid_from DESC LIMIT 1",
        [code],
    )


def organisation_with_parents(cur: Cursor, code: str) -> tuple[Row | None, list[Row]]:
    """One organisation (as ``organisation``) and its current parents (as ``parents``), in one query."""
    found = rows(
        cur,
        "WITH me AS (SELECT code, level, name, ons_code, postcode, lat, lon, imd_score, imd_quintile, population, "
        "trust_type, valid_from, valid_to FROM organisations WHERE code = ? "
        "ORDER BY valid_to IS NULL DESC, valid_from DESC LIMIT 1) "
        "SELECT 0 AS part, * FROM me UNION ALL "
        "SELECT 1 AS part, o.code, o.level, o.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
        "FROM relationships r JOIN organisations o "
        "ON o.code = r.parent_code AND o.level = r.parent_level AND o.valid_to IS NULL "
        "WHERE r.child_code = ? AND r.valid_to IS NULL",
        [code, code],
    )
    org = next(({k: v for k, v in row.items() if k != "part"} for row in found if row["part"] == 0), None)
    parents = [{"code": row["code"], "level": row["level"], "name": row["name"]}
               for row in found if row["part"] == 1]
    return org, parents


def parents(cur: Cursor, code: str) -> list[Row]:
    """The current parents of an organisation, one per level (ordered nearest first by the caller)."""
    return rows(
        cur,
        "SELECT o.code, o.level, o.name FROM relationships r JOIN organisations o "
        "ON o.code = r.parent_code AND o.level = r.parent_level AND o.valid_to IS NULL "
        "WHERE r.child_code = ? AND r.valid_to IS NULL",
        [code],
    )


def children_count(cur: Cursor, code: str) -> list[Row]:
    return rows(
        cur,
        "SELECT child_level AS level, count(*) AS n FROM relationships "
        "WHERE parent_code = ? AND valid_to IS NULL GROUP BY child_level ORDER BY n",
        [code],
    )


def descendants(cur: Cursor, code: str) -> list[str]:
    """Codes of every organisation currently linked under ``code`` (links are flat: one hop)."""
    found = cur.execute(
        "SELECT DISTINCT child_code FROM relationships WHERE parent_code = ? AND valid_to IS NULL", [code]
    ).fetchall()
    return [r[0] for r in found]


def search_organisations(
    cur: Cursor, text: str | None, level: str | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    conditions, params = [CURRENT_ORG], []
    if level:
        conditions.append("level = ?")
        params.append(level)
    if text:
        conditions.append("(code ILIKE ? OR name ILIKE ?)")
        params += [f"%{text}%", f"%{text}%"]
    where = " AND ".join(conditions)
    total = cur.execute(f"SELECT count(*) FROM organisations WHERE {where}", params).fetchone()[0]
    found = rows(
        cur,
        f"SELECT code, level, name, ons_code, imd_quintile, population, trust_type FROM organisations "
        f"WHERE {where} ORDER BY level, name, code LIMIT ? OFFSET ?",
        params + [limit, offset],
    )
    return found, int(total)


def organisation_names(cur: Cursor, codes: Sequence[str]) -> dict[str, str]:
    cond, params = in_list("code", list(codes))
    return dict(cur.execute(f"SELECT code, name FROM organisations WHERE {cond} AND {CURRENT_ORG}", params).fetchall())


def level_counts(cur: Cursor) -> list[Row]:
    return rows(cur, f"SELECT level, count(*) AS n FROM organisations WHERE {CURRENT_ORG} GROUP BY level")


# ---------------------------------------------------------------------- as frames (the mission)
def current_frame(cur: Cursor, columns: Sequence[str] = ("code", "level", "name")) -> pd.DataFrame:
    """The current organisations, with the columns asked for."""
    return cur.execute(f"SELECT {', '.join(columns)} FROM organisations WHERE {CURRENT_ORG}").df()


def names_frame(cur: Cursor) -> pd.DataFrame:
    """code, level and name of every organisation, closed ones too."""
    return cur.execute("SELECT code, level, name FROM organisations").df()


def current_links_frame(cur: Cursor) -> pd.DataFrame:
    """Every current child -> parent link (child_code, child_level, parent_code, parent_level)."""
    return cur.execute(
        "SELECT child_code, child_level, parent_code, parent_level FROM relationships WHERE valid_to IS NULL").df()


def icb_regions_frame(cur: Cursor) -> pd.DataFrame:
    """Each ICB's current region: org_code, region, region_name."""
    return cur.execute(
        "SELECT r.child_code AS org_code, r.parent_code AS region, o.name AS region_name "
        "FROM relationships r JOIN organisations o ON o.code = r.parent_code AND o.level = 'region' "
        "WHERE r.child_level = 'icb' AND r.parent_level = 'region' AND r.valid_to IS NULL").df()


def located(cur: Cursor) -> pd.DataFrame:
    """Every current organisation with coordinates: code, level, name, postcode, lat, lon (the gazetteer of
    find by postcode, uptake.reference.geo)."""
    return cur.execute(
        f"SELECT code, level, name, postcode, lat, lon FROM organisations WHERE {CURRENT_ORG} "
        "AND lat IS NOT NULL AND lon IS NOT NULL AND level <> 'england' ORDER BY code").df()


def practices_in_district(cur: Cursor, district: str) -> list[Row]:
    """Current GP practices whose postcode is in the postcode district (outward code) ``district``."""
    return rows(
        cur,
        f"SELECT code, name, postcode FROM organisations WHERE {CURRENT_ORG} AND level = 'practice' "
        "AND upper(split_part(postcode, ' ', 1)) = ? ORDER BY postcode, name",
        [district.upper()],
    )
