"""The organisation page: its parents, its position on every indicator, and for the chosen indicator its SPC
chart, its deciles chart, its changes and its innovation pack (see ``sections``); choosing an indicator answers with that
fragment alone to htmx."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.web.pages.common import how, partial, web_of
from uptake.web.pages.sections.changes import changes_of, org_changes_section
from uptake.web.pages.sections.deciles import deciles_section
from uptake.web.pages.sections.forecast import org_forecast_section
from uptake.web.pages.sections.pack import pack_section
from uptake.web.pages.sections.spc import spc_section
from uptake.web.benchmarks import selector
from uptake.web.tables.base import Context
from uptake.web.tables.profile import benchmark_of
from uptake.web.tables.values import org_position

router = APIRouter(include_in_schema=False)


@router.get("/organisations/{code}")
async def organisation(request: Request, code: str, indicator: str | None = None,
                       benchmark: str | None = None) -> Response:
    web = web_of(request)
    principal = await web.principal_async(request)
    if indicator is not None and indicator not in web.catalogue.indicators:
        raise HTTPException(404, f"unknown indicator {indicator!r}")

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            ctx = _organisation_context(snapshot, cur, Context(cur, web.catalogue, principal, web.engine), code,
                                        indicator, benchmark)
        template = "partials/organisation_indicator.html" if partial(request) else "organisation.html"
        return web.render(request, template, **ctx)

    return await web.cached_page(request, build)


def _organisation_context(snapshot, cur, tctx: Context, code: str, indicator: str | None,
                          benchmark: str | None = None) -> dict[str, Any]:
    org = tctx.organisation(code)
    bench = benchmark_of(tctx, code, benchmark)
    ctx: dict[str, Any] = {"org": org, "nav": "organisations", "parents": _ordered_parents(tctx, code),
                           "bench": bench, "benchmark": bench.key,
                           "benchmark_options": selector(tctx.engine, tctx.principal, bench.key)}
    if not snapshot.has("result_values"):
        return ctx
    position = org_position(tctx, code, bench)
    ctx["position"] = position
    measured = [r["indicator"] for r in position.rows]
    chosen = indicator or (measured[0] if measured else None)
    ctx["measured"] = [tctx.catalogue.indicators[i] for i in measured if i in tctx.catalogue.indicators]
    if not chosen:
        return ctx
    ind = tctx.indicator(chosen)
    ctx["indicator"] = ind
    latest = read.values.latest_period(cur, chosen, org["level"])
    inputs = {"Indicator": f"{ind.title} ({ind.id})", "Organisation": f"{org['name']} ({code})",
              "Numerator": ind.numerator, "Denominator": ind.denominator}
    ctx["how_position"] = how(cur, ind, ["value", "interval", "comparison", "deciles"], inputs, latest)
    if snapshot.has("result_spc"):
        ctx.update(spc_section(cur, snapshot, tctx, org, ind, inputs, latest))
    over_time = None  # the deciles chart's rows, with the changes chart's (one question for both)
    with_changes = snapshot.has("result_changes") and org["level"] != "england"
    if snapshot.has("result_deciles") and org["level"] != "england":
        over_time = read.profile.org_deciles(cur, code, org["level"], chosen, with_changes=with_changes)
        ctx.update(deciles_section(cur, tctx, org, ind, inputs, latest, over_time, bench))
    if with_changes:
        ctx.update(org_changes_section(cur, snapshot, tctx, org, ind, inputs, latest,
                                       series=None if over_time is None else changes_of(over_time)))
    if snapshot.has("result_forecast_fits"):
        ctx.update(org_forecast_section(cur, tctx, org, ind, inputs))
    ctx["pack"] = pack_section(tctx, snapshot, cur, org, ind, inputs, latest)
    return ctx


def _ordered_parents(tctx: Context, code: str) -> list[dict]:
    order = ["england", "region", "icb", "isdn", "sub-icb", "pcn"]
    rows = tctx.parents(code)
    return sorted(rows, key=lambda r: order.index(r["level"]) if r["level"] in order else 99)
