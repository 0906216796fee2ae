"""Diabetes medicines and devices spreading in primary care, from OpenPrescribing's measures (Bennett Institute
for Applied Data Science; NHSBSA English Prescribing Data): SGLT2 inhibitors and continuous glucose monitoring
(FreeStyle Libre and other CGM sensors).

Raw files (uptake/sources/data, PROVENANCE.md):

* ``subicb_sglt2_items_monthly_2020_2025.csv.gz``: all SGLT2-inhibitor items per sub-ICB location and month,
  December 2020 - December 2025 (``sglt2_items``);
* ``subicb_cgm_sensors_monthly_2020_2025.csv.gz``: CGM sensor quantity and list size (thousands) per sub-ICB
  location, the same months: the list size is also SGLT2's denominator;
* ``subicb_cgm_sensors_monthly_2018_2023.csv.gz``: the same measure, January 2018 - January 2023;
* ``ccg_freestyle_libre_quantity_monthly_2014_2019.csv.gz``: FreeStyle Libre sensors (BNF 21480000100/101) and
  list size per 2019/20 CCG, May 2014 - April 2019 (zero until the Drug Tariff listed Libre in November 2017);
* ``practice_cgm_sensors_ratio_monthly_2018_2023.csv.gz``: CGM sensors per 1,000 patients per GP practice,
  values only.

The 2020-2025 files list 214 codes, of which only the 106 July 2022 sub-ICB locations ever have a non-zero list
size: the other 108 (legacy codes with zeros) are dropped.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.sources._common import (
    finish,
    keep_known,
    map_ccg_codes,
    practice_share_only,
    read_csv,
    resolve_codes,
    round_half_up,
)

SGLT2_FILE = "subicb_sglt2_items_monthly_2020_2025.csv.gz"
CGM_2020_FILE = "subicb_cgm_sensors_monthly_2020_2025.csv.gz"
CGM_2018_FILE = "subicb_cgm_sensors_monthly_2018_2023.csv.gz"
LIBRE_FILE = "ccg_freestyle_libre_quantity_monthly_2014_2019.csv.gz"
CGM_PRACTICE_FILE = "practice_cgm_sensors_ratio_monthly_2018_2023.csv.gz"

#: the stitched CGM series takes each month from one file: Libre (CCG) before 2018, the 2018-2023 file until
#: November 2020, the 2020-2025 file from December 2020 (its first month)
CGM_2018_FROM = "2018-01-01"
CGM_2020_FROM = "2020-12-01"


def list_sizes(name: str = CGM_2020_FILE) -> pd.DataFrame:
    """Registered patients per sub-ICB location and month (org_code, period, patients): list_size_thousands x
    1,000, whole patients (the files give thousands to 3 decimals)."""
    raw = read_csv(name, dtype={"sub_icb_code": str, "month": str})
    return pd.DataFrame({"org_code": raw["sub_icb_code"], "period": raw["month"],
                         "patients": round_half_up(raw["list_size_thousands"] * 1000)})


def build_sglt2_rate(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = SGLT2-inhibitor prescription items; denominator = registered patients (the CGM file's list
    size for the same location and month); per sub-ICB location and month, December 2020 - December 2025."""
    raw = read_csv(SGLT2_FILE, dtype={"sub_icb_code": str, "month": str})
    items = pd.DataFrame({"org_code": raw["sub_icb_code"], "period": raw["month"], "numerator": raw["sglt2_items"]})
    frame = items.merge(list_sizes().rename(columns={"patients": "denominator"}), on=["org_code", "period"],
                        how="left")
    if frame["denominator"].isna().any():
        first = frame[frame["denominator"].isna()].iloc[0]
        raise UptakeError(f"{SGLT2_FILE}: {first['org_code']} {first['period']} has no list size in {CGM_2020_FILE}")
    return _finish_subicb(frame, "sglt2-items-per-1000", org_codes)


def cgm_frames() -> dict[str, pd.DataFrame]:
    """The three sub-ICB-level pieces of the CGM series before stitching (org_code, period, numerator =
    sensors, denominator = patients), CCGs already mapped and summed; for the tests' overlap checks."""
    libre = read_csv(LIBRE_FILE, dtype={"ccg_code": str, "month": str})
    dropped: dict[str, int] = {}
    libre = map_ccg_codes(pd.DataFrame({
        "org_code": libre["ccg_code"], "period": libre["month"], "numerator": libre["libre_sensor_quantity"],
        "denominator": round_half_up(libre["list_size_thousands"] * 1000)}), dropped)
    libre = libre.groupby(["org_code", "period"], as_index=False)[["numerator", "denominator"]].sum()
    pieces = {"libre": libre}
    for key, name in (("cgm2018", CGM_2018_FILE), ("cgm2020", CGM_2020_FILE)):
        raw = read_csv(name, dtype={"sub_icb_code": str, "month": str})
        pieces[key] = pd.DataFrame({
            "org_code": raw["sub_icb_code"], "period": raw["month"], "numerator": raw["cgm_sensor_quantity"],
            "denominator": round_half_up(raw["list_size_thousands"] * 1000)})
    return pieces


def build_cgm_rate(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = CGM sensors prescribed (FreeStyle Libre before 2018, when it was the only one on the Drug
    Tariff); denominator = registered patients; per sub-ICB location and month, May 2014 - December 2025,
    stitched from three files (``CGM_2018_FROM``, ``CGM_2020_FROM``)."""
    pieces = cgm_frames()
    frame = pd.concat([
        pieces["libre"][pieces["libre"]["period"] < CGM_2018_FROM],
        pieces["cgm2018"][(pieces["cgm2018"]["period"] >= CGM_2018_FROM)
                          & (pieces["cgm2018"]["period"] < CGM_2020_FROM)],
        pieces["cgm2020"][pieces["cgm2020"]["period"] >= CGM_2020_FROM],
    ], ignore_index=True)
    return _finish_subicb(frame, "cgm-sensors-per-1000", org_codes, fractional=("numerator",))


def build_cgm_rate_practice(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """Share-only: numerator = the published CGM sensors per 1,000 registered patients of the practice in the
    month divided by 1,000 (a value per patient, so the catalogue's multiplier 1,000 shows it as published),
    denominator = 1."""
    frame = practice_share_only(CGM_PRACTICE_FILE, "cgm_sensor_quantity_per_1000_patients",
                                "cgm-sensors-per-1000-practice", org_codes)
    frame["numerator"] = frame["numerator"] / 1000.0
    return frame


def _finish_subicb(frame: pd.DataFrame, indicator_id: str, org_codes: Collection[str] | None,
                   fractional: tuple[str, ...] = ()) -> pd.DataFrame:
    dropped: dict[str, int] = {}
    empty = frame["denominator"] <= 0
    if empty.any():
        dropped["no registered patients (a legacy code listed with zeros)"] = int(empty.sum())
    frame = keep_known(frame[~empty], resolve_codes(Level.SUB_ICB, org_codes), dropped,
                       "sub-ICB code not in the hierarchy")
    return finish(frame, indicator_id, dropped, fractional=fractional)
