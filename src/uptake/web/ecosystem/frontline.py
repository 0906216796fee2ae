"""What the Innovation Award, innovation leads and time to innovate pages share: their templates on the app's
loader, the person of a request, the form a request posted (CSRF-checked), a results cursor that may be
absent, problems at a form's fields, and tables as CSV or Excel downloads."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from jinja2 import ChoiceLoader, PackageLoader

from uptake import ATTRIBUTION
from uptake.catalogue import Catalogue
from uptake.safe_cells import safe_cell, safe_frame
from uptake.web.mission.common import records, web_of, who_of
from uptake.ecosystem.frontline_rules import FieldProblems, NotAllowed
from uptake.errors import NotFound
from uptake.web.api.errors import responses
from uptake.web.security import CSRF_HEADER, csrf_ok

__all__ = ["WRITE_RESPONSES", "add_templates", "api_errors", "download", "optional_results",
           "records", "render", "units_of", "web_of", "who_of", "writer"]

#: What an API write may answer besides its success (the OpenAPI document lists them).
WRITE_RESPONSES = responses(
    400, 401, 403, 404,
    d400="The record cannot be saved as sent: the detail names each field and what is wrong (nothing is saved)",
    d401="Not signed in (send Authorization: Bearer TOKEN), or the API token is unknown, revoked or malformed",
    d403="The caller's role or organisation may not make this record (or a session without its X-CSRF-Token)",
    d404="No award scheme is loaded, or no such lead",
)


def writer(request: Request) -> Any:
    """The signed-in person making a change through the API; CSRF-checked when they come with a session."""
    who = who_of(request)
    if who.role == "public":
        raise HTTPException(401, "sign in, or send Authorization: Bearer TOKEN")
    if "authorization" not in request.headers and not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return who


@contextmanager
def api_errors() -> Iterator[None]:
    """A write's refusals as the API's one error model: a field problem 400 (naming each field), a role or
    organisation that may not 403, a missing scheme or lead 404."""
    try:
        yield
    except FieldProblems as exc:
        raise HTTPException(400, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None

_MARK = "uptake-frontline-templates"


def render(request: Request, template: str, **context: Any) -> Response:
    """A page in the web app's layout, under the "Award and leads" navigation item; never cached (pages differ
    by role)."""
    response = web_of(request).render(request, template, nav="frontline", **context)
    response.headers["cache-control"] = "private, no-store"
    return response


def add_templates(app: FastAPI) -> None:
    """Add this package's templates (templates_frontline/ecosystem/*.html) to the app's loader, once."""
    web = app.state.web
    if getattr(web, _MARK.replace("-", "_"), False):
        return
    web.templates.loader = ChoiceLoader([web.templates.loader,
                                         PackageLoader("uptake.web.ecosystem", "templates_frontline")])
    setattr(web, _MARK.replace("-", "_"), True)


@contextmanager
def optional_results(request: Request) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A cursor on the web's snapshot of the results, or None when the workspace has none yet."""
    web = web_of(request)
    if not web.workspace.analytics_path.exists():
        yield None
        return
    with web.snapshots.cursor() as (_, cur):
        yield cur


def units_of(catalogue: Catalogue) -> dict[str, str]:
    """What each indicator's numerator counts, in the plural ("prescription items"), for reach."""
    out = {}
    for indicator_id, indicator in catalogue.indicators.items():
        counts = indicator.counts
        out[indicator_id] = getattr(counts, "plural", None) or "counts of the numerator"
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def download(frame: pd.DataFrame, name: str, fmt: str, title: str) -> Response:
    """A table as CSV (UTF-8 with a byte-order mark, for Excel) or an Excel workbook with an About sheet;
    text that a spreadsheet could run as a formula is neutralised (uptake.safe_cells)."""
    flat = frame.copy()
    for column in flat.columns:
        flat[column] = flat[column].map(_cell)
    if fmt == "csv":
        buffer = io.StringIO()
        safe_frame(flat).to_csv(buffer, index=False)
        return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})
    if fmt != "xlsx":
        raise HTTPException(404, f"no download format {fmt}: csv or xlsx")
    # deferred: openpyxl is heavy and only this path needs it
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=name[:31])
    sheet.append(list(flat.columns))
    for row in flat.itertuples(index=False):
        sheet.append([None if v is None or (isinstance(v, float) and v != v) else safe_cell(v) for v in row])
    about = book.create_sheet(title="About")
    for line in (title, f"{len(flat)} rows", f"Downloaded {dt.date.today().isoformat()}", ATTRIBUTION):
        about.append([line])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": f'attachment; filename="{name}.xlsx"'})
