"""Quality and Outcomes Framework (QOF) cardiovascular domains per GP practice, 2023/24.

Raw file: ``qof_cvd_gp_practice_2023-24.csv`` (NHS England QOF publication, compiled by the Health Equity
Evidence Centre). Per practice and domain it gives ``Achievement_<D>`` (the domain's published
achievement, %), ``Prevalence_<D>`` (register / list size, %) and ``List.Size_<D>``, but no counts.

So the counts are derived, and they are **not** counts of patients treated:

* denominator = patients on the domain's register = round(prevalence% x list size / 100);
* numerator = round(achievement% x register / 100): a register-weighted achievement score.

Summing numerators and denominators over practices therefore weights each practice's achievement by its
register, which is what a pooled (sub-ICB, ICB, England) value should do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import pandas as pd

from uptake.levels import Level
from uptake.sources._common import finish, keep_known, read_csv, resolve_codes, round_half_up

RAW_FILE = "qof_cvd_gp_practice_2023-24.csv"
#: QOF year 2023/24 runs 1 April 2023 - 31 March 2024.
PERIOD = dt.date(2023, 4, 1)

#: indicator id -> the QOF domain's suffix in the raw file's column names
DOMAINS: dict[str, str] = {
    "qof-af-achievement": "AF",
    "qof-hypertension-achievement": "HYP",
    "qof-stroke-tia-achievement": "STIA",
}


def build_qof_domain(indicator_id: str, org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """The register-weighted achievement of one QOF domain (see the module docstring)."""
    domain = DOMAINS[indicator_id]
    raw = read_csv(RAW_FILE, dtype={"Practice.Code": str})
    achievement = raw[f"Achievement_{domain}"]
    prevalence = raw[f"Prevalence_{domain}"]
    list_size = raw[f"List.Size_{domain}"]
    dropped: dict[str, int] = {}
    no_code = raw["Practice.Code"].isna()
    missing = (achievement.isna() | prevalence.isna() | list_size.isna()) & ~no_code
    dropped["row without a practice code"] = int(no_code.sum())
    dropped[f"achievement, prevalence or list size missing for {domain}"] = int(missing.sum())
    keep = ~(no_code | missing)
    register = round_half_up(prevalence[keep] * list_size[keep] / 100.0)
    frame = pd.DataFrame(
        {
            "org_code": raw.loc[keep, "Practice.Code"].str.strip().to_numpy(),
            "period": PERIOD,
            "numerator": round_half_up(achievement[keep].to_numpy() * register / 100.0),
            "denominator": register,
        }
    )
    empty = frame["denominator"] <= 0
    dropped["empty register"] = int(empty.sum())
    frame = frame[~empty]
    frame = keep_known(
        frame, resolve_codes(Level.PRACTICE, org_codes), dropped, "practice not in the hierarchy"
    )
    return finish(frame, indicator_id, {k: v for k, v in dropped.items() if v})


def build_qof_af_achievement(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """Atrial fibrillation domain (AF register; anticoagulation and diagnosis indicators)."""
    return build_qof_domain("qof-af-achievement", org_codes)


def build_qof_hypertension_achievement(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """Hypertension domain (blood pressure control on the hypertension register)."""
    return build_qof_domain("qof-hypertension-achievement", org_codes)


def build_qof_stroke_tia_achievement(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """Stroke and TIA domain (secondary prevention on the stroke/TIA register)."""
    return build_qof_domain("qof-stroke-tia-achievement", org_codes)
