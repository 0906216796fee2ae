"""Hospital and specialist medicines: the NHS Innovation Scorecard's NICE-approved breast cancer medicines per
ICB (STP) and population, and COVID-19 treatments issued by hospital trusts (NHSBSA Secondary Care Medicines
Data).

Raw files (uptake/sources/data, PROVENANCE.md):

* ``stp_innovation_scorecard_breast_cancer_TA_meds_quarterly_2020_2022.csv.gz``: NHS Digital Innovation
  Scorecard (October 2022 release, via NICE-Data-and-Analytics/Prototype_BC_prescribing): average daily
  quantities (ADQ/"ADD") of seven breast cancer medicines with NICE technology appraisals, per STP and quarter
  (the date is the quarter's last day), primary and secondary care, with the STP's population;
* ``trust_scmd_remdesivir_tocilizumab_sarilumab_monthly_2019_2020.csv.gz``: hospital-issued quantity per trust,
  month and dm+d product (VMP) of remdesivir, tocilizumab and sarilumab, January 2019 - November 2020
  (ebmdatalab/open-nhs-hospital-use-data). Rows of trusts that merged into one successor are given to it for
  all months (``uptake.sources.narcolepsy.PREDECESSORS``); rows of the split trusts are dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

import numpy as np
import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.sources._common import finish, keep_known, read_csv, resolve_codes, round_half_up
from uptake.sources.narcolepsy import PREDECESSORS, SPLIT_TRUSTS

SCORECARD_FILE = "stp_innovation_scorecard_breast_cancer_TA_meds_quarterly_2020_2022.csv.gz"
SCMD_COVID_FILE = "trust_scmd_remdesivir_tocilizumab_sarilumab_monthly_2019_2020.csv.gz"

#: the seven medicines of the scorecard file, each with its NICE technology appraisal(s)
BREAST_CANCER_MEDICINES: dict[str, str] = {
    "abemaciclib": "TA563, TA579, TA725",
    "neratinib": "TA612",
    "palbociclib": "TA495, TA619",
    "ribociclib": "TA496, TA593, TA687",
    "trastuzumab deruxtecan": "TA704, TA862",
    "trastuzumab emtansine": "TA458, TA632",
    "tucatinib": "TA786",
}

#: WHO ATC/DDD index defined daily doses (parenteral): remdesivir J05AB16 0.1 g; tocilizumab L04AC07 20 mg
DDD_MG: dict[str, float] = {"remdesivir": 100.0, "tocilizumab": 20.0}


def _quarter_start(last_day: str) -> dt.date:
    day = dt.date.fromisoformat(last_day[:10])
    if day.month not in (3, 6, 9, 12):
        raise UptakeError(f"{SCORECARD_FILE}: {last_day} is not the last day of a quarter")
    return dt.date(day.year, day.month - 2, 1)


def read_scorecard() -> pd.DataFrame:
    raw = read_csv(SCORECARD_FILE, dtype={"stp_ods_cd": str, "date": str, "treatment_name": str})
    unknown = sorted(set(raw["treatment_name"]) - set(BREAST_CANCER_MEDICINES))
    if unknown:
        raise UptakeError(f"{SCORECARD_FILE}: unexpected treatment_name {unknown}; expected "
                          f"{sorted(BREAST_CANCER_MEDICINES)}")
    return raw


def build_breast_cancer_add(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = average daily quantities of the seven medicines (primary + secondary care) in the quarter;
    denominator = the STP's population as the scorecard gives it (one value per STP and quarter); per ICB (the
    STP's ODS code is the July 2022 ICB's) and quarter."""
    raw = read_scorecard()
    populations = raw.groupby(["stp_ods_cd", "date"])["denominator"].agg(["min", "max"])
    if (populations["min"] != populations["max"]).any():
        bad = populations[populations["min"] != populations["max"]].index[0]
        raise UptakeError(f"{SCORECARD_FILE}: {bad[0]} has more than one population in {bad[1]}")
    frame = raw.groupby(["stp_ods_cd", "date"], as_index=False).agg(numerator=("numerator", "sum"),
                                                                      denominator=("denominator", "first"))
    frame = frame.rename(columns={"stp_ods_cd": "org_code"})
    frame["period"] = [_quarter_start(d) for d in frame["date"]]
    dropped: dict[str, int] = {}
    frame = keep_known(frame, resolve_codes(Level.ICB, org_codes), dropped, "ICB code not in the hierarchy")
    return finish(frame, "breast-cancer-ta-medicines-add", dropped)


def _strength_mg(product: str) -> float:
    """mg per unit (vial, pre-filled syringe or pen) from the dm+d product name: '100mg', '162mg/0.9ml',
    '400mg/20ml' -> 100, 162, 400."""
    found = re.match(r"^\S+\s+(\d+(?:\.\d+)?)mg", product)
    if not found:
        raise UptakeError(f"{SCMD_COVID_FILE}: cannot read the strength of {product!r}")
    return float(found.group(1))


def read_covid_ddds() -> pd.DataFrame:
    """Defined daily doses per trust, month and medicine (remdesivir, tocilizumab; sarilumab left out), and the
    trusts that issued any of the file's medicines in each month."""
    raw = read_csv(SCMD_COVID_FILE, dtype={"ods_code": str, "year_month": str, "vmp_product_name": str})
    medicine = raw["vmp_product_name"].str.split().str[0].str.lower()
    unknown = sorted(set(medicine) - {"remdesivir", "tocilizumab", "sarilumab"})
    if unknown:
        raise UptakeError(f"{SCMD_COVID_FILE}: unexpected medicines {unknown}")
    mg = raw["total_quantity"] * raw["vmp_product_name"].map(_strength_mg)
    ddd = mg / medicine.map(DDD_MG)
    return pd.DataFrame({"org_code": raw["ods_code"], "period": raw["year_month"], "medicine": medicine,
                         "ddd": ddd})


def _build_covid(medicine: str, indicator_id: str, org_codes: Collection[str] | None) -> pd.DataFrame:
    ddds = read_covid_ddds()
    dropped: dict[str, int] = {}
    split = ddds["org_code"].isin(list(SPLIT_TRUSTS))
    if split.any():
        dropped["rows of trusts split between successors (" + ", ".join(sorted(SPLIT_TRUSTS)) + ")"] = int(
            split.sum())
    ddds = ddds[~split].copy()
    successor = {old: new for old, (new, _) in PREDECESSORS.items()}
    ddds["org_code"] = ddds["org_code"].map(lambda code: successor.get(code, code))
    reporting = ddds[["org_code", "period"]].drop_duplicates()
    mine = ddds[ddds["medicine"] == medicine].groupby(["org_code", "period"], as_index=False)["ddd"].sum()
    frame = reporting.merge(mine, on=["org_code", "period"], how="left").fillna({"ddd": 0.0})
    negative = frame["ddd"] < 0
    if negative.any():
        dropped["net negative quantity (returns above issues)"] = int(negative.sum())
    frame = frame[~negative]
    days = np.array([pd.Period(p[:7], "M").days_in_month for p in frame["period"]])
    frame = pd.DataFrame({"org_code": frame["org_code"], "period": frame["period"],
                          "numerator": round_half_up(frame["ddd"]), "denominator": days})
    frame = keep_known(frame, resolve_codes(Level.TRUST, org_codes), dropped,
                       "trust not an open trust in the hierarchy (merged or not English)")
    return finish(frame, indicator_id, dropped)


def build_remdesivir(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = remdesivir defined daily doses (100 mg) issued by the trust in the month, rounded half up;
    denominator = days in the month; per trust that issued any remdesivir, tocilizumab or sarilumab that
    month (a trust that issued none of the three is not in the file)."""
    return _build_covid("remdesivir", "covid-remdesivir-ddd", org_codes)


def build_tocilizumab(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """As ``build_remdesivir`` for tocilizumab (defined daily dose 20 mg)."""
    return _build_covid("tocilizumab", "covid-tocilizumab-ddd", org_codes)
