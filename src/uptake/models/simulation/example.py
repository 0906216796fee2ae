"""An example results store for the simulator: the real DOAC series (NHSBSA English Prescribing Data, sub-ICB
locations and England, Oct 2017 - Sep 2022, bundled with the forecasts) with its denominators and Bass fits,
over the real reference (every practice, sub-ICB location, ICB and ISDN), and the CVD framework's DOAC
commitment (85% by March 2025). Used by the tests and benchmarks/simulator.py; the demo builds its own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from uptake.analytics.store import AnalyticsStore
from uptake.models.forecasts import refresh_forecasts
from uptake.models.forecasts.checks import doac_subicb_values
from uptake.sources.doac import DOACS, WARFARIN, read_items
from uptake.levels import ENGLAND_CODE
from uptake.reference import load_reference
from uptake.results.schema import ATTAINMENT

__all__ = ["doac_store", "TARGET", "DEADLINE"]

FRAMEWORK, COMMITMENT = "cardiovascular-disease", "anticoagulation-doacs"
TARGET, DEADLINE = 0.85, dt.date(2025, 3, 31)


def doac_store(path: Path) -> AnalyticsStore:
    """The store at ``path``: reference, the real DOAC values (with their denominators), a commitment (85% by
    March 2025, the CVD framework's DOAC commitment as in tests/test_forecasts_publish.py) and the forecasts."""
    reference = load_reference().current()
    store = AnalyticsStore.open(path)
    store.sync_reference(reference.organisations, reference.relationships)
    values = doac_subicb_values().assign(indicator="doac-share", synthetic=False)
    # the denominators (DOAC + warfarin items in the month): what turns a share into items
    wide = read_items()
    items = wide[["org_code"]].assign(period=pd.to_datetime(wide["period"]).dt.date,
                                      numerator=wide[list(DOACS)].sum(axis=1).astype(float))
    items["denominator"] = items["numerator"] + wide[WARFARIN].astype(float)
    national = items.groupby("period", as_index=False)[["numerator", "denominator"]].sum()
    items = pd.concat([items.assign(level="sub-icb"), national.assign(level="england", org_code=ENGLAND_CODE)])
    values = values.merge(items, on=["level", "org_code", "period"], how="left")
    latest = values.loc[(values["level"] == "sub-icb") & (values["period"] == values["period"].max())]
    attainment = latest[["org_code", "value"]].assign(
        framework=FRAMEWORK, framework_version=1, commitment=COMMITMENT, indicator="doac-share", level="sub-icb",
        period=latest["period"], as_of=latest["period"], ci95_low=latest["value"], ci95_high=latest["value"],
        status="off-trajectory", rank=2, peers_assessed=0, peers_met=0, target=TARGET, deadline=DEADLINE,
        synthetic=False)
    cols = ["indicator", "level", "org_code", "period", "value", "synthetic"]
    extra = [c for c in ("numerator", "denominator") if c in values.columns]
    with store.writing("test results"), store.connect() as con:
        con.register("_v", values)
        con.execute(f"CREATE TABLE result_values AS SELECT {', '.join(cols + extra)} FROM _v")
        con.unregister("_v")
        con.execute("CREATE TABLE result_indicators AS SELECT 'doac-share' AS indicator, 'DOACs' AS title, "
                    "'proportion' AS measure, 'high-is-good' AS polarity, 100.0 AS multiplier, '%' AS unit, "
                    "0.6 AS adoption_threshold, false AS synthetic")
        con.execute(ATTAINMENT.ddl())
        con.register("_a", attainment)
        con.execute("INSERT INTO result_attainment BY NAME SELECT * FROM _a")
        con.unregister("_a")
    refresh_forecasts(store, draws=100)
    return store
