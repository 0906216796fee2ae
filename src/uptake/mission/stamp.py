"""A stamp of what the public can see of the mission in the workflow database, read in one cheap query.

The web app keeps rendered pages for visitors who are not signed in, keyed by the version of its results
snapshot (uptake.web.state). The mission's pages also show what lives in the workflow database (published
ratings, framework versions, value assessments, published filings), which changes without the snapshot
changing: `uptake ratings publish`, `uptake nsf load`, a new assessment. Their cache key adds this stamp, so
the first anonymous request after such a change builds the page again.

Each part changes whenever what it stands for changes, and each is cheap on a large database:

- published ratings: how many there are (publishing only ever adds some: a published rating is never
  changed or removed), by the status index alone, and the newest rating run the public may be told of: with
  the ``publication`` of the results the reader sees, runs made with a later one are left out, as the pages
  leave them out (uptake.mission.ratings.freshness). A compute writes its draft run to the workflow database
  before its results are published; counting that run at once changed every cached mission page's key
  under a crowd, before anything the public sees had changed (measured: the slowest stretch of the load
  benchmark during a compute, docs/performance.md);
- framework versions: how many, and when the newest was loaded (a draft loaded again is replaced in place,
  with a new ``loaded_at``);
- value assessments: how many, the newest, and the sum of their row versions (flagging one as a duplicate
  adds one to its version);
- comply-or-justify filings: how many are published (a published filing never changes again).
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from uptake.store.mission_models import (
    ComplyOrJustifyFiling,
    InnovationRating,
    NsfFrameworkVersion,
    RatingRun,
    ValueAssessment,
)


def published_stamp(session: Session, publication: int | None = None) -> str:
    """The stamp: a short text that differs whenever anything public of the mission has changed, for a reader of
    the results of ``publication`` (None: every rating run counts)."""
    made_with = RatingRun.summary["publication"].as_integer()
    runs = [] if publication is None else [or_(made_with.is_(None), made_with <= publication)]
    parts = [
        select(func.count()).select_from(InnovationRating).where(InnovationRating.status == "published")
        .scalar_subquery(),
        select(func.max(RatingRun.id)).where(*runs).scalar_subquery(),
        select(func.count()).select_from(NsfFrameworkVersion).scalar_subquery(),
        select(func.max(NsfFrameworkVersion.loaded_at)).scalar_subquery(),
        select(func.count()).select_from(ValueAssessment).scalar_subquery(),
        select(func.max(ValueAssessment.id)).scalar_subquery(),
        select(func.coalesce(func.sum(ValueAssessment.version), 0)).scalar_subquery(),
        select(func.count()).select_from(ComplyOrJustifyFiling)
        .where(ComplyOrJustifyFiling.status == "published").scalar_subquery(),
    ]
    row = session.execute(select(*parts)).one()
    return ".".join("-" if value is None else str(value) for value in row)
