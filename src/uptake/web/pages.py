"""The pages: Home, Innovation, Organisations, Organisation, Compare, Data and methods, About, and the
CSV/Excel download of every table. Pages read the result snapshot only; nothing is computed per request
beyond selecting and formatting rows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from uptake.catalogue.schemas import Indicator, Polarity
from uptake.results import read
from uptake.web import charts
from uptake.web import tables as t
from uptake.web.formatting import indicator_value, level_label, missing, period_label, polarity_text
from uptake.web.methods import METHODS
from uptake.web.params import date_param
from uptake import ATTRIBUTION

router = APIRouter(include_in_schema=False)

LEAGUE_PAGE = 25
CHANGES_SHOWN = 25
MAP_LEVELS = ("icb", "sub-icb")


def _web(request: Request):
    return request.app.state.web


def _levels_with_results(cur, indicator_id: str) -> list[dict]:
    return [r for r in read.values.indicator_levels(cur) if r["indicator"] == indicator_id]


def _how(cur, indicator: Indicator, method_keys: list[str], inputs: dict[str, Any], period: dt.date | None) -> dict:
    """The contents of a "how was this calculated" disclosure."""
    return {
        "methods": [METHODS[k] for k in method_keys],
        "inputs": inputs,
        "indicator": indicator,
        "batches": (read.runs.batches_for_period(cur, indicator.id, period) if period
                    else read.runs.batches(cur, indicator.id)[-1:]),
    }


def _partial(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get("hx-history-restore-request")


# ---------------------------------------------------------------------- home
@router.get("/")
async def home(request: Request) -> Response:
    web = _web(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            has_results = snapshot.has("result_values")
            summaries = []
            for innovation in web.catalogue.innovations.values():
                indicators = [i for i in web.catalogue.indicators.values() if i.innovation == innovation.id]
                rows = [_indicator_summary(cur, snapshot, ind) for ind in indicators] if has_results else []
                summaries.append({"innovation": innovation, "indicators": [r for r in rows if r]})
            counts = ({r["level"]: r["n"] for r in read.organisations.level_counts(cur)}
                      if snapshot.has("organisations") else {})
        return web.render(request, "home.html", summaries=summaries, counts=counts, has_results=has_results,
                          nav="home")

    return await web.cached_page(request, build)


def _indicator_summary(cur, snapshot, ind: Indicator) -> dict | None:
    levels = _levels_with_results(cur, ind.id)
    if not levels:
        return None
    england = read.values.headline_series(cur, ind.id)  # the latest complete period, never a partial one
    provisional = read.runs.provisional_periods(cur, ind.id)
    latest = england[-1] if england else None
    earlier = england[-13] if len(england) >= 13 else (england[0] if england else None)
    decile_level = next((lv.value for lv in ind.levels if any(r["level"] == lv.value for r in levels)), None)
    spread = read.deciles.deciles_at(cur, ind.id, decile_level, latest["period"]) if latest and decile_level and \
        snapshot.has("result_deciles") else None
    opportunity = []
    if snapshot.has("result_opportunity_totals"):
        opportunity = [r for r in read.opportunity.latest_national_opportunity(cur, ind.id, provisional)
                       if r["level"] == decile_level and r["benchmark"] == "top-decile"]
    return {
        "indicator": ind, "latest": latest, "earlier": earlier, "spread": spread, "decile_level": decile_level,
        "opportunity": opportunity[0] if opportunity else None,
        "trend": [r["value"] for r in england[-24:]],
        "provisional": [p for p in provisional if latest is None or p > latest["period"]],
    }


# ---------------------------------------------------------------------- innovation
@router.get("/innovations")
def innovations(request: Request) -> Response:
    return RedirectResponse("/", status_code=303)


@router.get("/innovations/{innovation_id}")
async def innovation(
    request: Request,
    innovation_id: str,
    indicator: str | None = None,
    level: str | None = None,
    period: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    web = _web(request)
    item = web.catalogue.innovations.get(innovation_id)
    if item is None:
        raise HTTPException(404, f"no innovation {innovation_id!r}")
    own = [i for i in web.catalogue.indicators.values() if i.innovation == innovation_id]
    if indicator is not None and indicator not in {i.id for i in own}:
        raise HTTPException(404, f"innovation {innovation_id} has no indicator {indicator!r}")

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            ctx = _innovation_context(web, request, snapshot, cur, item, own, indicator, level, period, page)
        template = "partials/innovation_results.html" if _partial(request) else "innovation.html"
        return web.render(request, template, **ctx)

    return await web.cached_page(request, build)


def _innovation_context(web, request, snapshot, cur, item, own, indicator, level, period, page) -> dict:
    ctx: dict[str, Any] = {"innovation": item, "indicators": own, "nav": "home", "results": None}
    if not snapshot.has("result_values") or not own:
        return ctx
    with_results = [i for i in own if _levels_with_results(cur, i.id)]
    ind = web.catalogue.indicators[indicator] if indicator else (with_results[0] if with_results else own[0])
    levels = [r["level"] for r in _levels_with_results(cur, ind.id) if r["level"] != "england"]
    ctx.update(indicator=ind, levels=levels)
    if not levels:
        return ctx
    default_level = next((lv.value for lv in ind.levels if lv.value in levels), levels[0])
    level = level or default_level
    if level not in levels:
        raise HTTPException(404, f"indicator {ind.id} has no results for level {level!r}")
    periods = read.values.periods(cur, ind.id, level)
    day = date_param(period) or (periods[-1] if periods else None)
    if day is not None and day not in periods:  # e.g. the level changed: the nearest earlier period
        day = max((p for p in periods if p <= day), default=periods[-1] if periods else None)
    tctx = t.Context(cur, web.catalogue, web.principal(request))
    values_rows, _ = read.values.values(cur, indicator=ind.id, level=level, period=day)
    map_level = level if level in MAP_LEVELS else ("icb" if "icb" in levels else None)
    map_rows = values_rows if map_level == level else (
        read.values.values(cur, indicator=ind.id, level=map_level, period=day)[0] if map_level else [])
    england = read.values.series(cur, ind.id, "england")
    regions = read.values.series(cur, ind.id, "region")
    decile_rows = read.deciles.deciles(cur, ind.id, level) if snapshot.has("result_deciles") else []
    inputs = {
        "Indicator": f"{ind.title} ({ind.id})",
        "Numerator": ind.numerator,
        "Denominator": ind.denominator,
        "Organisations": f"{len(values_rows):,} {level_label(level, plural=True)}",
        "Period": period_label(day, ind),
    }
    results: dict[str, Any] = {
        "level": level, "period": day, "periods": periods,
        "s_curve": charts.s_curve(ind, england, regions, decile_rows, level),
        "how_s_curve": _how(cur, ind, ["s_curve", "value", "deciles"], inputs, day),
        "map": charts.map_spec(ind, map_level, day, map_rows) if map_level and day else None,
        "map_level": map_level,
        "how_map": _how(cur, ind, ["map", "value"], {**inputs, "Map of": level_label(map_level or "", True)}, day),
        "league": t.league(tctx, ind.id, level, day, page=page, per_page=LEAGUE_PAGE),
        "league_page": page,
        "how_league": _how(cur, ind, ["league", "value", "interval", "comparison", "deciles"], inputs, day),
        "comparisons": read.values.comparison_counts(cur, ind.id, level, day) if day else [],
    }
    if snapshot.has("result_funnel") and day:
        points = read.funnel.funnel_points(cur, ind.id, level, day)
        curve = read.funnel.funnel_curve(cur, ind.id, level, day) if snapshot.has("result_funnel_curve") else []
        summary = (read.funnel.funnel_summary(cur, ind.id, level, day) if snapshot.has("result_funnel_summary")
                   else None)
        centre = summary["benchmark"] if summary else next(
            (r["value"] for r in read.values.series(cur, ind.id, "england") if r["period"] == day), None)
        results["funnel"] = charts.funnel(ind, level, day, points, curve, centre) if points else None
        results["funnel_summary"] = summary
        results["funnel_table"] = t.funnel(tctx, ind.id, level, day)
        funnel_inputs = dict(inputs)
        if summary:
            funnel_inputs["Limits"] = summary["method"] + (
                f" (overdispersion adjusted: phi {summary['phi']:.2f}, tau² {summary['tau2']:.2g})"
                if summary["overdispersion_adjusted"] else "")
            funnel_inputs["Centre (England)"] = indicator_value(ind, summary["benchmark"])
            if summary["warnings"]:
                funnel_inputs["Warnings"] = summary["warnings"]
        results["how_funnel"] = _how(cur, ind, ["funnel", "value"], funnel_inputs, day)
    if snapshot.has("result_opportunity_totals"):
        results["opportunity_totals"] = t.opportunity_totals(tctx, ind.id)
        results["how_opportunity"] = _how(cur, ind, ["opportunity"], {
            **inputs, "Unit cost": f"£{ind.unit_cost:,.0f} per patient" if ind.unit_cost else "not defined"}, day)
    principal = tctx.principal
    if snapshot.has("result_opportunity") and principal.signed_in and day and principal.may_see_innovation(
            ind.innovation):
        results["opportunity"] = t.opportunity(tctx, ind.id, level, day, benchmark="top-decile", per_page=25)
    if snapshot.has("result_adoption"):
        categories = read.adoption.adoption_categories(cur, ind.id, level)
        curve = read.adoption.adoption_curve(cur, ind.id, level)
        total = sum(r["n"] for r in categories)
        if categories:
            results["adoption_chart"] = charts.adoption(ind, level, categories, curve)
            results["adoption_curve"] = charts.adoption_curve(ind, level, curve, total) if curve else None
            results["adoption"] = t.adoption(tctx, ind.id, level, per_page=25)
            results["how_adoption"] = _how(cur, ind, ["adoption"], {
                **inputs, "Adoption threshold": indicator_value(ind, ind.adoption_threshold)
                if ind.adoption_threshold is not None else "not set"}, None)
    if snapshot.has("result_changes") and day:
        results.update(_changes_section(cur, snapshot, tctx, ind, level, day, inputs))
    if snapshot.has("result_equity"):
        results.update(_equity_section(cur, tctx, ind, level, levels, day, inputs))
    ctx["results"] = results
    return ctx


def _cusum_settings(cur, snapshot) -> dict[str, str]:
    """The CUSUM settings of the latest pipeline run, for "how was this calculated"."""
    raw = read.runs.pipeline_settings(cur) if snapshot.has("pipeline_runs") else None
    try:
        settings = json.loads(raw) if raw else {}
        settings = settings if isinstance(settings, dict) else {}
    except ValueError:
        settings = {}
    out = {}
    if settings.get("cusum_window") is not None:
        out["Reference window"] = f"{settings['cusum_window']} periods"
    if settings.get("cusum_sensitivity") is not None:
        out["Threshold"] = f"{settings['cusum_sensitivity']:g} standard deviations (allowance 0.5)"
    return out


def _changes_section(cur, snapshot, tctx, ind: Indicator, level: str, day: dt.date, inputs: dict) -> dict:
    table = t.changes(tctx, ind.id, level, day, per_page=CHANGES_SHOWN)
    counts = read.changes.change_counts(cur, ind.id, level, day)
    summary = {
        "total": sum(r["n"] for r in counts),
        "up": sum(r["n"] for r in counts if r["direction"] == "up"),
        "down": sum(r["n"] for r in counts if r["direction"] == "down"),
        "ongoing": sum(r["n"] for r in counts if r["ongoing"]),
        "ongoing_up": sum(r["n"] for r in counts if r["ongoing"] and r["direction"] == "up"),
        "ongoing_down": sum(r["n"] for r in counts if r["ongoing"] and r["direction"] == "down"),
    }
    return {
        "changes": table, "changes_summary": summary,
        "how_changes": _how(cur, ind, ["changes"], {**inputs, **_cusum_settings(cur, snapshot)}, day),
    }


def equity_sentence(ind: Indicator, level: str, row: dict) -> str:
    """The slope index of inequality in plain words."""
    orgs = level_label(level, plural=True)
    if missing(row.get("sii")):
        return (f"The {row['organisations']:,} {orgs} with a value are all in one deprivation quintile, so no "
                "slope can be fitted.")
    gap = t.gap_value(ind, row["sii"])
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
    text = f"95% interval {t.sii_interval(ind, row)} {t.gap_unit(ind)}".strip()
    if row["sii_ci95_low"] <= 0 <= row["sii_ci95_high"]:
        return text + ": the interval includes 0, so the gap may be chance."
    return text + ": the interval excludes 0, so the gap is unlikely to be chance alone."


def _equity_section(cur, tctx, ind: Indicator, level: str, levels: list[str], day, inputs: dict) -> dict:
    with_equity = [lv for lv in read.equity.equity_levels(cur, ind.id) if lv in levels]
    out: dict[str, Any] = {"equity_levels": with_equity, "equity": None}
    if level not in with_equity:
        return out
    row = t.equity_row(tctx, ind.id, level, day)
    if row is None:
        return out
    quintiles, placed = t.equity_quintiles_of(row, read.equity.equity_groups(cur, ind.id, level, row["period"]))
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
        f"{t.signed(row['sii'] * ind.multiplier)} {t.gap_unit(ind)}".strip(),
        "rii_text": None if missing(row.get("rii")) else t.signed(100 * row["rii"]) + "%",
        "interval_text": equity_interval_sentence(ind, row),
        "chart": charts.equity(ind, level, row["period"], row, quintiles, placed) if quintiles else None,
        "trend": charts.equity_trend(ind, level, history)
        if sum(1 for r in history if not missing(r["sii"])) > 1 else None,
        "table": t.equity_quintiles(tctx, ind.id, level, row["period"]),
        "periods_table": t.equity(tctx, ind.id, level),
        "how": _how(cur, ind, ["equity"], equity_inputs, row["period"]),
    }
    return out


# ---------------------------------------------------------------------- organisations
@router.get("/organisations")
async def organisations(
    request: Request,
    q_: Annotated[str | None, Query(alias="q", max_length=100)] = None,
    level: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    web = _web(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = t.Context(cur, web.catalogue, web.principal(request))
            table = t.organisations(tctx, q_ or None, level or None, page=page, per_page=50) \
                if snapshot.has("organisations") else None
            levels = ([r["level"] for r in read.organisations.level_counts(cur)] if snapshot.has("organisations")
                      else [])
        template = "partials/organisation_list.html" if _partial(request) else "organisations.html"
        return web.render(request, template, table=table, q=q_ or "", level=level or "", levels=sorted(levels),
                          page=page, per_page=50, nav="organisations")

    return await web.cached_page(request, build)


@router.get("/organisations/{code}")
async def organisation(request: Request, code: str, indicator: str | None = None) -> Response:
    web = _web(request)
    principal = await web.principal_async(request)
    if indicator is not None and indicator not in web.catalogue.indicators:
        raise HTTPException(404, f"unknown indicator {indicator!r}")

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = t.Context(cur, web.catalogue, principal)
            org = tctx.organisation(code)
            ctx: dict[str, Any] = {"org": org, "nav": "organisations", "parents": _ordered_parents(tctx, code)}
            if snapshot.has("result_values"):
                position = t.org_position(tctx, code)
                ctx["position"] = position
                measured = [r["indicator"] for r in position.rows]
                chosen = indicator or (measured[0] if measured else None)
                ctx["measured"] = [web.catalogue.indicators[i] for i in measured if i in web.catalogue.indicators]
                if chosen:
                    ind = tctx.indicator(chosen)
                    ctx["indicator"] = ind
                    latest = read.values.latest_period(cur, chosen, org["level"])
                    inputs = {"Indicator": f"{ind.title} ({ind.id})", "Organisation": f"{org['name']} ({code})",
                              "Numerator": ind.numerator, "Denominator": ind.denominator}
                    ctx["how_position"] = _how(cur, ind, ["value", "interval", "comparison", "deciles"], inputs,
                                               latest)
                    if snapshot.has("result_spc"):
                        rows = (read.spc.spc(cur, chosen, org["level"], code) if snapshot.has("result_spc_series")
                                else [])
                        if rows:
                            ctx["spc"] = charts.spc(ind, org["name"], rows)
                            ctx["spc_icons"] = rows[-1]
                            ctx["spc_table"] = t.spc(tctx, code, chosen)
                            ctx["how_spc"] = _how(cur, ind, ["spc"], inputs, latest)
                    if snapshot.has("result_changes") and org["level"] != "england":
                        ctx["changes"] = t.org_changes(tctx, code)
                        ctx["how_changes"] = _how(cur, ind, ["changes"], {
                            "Organisation": f"{org['name']} ({code})",
                            "Compared with": level_label(org["level"], plural=True),
                            **_cusum_settings(cur, snapshot)}, latest)
                        series = read.changes.change_series(cur, chosen, org["level"], code)
                        if any(r["percentile"] is not None for r in series):
                            mine = [r for r in ctx["changes"].rows if r["indicator"] == chosen]
                            ctx["change_chart"] = charts.change_series(ind, org["name"], org["level"], series, mine)
                            ctx["change_table"] = t.change_series(tctx, code, chosen)
                            ctx["change_count"] = len(mine)
                            ctx["how_change_chart"] = _how(cur, ind, ["changes"], {
                                **inputs, "Compared with": level_label(org["level"], plural=True),
                                **_cusum_settings(cur, snapshot)}, latest)
                    ctx["pack"] = _pack(tctx, snapshot, cur, org, ind, inputs, latest)
        template = "partials/organisation_indicator.html" if _partial(request) else "organisation.html"
        return web.render(request, template, **ctx)

    return await web.cached_page(request, build)


def _ordered_parents(tctx: t.Context, code: str) -> list[dict]:
    order = ["england", "region", "icb", "isdn", "sub-icb", "pcn"]
    rows = tctx.parents(code)
    return sorted(rows, key=lambda r: order.index(r["level"]) if r["level"] in order else 99)


def _pack(tctx: t.Context, snapshot, cur, org: dict, ind: Indicator, inputs: dict, latest) -> dict:
    """The innovation pack sections the principal may see (others are named, with how to get access)."""
    principal = tctx.principal
    code = org["code"]
    pack: dict[str, Any] = {"allowed": principal.may_see_pack(code, ind.innovation),
                            "org_allowed": principal.may_see_org_pack(code)}
    if pack["org_allowed"] and snapshot.has("result_peers"):
        pack["peers"] = t.peers(tctx, code)
        pack["how_peers"] = _how(cur, ind, ["peers"], inputs, latest)
    if snapshot.has("result_peers") and (pack["org_allowed"] or pack["allowed"]):
        pack["peer_position"] = t.peer_position(tctx, code)
    if pack["allowed"]:
        pack["nearby"] = t.nearby(tctx, code, ind.id)
        pack["how_nearby"] = _how(cur, ind, ["nearby", "value"], inputs, latest)
        if snapshot.has("result_opportunity"):
            pack["opportunity"] = t.org_opportunity(tctx, code)
            pack["how_opportunity"] = _how(cur, ind, ["opportunity"], inputs, latest)
    return pack


# ---------------------------------------------------------------------- compare
@router.get("/compare")
async def compare(
    request: Request,
    codes: Annotated[str | None, Query(max_length=200)] = None,
    indicator: str | None = None,
) -> Response:
    web = _web(request)
    chosen = [c.strip().upper() for c in (codes or "").replace(" ", ",").split(",") if c.strip()][:8]
    if indicator is not None and indicator not in web.catalogue.indicators:
        raise HTTPException(404, f"unknown indicator {indicator!r}")

    def build() -> Response:
        ctx: dict[str, Any] = {"codes": ", ".join(chosen), "nav": "compare", "indicator_id": indicator or ""}
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = t.Context(cur, web.catalogue, web.principal(request))
            unknown = ([c for c in chosen if read.organisations.organisation(cur, c) is None]
                       if snapshot.has("organisations") else chosen)
            ctx["unknown"] = unknown
            known = [c for c in chosen if c not in unknown]
            if known and snapshot.has("result_values"):
                table = t.compare(tctx, known, indicator)
                ctx["table"] = table
                ind_id = indicator or (table.rows[0]["indicator"] if table.rows else None)
                if ind_id:
                    ind = tctx.indicator(ind_id)
                    series: dict[str, list[dict]] = {}
                    for c in known:
                        org = read.organisations.organisation(cur, c)
                        series[f"{org['name']} ({c})"] = read.values.series(cur, ind_id, org["level"], [c])
                    ctx["chart"] = charts.compare(ind, series, read.values.series(cur, ind_id, "england"))
                    ctx["chart_indicator"] = ind
                    ctx["how"] = _how(cur, ind, ["value", "interval"], {
                        "Indicator": f"{ind.title} ({ind.id})", "Organisations": ", ".join(known)}, None)
        template = "partials/compare_results.html" if _partial(request) else "compare.html"
        return web.render(request, template, **ctx)

    return await web.cached_page(request, build)


# ---------------------------------------------------------------------- data and methods, about
@router.get("/data")
async def data_and_methods(request: Request) -> Response:
    web = _web(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = t.Context(cur, web.catalogue, web.principal(request))
            batches = t.batches(tctx) if snapshot.has("batches") else None
            runs = t.runs(tctx) if snapshot.has("pipeline_runs") else None
        return web.render(request, "data.html", indicators_table=t.indicators(t.Context(None, web.catalogue, None)),
                          batches=batches, runs=runs, methods=METHODS, nav="data")

    return await web.cached_page(request, build)


@router.get("/about")
async def about(request: Request) -> Response:
    web = _web(request)
    synthetic = [i for i in web.catalogue.indicators.values() if i.synthetic]
    return await web.cached_page(request, lambda: web.render(request, "about.html", synthetic=synthetic, nav="about"))


# ---------------------------------------------------------------------- downloads
@router.get("/download/{name}.{fmt}")
def download(request: Request, name: str, fmt: str) -> Response:
    """Any table on any page as CSV or Excel; the same access rules as the page."""
    web = _web(request)
    if name not in t.BUILDERS or fmt not in ("csv", "xlsx"):
        raise HTTPException(404, "no such download")
    params = dict(request.query_params)
    allowed = {
        "league": ("indicator", "level", "period"), "organisations": ("q", "level"),
        "organisation": ("code",), "peers": ("code",), "peer-position": ("code",), "nearby": ("code", "indicator"),
        "opportunity": ("indicator", "level", "period", "benchmark"), "org-opportunity": ("code",),
        "opportunity-totals": ("indicator",), "adoption": ("indicator", "level"), "deciles": ("indicator", "level"),
        "funnel": ("indicator", "level", "period"), "spc": ("code", "indicator"), "compare": ("codes", "indicator"),
        "changes": ("indicator", "level", "period"), "org-changes": ("code",), "change-series": ("code", "indicator"),
        "equity": ("indicator", "level"), "equity-quintiles": ("indicator", "level", "period"),
        "batches": ("indicator",), "runs": (), "indicators": (),
    }[name]
    kwargs = {k: v for k, v in params.items() if k in allowed and v != ""}
    if name == "compare":
        kwargs["codes"] = [c.strip() for c in kwargs.get("codes", "").split(",") if c.strip()][:8]
    with web.snapshots.cursor() as (snapshot, cur):
        tctx = t.Context(cur, web.catalogue, web.principal(request))
        try:
            table = t.BUILDERS[name](tctx, **kwargs)
        except TypeError:
            raise HTTPException(422, f"the {name} table needs: {', '.join(allowed)}") from None
        except Exception as exc:  # a result table missing from this workspace
            if exc.__class__.__name__ == "CatalogException":
                raise HTTPException(404, "this table has not been computed in this workspace") from None
            raise
    stem = "-".join([name] + [str(v) for v in kwargs.values() if isinstance(v, str)])[:120]
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in stem)
    if fmt == "csv":
        body, media = t.to_csv(table), "text/csv; charset=utf-8"
    else:
        body = t.to_xlsx(table, ATTRIBUTION)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="{stem}.{fmt}"',
        "cache-control": "private, no-store" if name in ("peers", "nearby", "opportunity", "org-opportunity",
                                                         "peer-position") else "no-cache",
    })

