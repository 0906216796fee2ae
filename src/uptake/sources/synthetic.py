"""SYNTHETIC data where the real data stops: lung cancer stage at diagnosis and the dementia diagnosis
rate, per sub-ICB location. Everything here is generated; it is labelled synthetic in the catalogue
(``synthetic: true``) and must be shown as such wherever it appears.

The generators are deterministic (fixed seeds) and every parameter is a named constant below with the
public fact it rests on, or marked ASSUMPTION where no published figure pins it down. The organisations
and their sizes are real: the 106 sub-ICB locations and their registered list sizes (September 2022)
from the bundled NHSBSA DOAC file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd

from uptake.levels import Level
from uptake.sources._common import finish, keep_known, read_csv, resolve_codes, round_half_up
from uptake.sources.doac import RAW_FILE as DOAC_FILE

# ---------------------------------------------------------------------------------------------------
# Lung cancer diagnosed at stage 1-2, quarterly, with targeted lung health checks / lung screening
# ---------------------------------------------------------------------------------------------------
LUNG_SEED = 20_190_401
LUNG_FIRST_QUARTER = dt.date(2017, 1, 1)
LUNG_LAST_QUARTER = dt.date(2025, 10, 1)

#: Cancer Research UK: about 48,500 new lung cancer cases a year in the UK; England has about 84% of
#: the UK population, so about 40,000 (the National Lung Cancer Audit sees 35,000-40,000 a year).
ENGLAND_LUNG_CANCERS_PER_YEAR = 40_000
#: ASSUMPTION: share of lung cancers with a recorded stage (NLCA reports stage for the great majority).
STAGED_SHARE = 0.92
#: IPPR "The innovation lottery" (2020), table 2.4 (CF 2020): stage I 19% + stage II 7% = 26% of all lung
#: cancers, i.e. 27% of those staged (19+7+20+50 = 96%); NLCA reports around 30%. Pre-screening baseline:
BASELINE_EARLY_STAGE = 0.28
#: ASSUMPTION: between-area SD of the baseline (NLCA funnel plots show areas from about 20% to 40%).
BASELINE_EARLY_STAGE_SD = 0.03
#: ASSUMPTION: slow improvement without screening (faster CT access, "straight to CT" pathways).
SECULAR_TREND_PER_YEAR = 0.003
#: NHS England, Targeted Lung Health Check programme: about three quarters (76%) of the cancers it finds
#: are at stage 1 or 2.
SCREEN_DETECTED_EARLY_STAGE = 0.76
#: ASSUMPTION: share of an area's lung cancers found by the programme once it is mature.
SCREEN_DETECTED_SHARE_MATURE = 0.20
#: Uplift in the early-stage share when the programme is mature: 0.20 x (0.76 - 0.28) = 0.096.
MAX_SCREENING_UPLIFT = SCREEN_DETECTED_SHARE_MATURE * (SCREEN_DETECTED_EARLY_STAGE - BASELINE_EARLY_STAGE)
#: ASSUMPTION: the uplift follows an S-curve after an area starts: half after 18 months, 6-month scale
#: (invitations roll out over 2-3 years; a second scan round follows after 2 years).
SCREENING_RAMP_MIDPOINT_MONTHS = 18.0
SCREENING_RAMP_SCALE_MONTHS = 6.0
#: IPPR report: "Lung health checks have been successful in Liverpool and Manchester" (pilots from 2016).
SCREENING_PILOTS: dict[str, dt.date] = {"14L": dt.date(2016, 7, 1), "99A": dt.date(2016, 7, 1)}
#: The national programme: targeted lung health checks started in 2019 in areas of high lung cancer
#: mortality and were extended in 2022; in June 2023 NHS England committed to a national lung cancer
#: screening programme with full coverage by 2029/30. The wave sizes (shares of the areas other than the
#: pilots) are an ASSUMPTION; areas are assigned to waves at random (seeded).
SCREENING_WAVES: tuple[tuple[dt.date, float], ...] = (
    (dt.date(2019, 7, 1), 0.25),
    (dt.date(2022, 4, 1), 0.20),
)
SCREENING_NATIONAL_ROLLOUT: tuple[dt.date, dt.date] = (dt.date(2023, 7, 1), dt.date(2029, 3, 1))
#: ASSUMPTION: lung cancer incidence varies between areas (IPPR: 159% more common in the most deprived
#: group); a lognormal multiplier with this SD on the log scale.
LUNG_INCIDENCE_SD = 0.25
#: ASSUMPTION: Covid-19, April-December 2020: fewer diagnoses, and a lower early-stage share.
COVID_LUNG_QUARTERS: tuple[dt.date, ...] = (dt.date(2020, 4, 1), dt.date(2020, 7, 1), dt.date(2020, 10, 1))
COVID_LUNG_CASE_FACTOR = 0.80
COVID_LUNG_EARLY_STAGE_DROP = 0.02

# ---------------------------------------------------------------------------------------------------
# Dementia diagnosis rate, monthly: recorded diagnoses (65+) / estimated prevalence (65+)
# ---------------------------------------------------------------------------------------------------
DEMENTIA_SEED = 20_120_326
DEMENTIA_FIRST_MONTH = dt.date(2013, 4, 1)
DEMENTIA_LAST_MONTH = dt.date(2025, 9, 1)

#: ONS Census 2021: about 18% of England's population is aged 65 and over.
SHARE_AGED_65_PLUS = 0.18
#: ASSUMPTION: SD (log scale) of that share between sub-ICB locations (coastal and rural areas are older).
SHARE_AGED_65_PLUS_SD = 0.20
#: Alzheimer's Society, Dementia UK: Update (2014): 7.1% of people aged 65 and over have dementia; NHS
#: England's estimated prevalence applies CFAS II age-sex rates to the registered population aged 65+.
DEMENTIA_PREVALENCE_65_PLUS = 0.071
#: ASSUMPTION: the population aged 65+ grows about 1.5% a year.
POPULATION_65_PLUS_GROWTH_PER_YEAR = 0.015
#: The national ambition: two thirds of people with dementia diagnosed (Prime Minister's Challenge on
#: Dementia, 2012; NHS Mandate). The catalogue's adoption threshold.
DEMENTIA_DIAGNOSIS_AMBITION = 0.667
#: About half of people with dementia had a diagnosis when the ambition was set (2012-13).
DDR_START = 0.48
#: NHS Digital, Primary Care Dementia Data: the national rate passed the ambition in 2016 and stood at
#: about 67.5-68% until early 2020.
DDR_PRE_COVID = 0.68
#: ASSUMPTION: timing of the national S-curve (half way in early 2015, most of the rise within 2 years).
DDR_S_MIDPOINT = dt.date(2015, 3, 1)
DDR_S_SCALE_MONTHS = 7.0
#: Primary Care Dementia Data: the rate fell to about 61.5% in the first year of Covid-19 and recovered
#: only partly, to about 64-65% in 2024-25, below the 66.7% ambition.
COVID_DDR_START = dt.date(2020, 3, 1)
COVID_DDR_TROUGH = dt.date(2021, 2, 1)
COVID_DDR_TROUGH_DROP = 0.065
COVID_DDR_PERSISTENT_DROP = 0.03
#: ASSUMPTION: recovery from the trough with this time constant.
COVID_DDR_RECOVERY_MONTHS = 15.0
#: ASSUMPTION: between-area SD of the rate (published sub-ICB rates range from about 50% to 85%), cut at
#: 2.5 SD so one unlucky draw cannot fall outside that range; the SD of the timing of each area's rise;
#: and month-to-month noise (the register is a stock, so it is small).
DDR_AREA_SD = 0.065
DDR_AREA_CUT_SD = 2.5
DDR_AREA_TIMING_SD_MONTHS = 9.0
DDR_MONTHLY_NOISE_SD = 0.003


def sub_icb_list_sizes() -> pd.Series:
    """Registered list size of each sub-ICB location, September 2022 (the last month of the DOAC file)."""
    raw = read_csv(DOAC_FILE, dtype={"ods_code": str, "date": str})
    last = raw[raw["date"] == raw["date"].max()]
    return last.groupby("ods_code")["total_list_size"].max().sort_index()


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _month_starts(first: dt.date, last: dt.date, step: int) -> list[dt.date]:
    days = []
    year, month = first.year, first.month
    while dt.date(year, month, 1) <= last:
        days.append(dt.date(year, month, 1))
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return days


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def screening_starts(codes: list[str], rng: np.random.Generator) -> dict[str, dt.date]:
    """The month each area starts lung screening (pilots, then the waves, then the national rollout)."""
    starts = {code: day for code, day in SCREENING_PILOTS.items() if code in codes}
    remaining = [code for code in codes if code not in starts]
    order = list(rng.permutation(remaining))
    for day, share in SCREENING_WAVES:
        take = int(round(share * len(remaining)))
        for code in order[:take]:
            starts[code] = day
        order = order[take:]
    first, last = SCREENING_NATIONAL_ROLLOUT
    span = _months_between(first, last)
    for code in order:
        offset = int(rng.integers(0, span + 1))
        year, month = first.year, first.month + offset
        starts[code] = dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return starts


def build_lung_cancer_early_stage(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """SYNTHETIC. numerator = lung cancers diagnosed at stage 1 or 2; denominator = lung cancers with a
    recorded stage; per sub-ICB location and quarter."""
    rng = np.random.default_rng(LUNG_SEED)
    sizes = sub_icb_list_sizes()
    codes = list(sizes.index)
    incidence = np.exp(rng.normal(0.0, LUNG_INCIDENCE_SD, len(codes)))
    weights = sizes.to_numpy() * incidence
    expected_staged = ENGLAND_LUNG_CANCERS_PER_YEAR * STAGED_SHARE / 4 * weights / weights.sum()
    baseline = BASELINE_EARLY_STAGE + rng.normal(0.0, BASELINE_EARLY_STAGE_SD, len(codes))
    starts = screening_starts(codes, rng)
    rows = []
    for quarter in _month_starts(LUNG_FIRST_QUARTER, LUNG_LAST_QUARTER, 3):
        years = _months_between(LUNG_FIRST_QUARTER, quarter) / 12.0
        covid = quarter in COVID_LUNG_QUARTERS
        since_start = np.array([_months_between(starts[code], quarter) for code in codes], dtype=float)
        uplift = np.where(
            since_start >= 0,
            MAX_SCREENING_UPLIFT
            * _logistic((since_start - SCREENING_RAMP_MIDPOINT_MONTHS) / SCREENING_RAMP_SCALE_MONTHS),
            0.0,
        )
        p = baseline + SECULAR_TREND_PER_YEAR * years + uplift
        if covid:
            p = p - COVID_LUNG_EARLY_STAGE_DROP
        staged = rng.poisson(expected_staged * (COVID_LUNG_CASE_FACTOR if covid else 1.0))
        early = rng.binomial(staged, np.clip(p, 0.01, 0.99))
        rows.append(
            pd.DataFrame({"org_code": codes, "period": quarter, "numerator": early, "denominator": staged})
        )
    return _finish(pd.concat(rows, ignore_index=True), "lung-cancer-early-stage", org_codes)


def national_dementia_curve(months: np.ndarray, midpoint_shift: np.ndarray | float = 0.0) -> np.ndarray:
    """The national diagnosis rate at ``months`` (months since DEMENTIA_FIRST_MONTH), with the S-curve's
    midpoint moved by ``midpoint_shift`` months (an area's earlier or later rise)."""
    midpoint = _months_between(DEMENTIA_FIRST_MONTH, DDR_S_MIDPOINT) + midpoint_shift
    rise = DDR_START + (DDR_PRE_COVID - DDR_START) * _logistic((months - midpoint) / DDR_S_SCALE_MONTHS)
    start = _months_between(DEMENTIA_FIRST_MONTH, COVID_DDR_START)
    trough = _months_between(DEMENTIA_FIRST_MONTH, COVID_DDR_TROUGH)
    falling = np.clip((months - start) / (trough - start), 0.0, 1.0) * COVID_DDR_TROUGH_DROP
    recovered = COVID_DDR_PERSISTENT_DROP + (COVID_DDR_TROUGH_DROP - COVID_DDR_PERSISTENT_DROP) * np.exp(
        -np.clip(months - trough, 0.0, None) / COVID_DDR_RECOVERY_MONTHS
    )
    covid = np.where(months < trough, falling, recovered)
    return rise - covid


def build_dementia_diagnosis_rate(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """SYNTHETIC. numerator = patients aged 65+ with a recorded dementia diagnosis; denominator = the
    estimated number of people aged 65+ with dementia; per sub-ICB location and month."""
    rng = np.random.default_rng(DEMENTIA_SEED)
    sizes = sub_icb_list_sizes()
    codes = list(sizes.index)
    n = len(codes)
    share_65 = SHARE_AGED_65_PLUS * np.exp(rng.normal(0.0, SHARE_AGED_65_PLUS_SD, n))
    prevalence_2022 = sizes.to_numpy() * share_65 * DEMENTIA_PREVALENCE_65_PLUS
    relative_sd = DDR_AREA_SD / DDR_PRE_COVID
    cut = DDR_AREA_CUT_SD * relative_sd
    level = 1.0 + np.clip(rng.normal(0.0, relative_sd, n), -cut, cut)
    shift = rng.normal(0.0, DDR_AREA_TIMING_SD_MONTHS, n)
    reference_month = _months_between(DEMENTIA_FIRST_MONTH, dt.date(2022, 9, 1))
    rows = []
    for day in _month_starts(DEMENTIA_FIRST_MONTH, DEMENTIA_LAST_MONTH, 1):
        month = _months_between(DEMENTIA_FIRST_MONTH, day)
        growth = (1.0 + POPULATION_65_PLUS_GROWTH_PER_YEAR) ** ((month - reference_month) / 12.0)
        estimated = round_half_up(prevalence_2022 * growth)
        rate = national_dementia_curve(np.full(n, float(month)), shift) * level
        rate = rate + rng.normal(0.0, DDR_MONTHLY_NOISE_SD, n)
        diagnosed = round_half_up(estimated * np.clip(rate, 0.0, None))
        rows.append(
            pd.DataFrame({"org_code": codes, "period": day, "numerator": diagnosed, "denominator": estimated})
        )
    return _finish(pd.concat(rows, ignore_index=True), "dementia-diagnosis-rate", org_codes)


def _finish(frame: pd.DataFrame, indicator_id: str, org_codes: Collection[str] | None) -> pd.DataFrame:
    dropped: dict[str, int] = {}
    empty = frame["denominator"] <= 0
    if empty.any():
        dropped["no cases in the denominator"] = int(empty.sum())
    frame = keep_known(
        frame[~empty], resolve_codes(Level.SUB_ICB, org_codes), dropped, "sub-ICB code not in the hierarchy"
    )
    return finish(frame, indicator_id, dropped)
