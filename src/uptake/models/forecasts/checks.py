"""Out-of-sample checks of the Bass forecasts on real series: fit to the months before a cut-off, predict the
months after it, and measure the error of the central forecast (MAPE) and how often the 95% band holds the
value that was then observed (coverage).

Two real series (docs/forecasts.md gives the results; tests/test_forecasts_checks.py holds them):

- DOACs as a share of DOAC plus warfarin items per sub-ICB location, October 2017 - September 2022 (the
  bundled NHSBSA file behind the doac-share indicator, uptake.sources.doac), England summed from the
  locations;
- the same share per CCG from January 2012 to March 2020 (OpenPrescribing, bundled here: data/PROVENANCE.md),
  the whole S-curve from take-off. Its file gives DOAC items and the percentage only, so a month's
  denominator is items / (percentage / 100) where items > 0; England's share is the sum of items over the
  sum of those denominators.

Both are real data: nothing here is synthetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from uptake.levels import ENGLAND_CODE, Level
from uptake.models.forecasts.model import forecast_indicator
from uptake.sources.doac import DOACS, WARFARIN, read_items

CCG_FILE = Path(__file__).parent / "data" / "ccg_doac_items_and_share_monthly_2012_2020.csv"

__all__ = ["CCG_FILE", "Holdout", "holdout", "ccg_doac_2012_values", "doac_subicb_values", "CHECKS", "run_checks"]


def ccg_doac_2012_values() -> pd.DataFrame:
    """(level, org_code, period, value) of the CCG series from January 2012, with England."""
    raw = pd.read_csv(CCG_FILE, dtype={"ccg_code": str})
    share = raw["doac_pct_of_doac_plus_warfarin_items"].to_numpy(float) / 100.0
    items = raw["doac_items"].to_numpy(float)
    period = pd.to_datetime(raw["month"]).dt.date
    ccg = pd.DataFrame({"level": "ccg", "org_code": raw["ccg_code"], "period": period, "value": share})
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = np.where((items > 0) & (share > 0), items / share, np.nan)
    national = (pd.DataFrame({"period": period, "items": np.where(np.isfinite(denominator), items, np.nan),
                              "denominator": denominator})
                .groupby("period", as_index=False).sum(min_count=1))
    eng = pd.DataFrame({"level": Level.ENGLAND.value, "org_code": ENGLAND_CODE, "period": national["period"],
                        "value": national["items"] / national["denominator"]})
    return pd.concat([eng, ccg], ignore_index=True)


def doac_subicb_values() -> pd.DataFrame:
    """(level, org_code, period, value) of the bundled sub-ICB DOAC share, with England."""
    wide = read_items()
    doac = wide[list(DOACS)].sum(axis=1).to_numpy(float)
    den = doac + wide[WARFARIN].to_numpy(float)
    period = pd.to_datetime(wide["period"]).dt.date
    sub = pd.DataFrame({"level": Level.SUB_ICB.value, "org_code": wide["org_code"], "period": period,
                        "value": np.where(den > 0, doac / np.where(den > 0, den, 1), np.nan)})
    national = pd.DataFrame({"period": period, "n": doac, "d": den}).groupby("period", as_index=False).sum()
    eng = pd.DataFrame({"level": Level.ENGLAND.value, "org_code": ENGLAND_CODE, "period": national["period"],
                        "value": national["n"] / national["d"]})
    return pd.concat([eng, sub], ignore_index=True)


@dataclass(frozen=True)
class Holdout:
    """Errors of forecasts made at ``cutoff`` for the next ``horizon_months``, per level."""

    cutoff: dt.date
    horizon_months: int
    #: level -> (points compared, MAPE in %, coverage of the 95% band as a share)
    by_level: dict[str, tuple[int, float, float]]

    def mape(self, level: str) -> float:
        return self.by_level[level][1]

    def coverage(self, level: str) -> float:
        return self.by_level[level][2]


def holdout(values: pd.DataFrame, cutoff: dt.date, horizon_months: int = 24, **options) -> Holdout:
    """Fit to the values before ``cutoff`` (the cut-off month and later are held out), forecast
    ``horizon_months`` ahead, and compare with the held-out values. MAPE: the mean of
    |forecast - observed| / observed x 100 over every (organisation, month) with an observed value above 0;
    coverage: the share of those values inside the 95% prediction band."""
    periods = pd.to_datetime(values["period"])
    cut = pd.Timestamp(cutoff)
    end = cut + pd.DateOffset(months=horizon_months)
    train = values.loc[periods < cut]
    test = values.loc[(periods >= cut) & (periods < end)]
    result = forecast_indicator(train, horizon_to=(end - pd.DateOffset(months=1)).date(), **options)
    traj = result.trajectories
    joined = test.merge(traj[["level", "org_code", "period", "fitted", "low", "high"]],
                        on=["level", "org_code", "period"], how="inner")
    joined = joined.loc[np.isfinite(joined["value"].to_numpy(float)) & (joined["value"] > 0)]
    by_level: dict[str, tuple[int, float, float]] = {}
    for level, part in joined.groupby("level"):
        obs = part["value"].to_numpy(float)
        err = np.abs(part["fitted"].to_numpy(float) - obs) / obs * 100.0
        inside = (part["low"].to_numpy(float) <= obs) & (obs <= part["high"].to_numpy(float))
        by_level[str(level)] = (int(obs.size), float(err.mean()), float(inside.mean()))
    return Holdout(cutoff=cutoff, horizon_months=horizon_months, by_level=by_level)


#: The checks docs/forecasts.md reports: (series, its loader, (cut-off, months ahead) pairs).
CHECKS = (
    ("DOAC share, sub-ICB locations (NHSBSA, Oct 2017 - Sep 2022)", doac_subicb_values,
     ((dt.date(2019, 10, 1), 12), (dt.date(2020, 10, 1), 12), (dt.date(2021, 10, 1), 12))),
    ("DOAC share, CCGs from January 2012 (OpenPrescribing)", ccg_doac_2012_values,
     ((dt.date(2015, 1, 1), 24), (dt.date(2016, 1, 1), 24), (dt.date(2017, 1, 1), 24), (dt.date(2018, 1, 1), 24))),
)


def run_checks() -> list[dict]:
    """Every check of ``CHECKS``: one row per series, cut-off and level (points, MAPE %, coverage)."""
    rows = []
    for name, load, cuts in CHECKS:
        values = load()
        for cutoff, months in cuts:
            result = holdout(values, cutoff, months)
            for level, (n, mape, coverage) in sorted(result.by_level.items()):
                rows.append({"series": name, "cutoff": cutoff, "months": months, "level": level, "points": n,
                             "mape_percent": round(mape, 2), "coverage_95": round(coverage, 3)})
    return rows
