"""The innovation page's sections on values: the S-curve of England, its regions and the deciles, the map,
and the league table of the chosen level."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web import charts
from uptake.web.formatting import level_label
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.values import league

LEAGUE_PAGE = 25
MAP_LEVELS = ("icb", "sub-icb")


def values_sections(cur, snapshot, tctx: Context, ind: Indicator, level: str, levels: list[str], day: dt.date | None,
                    page: int, values_rows: list[dict], inputs: dict) -> dict[str, Any]:
    map_level = level if level in MAP_LEVELS else ("icb" if "icb" in levels else None)
    map_rows = values_rows if map_level == level else (
        read.values.values(cur, indicator=ind.id, level=map_level, period=day)[0] if map_level else [])
    england = read.values.series(cur, ind.id, "england")
    regions = read.values.series(cur, ind.id, "region")
    decile_rows = read.deciles.deciles(cur, ind.id, level) if snapshot.has("result_deciles") else []
    return {
        "s_curve": charts.s_curve(ind, england, regions, decile_rows, level),
        "how_s_curve": how(cur, ind, ["s_curve", "value", "deciles"], inputs, day),
        "map": charts.map_spec(ind, map_level, day, map_rows) if map_level and day else None,
        "map_level": map_level,
        "how_map": how(cur, ind, ["map", "value"], {**inputs, "Map of": level_label(map_level or "", True)}, day),
        "league": league(tctx, ind.id, level, day, page=page, per_page=LEAGUE_PAGE),
        "league_page": page,
        "how_league": how(cur, ind, ["league", "value", "interval", "comparison", "deciles"], inputs, day),
        "comparisons": read.values.comparison_counts(cur, ind.id, level, day) if day else [],
    }
