"""The demo's sources: indicator id -> the builder that turns bundled raw files into observations."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import pandas as pd

from uptake.levels import Level
from uptake.sources import diabetes, doac, hospital_medicines, narcolepsy, qof, stroke, synthetic

Builder = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class DemoSource:
    """How one indicator's demo observations are made.

    ``builder(org_codes=None)`` returns a frame with exactly ``org_code, period, numerator, denominator``
    (see ``uptake.sources._common.finish``); ``org_codes`` are the organisations of ``level`` to keep
    (default: the bundled hierarchy's current ones). ``frame.attrs["dropped"]`` counts what was left out.
    """

    indicator_id: str
    builder: Builder
    #: short name of the source, for provenance ("NHSBSA English Prescribing Data ...")
    name: str
    description: str
    synthetic: bool
    #: how to recompute the headline figure from the raw file by hand, and what it should be
    reference_check: str
    level: Level
    #: bundled raw files read (in uptake/sources/data); empty for generated data
    files: tuple[str, ...] = ()
    #: loaded by ``uptake demo``; False for the large practice-level monthly series (about 380,000 rows each),
    #: loaded only with ``uptake demo --with-practice-series`` (docs/spread-innovations.md, "In the demo")
    in_demo: bool = True

    def build(self, org_codes: Collection[str] | None = None) -> pd.DataFrame:
        return self.builder(org_codes)


_SSNAP = "SSNAP via the SAMueL project (University of Exeter)"
_OP = "NHSBSA prescribing data aggregated by OpenPrescribing.net (Bennett Institute)"

SOURCES: dict[str, DemoSource] = {
    source.indicator_id: source
    for source in (
        DemoSource(
            "doac-share",
            doac.build_doac_share,
            "NHSBSA English Prescribing Data (compiled by NICE, niceRplots)",
            "Monthly prescription items of apixaban, dabigatran, edoxaban and rivaroxaban against warfarin "
            "per sub-ICB location, October 2017 to September 2022.",
            False,
            "For each month of the raw file, sum `items` where `chemical` is not 'Warfarin sodium' and "
            "divide by the sum of all `items`: 45.6% in October 2017, 79.9% in September 2022.",
            Level.SUB_ICB,
            (doac.RAW_FILE,),
        ),
        DemoSource(
            "edoxaban-share",
            doac.build_edoxaban_share,
            "NHSBSA English Prescribing Data (compiled by NICE, niceRplots)",
            "Monthly prescription items of edoxaban among all DOAC items per sub-ICB location.",
            False,
            "For each month, sum `items` where `chemical` is 'Edoxaban' and divide by the sum of `items` of "
            "the four DOACs: 1.8% in October 2017, 17.2% in September 2022.",
            Level.SUB_ICB,
            (doac.RAW_FILE,),
        ),
        DemoSource(
            "thrombolysis-rate",
            stroke.build_thrombolysis_rate,
            _SSNAP,
            "Thrombolysis among emergency stroke admissions arriving by ambulance, per English stroke unit "
            "and calendar year 2016-2021 (SAMueL descriptive statistics cohort).",
            False,
            "In ssnap_team_summary_stats_2016-2021.csv, per team-year column, round(thrombolysis x count) "
            "over count; the row `thrombolysis` of column 'All England & Wales (<year>)' (13.6% in 2016, "
            "12.5% in 2021) matches sum(numerator)/sum(denominator) over all teams including Wales to within "
            "0.1 percentage point (the aggregate also counts teams too small to be listed).",
            Level.STROKE_UNIT,
            (stroke.TEAM_STATS_FILE, stroke.TEAM_POSTCODES_FILE, stroke.HOSPITALS_FILE),
        ),
        DemoSource(
            "thrombolysis-rate-all-admissions",
            stroke.build_thrombolysis_rate_all_admissions,
            _SSNAP,
            "Thrombolysis among all stroke admissions per English stroke unit, financial year 2021/22.",
            False,
            "In stroke_hospitals_2022.csv, England rows: sum(`Thrombolysis`) / sum(`Admissions 21/22`) = "
            "8,376 / 80,032 = 10.5%; per unit, 100 x Thrombolysis / Admissions "
            "rounds to `ivt_rate`.",
            Level.STROKE_UNIT,
            (stroke.HOSPITALS_FILE,),
        ),
        *(
            DemoSource(
                indicator_id,
                builder,
                "NHS England Quality and Outcomes Framework 2023/24 (compiled by the Health Equity Evidence "
                "Centre)",
                f"QOF {label} domain per GP practice, 2023/24: a register-weighted achievement score derived "
                "from the published achievement %, prevalence % and list size (not a count of patients).",
                False,
                f"Per practice, numerator/denominator equals Achievement_{domain}/100 to within rounding; "
                f"nationally sum(Achievement_{domain} x Prevalence_{domain} x List.Size_{domain}) / "
                f"sum(Prevalence_{domain} x List.Size_{domain}) / 100 = {headline}.",
                Level.PRACTICE,
                (qof.RAW_FILE,),
            )
            for indicator_id, builder, label, domain, headline in (
                ("qof-af-achievement", qof.build_qof_af_achievement, "atrial fibrillation", "AF", "98.9%"),
                (
                    "qof-hypertension-achievement",
                    qof.build_qof_hypertension_achievement,
                    "hypertension",
                    "HYP",
                    "91.6%",
                ),
                (
                    "qof-stroke-tia-achievement",
                    qof.build_qof_stroke_tia_achievement,
                    "stroke and TIA",
                    "STIA",
                    "96.5%",
                ),
            )
        ),
        DemoSource(
            "narcolepsy-newer-share",
            narcolepsy.build_narcolepsy_newer_share,
            "NHSBSA Secondary Care Medicines Data (extracted by the Bennett Institute, scmd-narcolepsy)",
            "Defined daily doses of pitolisant (and solriamfetol) among all narcolepsy-specific medicines "
            "(pitolisant, solriamfetol, sodium oxybate, modafinil) issued by each open NHS trust, monthly "
            "January 2019 to October 2021.",
            False,
            "Per month, DDDs = total_quantity x mg per unit (from the product name; per ml for liquids) / "
            "daily dose (pitolisant 18 mg, sodium oxybate 7.5 g, modafinil 300 mg); the national share "
            "sum(pitolisant DDDs) / sum(all four agents' DDDs) over the trusts kept is 16.4% in January "
            "2019 and 25.8% in July 2021.",
            Level.TRUST,
            (narcolepsy.RAW_FILE,),
        ),
        DemoSource(
            "doac-share-2012",
            doac.build_doac_share_2012,
            _OP + ", openprescribing-doacs-workbook",
            "Monthly DOAC items and DOAC share of DOAC + warfarin items per 2019/20 CCG, January 2012 to March "
            "2020, summed into July 2022 sub-ICB locations.",
            False,
            "Per month, sum doac_items and doac_items / (doac_pct_of_doac_plus_warfarin_items / 100) over every "
            "CCG: 1,034 DOAC items of 683,070 in January 2012 (0.15%), 694,776 in January 2018, 45.6% in "
            "October 2017 (the 2017-2022 file also gives 45.6%).",
            Level.SUB_ICB,
            (doac.CCG_2012_FILE,),
        ),
        DemoSource(
            "doac-share-practice",
            doac.build_doac_share_practice,
            _OP + ", improvement radar prototype",
            "Published DOAC share of DOAC + warfarin items per GP practice and month, January 2018 to January "
            "2023 (values only, no counts).",
            False,
            "Median of doac_share_of_doac_plus_warfarin_items over practices: 0.489 in January 2018, 0.822 in "
            "January 2023.",
            Level.PRACTICE,
            (doac.PRACTICE_FILE,),
            in_demo=False,
        ),
        DemoSource(
            "sglt2-items-per-1000",
            diabetes.build_sglt2_rate,
            _OP + ", improvement radar prototype",
            "SGLT2-inhibitor prescription items per sub-ICB location and month, December 2020 to December 2025, "
            "over registered patients.",
            False,
            "Per month, sum sglt2_items over locations and divide by sum(list_size_thousands) x 1,000 of the "
            "CGM file: 5.9 per 1,000 in December 2020, 11.0 in December 2022, 24.7 in December 2025.",
            Level.SUB_ICB,
            (diabetes.SGLT2_FILE, diabetes.CGM_2020_FILE),
        ),
        DemoSource(
            "cgm-sensors-per-1000",
            diabetes.build_cgm_rate,
            _OP + ", improvement radar prototype and jupyter-notebooks (libre)",
            "CGM sensors (FreeStyle Libre before 2018) prescribed per sub-ICB location and month, May 2014 to "
            "December 2025, over registered patients.",
            False,
            "Per month, sum the sensor quantity and list_size_thousands x 1,000: 1,622 sensors in January 2018 "
            "(Libre file and CGM file agree), 0 before November 2017, 14.0 per 1,000 in December 2025.",
            Level.SUB_ICB,
            (diabetes.LIBRE_FILE, diabetes.CGM_2018_FILE, diabetes.CGM_2020_FILE),
        ),
        DemoSource(
            "cgm-sensors-per-1000-practice",
            diabetes.build_cgm_rate_practice,
            _OP + ", improvement radar prototype",
            "Published CGM sensors per 1,000 registered patients per GP practice and month, January 2018 to "
            "January 2023 (values only, no counts).",
            False,
            "cgm_sensor_quantity_per_1000_patients per practice and month, as published.",
            Level.PRACTICE,
            (diabetes.CGM_PRACTICE_FILE,),
            in_demo=False,
        ),
        DemoSource(
            "breast-cancer-ta-medicines-add",
            hospital_medicines.build_breast_cancer_add,
            "NHS Digital Innovation Scorecard (October 2022), via NICE Data and Analytics",
            "Average daily quantities of seven NICE-TA breast cancer medicines per STP (ICB) and quarter, "
            "July 2020 to June 2022, with the STP population.",
            False,
            "Per quarter, sum numerator over all rows and divide by the sum of one denominator per STP: "
            "488,951 / 56,550,138 = 865 per 100,000 in the quarter ending 2020-09-30, 686,487 (1,214) in the "
            "quarter ending 2022-06-30.",
            Level.ICB,
            (hospital_medicines.SCORECARD_FILE,),
        ),
        *(
            DemoSource(
                f"covid-{medicine}-ddd",
                builder,
                "NHSBSA Secondary Care Medicines Data (extracted by the Bennett Institute, "
                "open-nhs-hospital-use-data)",
                f"{medicine.capitalize()} issued per trust and month, January 2019 to November 2020, in "
                "defined daily doses, over days in the month.",
                False,
                check,
                Level.TRUST,
                (hospital_medicines.SCMD_COVID_FILE,),
            )
            for medicine, builder, check in (
                ("remdesivir", hospital_medicines.build_remdesivir,
                 "Sum total_quantity x mg per unit / 100 over remdesivir products: 105 doses in March 2020, "
                 "104,040 vials of 100 mg solution plus powder in September 2020 (106,892 doses over the "
                 "trusts kept)."),
                ("tocilizumab", hospital_medicines.build_tocilizumab,
                 "Sum total_quantity x mg per unit / 20 over tocilizumab products: about 1.2-1.3 million doses "
                 "a month in 2019-2020."),
            )
        ),
        DemoSource(
            "lung-cancer-early-stage",
            synthetic.build_lung_cancer_early_stage,
            "SYNTHETIC: generated by uptake.sources.synthetic (seeded)",
            "SYNTHETIC lung cancers diagnosed at stage 1-2 among staged lung cancers, per sub-ICB location "
            "and quarter 2017-2025, with lung health checks / screening spreading area by area.",
            True,
            "No raw data: rerun the generator (fixed seed) and pool all areas: about 28% in 2017, a dip in "
            "April-December 2020, about 36% in 2025.",
            Level.SUB_ICB,
            (doac.RAW_FILE,),
        ),
        DemoSource(
            "dementia-diagnosis-rate",
            synthetic.build_dementia_diagnosis_rate,
            "SYNTHETIC: generated by uptake.sources.synthetic (seeded)",
            "SYNTHETIC recorded dementia diagnoses (65+) over estimated prevalence (65+) per sub-ICB "
            "location and month, April 2013 to September 2025.",
            True,
            "No raw data: rerun the generator (fixed seed) and pool all areas: about 49% in April 2013, "
            "67% in 2017-2019, 61% in 2021, 64% in 2025.",
            Level.SUB_ICB,
            (doac.RAW_FILE,),
        ),
    )
}
