"""Direct oral anticoagulants (DOACs) replacing warfarin: monthly prescription items per sub-ICB location.

Raw file: ``doac_warfarin_items_sicbl_monthly_2017-10_2022-09.csv`` (NHSBSA English Prescribing Data, as
compiled by NICE's niceRplots). One row per month x chemical x sub-ICB location with ``items``. The sub-ICB
codes are the July 2022 locations for every month (the compiler mapped earlier CCGs onto them).
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.sources._common import finish, keep_known, map_ccg_codes, practice_share_only, read_csv, resolve_codes

RAW_FILE = "doac_warfarin_items_sicbl_monthly_2017-10_2022-09.csv"

#: The four DOACs licensed for stroke prevention in AF, as the ``chemical`` column names them.
DOACS: tuple[str, ...] = ("Apixaban", "Dabigatran etexilate", "Edoxaban", "Rivaroxaban")
WARFARIN = "Warfarin sodium"
EDOXABAN = "Edoxaban"


def read_items() -> pd.DataFrame:
    """Items per (month, sub-ICB location) with one column per chemical; a missing row counts as 0 items
    (edoxaban has no row for 8 location-months early in the series, when it was not yet prescribed)."""
    raw = read_csv(RAW_FILE, dtype={"ods_code": str, "chemical": str, "date": str})
    unknown = sorted(set(raw["chemical"]) - set(DOACS) - {WARFARIN})
    if unknown:
        raise UptakeError(
            f"{RAW_FILE}: unexpected chemicals {unknown}; expected {list(DOACS)} and {WARFARIN}"
        )
    wide = raw.pivot_table(
        index=["date", "ods_code"], columns="chemical", values="items", aggfunc="sum", fill_value=0
    )
    wide = wide.reindex(columns=[*DOACS, WARFARIN], fill_value=0).reset_index()
    return wide.rename(columns={"date": "period", "ods_code": "org_code"})


def build_doac_share(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = DOAC items (apixaban + dabigatran + edoxaban + rivaroxaban);
    denominator = DOAC items + warfarin items; per sub-ICB location and month."""
    wide = read_items()
    frame = pd.DataFrame(
        {
            "org_code": wide["org_code"],
            "period": wide["period"],
            "numerator": wide[list(DOACS)].sum(axis=1),
            "denominator": wide[list(DOACS)].sum(axis=1) + wide[WARFARIN],
        }
    )
    return _finish(frame, "doac-share", org_codes)


def build_edoxaban_share(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = edoxaban items; denominator = all DOAC items; per sub-ICB location and month."""
    wide = read_items()
    frame = pd.DataFrame(
        {
            "org_code": wide["org_code"],
            "period": wide["period"],
            "numerator": wide[EDOXABAN],
            "denominator": wide[list(DOACS)].sum(axis=1),
        }
    )
    return _finish(frame, "edoxaban-share", org_codes)


def _finish(frame: pd.DataFrame, indicator_id: str, org_codes: Collection[str] | None) -> pd.DataFrame:
    dropped: dict[str, int] = {}
    empty = frame["denominator"] <= 0
    if empty.any():
        dropped["no items in the denominator"] = int(empty.sum())
    frame = keep_known(
        frame[~empty], resolve_codes(Level.SUB_ICB, org_codes), dropped, "sub-ICB code not in the hierarchy"
    )
    return finish(frame, indicator_id, dropped)


# ----------------------------------------------------------------------------- DOACs since 2012, per CCG
#: OpenPrescribing's DOAC share per CCG from January 2012 (ebmdatalab/openprescribing-doacs-workbook,
#: data/df_ccg.csv): doac_items and doac_pct_of_doac_plus_warfarin_items (a percentage) per 2019/20 CCG.
CCG_2012_FILE = "ccg_doac_items_and_share_monthly_2012_2020.csv.gz"
#: OpenPrescribing's practice-level DOAC share (measure `doacs`), values only (ebmdatalab/improvement_radar_prototype)
PRACTICE_FILE = "practice_doacs_ratio_monthly_2018_2023.csv.gz"


def read_ccg_2012() -> pd.DataFrame:
    """The 2012-2020 CCG file with each row's DOAC + warfarin items recovered: doac_items / (pct / 100), a
    whole number to within 1e-11 wherever doac_items > 0 (where it is 0 the denominator cannot be recovered:
    ``denominator`` is NaN)."""
    raw = read_csv(CCG_2012_FILE, dtype={"ccg_code": str, "month": str})
    share = raw["doac_pct_of_doac_plus_warfarin_items"] / 100.0
    denominator = (raw["doac_items"] / share.where(raw["doac_items"] > 0)).round()
    return pd.DataFrame({"org_code": raw["ccg_code"], "period": raw["month"], "numerator": raw["doac_items"],
                         "denominator": denominator})


def build_doac_share_2012(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = DOAC items; denominator = DOAC + warfarin items; per July 2022 sub-ICB location (its 2019/20
    CCGs summed, ``uptake.reference.ccg_successors``) and month, January 2012 to March 2020. A location-month
    one of whose CCGs had no DOAC item (its denominator cannot be recovered from a 0% share) is dropped whole,
    so that no location's value leaves out part of its population."""
    dropped: dict[str, int] = {}
    frame = map_ccg_codes(read_ccg_2012(), dropped)
    unknown = frame["denominator"].isna()
    blocked = frame.loc[unknown, ["org_code", "period"]].drop_duplicates()
    if len(blocked):
        dropped["location-months with a CCG of 0 DOAC items (denominator not recoverable)"] = len(blocked)
    summed = frame.groupby(["org_code", "period"], as_index=False)[["numerator", "denominator"]].sum(min_count=1)
    keys = summed.merge(blocked.assign(_blocked=True), on=["org_code", "period"], how="left")["_blocked"]
    summed = summed[keys.isna().to_numpy()]
    summed = keep_known(summed, resolve_codes(Level.SUB_ICB, org_codes), dropped,
                        "sub-ICB code not in the hierarchy")
    return finish(summed, "doac-share-2012", dropped)


def build_doac_share_practice(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """Share-only: numerator = the published DOAC share of DOAC + warfarin items of the practice in the month
    (a fraction), denominator = 1 (``Measure.SHARE_ONLY``); empty values (no anticoagulant item that month)
    are dropped, as are practices not in the hierarchy (closed before December 2023)."""
    return practice_share_only(PRACTICE_FILE, "doac_share_of_doac_plus_warfarin_items", "doac-share-practice",
                               org_codes)
