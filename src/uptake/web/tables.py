"""The tables shown on pages, each also downloadable as CSV and Excel (/download/NAME.csv|xlsx?...).

A table is built once by a function here and used twice: the page renders its display cells, the download
writes its raw values (fractions, not percentages; ISO dates; codes), so a spreadsheet gets numbers it can
calculate with. Access rules are applied here, so a download never shows more than the page would.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException

from uptake.catalogue.schemas import Indicator, Polarity
from uptake.safe_cells import safe_cell
from uptake.results import read
from uptake.results.schema import CHANGE_ROW, EQUITY_ROW, OPPORTUNITY_ROW, VALUE_ROW
from uptake.web.params import date_param
from uptake.web.access import Principal
from uptake.web.formatting import (
    ADOPTER_LABELS,
    band_label,
    BENCHMARK_LABELS,
    COMPARISON_COLOURS,
    COMPARISON_LABELS,
    indicator_value,
    interval,
    level_label,
    missing,
    number,
    period_label,
    pounds,
)


# ---------------------------------------------------------------------- formatting of changes and equity
CHANGE_LABELS = {"up": "Up", "down": "Down", "both": "Up and down"}


def change_meaning(indicator: Indicator | None, direction: str | None) -> str:
    """'improving' / 'worsening' for a change in the organisation's percentile, by the indicator's polarity
    (empty when the indicator has no polarity or the direction is mixed)."""
    if indicator is None or direction not in ("up", "down") or indicator.polarity == Polarity.NO_JUDGEMENT:
        return ""
    good = "up" if indicator.polarity == Polarity.HIGH_IS_GOOD else "down"
    return "improving" if direction == good else "worsening"


def change_colour(indicator: Indicator | None, direction: str | None) -> str:
    """Making Data Count colours: blue improving, orange worsening, grey otherwise."""
    return {"improving": "blue", "worsening": "orange"}.get(change_meaning(indicator, direction), "grey")


def ordinal(value: Any) -> str:
    """A percentile as an ordinal: 12.2 -> '12th'."""
    if missing(value):
        return "-"
    n = int(round(float(value)))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def signed(value: Any, digits: int = 1) -> str:
    """A difference with its sign (a real minus sign): +4.9, −2.4."""
    if missing(value):
        return "-"
    text = f"{abs(float(value)):,.{digits}f}"
    if round(float(value), digits) == 0:
        return text
    return ("+" if value > 0 else "\u2212") + text


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


@dataclass
class Column:
    key: str
    label: str
    #: display text from the row (default: str of the value)
    fmt: Callable[[dict], str] | None = None
    numeric: bool = False
    href: Callable[[dict], str | None] | None = None
    #: (text, colour) of an NHS.UK tag, or None
    tag: Callable[[dict], tuple[str, str] | None] | None = None

    def display(self, row: dict) -> str:
        if self.fmt is not None:
            return self.fmt(row)
        value = row.get(self.key)
        if missing(value):
            return "-"
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


@dataclass
class DataTable:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    params: dict[str, Any] = field(default_factory=dict)
    total: int | None = None
    note: str | None = None
    #: raw columns written to downloads (default: every key of the first row)
    raw_columns: list[str] | None = None

    def download_url(self, fmt: str) -> str:
        query = urlencode({k: v for k, v in self.params.items() if v not in (None, "")}, doseq=True)
        return f"/download/{self.name}.{fmt}" + (f"?{query}" if query else "")

    def raw_keys(self) -> list[str]:
        if self.raw_columns is not None:
            return self.raw_columns
        return list(self.rows[0].keys()) if self.rows else [c.key for c in self.columns]


class Context:
    """The request context: what every page section and table builder needs (a cursor on the snapshot,
    the catalogue, who is asking), and the organisations the request is about, each read once (with its
    parents) and handed to every section."""

    def __init__(self, cur, catalogue, principal: Principal):
        self.cur = cur
        self.catalogue = catalogue
        self.principal = principal
        self._orgs: dict[str, tuple] = {}

    def indicator(self, indicator_id: str | None) -> Indicator:
        if not indicator_id or indicator_id not in self.catalogue.indicators:
            raise HTTPException(404, f"unknown indicator {indicator_id!r}")
        return self.catalogue.indicators[indicator_id]

    def innovation_of(self, indicator_id: str) -> str | None:
        ind = self.catalogue.indicators.get(indicator_id)
        return ind.innovation if ind else None

    def _load(self, code: str) -> tuple[dict | None, list[dict]]:
        if code not in self._orgs:
            self._orgs[code] = read.organisations.organisation_with_parents(self.cur, code)
        return self._orgs[code]

    def organisation(self, code: str) -> dict:
        org, _ = self._load(code)
        if org is None:
            raise HTTPException(404, f"unknown organisation {code!r}")
        return dict(org)

    def peer_pack(self, code: str) -> tuple[list[dict], list[dict]]:
        """The organisation's peers and its indicators' peer figures (one query, once per request)."""
        key = f"peer-pack|{code}"
        if key not in self._orgs:
            self._orgs[key] = read.peers.peer_pack(self.cur, code, self.organisation(code)["level"])
        found = self._orgs[key]
        return [dict(r) for r in found[0]], [dict(r) for r in found[1]]

    def parents(self, code: str) -> list[dict]:
        """The organisation's current parents, one per level."""
        return [dict(row) for row in self._load(code)[1]]


def _org_link(row: dict, key: str = "org_code") -> str | None:
    return f"/organisations/{row[key]}" if row.get(key) else None


def _comparison_tag(row: dict) -> tuple[str, str] | None:
    value = row.get("comparison")
    if not value:
        return None
    return COMPARISON_LABELS.get(value, value), COMPARISON_COLOURS.get(value, "grey")


def synthetic_tag(row: dict) -> tuple[str, str] | None:
    return ("SYNTHETIC", "orange") if row.get("synthetic") else None


# ---------------------------------------------------------------------- builders
def league(ctx: Context, indicator: str, level: str, period: Any = None, page: int = 1, per_page: int | None = None):
    ind = ctx.indicator(indicator)
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    order = "value-asc" if ind.polarity == Polarity.LOW_IS_GOOD else "value-desc"
    limit = per_page
    offset = (max(page, 1) - 1) * per_page if per_page else 0
    rows, total = read.values.values(ctx.cur, indicator=indicator, level=level, period=day, limit=limit,
                                     offset=offset, order=order)
    for i, row in enumerate(rows):
        row["rank"] = offset + i + 1
    columns = [
        Column("rank", "Rank", numeric=True),
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=_org_link),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("ci95", "95% interval", fmt=lambda r: interval(ind, r["ci95_low"], r["ci95_high"])),
        Column("numerator", "Numerator", fmt=lambda r: number(r["numerator"]), numeric=True),
        Column("denominator", "Denominator", fmt=lambda r: number(r["denominator"]), numeric=True),
        Column("decile", "Decile", fmt=lambda r: number(r["decile"]), numeric=True),
        Column("comparison", "Compared with England", fmt=lambda r: "", tag=_comparison_tag),
    ]
    if ind.synthetic:
        columns.append(Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag))
    return DataTable(
        name="league", title=f"League table: {level_label(level, plural=True)}, {period_label(day, ind)}",
        columns=columns, rows=rows, total=total,
        params={"indicator": indicator, "level": level, "period": day.isoformat() if day else None},
        note=("Ranked so that the best value comes first ("
              + ("lowest" if ind.polarity == Polarity.LOW_IS_GOOD else "highest") + "); decile 10 is the top 10%."),
        raw_columns=["rank", *VALUE_ROW.column_names],
    )


def organisations(ctx: Context, text: str | None = None, level: str | None = None, page: int = 1,
                  per_page: int | None = None):
    limit = per_page or 100_000
    rows, total = read.organisations.search_organisations(ctx.cur, text, level, limit,
                                                          (max(page, 1) - 1) * (per_page or 0))
    columns = [
        Column("name", "Name", href=lambda r: f"/organisations/{r['code']}"),
        Column("code", "Code"),
        Column("level", "Type", fmt=lambda r: level_label(r["level"])),
        Column("imd_quintile", "Deprivation quintile (1 = most deprived)", numeric=True),
        Column("population", "Population or list size", fmt=lambda r: number(r["population"]), numeric=True),
    ]
    return DataTable("organisations", "Organisations", columns, rows, {"q": text, "level": level}, total)


def org_position(ctx: Context, code: str):
    """The organisation's latest value on every indicator, against England (public)."""
    org = ctx.organisation(code)
    rows = read.values.organisation_latest_values(ctx.cur, code)
    for row in rows:
        ind = ctx.catalogue.indicators.get(row["indicator"])
        row["indicator_title"] = ind.title if ind else row["indicator"]

    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [
        Column("indicator_title", "Indicator", href=lambda r: _innovation_href(ctx, r["indicator"])),
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind_of(r))),
        Column("value", "Value", fmt=lambda r: indicator_value(ind_of(r), r["value"]), numeric=True),
        Column("ci95", "95% interval", fmt=lambda r: interval(ind_of(r), r["ci95_low"], r["ci95_high"])),
        Column("england_value", "England", fmt=lambda r: indicator_value(ind_of(r), r["england_value"]), numeric=True),
        Column("decile", "Decile", fmt=lambda r: number(r["decile"]), numeric=True),
        Column("comparison", "Compared with England", fmt=lambda r: "", tag=_comparison_tag),
        Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag),
    ]
    return DataTable("organisation", f"{org['name']}: position on every indicator", columns, rows, {"code": code})


def _innovation_href(ctx: Context, indicator_id: str) -> str | None:
    ind = ctx.catalogue.indicators.get(indicator_id)
    return f"/innovations/{ind.innovation}?indicator={indicator_id}" if ind else None


def require_org_pack(ctx: Context, code: str) -> None:
    if not ctx.principal.may_see_org_pack(code):
        raise HTTPException(403, "the peer list of this organisation is not available to you")


def require_pack(ctx: Context, code: str, indicator: str) -> None:
    if not ctx.principal.may_see_pack(code, ctx.innovation_of(indicator)):
        raise HTTPException(403, "this organisation's innovation pack is not available to you")


def peers(ctx: Context, code: str):
    """The 10 most similar organisations, each with its latest values (restricted)."""
    org = ctx.organisation(code)
    require_org_pack(ctx, code)
    rows, _ = ctx.peer_pack(code)
    columns = [
        Column("rank", "Similarity rank", numeric=True),
        Column("peer_name", "Peer", fmt=lambda r: f"{r['peer_name'] or r['peer_code']} ({r['peer_code']})",
               href=lambda r: f"/organisations/{r['peer_code']}"),
        Column("distance", "Distance (smaller is more similar)", fmt=lambda r: number(r["distance"], 2), numeric=True),
    ]
    return DataTable("peers", f"The 10 organisations most similar to {org['name']}", columns, rows, {"code": code})


def peer_position(ctx: Context, code: str):
    """For each indicator the pack may show: the organisation against its peers' median and range."""
    org = ctx.organisation(code)
    mine = {r["indicator"]: r for r in read.values.organisation_latest_values(ctx.cur, code)}
    rows = []
    for row in ctx.peer_pack(code)[1]:
        if not ctx.principal.may_see_pack(code, ctx.innovation_of(row["indicator"])):
            continue
        own = mine.get(row["indicator"], {})
        ind = ctx.catalogue.indicators.get(row["indicator"])
        rows.append({**row, "indicator_title": ind.title if ind else row["indicator"], "value": own.get("value"),
                     "england_value": own.get("england_value")})

    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [
        Column("indicator_title", "Indicator"),
        Column("value", org["name"], fmt=lambda r: indicator_value(ind_of(r), r["value"]), numeric=True),
        Column("peer_median", "Peers' median", fmt=lambda r: indicator_value(ind_of(r), r["peer_median"]), numeric=True),
        Column("peer_range", "Peers' range",
               fmt=lambda r: interval(ind_of(r), r["peer_min"], r["peer_max"])),
        Column("england_value", "England", fmt=lambda r: indicator_value(ind_of(r), r["england_value"]), numeric=True),
    ]
    return DataTable("peer-position", f"{org['name']} against its 10 peers", columns, rows, {"code": code})


def nearby(ctx: Context, code: str, indicator: str):
    """Who nearby does it best: the 10 nearest organisations of the same level, best first (restricted)."""
    org = ctx.organisation(code)
    ind = ctx.indicator(indicator)
    require_pack(ctx, code, indicator)
    day = read.values.latest_period(ctx.cur, indicator, org["level"])
    rows = read.peers.nearby(ctx.cur, indicator, org["level"], day, code) if day else []
    reverse = ind.polarity != Polarity.LOW_IS_GOOD
    rows.sort(key=lambda r: (missing(r["value"]), -(r["value"] or 0) if reverse else (r["value"] or 0)))
    columns = [
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=_org_link),
        Column("distance_km", "Distance (km)", fmt=lambda r: number(r["distance_km"], 1), numeric=True),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("ci95", "95% interval", fmt=lambda r: interval(ind, r["ci95_low"], r["ci95_high"])),
        Column("comparison", "Compared with England", fmt=lambda r: "", tag=_comparison_tag),
    ]
    return DataTable("nearby", f"Who near {org['name']} does it best: {ind.title}, {period_label(day, ind)}",
                     columns, rows, {"code": code, "indicator": indicator})


def _opportunity_columns(ctx: Context, with_org: bool) -> list[Column]:
    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = []
    if with_org:
        columns.append(Column("org_name", "Organisation",
                              fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})", href=_org_link))
    else:
        columns.append(Column("indicator", "Indicator",
                              fmt=lambda r: ind_of(r).title if ind_of(r) else r["indicator"]))
    columns += [
        Column("benchmark", "If it matched", fmt=lambda r: BENCHMARK_LABELS.get(r["benchmark"], r["benchmark"])),
        Column("value", "Value now", fmt=lambda r: indicator_value(ind_of(r), r["value"]), numeric=True),
        Column("benchmark_value", "Benchmark", fmt=lambda r: indicator_value(ind_of(r), r["benchmark_value"]),
               numeric=True),
        Column("extra_patients", "Extra patients", fmt=lambda r: number(r["extra_patients"]), numeric=True),
        Column("extra_pounds", "Value (£)", fmt=lambda r: pounds(r["extra_pounds"]), numeric=True),
        Column("synthetic", "Data", fmt=lambda r: "", tag=synthetic_tag),  # SYNTHETIC follows the data
    ]
    return columns


def opportunity(ctx: Context, indicator: str, level: str, period: Any = None, benchmark: str | None = None,
                page: int = 1, per_page: int | None = None):
    """Each organisation's opportunity (restricted: only the rows the principal's role covers)."""
    ctx.indicator(indicator)
    principal = ctx.principal
    if not principal.signed_in:
        raise HTTPException(403, "organisation opportunity figures are for signed-in NHS users")
    if not principal.may_see_innovation(ctx.innovation_of(indicator)):
        raise HTTPException(403, "this indicator belongs to another innovation")
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    visible = principal.visible_orgs()
    rows, total = read.opportunity.opportunity(
        ctx.cur, indicator=indicator, level=level, period=day, benchmark=benchmark,
        org_codes=None if visible is None else sorted(visible), limit=per_page,
        offset=(max(page, 1) - 1) * per_page if per_page else 0,
    )
    return DataTable(
        "opportunity", f"Opportunity by organisation: {level_label(level, plural=True)}",
        _opportunity_columns(ctx, True), rows,
        {"indicator": indicator, "level": level, "period": day.isoformat() if day else None, "benchmark": benchmark},
        total, raw_columns=OPPORTUNITY_ROW.column_names,
    )


def org_opportunity(ctx: Context, code: str):
    """One organisation's opportunity on each indicator its principal may see (restricted)."""
    org = ctx.organisation(code)
    allowed = [i for i in ctx.catalogue.indicators if ctx.principal.may_see_pack(code, ctx.innovation_of(i))]
    if not allowed:
        raise HTTPException(403, "this organisation's innovation pack is not available to you")
    rows, _ = read.opportunity.opportunity(ctx.cur, org_codes=[code], indicators=allowed)
    latest: dict[tuple, dict] = {}
    for row in rows:  # the latest period of each indicator and benchmark
        key = (row["indicator"], row["benchmark"])
        if key not in latest or row["period"] > latest[key]["period"]:
            latest[key] = row
    rows = sorted(latest.values(), key=lambda r: (r["indicator"], r["benchmark"]))
    return DataTable("org-opportunity", f"Opportunity for {org['name']}", _opportunity_columns(ctx, False), rows,
                     {"code": code}, raw_columns=OPPORTUNITY_ROW.column_names)


def opportunity_totals(ctx: Context, indicator: str):
    ind = ctx.indicator(indicator)
    rows = read.opportunity.latest_national_opportunity(ctx.cur, indicator)
    columns = [
        Column("level", "Organisations compared", fmt=lambda r: level_label(r["level"], plural=True)),
        Column("benchmark", "If every organisation below it matched",
               fmt=lambda r: BENCHMARK_LABELS.get(r["benchmark"], r["benchmark"])),
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("extra_patients", "Extra patients in England", fmt=lambda r: number(r["extra_patients"]), numeric=True),
        Column("extra_pounds", "Value (£)", fmt=lambda r: pounds(r["extra_pounds"]), numeric=True),
    ]
    return DataTable("opportunity-totals", f"National opportunity: {ind.title}", columns, rows,
                     {"indicator": indicator})


def adoption(ctx: Context, indicator: str, level: str, page: int = 1, per_page: int | None = None):
    ind = ctx.indicator(indicator)
    rows, total = read.adoption.adoption(ctx.cur, indicator=indicator, level=level, limit=per_page,
                                         offset=(max(page, 1) - 1) * per_page if per_page else 0)
    columns = [
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=_org_link),
        Column("first_adopted", "First period above the adoption threshold",
               fmt=lambda r: period_label(r["first_adopted"], ind) if r["first_adopted"] else "Not yet"),
        Column("category", "Adopter category", fmt=lambda r: ADOPTER_LABELS.get(r["category"], r["category"] or "-")),
    ]
    return DataTable("adoption", f"Adoption: {level_label(level, plural=True)}", columns, rows,
                     {"indicator": indicator, "level": level}, total)


def deciles(ctx: Context, indicator: str, level: str):
    ind = ctx.indicator(indicator)
    rows = read.deciles.deciles(ctx.cur, indicator, level)
    columns = [Column("period", "Period", fmt=lambda r: period_label(r["period"], ind))] + [
        Column(f"p{k}", f"{k}th percentile", fmt=lambda r, k=k: indicator_value(ind, r[f"p{k}"]), numeric=True)
        for k in (10, 20, 30, 40, 50, 60, 70, 80, 90)
    ]
    return DataTable("deciles", f"Deciles of {level_label(level, plural=True)}", columns, rows,
                     {"indicator": indicator, "level": level})


def funnel(ctx: Context, indicator: str, level: str, period: Any = None):
    ind = ctx.indicator(indicator)
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    rows = read.funnel.funnel_points(ctx.cur, indicator, level, day) if day else []
    columns = [
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=_org_link),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("denominator", "Denominator", fmt=lambda r: number(r["denominator"]), numeric=True),
        Column("band", "Funnel position", fmt=lambda r: band_label(r["band"], r.get("side"))),
    ]
    return DataTable("funnel", f"Funnel plot data: {level_label(level, plural=True)}, {period_label(day, ind)}",
                     columns, rows, {"indicator": indicator, "level": level,
                                     "period": day.isoformat() if day else None})


def spc(ctx: Context, code: str, indicator: str):
    org = ctx.organisation(code)
    ind = ctx.indicator(indicator)
    rows = read.spc.spc(ctx.cur, indicator, org["level"], code)
    columns = [
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("centre", "Mean", fmt=lambda r: indicator_value(ind, r["centre"]), numeric=True),
        Column("lower", "Lower process limit", fmt=lambda r: indicator_value(ind, r["lower"]), numeric=True),
        Column("upper", "Upper process limit", fmt=lambda r: indicator_value(ind, r["upper"]), numeric=True),
        Column("special_cause", "Special cause",
               fmt=lambda r: "-" if r["special_cause"] in (None, "common-cause")
               else f"{r['special_cause'].capitalize()} ({r['rule'] or 'rule'})"),
    ]
    return DataTable("spc", f"SPC: {org['name']}, {ind.title}", columns, rows, {"code": code, "indicator": indicator})


def _change_columns(ctx: Context, with_org: bool) -> list[Column]:
    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    first = (Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
                    href=_org_link) if with_org else
             Column("indicator", "Indicator", fmt=lambda r: ind_of(r).title if ind_of(r) else r["indicator"],
                    href=lambda r: _innovation_href(ctx, r["indicator"])))
    return [
        first,
        Column("direction", "Direction", fmt=lambda r: change_meaning(ind_of(r), r["direction"]),
               tag=lambda r: (CHANGE_LABELS.get(r["direction"], r["direction"]),
                              change_colour(ind_of(r), r["direction"]))),
        Column("change_started", "Started", fmt=lambda r: period_label(r["change_started"], ind_of(r))),
        Column("last_alert", "Alerts", fmt=lambda r: _alerts_text(r, ind_of(r)),
               tag=lambda r: ("Ongoing", "aqua-green") if r["ongoing"] else None),
        Column("percentile", "Percentile",
               fmt=lambda r: f"{ordinal(r['percentile_before'])}\u00a0\u2192\u00a0{ordinal(r['percentile_latest'])}"),
        Column("percentile_change", "Change (percentile points)", fmt=lambda r: signed(r["percentile_change"]),
               numeric=True),
        Column("value", "Value",
               fmt=lambda r: f"{indicator_value(ind_of(r), r['value_before'])}\u00a0\u2192\u00a0"
                             f"{indicator_value(ind_of(r), r['value_latest'])}"),
    ]


def _alerts_text(row: dict, ind: Indicator | None) -> str:
    first, last = period_label(row["first_alert"], ind), period_label(row["last_alert"], ind)
    return first if first == last else f"{first} to {last}"


def changes(ctx: Context, indicator: str, level: str, period: Any = None, page: int = 1,
            per_page: int | None = None):
    """Each organisation's latest change detected by CUSUM up to the period, newest first (public)."""
    ind = ctx.indicator(indicator)
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    rows, total = read.changes.changes(ctx.cur, indicator=indicator, level=level, period=day, latest_only=True,
                                       limit=per_page, offset=(max(page, 1) - 1) * per_page if per_page else 0)
    return DataTable(
        "changes", f"Changes detected: {level_label(level, plural=True)}, up to {period_label(day, ind)}",
        _change_columns(ctx, True), rows, total=total,
        params={"indicator": indicator, "level": level, "period": day.isoformat() if day else None},
        note="Each organisation's latest change, newest first. Up and down are its percentile among "
             + level_label(level, plural=True) + " (100 = the highest value); the percentile and value are those "
             "before the change started and at its latest alert.",
        raw_columns=CHANGE_ROW.column_names,
    )


def org_changes(ctx: Context, code: str):
    """Every change detected by CUSUM for one organisation, on every indicator, newest first (public)."""
    org = ctx.organisation(code)
    rows, _ = read.changes.changes(ctx.cur, org_code=code, level=org["level"], latest_only=False)
    return DataTable("org-changes", f"Changes detected for {org['name']}", _change_columns(ctx, False), rows,
                     {"code": code}, raw_columns=CHANGE_ROW.column_names)


def change_series(ctx: Context, code: str, indicator: str):
    """One organisation's percentile series with its CUSUMs and alerts (the changes chart's figures)."""
    org = ctx.organisation(code)
    ind = ctx.indicator(indicator)
    rows = read.changes.change_series(ctx.cur, indicator, org["level"], code)
    columns = [
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("percentile", "Percentile", fmt=lambda r: number(r["percentile"], 1), numeric=True),
        Column("cusum_increase", "CUSUM up", fmt=lambda r: number(r["cusum_increase"], 1), numeric=True),
        Column("cusum_decrease", "CUSUM down", fmt=lambda r: number(r["cusum_decrease"], 1), numeric=True),
        Column("threshold_increase", "Threshold", fmt=lambda r: number(r["threshold_increase"], 1), numeric=True),
        Column("alert", "Alert", fmt=lambda r: {"increase": "Up", "decrease": "Down", "both": "Up and down"}.get(
            r["alert"], "-")),
    ]
    return DataTable("change-series", f"Percentile and CUSUM: {org['name']}, {ind.title}", columns, rows,
                     {"code": code, "indicator": indicator})


QUINTILE_LABELS = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}


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


def compare(ctx: Context, codes: list[str], indicator: str | None = None):
    """Chosen organisations side by side: the latest value of each indicator."""
    orgs = [ctx.organisation(code) for code in codes]
    by_indicator: dict[str, dict] = {}
    for org in orgs:
        for row in read.values.organisation_latest_values(ctx.cur, org["code"]):
            if indicator and row["indicator"] != indicator:
                continue
            entry = by_indicator.setdefault(row["indicator"], {"indicator": row["indicator"],
                                                               "england_value": row["england_value"]})
            entry[org["code"]] = row["value"]
            entry[f"{org['code']}_comparison"] = row["comparison"]
    rows = sorted(by_indicator.values(), key=lambda r: r["indicator"])

    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [Column("indicator", "Indicator", fmt=lambda r: ind_of(r).title if ind_of(r) else r["indicator"])]
    for org in orgs:
        columns.append(Column(org["code"], f"{org['name']} ({org['code']})",
                              fmt=lambda r, c=org["code"]: indicator_value(ind_of(r), r.get(c)), numeric=True))
    columns.append(Column("england_value", "England", fmt=lambda r: indicator_value(ind_of(r), r["england_value"]),
                          numeric=True))
    raw = ["indicator"] + [o["code"] for o in orgs] + ["england_value"]
    return DataTable("compare", "Comparison", columns, rows, {"codes": ",".join(codes), "indicator": indicator},
                     raw_columns=raw)


def batches(ctx: Context, indicator: str | None = None):
    rows = read.runs.batches(ctx.cur, indicator)
    columns = [
        Column("batch_id", "Batch", numeric=True),
        Column("indicator", "Indicator"),
        Column("source", "Source"),
        Column("file_name", "File"),
        Column("file_sha256", "SHA-256", fmt=lambda r: (r["file_sha256"] or "")[:12] + "…"),
        Column("row_count", "Rows", fmt=lambda r: number(r["row_count"]), numeric=True),
        Column("first_period", "Periods", fmt=lambda r: f"{r['first_period']} to {r['last_period']}"),
        Column("loaded_at", "Loaded (UTC)", fmt=lambda r: f"{r['loaded_at']:%Y-%m-%d %H:%M}"),
        Column("loaded_by", "Loaded by"),
    ]
    return DataTable("batches", "Every load into the analytics store", columns, rows, {"indicator": indicator})


def runs(ctx: Context):
    rows = read.runs.pipeline_runs(ctx.cur, limit=50)
    columns = [
        Column("run_id", "Run", numeric=True),
        Column("engine", "Engine"),
        Column("started_at", "Started (UTC)", fmt=lambda r: f"{r['started_at']:%Y-%m-%d %H:%M}"),
        Column("finished_at", "Finished (UTC)",
               fmt=lambda r: f"{r['finished_at']:%Y-%m-%d %H:%M}" if r["finished_at"] else "-"),
        Column("input_rows", "Observations read", fmt=lambda r: number(r["input_rows"]), numeric=True),
        Column("indicators", "Indicators", numeric=True),
        Column("uptake_version", "Uptake version"),
    ]
    return DataTable("runs", "Pipeline runs (uptake compute)", columns, rows)


def indicators(ctx: Context):
    rows = []
    for ind in ctx.catalogue.indicators.values():
        rows.append({
            "id": ind.id, "title": ind.title, "innovation": ind.innovation, "numerator": ind.numerator,
            "denominator": ind.denominator, "measure": ind.measure.value, "unit": ind.unit,
            "polarity": ind.polarity.value, "levels": ", ".join(lv.value for lv in ind.levels),
            "period": ind.period.value, "adoption_threshold": ind.adoption_threshold, "unit_cost": ind.unit_cost,
            "source": ind.source.name, "publisher": ind.source.publisher, "licence": ind.source.licence,
            "synthetic": ind.synthetic, "authored_by": ind.authored_by, "checked_by": ind.checked_by,
            "next_review": ind.next_review,
        })
    columns = [
        Column("title", "Indicator", href=lambda r: f"/data#{r['id']}"),
        Column("numerator", "Numerator"),
        Column("denominator", "Denominator"),
        Column("levels", "Collected at"),
        Column("period", "Period"),
        Column("source", "Source"),
        Column("synthetic", "Data", fmt=lambda r: "" if r["synthetic"] else "Real", tag=synthetic_tag),
    ]
    return DataTable("indicators", "Indicators", columns, rows)


BUILDERS: dict[str, Callable[..., DataTable]] = {
    "league": league,
    "organisations": organisations,
    "organisation": org_position,
    "peers": peers,
    "peer-position": peer_position,
    "nearby": nearby,
    "opportunity": opportunity,
    "org-opportunity": org_opportunity,
    "opportunity-totals": opportunity_totals,
    "adoption": adoption,
    "deciles": deciles,
    "funnel": funnel,
    "spc": spc,
    "changes": changes,
    "org-changes": org_changes,
    "change-series": change_series,
    "equity": equity,
    "equity-quintiles": equity_quintiles,
    "compare": compare,
    "batches": batches,
    "runs": runs,
    "indicators": indicators,
}


# ---------------------------------------------------------------------- downloads
def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def to_csv(table: DataTable) -> bytes:
    """The rows as CSV; text that a spreadsheet could run as a formula is neutralised (uptake.safe_cells)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = table.raw_keys()
    writer.writerow(keys)
    for row in table.rows:
        writer.writerow(["" if (value := _cell(row.get(k))) is None else safe_cell(value) for k in keys])
    # A byte-order mark so Excel opens the UTF-8 file with the right characters (£, –).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: DataTable, attribution: str) -> bytes:
    """The rows as an Excel workbook (with an About sheet). Every text cell is written as text, never as a
    formula, and neutralised as in CSV (uptake.safe_cells), so it stays inert if copied or re-saved as CSV."""
    # deferred: openpyxl is heavy and only this path needs it
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=table.name[:31])
    keys = table.raw_keys()
    bold = Font(bold=True)
    # deferred: openpyxl is heavy and only this path needs it
    from openpyxl.cell import WriteOnlyCell

    header = []
    for key in keys:
        cell = WriteOnlyCell(sheet, value=key)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        values = []
        for key in keys:
            value = _cell(row.get(key))
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)
            if isinstance(value, str):
                value = WriteOnlyCell(sheet, value=safe_cell(value))
                value.data_type = "s"  # openpyxl would make text starting with "=" a formula
            values.append(value)
        sheet.append(values)
    about = book.create_sheet(title="About")
    about.append([table.title])
    if table.note:
        about.append([table.note])
    about.append(["Values are fractions (0.5 = 50%) where the indicator is a proportion; dates are period starts."])
    about.append([attribution])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
