"""The innovation page's adoption section: organisations by adopter category and the adoption curve."""

from __future__ import annotations

from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web import charts
from uptake.web.formatting import indicator_value
from uptake.web.pages.common import how
from uptake.web.tables.adoption import adoption
from uptake.web.tables.base import Context


def adoption_section(cur, tctx: Context, ind: Indicator, level: str, inputs: dict) -> dict[str, Any]:
    categories = read.adoption.adoption_categories(cur, ind.id, level)
    curve = read.adoption.adoption_curve(cur, ind.id, level)
    total = sum(r["n"] for r in categories)
    if not categories:
        return {}
    return {
        "adoption_chart": charts.adoption(ind, level, categories, curve),
        "adoption_curve": charts.adoption_curve(ind, level, curve, total) if curve else None,
        "adoption": adoption(tctx, ind.id, level, per_page=25),
        "how_adoption": how(cur, ind, ["adoption"], {
            **inputs, "Adoption threshold": indicator_value(ind, ind.adoption_threshold)
            if ind.adoption_threshold is not None else "not set"}, None),
    }
