"""Tables of equity (public): the slope index of inequality across deprivation (IMD) quintiles in every
period, and each quintile's value on the fitted slope for one period; and how a gap between two values reads."""

from __future__ import annotations

from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.results.schema import EQUITY_ROW
from uptake.web.formatting import indicator_value, level_label, missing, number, period_label
from uptake.web.params import date_param
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import signed

QUINTILE_LABELS = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}


def gap_unit(indicator: Indicator | None) -> str:
    """The unit of a difference between two values: percentage points for percentages."""
    if indicator is None:
        return ""
    return "percentage points" if indicator.unit == "%" else indicator.unit


def gap_value(indicator: Indicator | None, value: Any, digits: int = 1) -> str:
    """A difference between two values as shown: 0.042 -> '4.2 percentage points'."""
    if missing(value):
        return "-"
    scale = indicator.multiplier if indicator else 1.0
    return f"{abs(float(value)) * scale:,.{digits}f} {gap_unit(indicator)}".strip()


def sii_interval(indicator: Indicator | None, row: dict) -> str:
    """The simulated 95% interval of a slope index of inequality as shown: '+1.2 to +4.9' ('-' if none)."""
    low, high = row.get("sii_ci95_low"), row.get("sii_ci95_high")
    if missing(low) or missing(high):
        return "-"
    scale = indicator.multiplier if indicator else 1.0
    return f"{signed(low * scale)} to {signed(high * scale)}"


def equity_quintiles_of(row: dict | None, groups: list[dict]) -> tuple[list[dict], bool]:
    """The quintiles of one stored equity result, each with its organisations and population share, and
    whether they could be placed on the population axis of the slope.

    result_equity stores each quintile's value but not its population, so the populations come from the
    values and the organisations' quintiles (queries.equity_groups). They are used only if they reproduce
    the stored quintile values (the same organisations were pooled); otherwise the quintiles are listed
    without a position."""
    if not row:
        return [], False
    derived = {g["quintile"]: g for g in groups}
    stored = {k: row[f"value_q{k}"] for k in range(1, 6) if not missing(row.get(f"value_q{k}"))}
    placed = bool(stored) and set(stored) == set(derived) and all(
        not missing(derived[k]["value"]) and abs(derived[k]["value"] - v) <= 1e-9 * max(1.0, abs(v))
        for k, v in stored.items()) and all((derived[k]["population"] or 0) > 0 for k in stored)
    total = sum(derived[k]["population"] for k in stored) if placed else 0.0
    out, cumulative = [], 0.0
    for k in sorted(stored):
        group = derived.get(k, {})
        entry = {"indicator": row["indicator"], "level": row["level"], "period": row["period"], "quintile": k,
                 "quintile_label": QUINTILE_LABELS.get(k, str(k)), "organisations": group.get("organisations"),
                 "denominator": group.get("population"), "population_share": None, "ridit": None,
                 "value": stored[k], "fitted_value": None}
        if placed:
            share = derived[k]["population"] / total
            entry["population_share"] = share
            entry["ridit"] = cumulative + share / 2.0
            cumulative += share
            if not missing(row.get("sii")) and not missing(row.get("intercept")):
                entry["fitted_value"] = row["intercept"] + row["sii"] * entry["ridit"]
        out.append(entry)
    return out, placed


def equity_row(ctx: Context, indicator: str, level: str, period: Any = None) -> dict | None:
    """The stored equity result of the period, or of the latest earlier period that has one."""
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    rows, _ = read.equity.equity(ctx.cur, indicator=indicator, level=level)
    earlier = [r for r in rows if day is None or r["period"] <= day]
    return earlier[-1] if earlier else None


def equity_quintiles(ctx: Context, indicator: str, level: str, period: Any = None):
    """The value of each deprivation quintile and the fitted slope, for one period (public)."""
    ind = ctx.indicator(indicator)
    row = equity_row(ctx, indicator, level, period)
    groups = read.equity.equity_groups(ctx.cur, indicator, level, row["period"]) if row else []
    rows, _ = equity_quintiles_of(row, groups)
    day = row["period"] if row else date_param(period)
    columns = [
        Column("quintile_label", "Deprivation quintile (IMD)"),
        Column("organisations", "Organisations", fmt=lambda r: number(r["organisations"]), numeric=True),
        Column("population_share", "Share of the denominator",
               fmt=lambda r: "-" if missing(r["population_share"]) else f"{100 * r['population_share']:.1f}%",
               numeric=True),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("fitted_value", "On the fitted slope", fmt=lambda r: indicator_value(ind, r["fitted_value"]),
               numeric=True),
    ]
    return DataTable(
        "equity-quintiles",
        f"Value by deprivation quintile: {level_label(level, plural=True)}, {period_label(day, ind)}",
        columns, rows, {"indicator": indicator, "level": level, "period": day.isoformat() if day else None},
        raw_columns=["indicator", "level", "period", "quintile", "organisations", "denominator",
                     "population_share", "ridit", "value", "fitted_value"],
    )


def equity(ctx: Context, indicator: str, level: str):
    """The slope index of inequality in every period (public)."""
    ind = ctx.indicator(indicator)
    rows, _ = read.equity.equity(ctx.cur, indicator=indicator, level=level)
    rows.reverse()  # newest first
    columns = [
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("sii", "Slope index of inequality" + (" (percentage points)" if ind.unit == "%" else ""),
               fmt=lambda r: signed(None if missing(r["sii"]) else r["sii"] * ind.multiplier), numeric=True),
        Column("rii", "Relative index", fmt=lambda r: "-" if missing(r["rii"]) else signed(100 * r["rii"]) + "%",
               numeric=True),
        Column("sii_ci95", "SII 95% interval", fmt=lambda r: sii_interval(ind, r)),
    ] + [
        Column(f"value_q{k}", f"Quintile {QUINTILE_LABELS[k]}", fmt=lambda r, k=k: indicator_value(ind, r[f"value_q{k}"]),
               numeric=True)
        for k in range(1, 6)
    ] + [Column("organisations", "Organisations", fmt=lambda r: number(r["organisations"]), numeric=True)]
    return DataTable("equity", f"Slope index of inequality: {level_label(level, plural=True)}, every period",
                     columns, rows, {"indicator": indicator, "level": level},
                     raw_columns=EQUITY_ROW.column_names)
