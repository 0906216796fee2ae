"""Web pages of the mission, server-rendered with the web app's layout (uptake.web templates, NHS.UK
frontend). Mount them with ``mount(app)`` after ``create_app`` builds the app: it adds the JSON API
(uptake.web.mission.api), these pages and this package's templates to the app's template loader.

Pages: /nsf (frameworks with national and regional progress), /nsf/{id} (a framework), /nsf/{id}/{commitment}
(trajectory chart and attainment table), /ratings and /ratings/{level}/{code} (a rating explained),
/plans (filings), /plans/new (the form an ICB analyst files with), /plans/{id} (a filing, its history and
review buttons), /plans/queue (the national review queue), /availability (availability gaps),
/assessments (value assessments with their due dates and status).
Every table downloads as CSV from /mission/download/{name}.csv with the same filters.

One module per concern: ``frameworks`` and ``commitments``, ``ratings``, ``plans`` (the filing form and the
review steps), ``availability``, ``assessments``, ``downloads``; ``common``: what they share. ``router``: every
page's routes, in this order.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from jinja2 import ChoiceLoader, PackageLoader

from uptake.mission.plans import actor_role
from uptake.web.mission import api, assessments, availability, commitments, downloads, frameworks, plans, ratings
from uptake.web.mission.common import RATING_COLOURS, STATUS_COLOURS

router = APIRouter()
for _module in (frameworks, commitments, ratings, plans, availability, assessments, downloads):
    router.include_router(_module.router)


def mount(app: FastAPI) -> None:
    """Add the mission's API and pages to the web app, and its templates to the app's loader."""
    web = app.state.web
    web.templates.loader = ChoiceLoader([web.templates.loader, PackageLoader("uptake.web.mission", "templates")])

    web.templates.globals.update(status_colours=STATUS_COLOURS, rating_colours=RATING_COLOURS, actor_role=actor_role)
    app.include_router(api.router)
    app.include_router(router)
