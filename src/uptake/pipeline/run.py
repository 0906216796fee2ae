"""``run_pipeline``: from the store's current observations to the result tables, on either engine.

Order of work (one indicator at a time, to bound memory):

1. read the inventory (which indicators, rows, periods, batches) and the organisations;
2. similar peers for every level (once per run);
3. per indicator: the Ibis roll-up on the chosen engine -> an ``IndicatorFrame`` (organisations x
   periods, small) -> values, deciles, funnels, SPC, CUSUM changes, opportunity, adoption, equity
   (NumPy/SciPy through ``uptake.stats``) -> appended to staging tables. The stages overlap: the next
   indicator's roll-up runs in a thread while this one is computed, and a writer thread builds and stores
   the previous one's result_points (``seconds["aggregate"]`` and ``["write"]`` are the waits for them);
4. one transaction (a publication: uptake.pipeline.publication) swaps the staging tables in, records the run
   in ``pipeline_runs`` and the publication in ``publications``; ``uptake compute`` has the mission write its
   tables and its draft rating run inside that same transaction (``publish_with``), so all of it becomes
   visible at once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from uptake import __version__
from uptake.analytics.store import AnalyticsStore
from uptake.catalogue.loader import Catalogue, load_catalogue
from uptake.catalogue.schemas import Indicator
from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.pipeline import peers, publication, spark_compute
from uptake.pipeline.engines import check_engine, duckdb_tables, fetch, pyspark_tables
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.pipeline.indicator import compute_indicator
from uptake.pipeline.publication import Publication
from uptake.pipeline.rollup import SourceTables, activity, inventory, plan_levels, rollup
from uptake.pipeline.settings import PipelineSettings
from uptake.pipeline.writer import BackgroundWriter, ResultWriter, staging_name
from uptake.results.schema import (
    ORGANISATIONS, PEERS, PIPELINE_RUNS, POINT_STORAGE, RESULT_TABLES, VIEWS, to_arrow,
)
from uptake.workspace import Workspace
from uptake.settings import get_settings

#: The steps reported for each indicator, in order.
STEPS: tuple[str, ...] = (
    "aggregate",
    "values",
    "funnel",
    "spc",
    "changes",
    "opportunity",
    "adoption",
    "equity",
    "write",
)


@dataclass(frozen=True)
class ProgressEvent:
    """Reported before each step: ``indicator`` is None for the steps of the whole run."""

    step: str
    indicator: str | None
    index: int  # position of this indicator (0-based); -1 for whole-run steps
    total: int  # number of indicators


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class PipelineRun:
    """What a run did (also recorded as a row of ``pipeline_runs``)."""

    run_id: int
    engine: str
    started_at: dt.datetime
    finished_at: dt.datetime
    indicators: tuple[str, ...]
    skipped: dict[str, str]
    input_batch_ids: tuple[int, ...]
    input_rows: int
    row_counts: dict[str, int]
    warnings: tuple[str, ...]
    seconds: dict[str, float] = field(default_factory=dict)
    #: the publication that made these results visible (uptake.pipeline.publication)
    publication: int | None = None
    #: the pyspark engine only: ``collected`` (rows the driver collected from Spark, by what: never an
    #: observation, roll-up or result row), ``plan`` (the statistics job's physical plan), ``workers``
    #: (host:pid of the Python workers that computed each indicator) and ``shared`` (where it ran)
    spark: dict[str, Any] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def resolve_store(target: AnalyticsStore | Workspace | Path | str) -> AnalyticsStore:
    """The analytics store named by a store, a workspace, a workspace directory or a .duckdb file."""
    if isinstance(target, AnalyticsStore):
        store = target
    elif isinstance(target, Workspace):
        store = AnalyticsStore(target.analytics_path)
    else:
        path = Path(target)
        if path.is_dir():
            store = AnalyticsStore(Workspace.resolve(path).analytics_path)
        else:
            store = AnalyticsStore(path)
    if not store.path.exists():
        raise UptakeError(
            f"there is no analytics store at {store.path}; run `uptake init` (or `uptake demo`) and load "
            "observations with `uptake ingest` first"
        )
    return store


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def run_pipeline(
    target: AnalyticsStore | Workspace | Path | str,
    *,
    engine: str | None = None,
    settings: PipelineSettings | None = None,
    catalogue: Catalogue | None = None,
    spark_session: Any | None = None,
    progress: ProgressCallback | None = None,
    publish_with: Callable[[Publication], None] | None = None,
) -> PipelineRun:
    """Compute every result table from the store's current observations and replace the previous
    results atomically (one publication).

    Parameters
    ----------
    target : an ``AnalyticsStore``, a ``Workspace``, a workspace directory or a DuckDB file holding the
        store's tables (organisations, relationships, observations_current, ...).
    engine : ``"duckdb"`` (default) or ``"pyspark"``; None reads UPTAKE_ENGINE.
    settings : SPC, CUSUM, peer, funnel and target settings (default: from UPTAKE_* variables).
    catalogue : the indicators (default: the bundled catalogue). Indicators with observations but no
        catalogue entry are skipped with a warning (their polarity and measure are unknown).
    spark_session : an existing SparkSession for ``engine="pyspark"`` (default: a local one).
    progress : called before each step.
    publish_with : called inside the publication's transaction once the new tables are in place, before it
        commits, with the ``Publication`` (its connection sees the new results): what it writes there becomes
        visible with them, or not at all (``uptake compute`` gives the mission's refresh).
    """
    started = _utcnow()
    clock = time.perf_counter()
    engine_name = check_engine(engine if engine is not None else get_settings().engine)
    settings = settings or PipelineSettings()
    catalogue = catalogue or load_catalogue()
    store = resolve_store(target)
    seconds: dict[str, float] = {}

    def report(step: str, indicator: str | None = None, index: int = -1, total: int = 0) -> None:
        if progress is not None:
            progress(ProgressEvent(step, indicator, index, total))

    with store.writing("computing results (uptake compute)"):
        if engine_name == "pyspark":
            shared = spark_compute.shared_directory(settings.spark_shared_dir, store.path.parent / "spark-shared")
            with spark_compute.run_directory(shared) as here:
                report("export")
                tick = time.perf_counter()
                store.export_parquet(here / "input")
                seconds["export"] = time.perf_counter() - tick
                with store.connect() as con, pyspark_tables(
                    here / "input", spark_session, settings.spark_master
                ) as (backend, tables):
                    job = _SparkJob(backend, tables, here / "results")
                    outcome = _run(con, tables, engine_name, settings, catalogue, report, seconds, started,
                                   publish_with, spark=job)
                    outcome["spark"] = job.record()
        else:
            with store.connect() as con:
                _, tables = duckdb_tables(con)
                outcome = _run(con, tables, engine_name, settings, catalogue, report, seconds, started,
                               publish_with)
    seconds["total"] = time.perf_counter() - clock
    return PipelineRun(**{**outcome, "seconds": seconds})


@dataclass
class _SparkJob:
    """The pyspark engine's side of a run: the Spark backend over the shared input, where the executors
    write, and what the driver collected (counted by ``fetch``)."""

    backend: Any
    tables: SourceTables
    results_dir: Path
    collected: dict[str, int] = field(default_factory=dict)
    outcome: spark_compute.SparkOutcome | None = None

    def fetch(self, expr: Any, what: str = "") -> pa.Table:
        table = fetch(expr, what)
        self.collected[what] = self.collected.get(what, 0) + table.num_rows
        return table

    def compute(self, inv: "_Inventory", settings: PipelineSettings, level_peers: dict[str, peers.LevelPeers],
                icb_of: dict[str, np.ndarray], warnings: list[str], view_rows: dict[str, int],
                seconds: dict[str, float], writer: ResultWriter, report: Callable[..., None]) -> None:
        """Every indicator's roll-up and statistics on the executors, then their files into staging."""
        if not inv.todo:
            return
        plans = inv.plans
        report("spark executors: roll-ups and statistics", None, -1, len(inv.todo))
        work = spark_compute.ExecutorWork(
            indicators={ind.id: (ind, plans[ind.id], i + 1) for i, ind in enumerate(inv.todo)},
            settings=settings, orgs=inv.orgs, level_peers=level_peers, icb_of=icb_of,
            results_dir=str(self.results_dir),
        )
        self.outcome = spark_compute.compute_on_executors(self.backend, self.tables, work, inv.todo, plans)
        for key, n in self.outcome.collected.items():
            self.collected[key] = self.collected.get(key, 0) + n
        for summary in self.outcome.summaries:  # in indicator order, as the DuckDB engine reports them
            indicator = inv.todo[summary["number"] - 1]
            unknown = inv.rows_of[indicator.id] - summary["data_level_rows"]
            if unknown > 0:
                warnings.append(
                    f"{indicator.id}: {unknown:,} observation rows name organisations that are not "
                    f"{' or '.join(plans[indicator.id].ingest_levels)} codes in the reference; they are left out"
                )
            warnings += summary["warnings"]
            for name, n in summary["view_rows"].items():
                view_rows[name] += n
            for step, s in summary["seconds"].items():  # summed over the executors' Python workers
                key = f"executors: {step}"
                seconds[key] = seconds.get(key, 0.0) + s
        report("loading the executors' results", None, -1, len(inv.todo))
        tick = time.perf_counter()
        with writer.batch():
            loaded = spark_compute.load_results(writer.con, staging_name, self.outcome.summaries)
        for name, n in loaded.items():
            writer.rows[name] += n
        seconds["write"] = seconds.get("write", 0.0) + time.perf_counter() - tick

    def record(self) -> dict[str, Any]:
        return {
            "collected": dict(self.collected),
            "plan": self.outcome.plan if self.outcome else "",
            # the executors' Python workers (None: an indicator without rows, made on the driver)
            "workers": sorted({s["worker"] for s in self.outcome.summaries if s["worker"]}) if self.outcome else [],
            "shared": str(self.results_dir.parent.parent),
        }


@dataclass
class _Inventory:
    """What the store holds, read once at the start of a run."""

    todo: list[Indicator]
    skipped: dict[str, str]
    rows_of: dict[str, int]
    periods_of: dict[str, set]
    batches_of: dict[str, set]
    orgs: Organisations
    links: pa.Table  # current relationships

    @property
    def plans(self) -> dict[str, Any]:
        return {ind.id: plan_levels(ind) for ind in self.todo}


def _read_inventory(tables: SourceTables, catalogue: Catalogue, fetch: Callable[..., pa.Table] = fetch) -> _Inventory:
    summary = fetch(inventory(tables), "inventory")
    rows_of: dict[str, int] = {}
    periods_of: dict[str, set] = {}
    batches_of: dict[str, set] = {}
    for ind_id, n, batch, period in zip(
        summary.column("indicator").to_pylist(),
        summary.column("rows").to_pylist(),
        summary.column("batch_id").to_pylist(),
        summary.column("period").to_pylist(),
        strict=True,
    ):
        rows_of[ind_id] = rows_of.get(ind_id, 0) + int(n)
        periods_of.setdefault(ind_id, set()).add(period)
        batches_of.setdefault(ind_id, set()).add(int(batch))
    todo = [catalogue.indicators[i] for i in sorted(rows_of) if i in catalogue.indicators]
    skipped = {
        i: "not in the catalogue (polarity and measure unknown)" for i in sorted(rows_of) if i not in catalogue.indicators
    }
    rels = tables.relationships
    return _Inventory(
        todo=todo,
        skipped=skipped,
        rows_of=rows_of,
        periods_of=periods_of,
        batches_of=batches_of,
        orgs=Organisations.from_arrow(fetch(tables.organisations, "organisations")),
        links=fetch(rels.filter(rels.valid_to.isnull()), "links"),
    )


def _run(
    con,
    tables: SourceTables,
    engine: str,
    settings: PipelineSettings,
    catalogue: Catalogue,
    report: Callable[..., None],
    seconds: dict[str, float],
    started: dt.datetime,
    publish_with: Callable[[Publication], None] | None = None,
    spark: _SparkJob | None = None,
) -> dict[str, Any]:
    """The run on an open store connection. With ``spark`` the roll-ups and statistics run on Spark's
    executors (uptake.pipeline.spark_compute) and the driver loads their Parquet files; without it each
    indicator is rolled up on the engine and computed here."""
    def timed(step: str, func: Callable[[], Any]) -> Any:
        tick = time.perf_counter()
        result = func()
        seconds[step] = seconds.get(step, 0.0) + time.perf_counter() - tick
        return result

    fetch_ = spark.fetch if spark is not None else fetch
    report("inventory")
    inv = timed("inventory", lambda: _read_inventory(tables, catalogue, fetch_))
    orgs, plans = inv.orgs, inv.plans
    warnings = [f"{i}: {inv.rows_of[i]:,} observation rows skipped: {why}" for i, why in inv.skipped.items()]

    def load(indicator: Indicator) -> IndicatorFrame:
        """The roll-up of one indicator on the engine, as a frame (run a step ahead, in a thread)."""
        plan = plans[indicator.id]
        return IndicatorFrame.from_arrow(indicator, plan, fetch(rollup(tables, indicator.id, plan)), orgs)

    report("peers")  # once per level, for every indicator
    real = {ind.id: plans[ind.id] for ind in inv.todo if not ind.synthetic}  # peers never use synthetic data
    activity_table = timed("peers", lambda: _activity(tables, inv.periods_of, real, fetch_))
    writer = ResultWriter(con)
    run_id = writer.next_run_id()
    publication_id = publication.begin(con, "compute")
    writer.start()
    view_rows = {t.name: 0 for t in VIEWS}
    background = BackgroundWriter(writer) if spark is None else None
    try:
        # Three stages overlap: the engine rolls up the next indicator (a thread: DuckDB and Spark work
        # without the GIL) while NumPy computes this one and the writer's thread (its own connection)
        # stores the previous one. Only the roll-up thread uses `con` until the `with` ends, and leaving
        # the `with` waits for the roll-up under way, so the connection is free afterwards.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="uptake-rollup") as rollups:
            pending = rollups.submit(load, inv.todo[0]) if inv.todo and spark is None else None  # while the peers are found
            level_peers: dict[str, peers.LevelPeers] = {}
            peer_levels = {lv for plan in plans.values() for lv in plan.levels if lv != Level.ENGLAND.value}
            for level in sorted(peer_levels):
                found = timed("peers", lambda level=level: peers.compute_level(
                    orgs, inv.links, activity_table, level, settings.peer_count))
                if found is not None:
                    level_peers[level] = found
            icb_of = _icb_maps(orgs, inv.links)
            directory = [
                (PEERS, peers.peers_table(list(level_peers.values()), orgs)),
                (ORGANISATIONS, organisations_table(orgs)),
            ]
            if spark is not None:
                writer.append_all(directory)
                timed("executors", lambda: spark.compute(inv, settings, level_peers, icb_of, warnings, view_rows,
                                                         seconds, writer, report))
            else:
                background.put(directory)
            for index, indicator in enumerate(inv.todo if spark is None else ()):
                def step(name: str, func: Callable[[], Any], ind: str = indicator.id, i: int = index) -> Any:
                    report(name, ind, i, len(inv.todo))
                    return timed(name, func)

                plan = plans[indicator.id]
                frame = step("aggregate", pending.result)  # the wait for it: the rest overlapped
                if index + 1 < len(inv.todo):
                    pending = rollups.submit(load, inv.todo[index + 1])
                unknown = inv.rows_of[indicator.id] - frame.data_level_rows
                if unknown > 0:
                    warnings.append(
                        f"{indicator.id}: {unknown:,} observation rows name organisations that are not "
                        f"{' or '.join(plan.ingest_levels)} codes in the reference; they are left out"
                    )
                result = compute_indicator(frame, index + 1, settings, orgs, level_peers, icb_of, step)
                del frame
                warnings += result.warnings
                for name, n in result.view_rows.items():
                    view_rows[name] += n
                step("write", lambda tables_=result.tables: background.put(tables_))
                del result
        report("commit")
        if background is not None:
            timed("write", background.close)
        record = {
            "run_id": run_id,
            "engine": engine,
            "started_at": started,
            "finished_at": _utcnow(),
            "indicators": tuple(ind.id for ind in inv.todo),
            "skipped": inv.skipped,
            "input_batch_ids": tuple(sorted({b for ind in plans for b in inv.batches_of[ind]})),
            "input_rows": sum(inv.rows_of[ind.id] for ind in inv.todo),
            "row_counts": {t.name: (view_rows[t.name] if t.view else writer.rows[t.name]) for t in RESULT_TABLES},
            "warnings": tuple(warnings),
        }
        publication.pause("staged")

        def publish() -> None:
            with publication.publishing(con, publication_id, "compute") as pub:
                writer.swap({**record, "settings": settings.as_record(), "uptake_version": __version__})
                pub.pipeline_run = run_id
                pub.replaced([t.name for t in (*RESULT_TABLES, *POINT_STORAGE)], run_id)
                pub.replaced([PIPELINE_RUNS.name], run_id)
                publication.pause("swapped")
                if publish_with is not None:
                    publish_with(pub)

        timed("commit", publish)
        record["publication"] = publication_id
    except BaseException:
        try:
            if background is not None:
                background.close()
        except BaseException:
            pass
        writer.drop_staging()
        raise
    return record


def organisations_table(orgs: Organisations) -> pa.Table:
    return to_arrow(
        ORGANISATIONS,
        {
            "org_id": np.arange(orgs.codes.size, dtype=np.int32),
            "code": orgs.arrow_codes,
            "level": pa.array(orgs.level, type=pa.string()),
            "name": pa.array(orgs.name, type=pa.string()),
        },
    )


def _activity(tables: SourceTables, periods_of: dict[str, set], plans: dict[str, Any],
              fetch: Callable[..., pa.Table] = fetch) -> pa.Table:
    """Mean denominator per organisation over each indicator's latest 12 periods (a peer feature)."""
    cutoffs = {
        ind: sorted(periods_of[ind])[-peers.ACTIVITY_PERIODS:][0] for ind in plans if periods_of.get(ind)
    }
    if not cutoffs:
        return pa.table({"indicator": pa.array([], pa.string()), "level": pa.array([], pa.string()),
                         "org_code": pa.array([], pa.string()), "mean_denominator": pa.array([], pa.float64())})
    levels_of = {ind: plans[ind].ingest_levels for ind in cutoffs}
    return fetch(activity(tables, cutoffs, levels_of), "activity")


def _icb_maps(orgs: Organisations, links: pa.Table) -> dict[str, np.ndarray]:
    """For each child level: directory position -> position of its current ICB (-1 if none)."""
    out: dict[str, np.ndarray] = {}
    if links.num_rows == 0:
        return out
    parent_level = np.asarray(links.column("parent_level").to_numpy(zero_copy_only=False), dtype=object)
    child_level = np.asarray(links.column("child_level").to_numpy(zero_copy_only=False), dtype=object)
    child = orgs.index_of(links.column("child_code"))
    parent = orgs.index_of(links.column("parent_code"))
    sel = (parent_level == Level.ICB.value) & (child >= 0) & (parent >= 0)
    for level in np.unique(child_level[sel]):
        mapping = np.full(orgs.codes.size, -1, dtype=np.int64)
        mine = sel & (child_level == level)
        mapping[child[mine]] = parent[mine]
        out[str(level)] = mapping
    return out
