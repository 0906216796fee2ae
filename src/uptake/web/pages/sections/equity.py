"""The innovation page's equity section: the slope index of inequality across deprivation quintiles, in
words, as a chart and a table, and its trend over the periods."""

from __future__ import annotations

from typing import Any

from uptake.catalogue.schemas import Indicator, Polarity
from uptake.results import read
from uptake.web import charts
from uptake.web.formatting import indicator_value, level_label, missing, period_label, polarity_text
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.cells import signed
from uptake.web.tables.equity import (
    equity,
    equity_quintiles,
    equity_quintiles_of,
    equity_row,
    gap_unit,
    gap_value,
    sii_interval,
)


def equity_sentence(ind: Indicator, level: str, row: dict) -> str:
    """The slope index of inequality in plain words."""
    orgs = level_label(level, plural=True)
    if missing(row.get("sii")):
        return (f"The {row['organisations']:,} {orgs} with a value are all in one deprivation quintile, so no "
                "slope can be fitted.")
    gap = gap_value(ind, row["sii"])
    text = (f"The gap between the most and the least deprived areas is {gap}: the fitted value across "
            f"{orgs} ranked by deprivation goes from {indicator_value(ind, row['intercept'])} at the most "
            f"deprived end to {indicator_value(ind, row['intercept'] + row['sii'])} at the least deprived end.")
    if abs(row["sii"] * ind.multiplier) < 0.05:
        return text + " There is almost no difference by deprivation."
    higher_in_less = row["sii"] > 0
    text += " Values are higher in " + ("less" if higher_in_less else "more") + " deprived areas"
    if ind.polarity == Polarity.NO_JUDGEMENT:
        return text + "."
    deprived_worse = higher_in_less == (ind.polarity == Polarity.HIGH_IS_GOOD)
    return text + (", so the most deprived areas are worse off" if deprived_worse
                   else ", so the most deprived areas are better off") + f" ({polarity_text(ind)})."


def equity_interval_sentence(ind: Indicator, row: dict) -> str | None:
    """The SII's simulated 95% interval in words, and whether the gap may be chance (None without one)."""
    if missing(row.get("sii")) or missing(row.get("sii_ci95_low")) or missing(row.get("sii_ci95_high")):
        return None
    text = f"95% interval {sii_interval(ind, row)} {gap_unit(ind)}".strip()
    if row["sii_ci95_low"] <= 0 <= row["sii_ci95_high"]:
        return text + ": the interval includes 0, so the gap may be chance."
    return text + ": the interval excludes 0, so the gap is unlikely to be chance alone."


def equity_section(cur, tctx: Context, ind: Indicator, level: str, levels: list[str], day,
                   inputs: dict) -> dict:
    with_equity = [lv for lv in read.equity.equity_levels(cur, ind.id) if lv in levels]
    out: dict[str, Any] = {"equity_levels": with_equity, "equity": None}
    if level not in with_equity:
        return out
    row = equity_row(tctx, ind.id, level, day)
    if row is None:
        return out
    quintiles, placed = equity_quintiles_of(row, read.equity.equity_groups(cur, ind.id, level, row["period"]))
    history, _ = read.equity.equity(cur, indicator=ind.id, level=level)
    equity_inputs = {**inputs, "Period": period_label(row["period"], ind),
                     "Organisations": f"{row['organisations']:,} {level_label(level, plural=True)} with a value "
                                      "and a deprivation quintile",
                     "Quintiles": f"{row['quintiles']} of 5 represented"}
    if not placed and quintiles:
        equity_inputs["Note"] = ("the quintiles' populations could not be matched to the stored result, so the "
                                 "chart shows the values without the slope")
    out["equity"] = {
        "row": row, "period": row["period"], "exact": day is None or row["period"] == day,
        "sentence": equity_sentence(ind, level, row),
        "sii_text": None if missing(row.get("sii")) else
        f"{signed(row['sii'] * ind.multiplier)} {gap_unit(ind)}".strip(),
        "rii_text": None if missing(row.get("rii")) else signed(100 * row["rii"]) + "%",
        "interval_text": equity_interval_sentence(ind, row),
        "chart": charts.equity(ind, level, row["period"], row, quintiles, placed) if quintiles else None,
        "trend": charts.equity_trend(ind, level, history)
        if sum(1 for r in history if not missing(r["sii"])) > 1 else None,
        "table": equity_quintiles(tctx, ind.id, level, row["period"]),
        "periods_table": equity(tctx, ind.id, level),
        "how": how(cur, ind, ["equity"], equity_inputs, row["period"]),
    }
    return out
