"""Diffusion forecasts (M16): Bass fits (m, p, q) for every organisation's series of every indicator, pooled
towards the ICB's or England's curve, with 95% intervals; from them each series' trajectory with a band, the
time to reach each NSF commitment's target and the probability of meeting its deadline, and adopter
categories from the fitted curves. The method is in uptake.models.forecasts.model and docs/forecasts.md.

- ``fitting``: the vectorised Levenberg-Marquardt fit of the Bass curve to many series at once;
- ``model``: one indicator's pooled fits, intervals, trajectories and targets (pure: frames in, frames out);
- ``checks``: the out-of-sample checks on the real DOAC series;
- here: the whole set from a results connection (``compute_forecasts``), written into a publication
  (``publish_forecasts``, called by ``uptake compute``), and ``organisation_parameters`` for the policy
  simulator.

Forecasts of a synthetic indicator are synthetic (the ``synthetic`` column of every table).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import duckdb
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from uptake.models.forecasts.fitting import BatchFit, fit_batch
from uptake.models.forecasts.model import (
    DRAWS,
    MIN_POINTS,
    STATUS_FITTED,
    STATUS_NO_NATIONAL,
    STATUS_NOT_UPTAKE,
    STATUS_TOO_SHORT,
    Commitment,
    IndicatorForecast,
    forecast_indicator,
)
from uptake.analytics.store import AnalyticsStore
from uptake.pipeline import publication
from uptake.results import read
from uptake.results.schema import FORECAST_FITS, FORECAST_TABLES, FORECAST_TARGETS, FORECASTS, ResultTable

__all__ = ["BatchFit", "fit_batch", "forecast_indicator", "Commitment", "IndicatorForecast", "ForecastSet",
           "compute_forecasts", "write_forecasts", "publish_forecasts", "refresh_forecasts", "BassParameters", "organisation_parameters",
           "DRAWS", "MIN_POINTS", "STATUS_FITTED", "STATUS_TOO_SHORT", "STATUS_NO_NATIONAL", "STATUS_NOT_UPTAKE"]


@dataclass
class ForecastSet:
    """The three forecast tables of every indicator, each indicator's time origin and notes."""

    fits: pd.DataFrame
    trajectories: pd.DataFrame
    targets: pd.DataFrame
    origins: dict[str, dt.date | None] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {FORECAST_FITS.name: self.fits, FORECASTS.name: self.trajectories, FORECAST_TARGETS.name: self.targets}


def _cap(measure: str | None, values: pd.Series) -> float:
    """The most m may be: 1 for a proportion, and for a share-only series whose values stay within 1 (a published
    share); otherwise half as much again as the largest value (at least 1)."""
    if measure == "proportion":
        return 1.0
    top = float(np.nanmax(values.to_numpy(float))) if len(values) else 1.0
    if measure == "share-only" and top <= 1.0:  # a published share (or a rate per head): never above 1
        return 1.0
    return max(1.0, 1.5 * top)


def compute_forecasts(con: duckdb.DuckDBPyConnection, indicators: list[str] | None = None,
                      draws: int = DRAWS) -> ForecastSet:
    """Forecasts of every indicator in the results on ``con`` (or those given): values from result_values,
    settings from result_indicators, targets and deadlines from result_attainment (none if the mission has
    not computed it), pooling parents from the current hierarchy."""
    settings = {row["indicator"]: row for row in read.forecasts.indicator_settings(con)}
    values = read.forecasts.inputs_frame(con, indicators)
    commitments = read.forecasts.commitment_targets(con)
    links = read.forecasts.icb_links_frame(con)
    icb_of = {(str(r.child_level), str(r.child_code)): str(r.parent_code) for r in links.itertuples()}
    fits, trajs, targets = [], [], []
    origins: dict[str, dt.date | None] = {}
    notes: dict[str, list[str]] = {}
    for indicator, part in values.groupby("indicator", sort=True):
        meta = settings.get(indicator, {})
        mine = commitments.loc[commitments["indicator"] == indicator]
        commits = [Commitment(framework=str(r.framework), commitment=str(r.commitment), level=str(r.level),
                              target=float(r.target), deadline=pd.Timestamp(r.deadline).date(),
                              org_codes=tuple(r.org_codes), synthetic=bool(r.synthetic))
                   for r in mine.itertuples()]
        horizon = max((c.deadline for c in commits), default=None)
        result = forecast_indicator(
            part[["level", "org_code", "period", "value"]],
            cap=_cap(meta.get("measure"), part["value"]), icb_of=icb_of, commitments=commits,
            adoption_threshold=None if meta.get("adoption_threshold") is None else float(meta["adoption_threshold"]),
            polarity=meta.get("polarity") or "high-is-good",
            synthetic=bool(meta.get("synthetic")), draws=draws, horizon_to=horizon)
        origins[str(indicator)] = result.origin
        notes[str(indicator)] = result.notes
        for frame, out in ((result.fits, fits), (result.trajectories, trajs), (result.targets, targets)):
            if not frame.empty:
                out.append(frame.assign(indicator=indicator))
    return ForecastSet(
        fits=_shaped(FORECAST_FITS, fits), trajectories=_shaped(FORECASTS, trajs),
        targets=_shaped(FORECAST_TARGETS, targets), origins=origins, notes=notes)


def _shaped(table: ResultTable, parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in table.column_names})
    return pd.concat(parts, ignore_index=True)[table.column_names]


def write_forecasts(con: duckdb.DuckDBPyConnection, forecasts: ForecastSet) -> dict[str, int]:
    """Replace the three forecast tables with ``forecasts`` on ``con``, in the caller's transaction (a
    publication's); columns and types from uptake.results.schema. Returns rows written per table."""
    written = {}
    for name, frame in forecasts.frames().items():
        table = next(t for t in FORECAST_TABLES if t.name == name)
        data = frame[table.column_names].copy()
        for column in table.columns:
            if column.sql in ("VARCHAR", "DATE"):
                data[column.name] = data[column.name].astype(object).where(data[column.name].notna(), None)
        select = ", ".join(f'CAST("{c.name}" AS {c.sql}) AS "{c.name}"' for c in table.columns)
        view = f"_forecasts_incoming_{name}"
        con.register(view, data)
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT {select} FROM "{view}"')
        finally:
            con.unregister(view)
        written[name] = len(data)
    return written


class _Publication(Protocol):
    con: duckdb.DuckDBPyConnection
    pipeline_run: int | None

    def replaced(self, names, pipeline_run: int | None) -> None: ...


def publish_forecasts(pub: _Publication, draws: int = DRAWS) -> dict[str, int]:
    """Compute the forecasts from the results being published (and the mission's attainment, when it was
    written before this step) and write them into the same publication (uptake.pipeline.publication)."""
    forecasts = compute_forecasts(pub.con, draws=draws)
    written = write_forecasts(pub.con, forecasts)
    pub.replaced([t.name for t in FORECAST_TABLES], pub.pipeline_run)
    return written


def refresh_forecasts(store: AnalyticsStore, draws: int = DRAWS) -> dict[str, int]:
    """Recompute the forecasts over the results already published, as a publication of their own (the demo,
    after the mission's attainment; ``uptake forecast compute``)."""
    with store.writing("computing the Bass forecasts"), store.connect() as con:
        publication_id = publication.begin(con, "forecasts")
        with publication.publishing(con, publication_id, "forecasts") as pub:
            return publish_forecasts(pub, draws)


@dataclass(frozen=True)
class BassParameters:
    """Per-organisation Bass parameters of one indicator and level (the policy simulator's calibration):
    codes (S,), m, p, q (S,) with p and q per month, and the time origin: t = months since ``origin``,
    cumulative share = m F(t; p, q) (uptake.stats.bass). ``synthetic``: fitted to synthetic data."""

    indicator: str
    level: str
    origin: dt.date | None
    codes: NDArray[np.str_]
    m: NDArray[np.float64]
    p: NDArray[np.float64]
    q: NDArray[np.float64]
    synthetic: bool


def organisation_parameters(cur: duckdb.DuckDBPyConnection, indicator: str, level: str) -> BassParameters:
    """The fitted (pooled) m, p, q of every organisation of ``level`` with a curve for ``indicator``."""
    frame = read.forecasts.parameters_frame(cur, indicator, level)
    origins = frame["origin"].dropna().unique() if "origin" in frame else []
    origin = pd.Timestamp(origins[0]).date() if len(origins) else None
    return BassParameters(
        indicator=indicator, level=level, origin=origin,
        codes=frame["org_code"].astype(str).to_numpy(), m=frame["m"].to_numpy(float),
        p=frame["p"].to_numpy(float), q=frame["q"].to_numpy(float),
        synthetic=bool(frame["synthetic"].any()) if len(frame) else False)
