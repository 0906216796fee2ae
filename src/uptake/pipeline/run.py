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
import functools
import tempfile
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
from uptake.pipeline import adoption, changes, equity, funnel, opportunity, peers, publication, spc, values
from uptake.pipeline.engines import check_engine, duckdb_tables, fetch, pyspark_tables
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.pipeline.publication import Publication
from uptake.pipeline.rollup import SourceTables, activity, inventory, plan_levels, rollup
from uptake.pipeline.settings import PipelineSettings
from uptake.pipeline.writer import BackgroundWriter, ResultWriter
from uptake.results.schema import (
    ADOPTION,
    CHANGES,
    DECILES,
    EQUITY,
    FUNNEL,
    FUNNEL_CURVE,
    FUNNEL_SUMMARY,
    INDICATORS,
    OPPORTUNITY,
    OPPORTUNITY_TOTALS,
    ORGANISATIONS,
    PEERS,
    PIPELINE_RUNS,
    POINTS,
    RESULT_TABLES,
    SPC,
    SPC_SERIES,
    VALUES,
    VIEWS,
    to_arrow,
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
            report("export")
            tick = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="uptake-parquet-") as parquet_dir:
                store.export_parquet(parquet_dir)
                seconds["export"] = time.perf_counter() - tick
                with store.connect() as con, pyspark_tables(
                    Path(parquet_dir), spark_session, settings.spark_master
                ) as (_, tables):
                    outcome = _run(con, tables, engine_name, settings, catalogue, report, seconds, started,
                                   publish_with)
        else:
            with store.connect() as con:
                _, tables = duckdb_tables(con)
                outcome = _run(con, tables, engine_name, settings, catalogue, report, seconds, started,
                               publish_with)
    seconds["total"] = time.perf_counter() - clock
    return PipelineRun(**{**outcome, "seconds": seconds})


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


def _read_inventory(tables: SourceTables, catalogue: Catalogue) -> _Inventory:
    summary = fetch(inventory(tables))
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
        orgs=Organisations.from_arrow(fetch(tables.organisations)),
        links=fetch(rels.filter(rels.valid_to.isnull())),
    )


@dataclass
class _IndicatorResults:
    tables: list[tuple[Any, pa.Table]]
    view_rows: dict[str, int]
    warnings: list[str]


def _compute_indicator(
    frame: IndicatorFrame,
    indicator_id: int,
    settings: PipelineSettings,
    orgs: Organisations,
    level_peers: dict[str, peers.LevelPeers],
    icb_of: dict[str, np.ndarray],
    step: Callable[[str, Callable[[], Any]], Any],
) -> _IndicatorResults:
    """Every statistic of one indicator from its aggregated frame. ``step(name, func)`` runs and times
    each step. Point columns go into one result_points batch; the small tables are returned as they are."""
    indicator = frame.indicator
    warnings = [
        f"{indicator.id}: {missing:,} observation rows have no current {parent} link and are not rolled up to "
        f"{parent} (they count at their own level and in England)"
        for parent, missing in frame.unlinked.items()
    ]
    target = settings.targets.get(indicator.id)
    tables: list[tuple[Any, pa.Table]] = []
    parts: list[tuple[np.ndarray | None, dict[str, Any]]] = []

    cols = step("values", lambda: values.compute(frame))
    warnings += [f"{indicator.id}: {w}" for w in cols.warnings]
    usable = ~np.isnan(cols.ci95_low) & frame.eligible  # eligible: the indicator's eligibility rule
    # A share-only indicator has values but no counts: SPC and adoption chart its values; the funnel, the
    # opportunity and equity (which weigh by counts) are not computed for it.
    charted = (~np.isnan(frame.value) & frame.eligible) if indicator.share_only else usable
    parts.append((None, step("values", lambda: values.point_columns(frame, cols))))
    tables.append((DECILES, step("values", lambda: values.deciles_table(frame, cols))))

    f_rows, f_cols, f_curve, f_summary = step("funnel", lambda: funnel.compute(frame, usable, settings.funnel_points))
    parts.append((f_rows, f_cols))
    tables += [(FUNNEL_CURVE, f_curve), (FUNNEL_SUMMARY, f_summary)]

    s_rows, s_cols, s_series = step(
        "spc",
        lambda: spc.compute(
            frame,
            charted,
            orgs,
            rule_length=settings.spc_rule_length,
            baseline=settings.spc_baseline,
            rebase_dates=settings.spc_rebase_dates,
            screen_moving_ranges=settings.spc_screen_moving_ranges,
            target=target,
            basis=settings.spc_basis,  # stats11: the SPC basis (difference from England for spread curves)
        ),
    )
    parts.append((s_rows, s_cols))
    tables.append((SPC_SERIES, s_series))

    c_rows, c_cols = step(
        "changes", lambda: changes.compute(frame, cols.percent_rank, settings.cusum_window, settings.cusum_sensitivity)
    )
    parts.append((c_rows, c_cols))

    o_rows, o_cols, o_totals = step(
        "opportunity",
        lambda: opportunity.compute(frame, cols, usable, orgs, level_peers, icb_of, target=target,
                                    best=settings.peer_best),
    )
    parts.append((o_rows, o_cols))
    tables.append((OPPORTUNITY_TOTALS, o_totals))
    tables.append((ADOPTION, step("adoption", lambda: adoption.compute(frame, charted, orgs))))
    tables.append((EQUITY, step("equity", lambda: equity.compute(frame, usable, orgs))))
    # Built by the writer's thread (it is the largest table and NumPy work off the critical path).
    tables.append((POINTS, functools.partial(points_table, frame, indicator_id, parts)))
    tables.append((INDICATORS, indicator_row(indicator, indicator_id, target)))
    view_rows = {
        VALUES.name: frame.size,
        FUNNEL.name: int(f_rows.size),
        SPC.name: int(s_rows.size),
        CHANGES.name: int(c_rows.size),
        OPPORTUNITY.name: int(o_rows.size),
    }
    return _IndicatorResults(tables, view_rows, warnings)


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
) -> dict[str, Any]:
    def timed(step: str, func: Callable[[], Any]) -> Any:
        tick = time.perf_counter()
        result = func()
        seconds[step] = seconds.get(step, 0.0) + time.perf_counter() - tick
        return result

    report("inventory")
    inv = timed("inventory", lambda: _read_inventory(tables, catalogue))
    orgs, plans = inv.orgs, inv.plans
    warnings = [f"{i}: {inv.rows_of[i]:,} observation rows skipped: {why}" for i, why in inv.skipped.items()]

    def load(indicator: Indicator) -> IndicatorFrame:
        """The roll-up of one indicator on the engine, as a frame (run a step ahead, in a thread)."""
        plan = plans[indicator.id]
        return IndicatorFrame.from_arrow(indicator, plan, fetch(rollup(tables, indicator.id, plan)), orgs)

    report("peers")  # once per level, for every indicator
    real = {ind.id: plans[ind.id] for ind in inv.todo if not ind.synthetic}  # peers never use synthetic data
    activity_table = timed("peers", lambda: _activity(tables, inv.periods_of, real))
    writer = ResultWriter(con)
    run_id = writer.next_run_id()
    publication_id = publication.begin(con, "compute")
    writer.start()
    view_rows = {t.name: 0 for t in VIEWS}
    background = BackgroundWriter(writer)
    try:
        # Three stages overlap: the engine rolls up the next indicator (a thread: DuckDB and Spark work
        # without the GIL) while NumPy computes this one and the writer's thread (its own connection)
        # stores the previous one. Only the roll-up thread uses `con` until the `with` ends, and leaving
        # the `with` waits for the roll-up under way, so the connection is free afterwards.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="uptake-rollup") as rollups:
            pending = rollups.submit(load, inv.todo[0]) if inv.todo else None  # while the peers are found
            level_peers: dict[str, peers.LevelPeers] = {}
            peer_levels = {lv for plan in plans.values() for lv in plan.levels if lv != Level.ENGLAND.value}
            for level in sorted(peer_levels):
                found = timed("peers", lambda level=level: peers.compute_level(
                    orgs, inv.links, activity_table, level, settings.peer_count))
                if found is not None:
                    level_peers[level] = found
            icb_of = _icb_maps(orgs, inv.links)
            background.put([
                (PEERS, peers.peers_table(list(level_peers.values()), orgs)),
                (ORGANISATIONS, organisations_table(orgs)),
            ])
            for index, indicator in enumerate(inv.todo):
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
                result = _compute_indicator(frame, index + 1, settings, orgs, level_peers, icb_of, step)
                del frame
                warnings += result.warnings
                for name, n in result.view_rows.items():
                    view_rows[name] += n
                step("write", lambda tables_=result.tables: background.put(tables_))
                del result
        report("commit")
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
                pub.replaced([t.name for t in (*RESULT_TABLES, POINTS)], run_id)
                pub.replaced([PIPELINE_RUNS.name], run_id)
                publication.pause("swapped")
                if publish_with is not None:
                    publish_with(pub)

        timed("commit", publish)
        record["publication"] = publication_id
    except BaseException:
        try:
            background.close()
        except BaseException:
            pass
        writer.drop_staging()
        raise
    return record


def points_table(
    frame: IndicatorFrame, indicator_id: int, parts: list[tuple[np.ndarray | None, dict[str, Any]]]
) -> pa.Table:
    """result_points rows of one indicator: every frame row, with each step's columns filled in where the
    step applies (rows=None: every row) and NULL elsewhere."""
    n = frame.size
    data: dict[str, Any] = {}
    present: dict[str, np.ndarray] = {}
    for col in POINTS.columns:
        if col.sql == "DOUBLE":
            data[col.name] = np.full(n, np.nan)
        elif col.sql not in ("DATE",):
            data[col.name] = np.zeros(n, dtype=col.arrow.to_pandas_dtype())
            present[col.name] = np.zeros(n, dtype=bool)
    for rows, columns in parts:
        where = slice(None) if rows is None else rows
        for name, values_ in columns.items():
            if isinstance(values_, np.ma.MaskedArray):
                data[name][where] = values_.filled(0)
                if name in present:
                    present[name][where] = ~np.ma.getmaskarray(values_)
                continue
            data[name][where] = values_
            if name in present:
                present[name][where] = True
    data["indicator_id"] = np.full(n, indicator_id, dtype=np.int16)
    present["indicator_id"] = np.ones(n, dtype=bool)
    data["org_id"] = frame.org.astype(np.int32)
    present["org_id"] = np.ones(n, dtype=bool)
    data["period"] = frame.dates(frame.pidx)
    arrays = {}
    for col in POINTS.columns:
        value = data[col.name]
        if col.name in present:
            arrays[col.name] = pa.array(value, type=col.arrow, mask=~present[col.name])
        else:
            arrays[col.name] = value
    return to_arrow(POINTS, arrays)


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


def indicator_row(indicator: Indicator, indicator_id: int, target: float | None) -> pa.Table:
    return to_arrow(
        INDICATORS,
        {
            "indicator_id": [indicator_id],
            "indicator": [indicator.id],
            "title": [indicator.title],
            "measure": [indicator.measure.value],
            "polarity": [indicator.polarity.value],
            "multiplier": [indicator.multiplier],
            "unit": [indicator.unit],
            "unit_cost": [indicator.unit_cost],
            "target": [target],
            "adoption_threshold": [indicator.adoption_threshold],
            "synthetic": [indicator.synthetic],
            "levels": [[lv.value for lv in indicator.levels]],
        },
    )


def _activity(tables: SourceTables, periods_of: dict[str, set], plans: dict[str, Any]) -> pa.Table:
    """Mean denominator per organisation over each indicator's latest 12 periods (a peer feature)."""
    cutoffs = {
        ind: sorted(periods_of[ind])[-peers.ACTIVITY_PERIODS:][0] for ind in plans if periods_of.get(ind)
    }
    if not cutoffs:
        return pa.table({"indicator": pa.array([], pa.string()), "level": pa.array([], pa.string()),
                         "org_code": pa.array([], pa.string()), "mean_denominator": pa.array([], pa.float64())})
    levels_of = {ind: plans[ind].ingest_levels for ind in cutoffs}
    return fetch(activity(tables, cutoffs, levels_of))


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
