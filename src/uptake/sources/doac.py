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
from uptake.sources._common import finish, keep_known, read_csv, resolve_codes

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
