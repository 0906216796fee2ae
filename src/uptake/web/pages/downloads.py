"""The CSV and Excel download of every table on every page (/download/NAME.csv|xlsx?...), under the same
access rules as the page."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from uptake import ATTRIBUTION
from uptake.web.pages.common import web_of
from uptake.web.tables.base import Context
from uptake.web.tables.files import to_csv, to_xlsx
from uptake.web.tables.registry import BUILDERS

router = APIRouter(include_in_schema=False)

#: the query parameters each table takes
PARAMETERS: dict[str, tuple[str, ...]] = {
    "league": ("indicator", "level", "period"), "organisations": ("q", "level"),
    "pathway-national": (), "pathway-units": ("scenario",),
    "organisation": ("code", "benchmark"), "peers": ("code",), "peer-position": ("code",), "nearby": ("code", "indicator"),
    "opportunity": ("indicator", "level", "period", "benchmark"), "org-opportunity": ("code",),
    "opportunity-totals": ("indicator",), "adoption": ("indicator", "level"), "deciles": ("indicator", "level"),
    "funnel": ("indicator", "level", "period"), "spc": ("code", "indicator"), "compare": ("codes", "indicator"),
    "changes": ("indicator", "level", "period"), "improvement": ("indicator", "level", "start", "end"),
    "nearest": ("near", "level"), "district-practices": ("near",), "org-changes": ("code",), "change-series": ("code", "indicator"),
    "equity": ("indicator", "level"), "equity-quintiles": ("indicator", "level", "period"),
    "batches": ("indicator",), "runs": (), "indicators": (),
    "outcomes-totals": ("indicator", "benchmark"), "outcomes": ("indicator", "level", "period", "benchmark"),
    "org-outcomes": ("code",), "impact": ("indicator",), "wealth-table": ("table",), "wealth-totals": (), "wealth-claims": (),
    "wealth-inputs": (), "value-icbs": ("benchmark",), "value-inputs": (),
    "forecasts": ("indicator", "level"), "forecast-trajectory": ("indicator", "level", "code"),
    "forecast-targets": ("framework", "commitment", "level"), "org-forecasts": ("code",),
    "org-forecast-targets": ("code",),
    "profile": ("code", "benchmark"), "rug": ("code", "level", "benchmark"), "org-deciles": ("code", "indicator", "benchmark"),
}
#: tables of the innovation pack: never kept by a shared cache
RESTRICTED = ("peers", "nearby", "opportunity", "org-opportunity", "peer-position", "outcomes", "org-outcomes")


@router.get("/download/{name}.{fmt}")
def download(request: Request, name: str, fmt: str) -> Response:
    """Any table on any page as CSV or Excel; the same access rules as the page."""
    web = web_of(request)
    if name not in BUILDERS or fmt not in ("csv", "xlsx"):
        raise HTTPException(404, "no such download")
    params = dict(request.query_params)
    allowed = PARAMETERS[name]
    kwargs = {k: v for k, v in params.items() if k in allowed and v != ""}
    if name == "compare":
        kwargs["codes"] = [c.strip() for c in kwargs.get("codes", "").split(",") if c.strip()][:8]
    with web.snapshots.cursor() as (snapshot, cur):
        tctx = Context(cur, web.catalogue, web.principal(request), web.engine)
        try:
            table = BUILDERS[name](tctx, **kwargs)
        except TypeError:
            raise HTTPException(422, f"the {name} table needs: {', '.join(allowed)}") from None
        except Exception as exc:  # a result table missing from this workspace
            if exc.__class__.__name__ == "CatalogException":
                raise HTTPException(404, "this table has not been computed in this workspace") from None
            raise
    stem = "-".join([name] + [str(v) for v in kwargs.values() if isinstance(v, str)])[:120]
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in stem)
    if fmt == "csv":
        body, media = to_csv(table), "text/csv; charset=utf-8"
    else:
        body = to_xlsx(table, ATTRIBUTION)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="{stem}.{fmt}"',
        "cache-control": "private, no-store" if name in RESTRICTED else "no-cache",
    })
