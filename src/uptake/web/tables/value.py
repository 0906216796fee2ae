"""Value across organisations (M20) tables: per ICB, the cost of closing the DOAC gap to primary care, the
savings to NHS trusts and to social care from the strokes avoided, the net and the transfer a pooled budget
would need for each side to gain (uptake.models.value over result_outcomes' gaps), and the model's inputs."""

from __future__ import annotations

from functools import lru_cache

from fastapi import HTTPException

from uptake.models import value
from uptake.results import read
from uptake.web.formatting import BENCHMARK_LABELS, missing, number, pounds
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import synthetic_tag
from uptake.web.tables.outcomes import with_interval


@lru_cache(maxsize=1)
def unit_draws() -> dict:
    return value.unit_draws(value.DRAWS, value.SEED)


def value_rows(cur, benchmark: str = "top-decile") -> list[dict]:
    """Each ICB's value rows (uptake.models.value.icb_value) from the snapshot's gaps."""
    if benchmark not in BENCHMARK_LABELS:
        raise HTTPException(404, f"unknown benchmark {benchmark!r}: one of {', '.join(BENCHMARK_LABELS)}")
    found = read.outcomes.gaps_by_icb(cur, value.INDICATOR, benchmark)
    gaps = [value.IcbGap(r["icb_code"], r["icb_name"], float(r["extra_units"]), int(r["organisations"]),
                         bool(r["synthetic"])) for r in found]
    rows = value.icb_value(gaps, unit_draws())
    for r, g in zip(rows, found):
        r["period"], r["level"], r["benchmark"] = g["period"], g["level"], benchmark
    return rows


def _money(key: str):
    return lambda r: with_interval(r[key], r[f"{key}_low"], r[f"{key}_high"], money=True)


def _transfer(r: dict) -> str:
    if r["p_both_gain"] < 0.5 or r["transfer"] <= 0:
        short = r["cost_primary_care"] - r["saving_nhs_trusts"] - r["saving_social_care"]
        return f"none lets both gain: savings cover {number(100 * (r['savings_cover'] or 0), 0)}% of the cost " \
               f"(shortfall {pounds(short)})"
    share = r["transfer_from_nhs_share"] or 0
    return (f"{with_interval(r['transfer'], r['transfer_low'], r['transfer_high'], money=True)}: "
            f"{number(100 * share, 0)}% from trusts, {number(100 * (1 - share), 0)}% from social care")


def value_icbs(ctx: Context, benchmark: str = "top-decile") -> DataTable:
    """One row per ICB: its DOAC gap, the cost to primary care, the savings by sector (95% intervals), the net
    and the transfer."""
    rows = value_rows(ctx.cur, benchmark)
    columns = [
        Column("icb_name", "ICB"),
        Column("extra_units", "Gap: extra DOAC items a month",
               fmt=lambda r: f"{number(r['extra_units'], 0)} items", numeric=True, breakable=True),
        Column("strokes_avoided", "Strokes avoided a year (95% interval)",
               fmt=lambda r: with_interval(r["strokes_avoided"], r["strokes_avoided_low"], r["strokes_avoided_high"]),
               numeric=True, breakable=True),
        Column("cost_primary_care", "Cost to primary care, £ a year (95% interval)", fmt=_money("cost_primary_care"),
               numeric=True, breakable=True),
        Column("saving_nhs_trusts", "Saving to NHS trusts, £ a year (95% interval)", fmt=_money("saving_nhs_trusts"),
               numeric=True, breakable=True),
        Column("saving_social_care", "Saving to social care, £ a year (95% interval)",
               fmt=_money("saving_social_care"), numeric=True, breakable=True),
        Column("net", "Net (savings minus cost), £ a year (95% interval)", fmt=_money("net"), numeric=True, breakable=True),
        Column("p_both_gain", "Chance both sides can gain",
               fmt=lambda r: f"{number(100 * r['p_both_gain'], 0)}%", numeric=True, breakable=True),
        Column("transfer", "Pooled-budget transfer to primary care", fmt=_transfer, breakable=True),
        Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag),
    ]
    label = BENCHMARK_LABELS.get(benchmark, benchmark)
    return DataTable("value-icbs", f"Who pays and who saves, per ICB: closing the DOAC gap to the {label}", columns,
                     rows, {"benchmark": benchmark},
                     note="Money is pounds a year (first-year costs of the strokes avoided); items are prescription "
                          "items, not patients.")


def value_inputs(ctx: Context) -> DataTable:
    """Every input of the value model with its source (params/value.yaml)."""
    p = value.parameters()
    rows = [dict(key=q.key, value=q.value, low=q.low, high=q.high, distribution=q.distribution, source=q.source,
                 note=q.note) for q in p.every()]
    columns = [
        Column("key", "Input", breakable=True),
        Column("value", "Value (£)", fmt=lambda r: f"{r['value']:,.2f}", numeric=True),
        Column("low", "95% interval", fmt=lambda r: "exact" if missing(r["low"]) else
               f"{r['low']:,.2f} to {r['high']:,.2f} ({r['distribution']})"),
        Column("source", "Source"),
    ]
    return DataTable("value-inputs", f"The value model's inputs (params/value.yaml, version {p.version})", columns,
                     rows)
