"""Static files, boundaries, the local API documentation page and the health check."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from uptake.web.assets import Asset

router = APIRouter(include_in_schema=False)

MAP_LEVELS = ("icb", "sub-icb")


def asset_response(request: Request, asset: Asset | None, *, immutable: bool) -> Response:
    if asset is None:
        raise HTTPException(404, "no such file")
    headers = {
        "etag": asset.etag,
        "cache-control": "public, max-age=31536000, immutable" if immutable else "public, max-age=3600",
        "vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/static/{path:path}")
async def static(path: str, request: Request) -> Response:
    web = request.app.state.web
    return asset_response(request, web.assets.get("static", path), immutable="v" in request.query_params)


@router.get("/assets/{path:path}")
async def nhsuk_assets(path: str, request: Request) -> Response:
    web = request.app.state.web
    return asset_response(request, web.assets.get("assets", path), immutable=False)


@router.get("/favicon.ico")
async def favicon(request: Request) -> Response:
    return await nhsuk_assets("images/favicon.ico", request)


@router.get("/geo/{level}.json")
def boundaries(level: str, request: Request) -> Response:
    """Boundaries of ICBs or sub-ICB locations (WGS84 GeoJSON; properties code, ons_code, name)."""
    if level not in MAP_LEVELS:
        raise HTTPException(404, f"no boundaries for level {level!r}; maps are drawn for {', '.join(MAP_LEVELS)}")
    web = request.app.state.web
    key = f"geo:{level}"
    asset = web.assets._cache.get(key)
    if asset is None:
        collection = web.boundaries(level)
        if collection is None:
            raise HTTPException(404, f"no boundaries are bundled for {level}")
        body = json.dumps(collection, separators=(",", ":")).encode("utf-8")
        asset = web.assets.json_asset(key, body)
    return asset_response(request, asset, immutable=False)


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI, with its JavaScript and CSS served from this app (swagger-ui-dist from npm)."""
    web = request.app.state.web
    page = web.templates.get_template("swagger.html").render(request=request)
    return HTMLResponse(page)


@router.get("/healthz")
async def health(request: Request) -> JSONResponse:
    web = request.app.state.web
    snapshot = web.snapshots.current
    cache = web.cache
    return JSONResponse({"status": "ok", "snapshot": snapshot.version, "publication": snapshot.publication,
                         "tables": sorted(snapshot.tables),
                         "cache": {"entries": len(cache), "bytes": cache.size, "max_bytes": cache.max_bytes,
                                   "hits": cache.hits, "misses": cache.misses, "evictions": cache.evictions},
                         "prerender": web.last_prerender})
