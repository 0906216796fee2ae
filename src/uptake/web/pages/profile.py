"""The area profile (/organisations/{code}/profile): an organisation on every indicator against England with a
Fingertips spine chart, its trends and what is "worse than England and getting worse", and for an area (an ICB,
a region) the tartan rug of its organisations; and the board pack (/organisations/{code}/pack.pdf), a PDF of
the profile, the deciles charts, the commitments, the rating, the plan and the opportunity (``board_pack``).

The benchmark is a parameter throughout (``?benchmark=``; only England, ``ENG``, is offered today)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from uptake.web.board_pack import pack_filename, render_board_pack
from uptake.web.mission.common import mission_stamp
from uptake.web.pages.common import web_of
from uptake.web.profile_context import profile_context
from uptake.web.pdf import PdfUnavailable, html_to_pdf
from uptake.web.state import CachedBody
from uptake.web.benchmarks import groups_stamp
from uptake.web.tables.base import Context
from uptake.web.tables.profile import check_benchmark

router = APIRouter(include_in_schema=False)


@router.get("/organisations/{code}/profile")
async def profile_page(request: Request, code: str, level: str | None = None,
                       benchmark: str | None = None) -> Response:
    web = web_of(request)
    principal = await web.principal_async(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            ctx = profile_context(snapshot, Context(cur, web.catalogue, principal, web.engine), code, level,
                                  benchmark)
        return web.render(request, "profile.html", **ctx)

    return await web.cached_page(request, build)


@router.get("/organisations/{code}/pack.pdf")
async def board_pack_pdf(request: Request, code: str, benchmark: str | None = None) -> Response:
    """The board pack of an organisation as a PDF (what the signed-in person may see of it), against the
    benchmark chosen (``?benchmark=``, England by default)."""
    web = web_of(request)
    principal = await web.principal_async(request)
    chosen = check_benchmark(benchmark)
    stamp = await run_in_threadpool(mission_stamp, web)
    group_stamp = await run_in_threadpool(groups_stamp, web.engine, principal) if chosen.startswith("group:") else ""
    key = (f"board-pack|{web.snapshots.current.version}|{stamp}|{principal.cache_key}|{code}|{chosen}"
           f"|{group_stamp}")
    hit = web.fresh_cache().get(key)
    if hit is None:
        html = await run_in_threadpool(lambda: render_board_pack(web, code, principal, benchmark=chosen))
        try:
            body = await run_in_threadpool(html_to_pdf, html)
        except PdfUnavailable as exc:
            raise HTTPException(503, f"The board pack cannot be made here: {exc}") from None
        hit = CachedBody.of(body, "application/pdf", '"' + key.replace('"', "") + '"')
        web.cache.put(key, hit)
    return Response(hit.body, media_type="application/pdf", headers={
        "content-disposition": f'attachment; filename="{pack_filename(code, chosen)}"',
        "cache-control": "private, no-store" if principal.signed_in else "no-cache"})
