"""What the mission's pages share: the app state and the person of a request, rendering with the web app's
layout, the response cache for the public pages (anonymous visitors only, keyed by the results snapshot and
the stamp of the mission's published state in the workflow database), a cursor on the web's snapshot of the
results, the freshness of the ratings, rows of a frame for a template, a frame as a CSV download, and the
colours of statuses and ratings."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
from fastapi import Request
from fastapi.responses import Response

from uptake.errors import UptakeError
from uptake.mission.permissions import Who, who_for
from uptake.mission.ratings import freshness
from uptake.mission.results import no_store
from uptake.mission.stamp import published_stamp
from uptake.safe_cells import safe_frame
from uptake.store.db import session_scope

STATUS_COLOURS = {"met": "green", "on-trajectory": "blue", "not-distinguishable": "grey",
                  "off-trajectory": "orange", "missed": "red"}
RATING_COLOURS = {"outstanding": "green", "good": "blue", "requires-improvement": "orange", "inadequate": "red"}


def web_of(request: Request) -> Any:
    return request.app.state.web


def who_of(request: Request) -> Who:
    return who_for(web_of(request).principal(request))


def render(request: Request, template: str, **context: Any) -> Response:
    response = web_of(request).render(request, template, nav="mission", **context)
    response.headers["cache-control"] = "private, no-store"
    return response


async def cached(request: Request, build: Callable[[], Response]) -> Response:
    """A public mission page through the web's response cache (``Web.cached_page``): built once per results
    snapshot and mission stamp for visitors who are not signed in; built for each request (private,
    no-store) for signed-in people, whose pages differ by role."""
    web = web_of(request)
    return await web.cached_page(request, build, variant=lambda: mission_stamp(web))


def mission_stamp(web: Any) -> str:
    """What the public mission pages show from the workflow database (uptake.mission.stamp) to a reader of the
    current snapshot's publication, and the day (an assessment falls due at midnight)."""
    publication = web.snapshots.current.publication  # the results this reader sees (a prerender: the new ones)
    with session_scope(web.engine) as session:
        return f"{published_stamp(session, publication)}.{dt.date.today().isoformat()}"


@contextmanager
def results_cursor(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the web's snapshot of the results (the pages never open the analytics store file);
    UptakeError when the workspace has no analytics store yet."""
    web = web_of(request)
    path = web.workspace.analytics_path
    if not path.exists():
        raise no_store(path)
    with web.snapshots.cursor() as (_, cur):
        yield cur


def ratings_freshness(request: Request, session) -> Any:
    try:
        with results_cursor(request) as cur:
            return freshness(session, cur)
    except UptakeError:
        return freshness(session, None)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                row[key] = value.date()
    return out


def csv_download(frame: pd.DataFrame, name: str) -> Response:
    """A mission table as a CSV download: nested values as JSON text, formula-like text neutralised."""
    buffer = io.StringIO()
    flat = frame.copy()
    for column in flat.columns:
        if flat[column].dtype == object and flat[column].map(lambda v: isinstance(v, (dict, list))).any():
            flat[column] = flat[column].map(lambda v: json.dumps(v, sort_keys=True, default=str))
    safe_frame(flat).to_csv(buffer, index=False)
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"'})
