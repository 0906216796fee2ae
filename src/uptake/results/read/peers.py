"""result_peers, and nearby organisations: who an organisation is compared with (the innovation pack on the
organisation page, the API's /peers, the mission's missed opportunities)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from uptake.results.read._sql import CURRENT_ORG, Cursor, Row, rows


def peers(cur: Cursor, org_code: str, level: str) -> list[Row]:
    return rows(
        cur,
        "SELECT p.peer_code, o.name AS peer_name, p.rank, p.distance FROM result_peers p "
        "LEFT JOIN organisations o ON o.code = p.peer_code AND o.valid_to IS NULL "
        "WHERE p.org_code = ? AND p.level = ? ORDER BY p.rank",
        [org_code, level],
    )


def peer_values(cur: Cursor, org_code: str, level: str) -> list[Row]:
    """For each indicator: the organisation's latest value and its peers' median, min and max then."""
    return peer_pack(cur, org_code, level)[1]


def peer_pack(cur: Cursor, org_code: str, level: str) -> tuple[list[Row], list[Row]]:
    """``peers`` and ``peer_values`` of one organisation in one query (the organisation page's pack)."""
    found = rows(
        cur,
        """
        WITH latest AS (
            SELECT indicator, max(period) AS period FROM result_values
            WHERE org_code = ? AND level = ? GROUP BY indicator
        ), peer AS (
            SELECT p.peer_code, o.name AS peer_name, p.rank, p.distance FROM result_peers p
            LEFT JOIN organisations o ON o.code = p.peer_code AND o.valid_to IS NULL
            WHERE p.org_code = ? AND p.level = ?
        ), stats AS (
            SELECT l.indicator, l.period,
                   median(v.value) AS peer_median, min(v.value) AS peer_min, max(v.value) AS peer_max,
                   count(v.value) AS peers
            FROM latest l JOIN result_values v
              ON v.indicator = l.indicator AND v.period = l.period AND v.level = ?
            WHERE v.org_code IN (SELECT peer_code FROM peer)
            GROUP BY l.indicator, l.period
        )
        SELECT 0 AS part, peer_code, peer_name, rank, distance, NULL AS indicator, NULL::DATE AS period,
               NULL::DOUBLE AS peer_median, NULL::DOUBLE AS peer_min, NULL::DOUBLE AS peer_max,
               NULL::BIGINT AS peers
        FROM peer
        UNION ALL
        SELECT 1, NULL, NULL, NULL, NULL, indicator, period, peer_median, peer_min, peer_max, peers FROM stats
        ORDER BY part, rank, indicator
        """,
        [org_code, level, org_code, level, level],
    )
    peer_rows = [{k: r[k] for k in ("peer_code", "peer_name", "rank", "distance")} for r in found if r["part"] == 0]
    value_rows = [{k: r[k] for k in ("indicator", "period", "peer_median", "peer_min", "peer_max", "peers")}
                  for r in found if r["part"] == 1]
    return peer_rows, value_rows


def nearby(
    cur: Cursor, indicator: str, level: str, period: dt.date, org_code: str, count: int = 10
) -> list[Row]:
    """The ``count`` nearest organisations of the same level (great-circle km between coordinates), with
    their value for the period; the caller orders them by polarity ("who nearby does it best")."""
    return rows(
        cur,
        f"""
        WITH me AS (SELECT lat, lon FROM organisations WHERE code = ? AND {CURRENT_ORG} LIMIT 1)
        SELECT v.org_code, v.org_name, v.value, v.ci95_low, v.ci95_high, v.comparison, v.denominator,
               round(2 * 6371 * asin(sqrt(
                   pow(sin(radians(o.lat - me.lat) / 2), 2)
                   + cos(radians(me.lat)) * cos(radians(o.lat)) * pow(sin(radians(o.lon - me.lon) / 2), 2)
               )), 1) AS distance_km
        FROM result_values v
        JOIN organisations o ON o.code = v.org_code AND o.{CURRENT_ORG}, me
        WHERE v.indicator = ? AND v.level = ? AND v.period = ? AND v.org_code <> ?
          AND o.lat IS NOT NULL AND me.lat IS NOT NULL
        ORDER BY distance_km LIMIT ?
        """,
        [org_code, indicator, level, period, org_code, count],
    )


def peer_links_frame(cur: Cursor) -> pd.DataFrame:
    """Every organisation's peers: level, org_code, peer_code."""
    return cur.execute("SELECT level, org_code, peer_code FROM result_peers").df()
