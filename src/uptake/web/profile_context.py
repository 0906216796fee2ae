"""The area profile's sections (the profile page and the board pack): the organisation on every indicator
against the benchmark with the spine chart and trends, what is worse and getting worse, and an area's tartan
rug."""

from __future__ import annotations

from typing import Any

from uptake.web import svg
from uptake.web.methods import METHODS
from uptake.web.tables.base import Context
from uptake.web.benchmarks import selector
from uptake.web.tables.profile import benchmark_of, profile, profile_rows, rug_of


def profile_context(snapshot, tctx: Context, code: str, level: str | None = None,
                    benchmark: str | None = None) -> dict[str, Any]:
    """What the profile page (and the board pack's profile section) shows: the organisation, its profile
    table with the spine chart, what is worse and getting worse, and the tartan rug of an area."""
    org = tctx.organisation(code)
    bench = benchmark_of(tctx, code, benchmark)
    order = ["england", "region", "icb", "isdn", "sub-icb", "pcn"]
    parents = sorted(tctx.parents(code), key=lambda r: order.index(r["level"]) if r["level"] in order else 99)
    ctx: dict[str, Any] = {"org": org, "nav": "organisations", "parents": parents, "benchmark": bench.key, "bench": bench,
                           "benchmark_name": bench.label,
                           "benchmark_options": selector(tctx.engine, tctx.principal, bench.key),
                           "methods": {k: METHODS[k] for k in ("spine", "comparison", "interval", "trend", "rug")}}
    if not snapshot.has("result_values"):
        return ctx
    rows = profile_rows(tctx, code, bench, trends=snapshot.has("result_spc_series"))
    ctx["profile_rows"] = rows
    ctx["profile"] = profile(tctx, code, bench, rows=rows)
    ctx["spine_key"] = svg.spine_key(ctx["benchmark_name"])
    ctx["worsening"] = [r for r in rows if r["worse_and_getting_worse"]]
    ctx["worse"] = [r for r in rows if r["comparison"] in ("worse", "worst")]
    ctx["improving"] = [r for r in rows if r.get("trend") == "improving"]
    if org["level"] not in ("practice", "trust") and snapshot.has("relationships"):
        ctx["rug"] = rug_of(tctx, code, level)  # coloured by the pipeline's comparison with England
    return ctx
