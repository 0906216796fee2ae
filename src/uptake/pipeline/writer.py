"""Writing results into the analytics store: staged, then swapped in atomically.

Results are far larger than memory at national scale, so each indicator's batch is appended to
*staging* tables (``_staging_<table>``) as it is computed. When every indicator is done, the publication's
one transaction (uptake.pipeline.publication) drops the previous ``result_*`` tables and views, renames the
staging tables into their place, creates the views over them and adds the ``pipeline_runs`` row (``swap``),
and the mission's tables join it before it commits: a reader sees the old results or the new ones, never a
mixture, and a run that fails (or is killed) leaves the previous results untouched. Staging tables left
behind by a killed run are dropped when the next run starts.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from uptake.results.schema import PIPELINE_RUNS, STORED_TABLES, VIEWS, ResultTable

STAGING_PREFIX = "_staging_"


def staging_name(table: ResultTable) -> str:
    return f"{STAGING_PREFIX}{table.name}"


class ResultWriter:
    def __init__(self, con: duckdb.DuckDBPyConnection, rows: dict[str, int] | None = None):
        self.con = con
        self.rows: dict[str, int] = rows if rows is not None else {t.name: 0 for t in STORED_TABLES}
        self._serial = 0

    def append_all(self, items: list[tuple[ResultTable, "pa.Table | Callable[[], pa.Table]"]]) -> None:
        """Append one indicator's tables in one transaction. A table may be given as a function that builds
        it (called here, so a ``BackgroundWriter`` builds it in its own thread)."""
        with self.batch():
            for table, data in items:
                self.append(table, data() if callable(data) else data)

    def start(self) -> None:
        self.drop_staging()
        for table in STORED_TABLES:
            self.con.execute(table.ddl(staging_name(table)))

    def drop_staging(self) -> None:
        leftover = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND starts_with(table_name, ?)",
            [STAGING_PREFIX],
        ).fetchall()
        for (name,) in leftover:
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group appends into one transaction (one commit per indicator rather than per table)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def append(self, table: ResultTable, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        if data.schema != table.schema:
            data = data.select(table.column_names).cast(table.schema)
        self._serial += 1
        view = f"_incoming_{self._serial}"
        self.con.register(view, data)
        try:
            self.con.execute(f'INSERT INTO "{staging_name(table)}" SELECT * FROM "{view}"')
        finally:
            self.con.unregister(view)
        self.rows[table.name] += data.num_rows

    def next_run_id(self) -> int:
        self.con.execute(PIPELINE_RUNS.ddl().replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
        return int(self.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM pipeline_runs").fetchall()[0][0])

    def swap(self, run: dict[str, Any]) -> None:
        """Replace the published tables with the staged ones, make the views again and record the run - inside
        the caller's transaction (a publication: uptake.pipeline.publication), which makes it visible."""
        existing = dict(
            self.con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        )
        for table in (*VIEWS, *STORED_TABLES):  # views first: they depend on the tables
            kind = existing.get(table.name)
            if kind == "VIEW":
                self.con.execute(f'DROP VIEW "{table.name}"')
            elif kind is not None:
                self.con.execute(f'DROP TABLE "{table.name}"')
        for table in STORED_TABLES:
            self.con.execute(f'ALTER TABLE "{staging_name(table)}" RENAME TO "{table.name}"')
        for view in VIEWS:
            self.con.execute(f'CREATE VIEW "{view.name}" AS {view.view}')
        self.con.execute(
            "INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, ?::BIGINT[], ?, ?::VARCHAR[], ?::JSON, ?::JSON, "
            "?::VARCHAR[], ?)",
            [
                run["run_id"],
                run["engine"],
                run["started_at"],
                run["finished_at"],
                list(run["input_batch_ids"]),
                run["input_rows"],
                list(run["indicators"]),
                json.dumps(run["row_counts"], sort_keys=True),
                json.dumps(run["settings"], sort_keys=True, default=str),
                list(run["warnings"]),
                run["uptake_version"],
            ],
        )


class BackgroundWriter:
    """Appends each indicator's results on a second connection (a DuckDB cursor) in a thread, so
    DuckDB writes one indicator (in C++, without the GIL) while NumPy computes the next. Tables given as
    functions (the large result_points batch) are also built in that thread. At most one indicator waits
    in the queue, so memory stays bounded. An error in the thread is raised in the caller at the next
    ``put`` or at ``close``."""

    def __init__(self, writer: ResultWriter):
        self._writer = ResultWriter(writer.con.cursor(), rows=writer.rows)
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="uptake-result-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            items = self._queue.get()
            if items is None:
                return
            if self._error is not None:
                continue  # drain after a failure
            try:
                self._writer.append_all(items)
            except BaseException as exc:  # handed to the caller
                self._error = exc

    def put(self, items: list[tuple[ResultTable, "pa.Table | Callable[[], pa.Table]"]]) -> None:
        self._raise()
        self._queue.put(items)

    def close(self) -> None:
        """Wait for everything queued to be written; raise the thread's error if there was one."""
        self._queue.put(None)
        self._thread.join()
        try:
            self._writer.con.close()
        except duckdb.Error:
            pass
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
