"""The stroke thrombolysis outcome model (SAMueL) reproduces its published numbers; its parameter file is
checked on load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from uptake.catalogue import load_catalogue
from uptake.errors import UptakeError
from uptake.models.outcomes.base import summarise
from uptake.models.outcomes.stroke import (
    added_good_outcome,
    draw_odds_ratio_lines,
    good_outcome_probability,
    load_parameters,
    mrs_cumulative_at,
    outcome_draws,
    stroke_model,
    time_of_no_effect_minutes,
    utility_gain,
)

PARAMS = Path(__file__).resolve().parents[1] / "src/uptake/models/outcomes/params/stroke.yaml"


@pytest.fixture(scope="module")
def params():
    return load_parameters()


def test_samuel_time_of_no_effect_is_6_3_hours(params):
    """SAMueL (stroke-outcome, after Emberson 2014): thrombolysis has no effect after 6.3 hours; the SAMueL-1
    odds-ratio line 10^(0.326956 - 0.00086211 t) reaches 1 at 6.3 hours (to the published precision)."""
    hours = float(time_of_no_effect_minutes(params.intercept, params.slope)) / 60
    assert round(hours, 1) == params.time_of_no_effect_hours == 6.3
    no_effect = hours * 60
    for p0 in (params.untreated_under_80, params.untreated_80_plus):
        assert good_outcome_probability(no_effect, p0, params.intercept, params.slope) == pytest.approx(p0)
        assert added_good_outcome(no_effect + 30, p0, params.intercept, params.slope) == 0.0


def test_samuel1_untreated_and_time_zero_probabilities(params):
    """SAMueL-1 pathway_code: untreated P(mRS 0-1) 0.3499 under 80 and 0.1318 at 80+; at t = 0 the odds
    are multiplied by 10^0.326956 = 2.123, giving 0.5333 and 0.2437."""
    assert (params.untreated_under_80, params.untreated_80_plus) == (0.3499, 0.1318)
    at_zero = good_outcome_probability(0.0, [0.3499, 0.1318], params.intercept, params.slope)
    odds = np.array([0.3499 / 0.6501, 0.1318 / 0.8682]) * 10**0.326956
    assert at_zero == pytest.approx(odds / (1 + odds))
    assert at_zero.round(4).tolist() == [0.5333, 0.2437]
    # the benefit falls with time
    later = good_outcome_probability([0.0, 90.0, 180.0, 270.0], 0.3499, params.intercept, params.slope)
    assert np.all(np.diff(later) < 0)


def test_stroke_outcome_nlvo_mrs_0_1_is_63_percent_at_onset_and_46_at_no_effect(params):
    """SAMueL stroke-outcome (nLVO, thrombolysis): P(mRS <= 1) 0.63 if treated at onset, 0.46 at the time
    of no effect (6.3 h) and untreated; between them log-odds fall linearly with time."""
    cumulative = mrs_cumulative_at([0.0, 378.0, 600.0], params)[:, 1]
    assert cumulative.round(2).tolist() == [0.63, 0.46, 0.46]
    halfway = mrs_cumulative_at(189.0, params)[1]
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert logit(halfway) == pytest.approx((logit(0.63) + logit(0.46)) / 2)
    gains = utility_gain([0.0, 90.0, 170.3, 300.0], params)
    assert np.all(np.diff(gains) < 0) and gains[0] > 0.1 > gains[2] > 0


def test_stroke_outcome_lvo_mrs_0_1_is_20_percent_at_onset_and_12_9_untreated(params):
    """SAMueL stroke-outcome (LVO, thrombolysis): P(mRS <= 1) 0.20 if treated at onset, 0.1236 at the time of
    no effect (with treatment deaths), 0.129 untreated; thrombolysis helps LVO less than nLVO."""
    cumulative = mrs_cumulative_at([0.0, 377.9, 379.0], params, "lvo")[:, 1]
    assert cumulative[0] == pytest.approx(0.20)
    assert cumulative[1] == pytest.approx(0.123576, abs=1e-4) and cumulative[2] == pytest.approx(0.129)
    assert 0 < utility_gain(60.0, params, "lvo") < utility_gain(60.0, params, "nlvo")
    with pytest.raises(UptakeError, match="unknown stroke type 'ich'"):
        mrs_cumulative_at(10.0, params, "ich")


def test_good_outcomes_per_patient_thrombolysed_match_samuel1_base_scenario(params):
    """SAMueL-1's base scenario: 9.40 added good outcomes per 1,000 admissions with 11.60% thrombolysed,
    i.e. 0.081 good outcomes per patient thrombolysed. The model's one extra patient (170 minutes, 42.3%
    aged 80+) gives the same within 3%."""
    per_patient = float(np.mean(outcome_draws(params, 20_000, 3)["good_outcomes"]))
    assert per_patient == pytest.approx(9.40 / 116.0, rel=0.03)


def test_intervals_come_from_emberson_2014_stated_intervals(params):
    """Emberson 2014: OR of mRS 0-1 1.75 (1.35-2.27) up to 3 h and 1.26 (1.05-1.51) at 3-4.5 h. The drawn
    lines reproduce those intervals at the times where the SAMueL line takes the central values."""
    intercept, slope = draw_odds_ratio_lines(200_000, 11, params)
    for central, low, high in params.or_bands:
        t = (np.log10(central) - params.intercept) / params.slope
        ratios = 10 ** (intercept + slope * t)
        lo, hi = np.percentile(ratios, [2.5, 97.5])
        assert lo == pytest.approx(low, rel=0.02) and hi == pytest.approx(high, rel=0.02)


def test_outcome_model_draws_per_extra_patient(params):
    model = stroke_model()
    catalogue_ids = set(load_catalogue().indicators)
    assert set(model.indicator_ids) <= catalogue_ids
    draws = model.draws(5_000, 7)
    assert set(draws) == {o.key for o in model.outcomes} == {"good_outcomes", "qalys", "pounds"}
    good = summarise(draws["good_outcomes"])
    assert good.low < good.mean < good.high and 0.04 < good.low and good.high < 0.13
    assert draws["pounds"] == pytest.approx(draws["qalys"] * 20_000)
    qaly_central = float(utility_gain(params.onset_to_needle_minutes, params))
    assert summarise(draws["qalys"]).mean == pytest.approx(qaly_central, rel=0.03)
    # the same seed gives the same draws; another seed others
    assert np.array_equal(model.draws(100, 7)["good_outcomes"], model.draws(100, 7)["good_outcomes"])
    assert not np.array_equal(model.draws(100, 7)["good_outcomes"], model.draws(100, 8)["good_outcomes"])
    assert all(source for source in model.sources)


def _write(tmp_path: Path, change) -> Path:
    document = yaml.safe_load(PARAMS.read_text())
    change(document)
    path = tmp_path / "stroke.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["good_outcome"]["untreated_under_80"].pop("source"), ["good_outcome.untreated_under_80", "no source"]),
        (lambda d: d["good_outcome"]["untreated_80_plus"].update(value=13.18), ["good_outcome.untreated_80_plus", "13.18", "outside 0-1"]),
        (lambda d: d["mrs_nlvo"]["untreated"].update(value=[0.2, 0.46, 0.58, 0.7, 0.85, 1.2]), ["mrs_nlvo.untreated", "1.2", "outside 0-1"]),
        (lambda d: d["value_per_qaly_pounds"].update(value=-20000), ["value_per_qaly_pounds", "negative cost"]),
        (lambda d: d["typical_patient"].update(share_80_plus=0.4), ["typical_patient.share_80_plus", "value and source"]),
        (lambda d: d.pop("version"), ["'version' is missing"]),
    ],
)
def test_bad_parameter_file_is_refused_naming_file_and_key(tmp_path, change, words):
    path = _write(tmp_path, change)
    with pytest.raises(UptakeError) as error:
        load_parameters(path)
    message = str(error.value)
    assert str(path) in message
    for word in words:
        assert word in message
