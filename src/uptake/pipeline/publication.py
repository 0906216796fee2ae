"""Publications: every result a compute makes becomes visible at once, or not at all.

A *publication* is one set of result tables made visible together: the pipeline's tables and views, its row
of ``pipeline_runs``, the mission's attainment, missed opportunities and watch list, and (in the workflow
database) the draft rating run computed from them. ``uptake compute`` makes one; so does ``uptake ratings
compute`` (the mission's tables and a draft run over the results already published). It goes like this:

1. ``begin`` records the publication in the ``publications`` table as ``staged`` and commits, so its id is
   never reused (a publication left ``staged`` by a killed run is marked ``abandoned`` by the next one);
2. the pipeline writes its tables under staging names (uptake.pipeline.writer), each indicator in its own
   transaction;
3. ``publishing`` opens ONE DuckDB transaction in which the staged tables replace the published ones (drop
   and rename), the views are made again, the pipeline run is recorded, the mission reads the new results
   and writes its tables (uncommitted: only this transaction sees them), the draft rating run is committed
   to the workflow database recording the publication's id, and finally the publication is marked
   ``published`` and every table it replaced is stamped with it (a table comment:
   ``{"publication": id, "pipeline_run": id}``). Then COMMIT.

A reader (the web's snapshot, the command line, the mission) reads the tables under their own names, which are
always one whole publication: either all of the old set or all of the new. A kill before COMMIT leaves the
old set as it was (DuckDB discards the open transaction when the file is next opened); a kill after it has
left the new one whole. The only thing that can outlive a killed publication is its draft rating run (the
workflow database committed first), and a rating run is shown only when its publication was published
(uptake.mission.ratings), so a run whose publication never was is ignored.

Which set is current: the newest ``published`` row of ``publications`` (``uptake.results.read.runs.publication``).

Test hook: ``UPTAKE_TEST_PAUSE_IN_PUBLISH=<point>`` makes the process sleep at that point (after creating the
file named by ``UPTAKE_TEST_PUBLISH_SIGNAL``) so a test can kill it there; the points are ``PAUSE_POINTS``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from uptake.results.schema import PUBLICATIONS, VIEWS

#: Test hook: the point at which to pause (one of PAUSE_POINTS).
PAUSE_ENV = "UPTAKE_TEST_PAUSE_IN_PUBLISH"
#: Test hook: a file to create when the pause starts.
PAUSE_SIGNAL_ENV = "UPTAKE_TEST_PUBLISH_SIGNAL"
#: Test hook: seconds to pause (default 600).
PAUSE_SECONDS_ENV = "UPTAKE_TEST_PUBLISH_PAUSE_SECONDS"
PAUSE_POINTS = (
    "staged",             # the pipeline's tables are staged; the publication transaction has not begun
    "swapped",            # in the transaction: the new pipeline tables are in place, not committed
    "mission-written",    # in the transaction: the mission's tables are written, the rating run not yet stored
    "ratings-committed",  # the draft rating run is committed to the workflow database; DuckDB not yet
    "published",          # after COMMIT
)
_VIEW_NAMES = frozenset(v.name for v in VIEWS)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def pause(point: str) -> None:
    """Test hook (see PAUSE_ENV): sleep here so a test can kill the process at this point."""
    if os.environ.get(PAUSE_ENV) != point:
        return
    print(f"uptake: test pause in the publication ({point})", file=sys.stderr, flush=True)
    signal_file = os.environ.get(PAUSE_SIGNAL_ENV)
    if signal_file:
        Path(signal_file).write_text(f"{os.getpid()} {point}\n", encoding="utf-8")
    time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV, "600")))


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(PUBLICATIONS.ddl().replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))


def begin(con: duckdb.DuckDBPyConnection, kind: str) -> int:
    """A new publication's id, recorded as ``staged`` (committed, so it is never given out again). Publications
    still ``staged`` were left by a run that died: they are marked ``abandoned``. The caller holds the store's
    write lock, so no other publication is under way."""
    ensure_table(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("UPDATE publications SET state = 'abandoned' WHERE state = 'staged'")
        ((next_id,),) = con.execute("SELECT coalesce(max(publication_id), 0) + 1 FROM publications").fetchall()
        con.execute(
            "INSERT INTO publications (publication_id, kind, state, created_at) VALUES (?, ?, 'staged', ?)",
            [int(next_id), kind, _utcnow()],
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return int(next_id)


@dataclass
class Publication:
    """A publication being made, inside its transaction on ``con`` (see ``publishing``). Steps that write a
    table into it say so with ``replaced``; the mission sets ``rating_run``."""

    id: int
    kind: str
    con: duckdb.DuckDBPyConnection
    #: the pipeline run whose tables are published (the one just computed, or the one already published)
    pipeline_run: int | None = None
    #: the pipeline run the mission's tables were computed from (None: this publication did not write them)
    attainment_run: int | None = None
    #: the draft rating run stored in the workflow database with this publication
    rating_run: int | None = None
    #: table or view name -> the pipeline run it was computed from
    tables: dict[str, int | None] = field(default_factory=dict)

    def replaced(self, names: Iterable[str], pipeline_run: int | None) -> None:
        for name in names:
            self.tables[name] = pipeline_run


@contextmanager
def publishing(con: duckdb.DuckDBPyConnection, publication_id: int, kind: str) -> Iterator[Publication]:
    """ONE transaction on ``con``: the body replaces tables (and says which with ``Publication.replaced``);
    leaving the block marks the publication published, stamps the tables and commits. An exception rolls
    everything back (the publication stays ``staged`` until the next one marks it abandoned)."""
    con.execute("BEGIN TRANSACTION")
    try:
        found = con.execute(
            "SELECT pipeline_run, attainment_run FROM publications WHERE state = 'published' "
            "ORDER BY publication_id DESC LIMIT 1"
        ).fetchall()
        current = found[0] if found else None
        pub = Publication(publication_id, kind, con,
                          pipeline_run=current[0] if current else None,
                          attainment_run=current[1] if current else None)
        yield pub
        _record(pub)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    pause("published")


def _record(pub: Publication) -> None:
    con = pub.con
    con.execute(
        "UPDATE publications SET state = 'published', published_at = ?, pipeline_run = ?, attainment_run = ?, "
        "rating_run = ?, tables = ?::VARCHAR[] WHERE publication_id = ?",
        [_utcnow(), pub.pipeline_run, pub.attainment_run, pub.rating_run, sorted(pub.tables), pub.id],
    )
    for name, run in sorted(pub.tables.items()):
        stamp = json.dumps({"publication": pub.id, "pipeline_run": run}).replace("'", "''")
        kind = "VIEW" if name in _VIEW_NAMES else "TABLE"
        con.execute(f"COMMENT ON {kind} \"{name}\" IS '{stamp}'")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass
