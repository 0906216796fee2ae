"""Outcome models (uptake.models.outcomes): DOACs instead of warfarin (Ruff et al., Lancet 2014) and lung
cancer stage shift (IPPR table 2.4, CRUK survival by stage); their parameter files; the outcome rows of an
opportunity table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from uptake.errors import UptakeError
from uptake.models.outcomes import doac, lung, registry
from uptake.models.outcomes.base import per_unit_draws, summarise
from uptake.models.parameters import load_parameters


# ------------------------------------------------------------------------------------------------ DOAC

def test_doac_warfarin_rates_ruff_2014_per_1000_patient_years() -> None:
    """Ruff et al. 2014 warfarin arms: 1,107 strokes or systemic embolisms, 425 intracranial haemorrhages and
    2,245 deaths over ~61,644 patient-years (arm sizes x median follow-up): 18.0, 6.9 and 36.4 per 1,000
    patient-years, within the four trials' own published warfarin rates (15-24, 7-8.5, 22-44)."""
    rates = doac.reference_rates()
    assert rates["warfarin_strokes_per_1000"] == pytest.approx(1107 / 61644 * 1000)
    assert 15 <= rates["warfarin_strokes_per_1000"] <= 24
    assert 6.5 <= rates["warfarin_ich_per_1000"] <= 8.5
    assert 22 <= rates["warfarin_deaths_per_1000"] <= 44


def test_doac_events_avoided_ruff_2014_pooled_relative_risks() -> None:
    """Events avoided per 1,000 patient-years = warfarin rate x (1 - RR): stroke/SE RR 0.81, ICH 0.48,
    death 0.90 (Ruff et al. 2014 figures 2 and 4): 3.41, 3.59 and 3.64 per 1,000 patient-years."""
    rates = doac.reference_rates()
    assert rates["strokes_avoided_per_1000"] == pytest.approx(1107 / 61644 * 1000 * 0.19)
    assert round(rates["strokes_avoided_per_1000"], 2) == 3.41
    assert round(rates["ich_avoided_per_1000"], 2) == 3.59
    assert round(rates["deaths_avoided_per_1000"], 2) == 3.64


def test_doac_draws_centre_on_the_reference_and_intervals_follow_the_cis() -> None:
    draws = doac.per_patient_year(40_000, 1)
    ref = doac.reference_rates()
    for key in ("strokes_avoided", "ich_avoided", "deaths_avoided"):
        s = summarise(draws[key], 1000)
        assert s.low < ref[f"{key}_per_1000"] < s.high
        assert s.mean == pytest.approx(ref[f"{key}_per_1000"], rel=0.08)
    # The RR interval 0.85-0.95 for death spans 1.8 to 5.5 avoided per 1,000 at the warfarin rate
    s = summarise(draws["deaths_avoided"], 1000)
    rate = ref["warfarin_deaths_per_1000"]
    assert s.low == pytest.approx(rate * 0.05, rel=0.25) and s.high == pytest.approx(rate * 0.15, rel=0.25)


def test_doac_items_become_patient_years() -> None:
    """A monthly gap of items: 12 / items per patient-year (12 to 13.04) patients switched for a year."""
    factor = doac.patients_per_item_month(10_000, 3)
    assert factor.min() >= 12 / 13.04 - 1e-12 and factor.max() <= 1.0 + 1e-12
    per_item = per_unit_draws(doac.MODEL, 10_000, 5)
    per_patient = doac.MODEL.draws(10_000, 5)
    ratio = per_item["deaths_avoided"] / per_patient["deaths_avoided"]
    assert np.all((ratio >= 12 / 13.04 - 1e-9) & (ratio <= 1 + 1e-9))


# ------------------------------------------------------------------------------------------------ lung

def test_lung_shift_weights_from_ippr_table_2_4() -> None:
    """IPPR table 2.4: I 19 -> 39, II 7 -> 28, III 20 -> 8, IV 50 -> 22: gains 20:21, losses 12:28."""
    to, came_from = lung.shift_weights()
    assert to == pytest.approx({1: 20 / 41, 2: 21 / 41})
    assert came_from == pytest.approx({3: 12 / 40, 4: 28 / 40})


def test_lung_deaths_avoided_per_early_diagnosis_cruk_survival_by_stage() -> None:
    """Per extra cancer found at stage 1-2: (20 x 0.57 + 21 x 0.35)/41 - (12 x 0.14 + 28 x 0.04)/40 = 0.387
    deaths within five years avoided (CRUK, England 2013-2017: >55, ~35, <15, <5 per 100)."""
    expected = (20 * 0.57 + 21 * 0.35) / 41 - (12 * 0.14 + 28 * 0.04) / 40
    draws = lung.per_early_diagnosis(50_000, 2)["deaths_avoided"]
    assert draws.mean() == pytest.approx(expected, abs=0.005)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    assert lo > 0.34 and hi < 0.44  # bounded by the published survival ranges


def test_lung_table_2_4_stage_mix_deaths_avoided_per_1000() -> None:
    """Moving the whole stage mix to the ambition (table 2.4) at the central survival figures: 159.5 fewer
    deaths within five years per 1,000 lung cancers."""
    by_hand = sum((t - c) / 100 * s for c, t, s in ((19, 39, 0.57), (7, 28, 0.35), (20, 8, 0.14), (50, 22, 0.04)))
    assert lung.stage_mix_deaths_avoided_per_1000() == pytest.approx(1000 * by_hand)
    assert round(lung.stage_mix_deaths_avoided_per_1000(), 1) == 159.5


def test_lung_model_is_labelled_synthetic() -> None:
    assert lung.MODEL.synthetic and "SYNTHETIC" in lung.MODEL.method


# --------------------------------------------------------------------------------------- parameter files

def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _doac_doc() -> dict:
    return yaml.safe_load(doac.PARAMS_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, expected", [
    (lambda p: p["rr_death"].pop("source"), "parameters.rr_death.source: is missing"),
    (lambda p: p["rr_death"].update(value=-0.9, low=-1, high=1), "outside the range of a ratio"),
    (lambda p: p.update(bad={"value": 1.2, "kind": "probability", "source": "x"}),
     "parameters.bad.value: 1.2 is outside the range of a probability"),
    (lambda p: p.update(cost={"value": -5, "kind": "money", "source": "x"}), "outside the range of a money"),
    (lambda p: p["rr_ich"].update(low=0.5), "does not contain its value"),
    (lambda p: p["rr_ich"].update(distribution="weibull"), "unknown distribution"),
    (lambda p: p["rr_ich"].update(value="0.48 (0.39-0.59)"), "is not a number"),
    (lambda p: p.pop("warfarin_ich_events"), "parameters.warfarin_ich_events: is missing"),
])
def test_a_bad_parameter_file_is_refused_naming_file_key_and_what_to_do(tmp_path, change, expected) -> None:
    doc = _doac_doc()
    change(doc["parameters"])
    path = _write(tmp_path, doc)
    with pytest.raises(UptakeError) as err:
        doac.parameters(path)
    message = str(err.value)
    assert str(path) in message and expected in message
    assert message.split(". ")[-1][:1].isupper()  # ends with what to do


def test_the_shipped_parameter_files_load_and_every_number_has_a_source() -> None:
    for params in (doac.parameters(), lung.parameters()):
        for p in params.every():
            assert len(p.source) > 10, p.key


def test_a_missing_parameter_file_says_so(tmp_path) -> None:
    with pytest.raises(UptakeError, match="does not exist"):
        load_parameters(tmp_path / "nope.yaml")


# --------------------------------------------------------------------------------------- outcome rows

def test_outcome_rows_scale_the_per_unit_draws_and_skip_unmodelled_indicators() -> None:
    gaps = pd.DataFrame({
        "indicator": ["doac-share", "doac-share", "lung-cancer-early-stage", "narcolepsy-newer-share"],
        "level": ["sub-icb"] * 4, "org_code": ["A", "ENG", "A", "A"],
        "period": [pd.Timestamp("2022-09-01")] * 4, "benchmark": ["top-decile"] * 4,
        "extra_units": [130.0, 1300.0, 10.0, 5.0], "synthetic": [False, False, True, False],
    })
    rows = registry.outcome_rows(gaps, n_draws=4000, seed=9)
    assert set(rows["indicator"]) == {"doac-share", "lung-cancer-early-stage"}
    doac_deaths = rows[(rows.indicator == "doac-share") & (rows.outcome == "deaths_avoided")].set_index("org_code")
    # slow reference: the percentiles of 130 x the per-unit draws
    draws = per_unit_draws(doac.MODEL, 4000, 9)["deaths_avoided"] * 130
    assert doac_deaths.loc["A", "mean"] == pytest.approx(draws.mean())
    assert doac_deaths.loc["A", "low"] == pytest.approx(np.percentile(draws, 2.5))
    assert doac_deaths.loc["ENG", "high"] == pytest.approx(10 * doac_deaths.loc["A", "high"])
    assert doac_deaths.loc["A", "extra_patients"] == pytest.approx(130 * 12 / 12.52, rel=0.01)
    lung_rows = rows[rows.indicator == "lung-cancer-early-stage"]
    assert lung_rows["synthetic"].all() and not doac_deaths["synthetic"].any()
    assert math.isclose(lung_rows["extra_patients"].iloc[0], 10.0)


def test_the_registry_has_doac_and_lung_and_takes_stroke_when_present() -> None:
    assert registry.model_for("doac-share") is doac.MODEL
    assert registry.model_for("lung-cancer-early-stage") is lung.MODEL
    assert registry.model_for("narcolepsy-newer-share") is None
    if registry._stroke_module is not None:  # the stroke model, once merged
        assert registry.model_for("thrombolysis-rate") is not None
