"""The bundled catalogue loads and says what the sources deliver; broken entries are refused with the file
and the field named."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from uptake.catalogue import load_catalogue
from uptake.catalogue.loader import BUNDLED
from uptake.catalogue.schemas import Kind, Measure, Period, Polarity
from uptake.errors import UptakeError
from uptake.levels import Level

INNOVATIONS = {
    "doacs",
    "thrombolysis",
    "qof-cvd",
    "narcolepsy-newer-medicines",
    "lung-cancer-screening",
    "dementia-diagnosis",
}
INDICATORS = {
    "doac-share": ("doacs", Level.SUB_ICB, Period.MONTH),
    "edoxaban-share": ("doacs", Level.SUB_ICB, Period.MONTH),
    "thrombolysis-rate": ("thrombolysis", Level.STROKE_UNIT, Period.YEAR),
    "thrombolysis-rate-all-admissions": ("thrombolysis", Level.STROKE_UNIT, Period.YEAR),
    "qof-af-achievement": ("qof-cvd", Level.PRACTICE, Period.YEAR),
    "qof-hypertension-achievement": ("qof-cvd", Level.PRACTICE, Period.YEAR),
    "qof-stroke-tia-achievement": ("qof-cvd", Level.PRACTICE, Period.YEAR),
    "narcolepsy-newer-share": ("narcolepsy-newer-medicines", Level.TRUST, Period.MONTH),
    "lung-cancer-early-stage": ("lung-cancer-screening", Level.SUB_ICB, Period.QUARTER),
    "dementia-diagnosis-rate": ("dementia-diagnosis", Level.SUB_ICB, Period.MONTH),
}
SYNTHETIC = {"lung-cancer-early-stage", "dementia-diagnosis-rate"}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_bundled_catalogue_loads_with_every_entry(catalogue):
    assert set(catalogue.innovations) >= INNOVATIONS
    assert set(catalogue.indicators) >= set(INDICATORS)


@pytest.mark.parametrize("indicator_id", sorted(INDICATORS))
def test_indicator_links_level_and_period(catalogue, indicator_id):
    innovation, level, period = INDICATORS[indicator_id]
    indicator = catalogue.indicators[indicator_id]
    assert indicator.innovation == innovation and indicator.innovation in catalogue.innovations
    assert indicator.levels == [level]
    assert indicator.period == period
    assert indicator.synthetic == (indicator_id in SYNTHETIC)
    if indicator.synthetic:
        assert "SYNTHETIC" in indicator.title and "SYNTHETIC" in indicator.source.name


@pytest.mark.parametrize("indicator_id", sorted(INDICATORS))
def test_indicator_governance_is_complete(catalogue, indicator_id):
    indicator = catalogue.indicators[indicator_id]
    assert indicator.authored_by and indicator.checked_by and indicator.authored_by != indicator.checked_by
    assert indicator.date_reviewed == dt.date(2026, 11, 22)
    assert indicator.next_review == dt.date(2027, 11, 22)
    assert indicator.source.publisher and indicator.source.licence
    assert indicator.why_it_matters and indicator.numerator and indicator.denominator


def test_period_conventions(catalogue):
    ind = catalogue.indicators
    assert ind["thrombolysis-rate"].year_start_month == 1  # SSNAP team figures are calendar years
    assert ind["thrombolysis-rate-all-admissions"].year_start_month == 4  # 2021/22 financial year
    assert ind["qof-af-achievement"].year_start_month == 4
    assert ind["qof-af-achievement"].first_period == dt.date(2023, 4, 1)
    assert ind["doac-share"].first_period == dt.date(2017, 10, 1)
    assert ind["thrombolysis-rate"].period_ok(dt.date(2021, 1, 1)) is None
    assert ind["thrombolysis-rate"].period_ok(dt.date(2021, 4, 1)) is not None


def test_polarity_and_measure_choices(catalogue):
    ind = catalogue.indicators
    assert ind["doac-share"].polarity == Polarity.HIGH_IS_GOOD and ind["doac-share"].adoption_threshold == 0.6
    assert ind["edoxaban-share"].polarity == Polarity.NO_JUDGEMENT
    assert ind["narcolepsy-newer-share"].polarity == Polarity.NO_JUDGEMENT
    # the dementia diagnosis rate is observed / estimated and can exceed 100%: not a proportion
    assert ind["dementia-diagnosis-rate"].measure == Measure.RATE
    assert ind["dementia-diagnosis-rate"].adoption_threshold == pytest.approx(0.667)
    assert all(ind[i].measure == Measure.PROPORTION for i in INDICATORS if i != "dementia-diagnosis-rate")
    assert ind["doac-share"].unit_cost == pytest.approx(46.5)


def test_innovations_have_evidence_and_owner(catalogue):
    for innovation_id in INNOVATIONS:
        innovation = catalogue.innovations[innovation_id]
        assert innovation.owner and innovation.evidence
        assert all(e.url is None or str(e.url).startswith("https://") for e in innovation.evidence)
    doacs = catalogue.innovations["doacs"]
    assert doacs.kind == Kind.TREATMENT_THERAPY and doacs.nice_reference == "NG196"
    assert set(doacs.conditions) == {"stroke", "cardiovascular"}
    assert "cancer" in catalogue.innovations["lung-cancer-screening"].conditions
    assert "dementia" in catalogue.innovations["dementia-diagnosis"].conditions


def test_file_names_are_the_ids():
    for kind in ("innovations", "indicators"):
        for path in (BUNDLED / kind).glob("*.yaml"):
            assert yaml.safe_load(path.read_text(encoding="utf-8"))["id"] == path.stem


# ---------------------------------------------------------------------------------------------------
# Broken entries are refused, naming the file and the field
# ---------------------------------------------------------------------------------------------------
@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalogue"
    for kind in ("innovations", "indicators"):
        shutil.copytree(BUNDLED / kind, root / kind)
    return root


def edit(root: Path, indicator_id: str, **changes) -> Path:
    path = root / "indicators" / f"{indicator_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def refusal(root: Path) -> str:
    with pytest.raises(UptakeError) as caught:
        load_catalogue(root)
    return str(caught.value)


def test_the_copy_loads(copy):
    assert set(load_catalogue(copy).indicators) == set(load_catalogue().indicators)


def test_unknown_field_is_refused(copy):
    path = edit(copy, "doac-share", colour="blue")
    message = refusal(copy)
    assert str(path) in message and "field colour" in message


def test_bad_polarity_is_refused(copy):
    path = edit(copy, "doac-share", polarity="higher-is-better")
    message = refusal(copy)
    assert str(path) in message and "field polarity" in message


def test_checked_by_must_differ_from_authored_by(copy):
    path = edit(copy, "edoxaban-share", checked_by="uptake-catalogue-sources-engineer")
    message = refusal(copy)
    assert str(path) in message and "checked_by" in message


def test_unknown_innovation_is_refused(copy):
    edit(copy, "thrombolysis-rate", innovation="no-such-innovation")
    message = refusal(copy)
    # the loader names the indicator (= its file name) and the missing innovation
    assert "thrombolysis-rate -> no-such-innovation" in message


def test_bad_innovation_kind_is_refused(copy):
    path = copy / "innovations" / "doacs.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["kind"] = "pill"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    message = refusal(copy)
    assert str(path) in message and "field kind" in message


def test_id_must_match_the_file_name(copy):
    path = edit(copy, "doac-share", id="doac-share-2")
    message = refusal(copy)
    assert str(path) in message and "must match the file name" in message
