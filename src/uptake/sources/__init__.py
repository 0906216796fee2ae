"""Source adapters: bundled raw files (real NHS data, see data/PROVENANCE.md) and seeded generators
(synthetic data) turned into observation frames, one builder per indicator.

Every builder returns a frame with exactly the columns ``org_code, period, numerator, denominator``
(``period`` a ``datetime.date``, counts int64, one row per organisation and period) and records what it
left out in ``frame.attrs["dropped"]``. ``SOURCES`` maps indicator id -> :class:`DemoSource`.
"""

from uptake.sources._common import OBSERVATION_COLUMNS
from uptake.sources.doac import build_doac_share, build_edoxaban_share
from uptake.sources.narcolepsy import build_narcolepsy_newer_share
from uptake.sources.qof import (
    build_qof_af_achievement,
    build_qof_hypertension_achievement,
    build_qof_stroke_tia_achievement,
)
from uptake.sources.registry import SOURCES, DemoSource
from uptake.sources.stroke import build_thrombolysis_rate, build_thrombolysis_rate_all_admissions
from uptake.sources.synthetic import build_dementia_diagnosis_rate, build_lung_cancer_early_stage

__all__ = [
    "OBSERVATION_COLUMNS",
    "SOURCES",
    "DemoSource",
    "build_dementia_diagnosis_rate",
    "build_doac_share",
    "build_edoxaban_share",
    "build_lung_cancer_early_stage",
    "build_narcolepsy_newer_share",
    "build_qof_af_achievement",
    "build_qof_hypertension_achievement",
    "build_qof_stroke_tia_achievement",
    "build_thrombolysis_rate",
    "build_thrombolysis_rate_all_admissions",
]
