"""Builders shared by the mission tests (no tests here): a small analytics store holding pipeline results,
and a workflow database with the catalogue, a few organisations and the bundled frameworks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import load_catalogue
from uptake.mission.framework_repository import load_frameworks
from uptake.mission.framework_files import read_frameworks
from uptake.mission.permissions import Who
from uptake.stats import wilson
from uptake.store import session_scope, sync_catalogue, sync_reference
from uptake.store.frames import ORG_COLUMNS, REL_COLUMNS

ADMIN = Who(role="national-admin", email="reviewer@england.nhs.uk")
ICBS = {"QAA": "NHS Alpha Integrated Care Board", "QBB": "NHS Beta Integrated Care Board",
        "QCC": "NHS Gamma Integrated Care Board"}
#: stroke unit -> (ICB, thrombolysis numerators for 2019, 2020, 2021 out of 500 admissions)
UNITS = {
    "U01": ("QAA", (110, 115, 120)),   # 22-24%: met
    "U02": ("QAA", (105, 110, 112)),   # met
    "U03": ("QAA", (100, 104, 108)),
    "U04": ("QAA", (75, 80, 82)),      # ~16%: near the trajectory
    "U05": ("QAA", (20, 18, 15)),      # 3-4%: clearly below the 8% minimum every year: watch list
    "U06": ("QBB", (60, 58, 55)),      # 11-12%: off trajectory
    "U07": ("QBB", (102, 104, 106)),
    "U08": ("QBB", (101, 103, 107)),
    "U09": ("QBB", (104, 106, 109)),
    "U10": ("QBB", (103, 105, 108)),
    "U11": ("QBB", (70, 72, 74)),      # 14-15%: most peers met, it did not
    "U12": ("QCC", (42, 45, 44)),      # ~9%: near the minimum
}
YEARS = (2019, 2020, 2021)
SUB_ICBS = {"01A": ("QAA", 0.84), "02B": ("QAA", 0.70), "03C": ("QBB", 0.45), "04D": ("QBB", 0.80)}


def _values(indicator: str, level: str, rows: list[tuple[str, str, dt.date, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["org_code", "org_name", "period", "numerator", "denominator"])
    low, high = wilson(frame["numerator"], frame["denominator"])
    value = frame["numerator"] / frame["denominator"]
    england = 0.137
    comparison = np.where(low > england, "better", np.where(high < england, "worse", "similar"))
    return frame.assign(indicator=indicator, level=level, members=1, value=value, ci95_low=low, ci95_high=high,
                        ci998_low=low, ci998_high=high, percent_rank=0.5, decile=5, comparison=comparison,
                        comparison_plain=comparison, comparison_method="interval", synthetic=False)


def result_frames() -> dict[str, pd.DataFrame]:
    rows, icb_rows = [], []
    for year_index, year in enumerate(YEARS):
        period = dt.date(year, 1, 1)
        totals: dict[str, list[float]] = {}
        for code, (icb, numerators) in UNITS.items():
            rows.append((code, f"Stroke unit {code}", period, numerators[year_index], 500.0))
            totals.setdefault(icb, [0.0, 0.0])
            totals[icb][0] += numerators[year_index]
            totals[icb][1] += 500.0
        for icb, (num, den) in totals.items():
            icb_rows.append((icb, ICBS[icb], period, num, den))
    values = pd.concat([
        _values("thrombolysis-rate", "stroke-unit", rows),
        _values("thrombolysis-rate", "icb", icb_rows),
    ], ignore_index=True)
    months = [dt.date(2022, m, 1) for m in range(4, 10)]
    doac = [(code, f"Location {code}", month, share * 1000, 1000.0) for code, (_, share) in SUB_ICBS.items()
            for month in months]
    values = pd.concat([values, _values("doac-share", "sub-icb", doac)], ignore_index=True)
    spc = values[["indicator", "level", "org_code", "period"]].copy()
    spc["upper_limit"] = values["value"] + 0.03
    spc["lower_limit"] = values["value"] - 0.03
    codes = list(UNITS)
    peers = pd.DataFrame(
        [("stroke-unit", code, rank + 1, other, 1.0 + rank, "{}")
         for code in codes for rank, other in enumerate([c for c in codes if c != code][:10])],
        columns=["level", "org_code", "rank", "peer_code", "distance", "features"],
    )
    return {"result_values": values, "result_spc": spc, "result_peers": peers}


def organisations() -> pd.DataFrame:
    rows = [("ENG", "england", "England")] + [(c, "icb", n) for c, n in ICBS.items()]
    rows += [(c, "stroke-unit", f"Stroke unit {c}") for c in UNITS] + [(c, "sub-icb", f"Location {c}") for c in SUB_ICBS]
    frame = pd.DataFrame(rows, columns=["code", "level", "name"])
    for column in ORG_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["valid_from"] = "2022-07-01"
    return frame[list(ORG_COLUMNS)]


def relationships() -> pd.DataFrame:
    rows = [(c, "stroke-unit", icb, "icb") for c, (icb, _) in UNITS.items()]
    rows += [(c, "sub-icb", icb, "icb") for c, (icb, _) in SUB_ICBS.items()]
    frame = pd.DataFrame(rows, columns=["child_code", "child_level", "parent_code", "parent_level"])
    frame["valid_from"] = "2022-07-01"
    frame["valid_to"] = None
    return frame[list(REL_COLUMNS)]


def small_store(path: Path) -> AnalyticsStore:
    """An analytics store with the organisations above and pipeline-shaped result tables."""
    store = AnalyticsStore.open(path)
    store.sync_reference(organisations(), relationships())
    with store.writing("test results"), store.connect() as con:
        for name, frame in result_frames().items():
            con.register("_frame", frame)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
    return store


def mission_workflow(engine: Engine) -> Engine:
    """Catalogue, organisations and the four bundled frameworks in the workflow database."""
    with session_scope(engine) as session:
        sync_catalogue(session, load_catalogue(), actor="system")
        sync_reference(session, organisations(), relationships(), actor="system")
    with session_scope(engine) as session:
        load_frameworks(session, read_frameworks(), actor=ADMIN.actor)
    return engine
