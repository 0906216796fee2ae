"""Intravenous thrombolysis for acute ischaemic stroke, per stroke unit.

Two SSNAP-derived files published by the SAMueL project (University of Exeter), which do not share a
period convention or a denominator, so they feed two indicators:

* ``thrombolysis-rate`` (calendar years 2016-2021): ``ssnap_team_summary_stats_2016-2021.csv`` is a wide
  table, one row per statistic and one column per "<team> (<year>)". Its cohort (SAMueL descriptive
  statistics, dataset "DS1") is emergency stroke admissions arriving by ambulance with onset outside
  hospital, in teams with more than 100 such admissions in the year. ``count`` is the number of those
  admissions and ``thrombolysis`` the proportion of them thrombolysed, published to 3 decimal places.
  Teams are joined to stroke units by ``ssnap_team_postcodes.csv`` (team -> unit postcode).
* ``thrombolysis-rate-all-admissions`` (financial year 2021/22): ``stroke_hospitals_2022.csv`` gives all
  admissions and the thrombolysis count per unit postcode.

A stroke unit's Uptake code is its postcode without spaces, upper case (e.g. RM70AG).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.sources._common import finish, keep_known, read_csv, resolve_codes, round_half_up

TEAM_STATS_FILE = "ssnap_team_summary_stats_2016-2021.csv"
TEAM_POSTCODES_FILE = "ssnap_team_postcodes.csv"
HOSPITALS_FILE = "stroke_hospitals_2022.csv"

#: Columns of the team table that are aggregates, not teams ("All England & Wales (2016)", "All London").
AGGREGATE_PREFIX = "All "
#: The team table's pooled column for each team ("<team> (2016 to 2021)").
POOLED_YEARS = "2016 to 2021"


def normalise_postcode(postcode: str) -> str:
    return str(postcode).replace(" ", "").strip().upper()


def unit_countries() -> pd.Series:
    """Country (England or Wales) of each stroke unit postcode, from the 2022 hospital list."""
    hospitals = read_csv(HOSPITALS_FILE, dtype={"Postcode": str})
    return pd.Series(hospitals["Country"].to_numpy(), index=hospitals["Postcode"].map(normalise_postcode))


def read_team_years() -> pd.DataFrame:
    """The team table in long form: one row per team and calendar year, with ``count`` (admissions in the
    cohort) and ``thrombolysis`` (the published proportion), aggregates and pooled years removed."""
    wide = read_csv(TEAM_STATS_FILE, index_col=0)
    long = wide.T
    missing = {"count", "thrombolysis", "stroke_team", "year"} - set(long.columns)
    if missing:
        raise UptakeError(f"{TEAM_STATS_FILE}: rows {sorted(missing)} are missing")
    long = long[["stroke_team", "year", "count", "thrombolysis"]].reset_index(names="column")
    long["stroke_team"] = long["stroke_team"].astype(str).str.strip()
    long["year"] = long["year"].astype(str).str.strip()
    return long


def build_thrombolysis_rate(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = round(published thrombolysis proportion x admissions), half up; denominator = admissions
    in the SAMueL cohort; per English stroke unit and calendar year (period = 1 January)."""
    long = read_team_years()
    dropped: dict[str, int] = {}
    aggregate = long["stroke_team"].str.startswith(AGGREGATE_PREFIX)
    dropped["regional or national aggregate column"] = int(aggregate.sum())
    long = long[~aggregate]
    pooled = long["year"] == POOLED_YEARS
    dropped["pooled 2016-2021 column (the single years are kept)"] = int(pooled.sum())
    long = long[~pooled]

    postcodes = read_csv(TEAM_POSTCODES_FILE, dtype={"Postcode": str})
    team_postcode = dict(
        zip(postcodes["stroke_team"].astype(str).str.strip(), postcodes["Postcode"].map(normalise_postcode))
    )
    long = long.assign(org_code=long["stroke_team"].map(team_postcode))
    unmatched = long["org_code"].isna()
    if unmatched.any():
        dropped["team without a postcode"] = int(unmatched.sum())
    long = long[~unmatched]
    country = long["org_code"].map(unit_countries())
    welsh = country != "England"
    dropped["team in Wales (or country unknown)"] = int(welsh.sum())
    long = long[~welsh]

    admissions = pd.to_numeric(long["count"], errors="raise")
    proportion = pd.to_numeric(long["thrombolysis"], errors="raise")
    frame = pd.DataFrame(
        {
            "org_code": long["org_code"],
            "period": [dt.date(int(year), 1, 1) for year in long["year"]],
            "numerator": round_half_up(proportion * admissions),
            "denominator": admissions.astype("int64"),
        }
    )
    frame = keep_known(
        frame, resolve_codes(Level.STROKE_UNIT, org_codes), dropped, "stroke unit not in the hierarchy"
    )
    return finish(frame, "thrombolysis-rate", {k: v for k, v in dropped.items() if v})


def build_thrombolysis_rate_all_admissions(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = patients thrombolysed; denominator = all stroke admissions; per English stroke unit with
    admissions in 2021/22 (period = 1 April 2021)."""
    hospitals = read_csv(HOSPITALS_FILE, dtype={"Postcode": str})
    dropped: dict[str, int] = {}
    welsh = hospitals["Country"] != "England"
    dropped["unit in Wales"] = int(welsh.sum())
    hospitals = hospitals[~welsh]
    admissions = pd.to_numeric(hospitals["Admissions 21/22"], errors="coerce").fillna(0)
    no_admissions = admissions <= 0
    dropped["no stroke admissions recorded in 2021/22"] = int(no_admissions.sum())
    hospitals, admissions = hospitals[~no_admissions], admissions[~no_admissions]
    treated = pd.to_numeric(hospitals["Thrombolysis"], errors="raise")
    # Units that neither offer thrombolysis (Use_IVT = 0) nor gave it in the year are kept: their patients
    # are real admissions. The catalogue's eligibility rule marks them "not eligible" so that their 0% (a
    # service model, not low uptake) is never ranked or judged.
    frame = pd.DataFrame(
        {
            "org_code": hospitals["Postcode"].map(normalise_postcode),
            "period": dt.date(2021, 4, 1),
            "numerator": treated.astype("int64"),
            "denominator": admissions.astype("int64"),
        }
    )
    frame = keep_known(
        frame, resolve_codes(Level.STROKE_UNIT, org_codes), dropped, "stroke unit not in the hierarchy"
    )
    return finish(frame, "thrombolysis-rate-all-admissions", {k: v for k, v in dropped.items() if v})
