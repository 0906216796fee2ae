"""Bass diffusion forecasts (result_forecast_fits, result_forecasts, result_forecast_targets): each
organisation's fitted curve with its 95% intervals, its trajectory with a 95% band, and each NSF commitment's
time to target and probability of meeting the deadline. Method: docs/forecasts.md. Forecasts of a synthetic
indicator carry ``synthetic: true``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.results.schema import FORECAST_FIT_ROW, FORECAST_ROW, FORECAST_TARGET_ROW
from uptake.web.api.common import (
    LevelParam,
    Page,
    PageParam,
    PerPageParam,
    known_indicator,
    need,
    paged,
    respond,
    shape_model,
    web_of,
)
from uptake.web.api.errors import responses

router = APIRouter(prefix="/api/v1", tags=["forecasts"])

ForecastFitOut = shape_model(FORECAST_FIT_ROW, "ForecastFitOut", "One series' Bass fit (m, p, q per month, "
                             "95% intervals), or why it has no curve (status).")
ForecastOut = shape_model(FORECAST_ROW, "ForecastOut", "One month of a series: observed value, fitted curve "
                          "and 95% prediction band; forecast: past the last observed value.")
ForecastTargetOut = shape_model(FORECAST_TARGET_ROW, "ForecastTargetOut", "One organisation's forecast for "
                                "one commitment: value at the deadline, date the target is reached, probability.")


def _codes(org_code: str | None) -> list[str] | None:
    return [org_code] if org_code else None


@router.get("/forecasts", response_model=Page[ForecastFitOut], summary="Bass forecast fits per organisation",
            responses=responses(404))
async def forecasts(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    org_code: str | None = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    """Fitted Bass curves (m: the share the curve levels off at; p, q: coefficients of innovation and
    imitation per month; each with its 95% interval), pooling, fitted adoption date and adopter category."""
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_forecast_fits")
            rows, total = read.forecasts.fits(cur, indicator=indicator, level=level.value if level else None,
                                              org_codes=_codes(org_code), limit=per_page,
                                              offset=(page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)


@router.get("/forecasts/trajectories", response_model=Page[ForecastOut],
            summary="Bass forecast trajectories with their 95% band", responses=responses(404))
async def trajectories(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    org_code: str | None = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    """Observed value, fitted curve and 95% prediction band per organisation and month, to the horizon."""
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_forecasts")
            rows, total = read.forecasts.trajectories(cur, indicator=indicator,
                                                      level=level.value if level else None,
                                                      org_codes=_codes(org_code), limit=per_page,
                                                      offset=(page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)


@router.get("/forecasts/targets", response_model=Page[ForecastTargetOut],
            summary="Time to each NSF commitment's target and the probability of meeting its deadline",
            responses=responses(404))
async def targets(
    request: Request,
    framework: str | None = None,
    commitment: str | None = None,
    level: LevelParam | None = None,
    org_code: str | None = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    """Per commitment and organisation: the value forecast for the deadline's month (95% band), the date
    the fitted curve reaches the target (and the band's), and the probability of meeting the deadline."""
    web = web_of(request)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_forecast_targets")
            rows, total = read.forecasts.targets(cur, framework=framework, commitment=commitment,
                                                 level=level.value if level else None,
                                                 org_codes=_codes(org_code), limit=per_page,
                                                 offset=(page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)

