"""The health and wealth model (uptake.models.wealth): IPPR, The innovation lottery (2020), tables 2.1, 2.2,
2.3 and figure 2.1, cell by cell; the report's headline sentences; the Monte Carlo (vectorised against a
plain loop of the same draws); the model driven by measured gaps; its parameter file."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from uptake.errors import UptakeError
from uptake.models import wealth

CELLS = {(c.table, c.figure, c.condition): c for c in wealth.report_cells()}
#: By hand from the report's printed inputs (and, where the report prints none, the inputs named in
#: params/wealth.yaml: employment 76.1%, 25,650 pounds per employed death, 22,364 per case, UK mid-2017
#: population 66,040,229, healthcare half of the total).
BY_HAND = {
    ("2.1", "t21_deaths_avoided", "cvd"): 25655 * 0.25,
    ("2.1", "t21_deaths_avoided", "cancer"): 47457 * 0.27,
    ("2.1", "t21_deaths_avoided", "dementia"): 1262 * 0.42,
    ("2.1", "t21_employed", "cvd"): 6346 * 0.761,        # from the printed reduction
    ("2.1", "t21_employed", "cancer"): 12822 * 0.761,
    ("2.1", "t21_employed", "dementia"): 531 * 0.761,
    ("2.1", "t21_value_m", "cvd"): 4843 * 25650 / 1e6,   # from the printed employed count
    ("2.1", "t21_value_m", "cancer"): 9758 * 25650 / 1e6,
    ("2.1", "t21_value_m", "dementia"): 404 * 25650 / 1e6,
    ("2.2", "t22_value_m", "cvd"): 233367 * 22364 / 1e6,
    ("2.2", "t22_value_m", "cancer"): 90092 * 22364 / 1e6,
    ("2.2", "t22_value_m", "dementia"): 29459 * 22364 / 1e6,
    ("2.3", "t23_total_bn", "cvd"): 0.10773 * 66040229 * (2432 + 689 + 932) * 0.25 / 1e9,
    ("2.3", "t23_total_bn", "cancer"): 0.03936 * 66040229 * (2135 + 0 + 991) * 0.27 / 1e9,
    ("2.3", "t23_total_bn", "dementia"): 850000 * (5059 + 12117 + 13778) * 0.42 / 1e9,  # Alzheimer's Society
    ("2.3", "t23_healthcare_bn", "cvd"): 0.10773 * 66040229 * (2432 + 689 + 932) * 0.25 / 1e9 / 2,
    ("2.3", "t23_healthcare_bn", "cancer"): 0.03936 * 66040229 * (2135 + 991) * 0.27 / 1e9 / 2,
    ("2.3", "t23_healthcare_bn", "dementia"): 850000 * (5059 + 12117 + 13778) * 0.42 / 1e9 / 2,
    ("figure 2.1", "f21_contribution_bn", "cvd"): (124.23 + 5219) / 1e3,
    ("figure 2.1", "f21_contribution_bn", "cancer"): (250.28 + 2015) / 1e3,
    ("figure 2.1", "f21_contribution_bn", "total"): (124.23 + 250.28 + 10.37 + 5219 + 2015 + 659) / 1e3,
}


def _reproduces(key) -> None:
    """The printed cell, to its printed precision: from the printed cell(s) it follows from (by hand), and,
    where the status says so, from the stated inputs all the way."""
    cell = CELLS[key]
    figure = cell.step if cell.step is not None else cell.model
    assert figure == pytest.approx(BY_HAND[key], rel=1e-9)
    assert round(figure, cell.decimals) == cell.printed
    if cell.status == "reproduced":
        assert round(cell.model, cell.decimals) == cell.printed


# ---------------------------------------------------------------------------- reproduced, to printed precision

def test_table_2_1_employed_cancer_9758() -> None:
    _reproduces(("2.1", "t21_employed", "cancer"))


def test_table_2_1_employed_dementia_404() -> None:
    _reproduces(("2.1", "t21_employed", "dementia"))


def test_table_2_2_economic_benefit_cvd_5219m() -> None:
    _reproduces(("2.2", "t22_value_m", "cvd"))


def test_table_2_2_economic_benefit_cancer_2015m() -> None:
    _reproduces(("2.2", "t22_value_m", "cancer"))


def test_table_2_2_economic_benefit_dementia_659m() -> None:
    _reproduces(("2.2", "t22_value_m", "dementia"))


def test_table_2_3_reduced_cost_total_cvd_7_2bn() -> None:
    _reproduces(("2.3", "t23_total_bn", "cvd"))


def test_table_2_3_reduced_cost_total_cancer_2_2bn() -> None:
    _reproduces(("2.3", "t23_total_bn", "cancer"))


def test_table_2_3_reduced_cost_total_dementia_11_1bn_needs_850000_people() -> None:
    """Reproduced only with Alzheimer's Society's 850,000 people with dementia; table 2.2's rate x the
    population gives 810,313 and 10.5bn (the figure the model shows)."""
    _reproduces(("2.3", "t23_total_bn", "dementia"))
    cell = CELLS[("2.3", "t23_total_bn", "dementia")]
    assert cell.status == "reproduced from the printed cell before it"
    assert round(cell.model, 1) == 10.5


def test_table_2_3_healthcare_cvd_3_6bn() -> None:
    _reproduces(("2.3", "t23_healthcare_bn", "cvd"))


def test_table_2_3_healthcare_cancer_1_1bn() -> None:
    _reproduces(("2.3", "t23_healthcare_bn", "cancer"))


def test_table_2_3_healthcare_dementia_5_5bn() -> None:
    _reproduces(("2.3", "t23_healthcare_bn", "dementia"))


def test_figure_2_1_cvd_5_3bn() -> None:
    _reproduces(("figure 2.1", "f21_contribution_bn", "cvd"))


def test_figure_2_1_cancer_2_3bn() -> None:
    _reproduces(("figure 2.1", "f21_contribution_bn", "cancer"))


def test_figure_2_1_and_text_total_economic_gain_8_3bn() -> None:
    _reproduces(("figure 2.1", "f21_contribution_bn", "total"))


# ------------------------------------------------ cells the printed inputs contradict or do not determine

@pytest.mark.parametrize("condition, printed, stated_inputs_give", [
    ("cvd", 6346, 6414), ("cancer", 12822, 12813), ("dementia", 531, 530)])
def test_table_2_1_working_age_reductions_contradict_the_rounded_percentages(condition, printed,
                                                                             stated_inputs_give) -> None:
    """Deaths x the printed reduction does not give the printed cell: the percentages are rounded (the cells
    imply 24.7%, 27.0%, 42.1%). docs/health-and-wealth.md and the page show the figure the inputs give."""
    cell = CELLS[("2.1", "t21_deaths_avoided", condition)]
    assert cell.printed == printed and cell.status == "differs"
    assert round(cell.model) == stated_inputs_give == round(BY_HAND[("2.1", "t21_deaths_avoided", condition)])


def test_table_2_1_employed_cvd_4843_implies_a_different_employment_share() -> None:
    """6,346 x 76.1% = 4,829, not 4,843 (which implies 76.3%): the CVD column used another share."""
    cell = CELLS[("2.1", "t21_employed", "cvd")]
    assert cell.status == "differs" and round(cell.step) == 4829
    assert round(4843 / 6346, 3) == 0.763


@pytest.mark.parametrize("condition", ["cvd", "cancer", "dementia"])
def test_table_2_1_economic_benefit_is_not_determined_by_printed_cells(condition) -> None:
    """No single value per employed death reproduces all three printed benefits from the printed (rounded)
    employed counts: the intervals each cell allows do not overlap."""
    cell = CELLS[("2.1", "t21_value_m", condition)]
    assert cell.status == "not determined"
    bounds = [((v - 0.005) * 1e6 / n, (v + 0.005) * 1e6 / n) for v, n in ((124.23, 4843), (250.28, 9758),
                                                                         (10.37, 404))]
    assert max(lo for lo, _ in bounds) > min(hi for _, hi in bounds)
    assert cell.step == pytest.approx(BY_HAND[("2.1", "t21_value_m", condition)])


@pytest.mark.parametrize("condition", ["cvd", "cancer", "dementia"])
def test_table_2_2_morbidity_reductions_are_not_determined(condition) -> None:
    """The population table 2.2 applies to is not printed and the three columns imply different ones."""
    assert CELLS[("2.2", "t22_illness_avoided", condition)].status == "not determined"
    implied = {c: v / (r / 1e5 * s) for c, v, r, s in (("cvd", 233367, 10773, .25), ("cancer", 90092, 3936, .26),
                                                        ("dementia", 29459, 1227, .28))}
    assert max(implied.values()) / min(implied.values()) > 1.02


def test_every_printed_cell_has_a_status_and_a_note() -> None:
    assert len(CELLS) == 24
    assert {c.status for c in CELLS.values()} <= {"reproduced", "reproduced from the printed cell before it",
                                                 "not determined", "differs"}
    assert all(c.note for c in CELLS.values())


def test_the_reports_sentences_against_its_tables() -> None:
    """20,000 deaths holds (19,699); 300,000 illnesses does not (352,918); 10.3bn avoided cost does not
    (healthcare cells add to 10.2bn); 8.3bn holds (8.28bn)."""
    claims = {c.text: c for c in wealth.claims()}
    holds = {text: c.holds for text, c in claims.items()}
    assert list(holds.values()) == [True, False, False, True]
    assert [round(c.tables_give, 1) for c in claims.values()] == [19699, 352918, 10.2, 8.3]


# ------------------------------------------------------------------------------------------------ Monte Carlo

def test_monte_carlo_vectorised_equals_a_plain_loop_over_the_same_draws() -> None:
    x = wealth.sample_inputs(300, 11)
    fast = wealth.evaluate(x)
    for i in range(0, 300, 37):
        slow = wealth.evaluate_one({k: v[i] for k, v in x.items()})
        for key, value in slow.items():
            assert fast[key][i] == pytest.approx(value, rel=1e-12), key


def test_monte_carlo_intervals_hold_the_central_figures() -> None:
    draws = wealth.monte_carlo(20_000, seed=3)
    central = wealth.evaluate_one(wealth.central_inputs())
    summary = wealth.summaries({f"{k}.total": draws[f"{k}.total"] for k in wealth.TOTALS})
    for key in wealth.TOTALS:
        s = summary[f"{key}.total"]
        assert s.low < central[f"{key}.total"] < s.high, key
        assert s.high > s.low
    # the interval of the economic contribution is as wide as the +/-20% reductions and +/-10% values make it
    s = summary["f21_contribution_bn.total"]
    assert 0.1 < (s.high - s.low) / s.mean < 0.6


def test_measured_impact_values_deaths_with_table_2_1_chain() -> None:
    deaths = np.full(5000, 10.0)
    gap = wealth.MeasuredGap("cvd", "doac-share", "sub-icb", None, 100.0, "items", deaths, deaths / 2, False)
    rows = {r["measure"]: r for r in wealth.measured_impact([gap], seed=1)}
    p = wealth.parameters()
    share = p.group("working_age_share")["cvd"]  # uniform: its mean is the middle of its range
    central = 10 * (share.low + share.high) / 2 * p.value("employment_share") * p.value("value_per_employed_death")
    assert rows["economic_value_pounds"]["mean"] == pytest.approx(central, rel=0.15)
    cost = sum(p.group(g)["cvd"].value for g in ("cost_health", "cost_social_care", "cost_incurred"))
    assert rows["care_costs_avoided_pounds"]["mean"] == pytest.approx(5 * cost, rel=0.02)
    assert rows["deaths_avoided"]["low"] == rows["deaths_avoided"]["high"] == 10.0


def test_a_wealth_parameter_file_with_a_missing_condition_is_refused(tmp_path) -> None:
    doc = yaml.safe_load(wealth.PARAMS_PATH.read_text(encoding="utf-8"))
    del doc["parameters"]["cost_health"]["dementia"]
    path = tmp_path / "wealth.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(UptakeError, match=r"parameters\.cost_health\.dementia: is missing"):
        wealth.parameters(path)


def test_summaries_equal_numpy_percentiles() -> None:
    """The partial-sort summary against np.percentile (the slow, obviously-correct reference)."""
    rng = np.random.default_rng(5)
    draws = {"a": rng.normal(size=40_001), "b": rng.gamma(2.0, size=40_001), "c": rng.uniform(size=40_001)}
    got = wealth.summaries(draws)
    for key, values in draws.items():
        lo, hi = np.percentile(values, [2.5, 97.5])
        assert got[key].low == pytest.approx(lo, rel=1e-12) and got[key].high == pytest.approx(hi, rel=1e-12)
        assert got[key].mean == pytest.approx(values.mean())


def test_measured_impact_shows_a_models_other_outcomes_as_they_are() -> None:
    """A model without deaths or illness (e.g. stroke thrombolysis: good outcomes, QALYs, pounds) still has
    its outcomes shown, each with its interval."""
    good = np.linspace(1.0, 3.0, 1001)
    gap = wealth.MeasuredGap("cvd", "thrombolysis-rate", "stroke-unit", None, 50.0, "admissions", None, None, False,
                             other=(("good_outcomes", "Good outcomes added", good),))
    rows = wealth.measured_impact([gap])
    assert [r["measure"] for r in rows] == ["good_outcomes"]
    assert rows[0]["mean"] == pytest.approx(2.0) and rows[0]["low"] == pytest.approx(np.percentile(good, 2.5))
