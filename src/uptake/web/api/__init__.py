"""The JSON API, /api/v1: the same published results the pages show, for analysts and other systems.

- Lists are paginated: ``page`` (from 1) and ``per_page`` (1 to 1000, default 100); the response says
  ``total`` and ``pages`` and carries ``links`` (and a Link header) to the next and previous pages.
- Every response has an ETag; send it back in If-None-Match and an unchanged answer is 304 Not Modified.
  The ETag changes when the pipeline writes new results.
- Values are as stored: proportions as fractions (0.42, not 42%), dates as ISO period starts.
- Public data needs no credentials. Innovation-pack data (peers, opportunity by organisation) needs
  ``Authorization: Bearer TOKEN`` (or a signed-in browser session) and returns only what the role covers.

One module per family of results, each with its endpoints and response models (``me``, ``organisations``, ``nearest`` (find by postcode or place),
``profile`` (area profile, tartan rug, deciles chart),
``catalogue`` (innovations, indicators), ``values``, ``funnel``, ``spc``, ``peers``, ``opportunity``,
``adoption``, ``changes``, ``improvement`` (ranking by change), ``equity``, ``forecasts`` (Bass forecasts), ``provenance`` (batches)); ``common``: the answer with its ETag and
cache, pages of lists, query parameters; ``errors``: the one error model and the status codes the OpenAPI
document gives each route; ``router``: every endpoint, in this order (the order of the OpenAPI document).
"""

from fastapi import APIRouter, Depends, Request

from uptake.web.api import (
    adoption,
    catalogue,
    changes,
    equity,
    forecasts,
    funnel,
    improvement,
    me,
    nearest,
    opportunity,
    organisations,
    peers,
    profile,
    provenance,
    spc,
    values,
)
from uptake.web.api.errors import ETAG_RESPONSES

async def _caller(request: Request) -> None:
    """Every route reads the caller before anything else, so an unknown, revoked or malformed API token
    answers 401 on every route alike, whatever else is wrong with the request (the answer itself reads the
    same principal again from the request's state: common.respond)."""
    await request.app.state.web.principal_async(request)


router = APIRouter(dependencies=[Depends(_caller)])
for _module in (me, organisations, nearest, profile, catalogue, values, funnel, spc, peers, opportunity, adoption, changes,
                improvement, equity, forecasts, provenance):
    router.include_router(_module.router, responses=ETAG_RESPONSES)  # every answer has an ETag (common.respond)
