"""What the networks, barriers and adopters pages share: the person of a request, rendering with the app's
layout and this package's templates, a CSRF-checked form, a frame as a CSV or Excel download, the errors of
a form grouped by field, and the API's plumbing (a signed-in writer, the workflow database with its refusals
as 403 and its problems as 400, a cursor on the results snapshot)."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from jinja2 import ChoiceLoader, PackageLoader
from sqlalchemy.orm import Session

from uptake import ATTRIBUTION
from uptake.ecosystem.anchors import FieldProblems
from uptake.ecosystem.local_records import Refused
from uptake.errors import UptakeError
from uptake.mission.permissions import Who, who_for
from uptake.safe_cells import safe_cell, safe_frame
from uptake.store.db import session_scope
from uptake.web.forms import posted_form
from uptake.web.security import CSRF_HEADER, csrf_ok

DEMO_NOTE = "DEMO: a demonstration record, not a real organisation's"


def add_templates(app: FastAPI) -> None:
    """Add this package's templates to the app's loader (once)."""
    web = app.state.web
    loader = web.templates.loader
    if getattr(web, "_ecosystem_templates", False):
        return
    web.templates.loader = ChoiceLoader([loader, PackageLoader("uptake.web.ecosystem", "templates")])
    web._ecosystem_templates = True


def web_of(request: Request) -> Any:
    return request.app.state.web


def who_of(request: Request) -> Who:
    return who_for(web_of(request).principal(request))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    response = web_of(request).render(request, template, nav="ecosystem", **context)
    response.status_code = status_code
    response.headers["cache-control"] = "private, no-store"
    return response


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, behind its CSRF check (or an API token)."""
    return await posted_form(request, bearer_ok=True)


@contextmanager
def snapshot_cursor(request: Request) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A cursor on the web's snapshot of the results, or None when the workspace has no results yet."""
    web = web_of(request)
    if not web.workspace.analytics_path.exists():
        yield None
        return
    with web.snapshots.cursor() as (_, cur):
        yield cur


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                row[key] = value.date()
    return out


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes, dt.date)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def download(frame: pd.DataFrame, name: str, fmt: str, title: str) -> Response:
    """``frame`` as a CSV (with a byte-order mark for Excel) or an Excel workbook with an About sheet; text that
    a spreadsheet could run as a formula neutralised (uptake.safe_cells)."""
    if fmt == "csv":
        flat = frame.copy()
        for column in flat.columns:
            if flat[column].dtype == object:
                flat[column] = flat[column].map(lambda v: json.dumps(v, default=str)
                                                if isinstance(v, (dict, list)) else v)
        buffer = io.StringIO()
        safe_frame(flat).to_csv(buffer, index=False)
        return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})
    if fmt != "xlsx":
        raise HTTPException(404, f"there is no {fmt!r} download; use .csv or .xlsx")
    # deferred: openpyxl is heavy and only Excel downloads need it
    from openpyxl import Workbook
    # deferred: (openpyxl)
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=name[:31])
    sheet.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        cells = []
        for value in row:
            value = _cell(value)
            if isinstance(value, str):
                value = WriteOnlyCell(sheet, value=safe_cell(value))
                value.data_type = "s"
            cells.append(value)
        sheet.append(cells)
    about = book.create_sheet(title="About")
    about.append([title])
    about.append(["Rows marked demo or synthetic are demonstration records (DEMO/SYNTHETIC), not real data."])
    about.append([ATTRIBUTION])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": f'attachment; filename="{name}.xlsx"'})


# --- the API's plumbing -------------------------------------------------------------------------------


def api_caller(request: Request) -> None:
    """Every route reads the caller first (an unknown API token answers 401 on every route alike)."""
    who_of(request)


def api_writer(request: Request) -> Who:
    """The signed-in person making a change; CSRF-checked when they come with a session cookie."""
    who = who_of(request)
    if who.role == "public":
        raise HTTPException(401, "sign in, or send Authorization: Bearer TOKEN")
    if "authorization" not in request.headers and not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return who


@contextmanager
def api_db(request: Request, *, write: bool = False) -> Iterator[Session]:
    """A workflow-database session for the API: a refusal answers 403, a problem with the request 400 (with
    every field's problem), anything else the data refuse 400."""
    try:
        with session_scope(web_of(request).engine, write=write) as session:
            yield session
    except Refused as exc:
        raise HTTPException(403, str(exc)) from None
    except FieldProblems as exc:
        raise HTTPException(400, "; ".join(f"{field}: {text}" for field, text in exc.problems)) from None
    except UptakeError as exc:
        raise HTTPException(400, str(exc)) from None


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    value = _cell(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
