"""Cells shared by the tables of several result families: links to organisations and innovations, the
comparison and SYNTHETIC tags, and numbers shown with their sign or as ordinals."""

from __future__ import annotations

from typing import Any

from uptake.web.formatting import COMPARISON_COLOURS, COMPARISON_LABELS, missing, percentile
from uptake.web.tables.base import Context


def ordinal(value: Any) -> str:
    """A percentile in words: 12.2 -> '12th', never '0th' (formatting.percentile)."""
    return percentile(value)


def signed(value: Any, digits: int = 1) -> str:
    """A difference with its sign (a real minus sign): +4.9, −2.4."""
    if missing(value):
        return "-"
    text = f"{abs(float(value)):,.{digits}f}"
    if round(float(value), digits) == 0:
        return text
    return ("+" if value > 0 else "\u2212") + text


def org_link(row: dict, key: str = "org_code") -> str | None:
    return f"/organisations/{row[key]}" if row.get(key) else None


def innovation_href(ctx: Context, indicator_id: str) -> str | None:
    ind = ctx.catalogue.indicators.get(indicator_id)
    return f"/innovations/{ind.innovation}?indicator={indicator_id}" if ind else None


def comparison_tag(row: dict, words: str = "England") -> tuple[str, str] | None:
    """The comparison as a coloured tag; ``words`` names the benchmark when it is not England."""
    value = row.get("comparison")
    if not value:
        return None
    label = COMPARISON_LABELS.get(value, value)
    return (label.replace("England", words) if words != "England" else label), COMPARISON_COLOURS.get(value, "grey")


def synthetic_tag(row: dict) -> tuple[str, str] | None:
    return ("SYNTHETIC", "orange") if row.get("synthetic") else None
