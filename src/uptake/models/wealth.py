"""The health and wealth model: IPPR, The innovation lottery (2020), chapter 2, tables 2.1, 2.2 and 2.3 (and
figure 2.1), as arithmetic over named inputs (params/wealth.yaml, each with its source), with Monte Carlo
intervals, and the same arithmetic driven by Uptake's own measured gaps.

The report's arithmetic, per condition (CVD including stroke, cancer, dementia):

- table 2.1: working-age deaths avoided = working-age deaths x mortality reduction; of them employed =
  x employment share; economic benefit = employed x value per employed death;
- table 2.2: illness avoided = prevalence per 100,000 x base population x morbidity reduction; economic
  benefit = illness avoided x value per case;
- table 2.3: people with the condition = prevalence per 100,000 x population; reduced cost = people x
  (health + social care + incurred costs per person) x prevalence reduction; attributable to healthcare =
  reduced cost x healthcare share;
- figure 2.1: economic contribution = table 2.1's benefit + table 2.2's benefit.

``report_cells`` sets each printed cell beside the figure the stated inputs give and says whether it is
reproduced (docs/health-and-wealth.md explains each one that is not). ``evaluate`` is the vectorised model
over arrays of draws; ``evaluate_one`` the same arithmetic for one draw in plain Python (the slow,
obviously-correct reference the tests and benchmarks/wealth_montecarlo.py compare it with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from uptake.models.outcomes.base import OutcomeSummary
from uptake.models.parameters import ParameterSet, load_parameters

__all__ = [
    "CONDITIONS", "CONDITION_LABELS", "PARAMS_PATH", "Cell", "MeasuredGap", "parameters", "central_inputs",
    "sample_inputs", "evaluate", "evaluate_one", "monte_carlo", "summaries", "report_cells", "claims",
    "measured_impact", "TOTALS",
]

PARAMS_PATH = Path(__file__).with_name("params") / "wealth.yaml"
CONDITIONS = ("cvd", "cancer", "dementia")
CONDITION_LABELS = {"cvd": "CVD inc. stroke", "cancer": "Cancer", "dementia": "Dementia"}
GROUPED = ("deaths_working_age", "mortality_reduction", "prevalence_per_100k", "morbidity_reduction",
           "morbidity_base_population", "cost_health", "cost_social_care", "cost_incurred", "prevalence_reduction",
           "working_age_share")
PLAIN = ("employment_share", "value_per_employed_death", "value_per_case", "population", "healthcare_share",
         "dementia_people_alzheimers_society")
#: the figures per condition the model gives (key -> what it counts)
FIGURES = {
    "t21_deaths_avoided": "working-age deaths avoided a year (table 2.1)",
    "t21_employed": "of them, deaths of employed people avoided a year (table 2.1)",
    "t21_value_m": "economic benefit of the deaths avoided, pounds million a year (table 2.1)",
    "t22_illness_avoided": "working-age cases of illness avoided a year (table 2.2)",
    "t22_value_m": "economic benefit of the illness avoided, pounds million a year (table 2.2)",
    "t23_people": "people with the condition (table 2.3's base)",
    "t23_total_bn": "reduced health and care cost, pounds billion a year (table 2.3)",
    "t23_healthcare_bn": "reduced cost attributable to healthcare, pounds billion a year (table 2.3)",
    "f21_contribution_bn": "economic contribution, pounds billion a year (figure 2.1: tables 2.1 + 2.2)",
}
#: the totals given 95% intervals (summed over the three conditions)
TOTALS = ("t21_deaths_avoided", "t21_value_m", "t22_illness_avoided", "t22_value_m", "t23_total_bn",
          "t23_healthcare_bn", "f21_contribution_bn")

Draws = Mapping[str, NDArray[np.float64]]


def parameters(path: Path | str = PARAMS_PATH) -> ParameterSet:
    return load_parameters(path, model="wealth", required=PLAIN, groups={g: CONDITIONS for g in GROUPED})


@lru_cache(maxsize=4)
def _cached(path: str) -> ParameterSet:
    return parameters(path)


def _params(params: ParameterSet | None) -> ParameterSet:
    return params if params is not None else _cached(str(PARAMS_PATH))


def _input_keys() -> list[str]:
    return [f"{g}.{c}" for g in GROUPED for c in CONDITIONS] + list(PLAIN)


def central_inputs(params: ParameterSet | None = None) -> dict[str, float]:
    """Every input at its stated value, keyed ``name.condition`` or ``name``."""
    p = _params(params)
    out = {f"{g}.{c}": p.group(g)[c].value for g in GROUPED for c in CONDITIONS}
    out.update({k: p.value(k) for k in PLAIN})
    return out


def sample_inputs(n: int, seed: int, params: ParameterSet | None = None) -> dict[str, NDArray[np.float64]]:
    """``n`` draws of every input from its stated uncertainty (fixed inputs repeated), one generator, in a
    fixed order so the same seed gives the same draws."""
    p = _params(params)
    rng = np.random.default_rng(seed)
    out = {f"{g}.{c}": p.group(g)[c].draw(n, rng) for g in GROUPED for c in CONDITIONS}
    out.update({k: p[k].draw(n, rng) for k in PLAIN})
    return out


def evaluate(x: Draws) -> dict[str, NDArray[np.float64]]:
    """The model over arrays of inputs (vectorised): each figure per condition (``figure.condition``) and
    its total (``figure.total``)."""
    out: dict[str, NDArray[np.float64]] = {}
    e, v_death, v_case = x["employment_share"], x["value_per_employed_death"], x["value_per_case"]
    for c in CONDITIONS:
        deaths = x[f"deaths_working_age.{c}"] * x[f"mortality_reduction.{c}"]
        employed = deaths * e
        value_m = employed * v_death / 1e6
        illness = x[f"prevalence_per_100k.{c}"] / 1e5 * x[f"morbidity_base_population.{c}"] * x[f"morbidity_reduction.{c}"]
        illness_m = illness * v_case / 1e6
        people = x[f"prevalence_per_100k.{c}"] / 1e5 * x["population"]
        cost = x[f"cost_health.{c}"] + x[f"cost_social_care.{c}"] + x[f"cost_incurred.{c}"]
        total_bn = people * cost * x[f"prevalence_reduction.{c}"] / 1e9
        for key, value in (("t21_deaths_avoided", deaths), ("t21_employed", employed), ("t21_value_m", value_m),
                           ("t22_illness_avoided", illness), ("t22_value_m", illness_m), ("t23_people", people),
                           ("t23_total_bn", total_bn), ("t23_healthcare_bn", total_bn * x["healthcare_share"]),
                           ("f21_contribution_bn", (value_m + illness_m) / 1e3)):
            out[f"{key}.{c}"] = value
    for key in FIGURES:
        out[f"{key}.total"] = sum(out[f"{key}.{c}"] for c in CONDITIONS)
    return out


def evaluate_one(x: Mapping[str, float]) -> dict[str, float]:
    """The same arithmetic for ONE draw, in plain Python floats: the reference ``evaluate`` is checked
    against (and the baseline of benchmarks/wealth_montecarlo.py)."""
    out: dict[str, float] = {}
    for c in CONDITIONS:
        deaths = float(x[f"deaths_working_age.{c}"]) * float(x[f"mortality_reduction.{c}"])
        employed = deaths * float(x["employment_share"])
        value_m = employed * float(x["value_per_employed_death"]) / 1e6
        rate = float(x[f"prevalence_per_100k.{c}"]) / 1e5
        illness = rate * float(x[f"morbidity_base_population.{c}"]) * float(x[f"morbidity_reduction.{c}"])
        illness_m = illness * float(x["value_per_case"]) / 1e6
        people = rate * float(x["population"])
        cost = float(x[f"cost_health.{c}"]) + float(x[f"cost_social_care.{c}"]) + float(x[f"cost_incurred.{c}"])
        total_bn = people * cost * float(x[f"prevalence_reduction.{c}"]) / 1e9
        out[f"t21_deaths_avoided.{c}"] = deaths
        out[f"t21_employed.{c}"] = employed
        out[f"t21_value_m.{c}"] = value_m
        out[f"t22_illness_avoided.{c}"] = illness
        out[f"t22_value_m.{c}"] = illness_m
        out[f"t23_people.{c}"] = people
        out[f"t23_total_bn.{c}"] = total_bn
        out[f"t23_healthcare_bn.{c}"] = total_bn * float(x["healthcare_share"])
        out[f"f21_contribution_bn.{c}"] = (value_m + illness_m) / 1e3
    for key in FIGURES:
        total = 0.0
        for c in CONDITIONS:
            total += out[f"{key}.{c}"]
        out[f"{key}.total"] = total
    return out


def monte_carlo(n: int = 100_000, seed: int = 20200701, params: ParameterSet | None = None) -> dict[str, NDArray]:
    """``n`` draws of every figure (vectorised: one pass of NumPy over the arrays of draws)."""
    return evaluate(sample_inputs(n, seed, params))


def summaries(draws: Mapping[str, NDArray[np.float64]]) -> dict[str, OutcomeSummary]:
    """Mean and 95% interval (2.5th and 97.5th percentiles, linear interpolation as ``np.percentile``) of every
    figure: one partial sort of all figures at once (O(n), not a full sort per figure)."""
    keys = list(draws)
    stacked = np.vstack([np.asarray(draws[k], dtype=float) for k in keys])
    n = stacked.shape[1]
    positions = [(n - 1) * q for q in (0.025, 0.975)]
    lows = [int(np.floor(p)) for p in positions]
    needed = sorted({i for lo in lows for i in (lo, min(lo + 1, n - 1))})
    part = np.partition(stacked, needed, axis=1)
    bounds = []
    for p, lo in zip(positions, lows):
        hi = min(lo + 1, n - 1)
        bounds.append(part[:, lo] + (part[:, hi] - part[:, lo]) * (p - lo))
    means = stacked.mean(axis=1)
    return {k: OutcomeSummary(float(means[i]), float(bounds[0][i]), float(bounds[1][i])) for i, k in enumerate(keys)}


# ----------------------------------------------------------------------------------------- the printed cells

@dataclass(frozen=True)
class Cell:
    """One printed figure of the report beside the figure the stated inputs give."""

    table: str          # "2.1", "2.2", "2.3", "figure 2.1"
    figure: str         # key in FIGURES
    condition: str      # a condition or "total"
    row: str            # the report's row label
    printed: float
    decimals: int       # printed precision (decimal places; negative: rounded to tens, hundreds, ...)
    model: float        # the figure the stated inputs give
    step: float | None  # the figure from the printed cell(s) it follows from, where there is one
    status: str         # "reproduced" | "reproduced from the printed cell before it" | "not determined" | "differs"
    note: str

    @property
    def reproduced(self) -> bool:
        return self.status.startswith("reproduced")


def _round(value: float, decimals: int) -> float:
    return round(value, decimals)


#: table, figure, condition -> (row label, printed figure, decimals)
PRINTED: dict[tuple[str, str, str], tuple[str, float, int]] = {}
for _c, _vals in {"cvd": (6346, 4843, 124.23, 233367, 5219, 7.2, 3.6, 5.3),
                  "cancer": (12822, 9758, 250.28, 90092, 2015, 2.2, 1.1, 2.3),
                  "dementia": (531, 404, 10.37, 29459, 659, 11.1, 5.5, None)}.items():
    PRINTED[("2.1", "t21_deaths_avoided", _c)] = ("Reduction possible within working age population (per year)", _vals[0], 0)
    PRINTED[("2.1", "t21_employed", _c)] = ("Reduction possible in employed people in working age population (per year)", _vals[1], 0)
    PRINTED[("2.1", "t21_value_m", _c)] = ("Associated economic benefit (pounds m)", _vals[2], 2)
    PRINTED[("2.2", "t22_illness_avoided", _c)] = ("Reduction of morbidity in working age population (per year)", _vals[3], 0)
    PRINTED[("2.2", "t22_value_m", _c)] = ("Associated economic benefit (pounds m)", _vals[4], 0)
    PRINTED[("2.3", "t23_total_bn", _c)] = ("Reduced cost (total, pounds bn)", _vals[5], 1)
    PRINTED[("2.3", "t23_healthcare_bn", _c)] = ("Reduced cost (attributable to healthcare, pounds bn)", _vals[6], 1)
    if _vals[7] is not None:
        PRINTED[("figure 2.1", "f21_contribution_bn", _c)] = ("Increase in economic contribution (pounds bn)", _vals[7], 1)
PRINTED[("figure 2.1", "f21_contribution_bn", "total")] = ("Total economic gain (text and figure 2.3: pounds 8.3bn)", 8.3, 1)

_NOTES = {
    "t21_deaths_avoided": ("The printed reductions are rounded: the cell implies {implied:.1%} of {deaths:,.0f}, "
                           "printed as {printed_r:.0%}; the stated inputs give {model:,.0f}."),
    "t21_employed": ("Employed share not printed: ONS's 76.1% employment rate (16-64, 2019) applied to the printed "
                     "reduction gives {step:,.1f}; applied to the stated inputs, {model:,.0f}."),
    "t21_value_m": ("Value per employed death not printed; the implied 25,650 pounds applied to the printed employed "
                    "count gives {step:.2f}m. No single value reproduces all three columns from the rounded counts, so "
                    "the report worked from unrounded ones."),
    "t22_illness_avoided": ("The population these apply to is not printed; Uptake's input is back-calculated from this "
                            "cell (the three columns imply different populations: 8.66m, 8.80m, 8.57m)."),
    "t22_value_m": "One value per case (22,364 pounds, implied; not printed) reproduces all three columns.",
    "t23_total_bn": ("People = table 2.2's prevalence rate x the UK mid-2017 population (not printed in the report). "
                     "{extra}"),
    "t23_healthcare_bn": ("Healthcare share not printed: each column is half its total (the printed health costs per "
                          "person would give {health_only:.1f}). {extra}"),
    "f21_contribution_bn": "Table 2.1's benefit plus table 2.2's.",
}


def report_cells(params: ParameterSet | None = None) -> list[Cell]:
    """Every printed cell of tables 2.1-2.3 and figure 2.1 with the model's figure and whether it is
    reproduced to the printed precision."""
    p = _params(params)
    x = central_inputs(p)
    model = evaluate_one(x)
    printed = {(f, c): v for (_, f, c), (_, v, _) in PRINTED.items()}
    cells = []
    for (table, figure, condition), (row, value, decimals) in PRINTED.items():
        m = model[f"{figure}.{condition}"]
        step = None
        determined = True
        extra = ""
        if figure == "t21_employed":
            step = printed[("t21_deaths_avoided", condition)] * x["employment_share"]
        elif figure == "t21_value_m":
            step = printed[("t21_employed", condition)] * x["value_per_employed_death"] / 1e6
            determined = False
        elif figure == "t22_illness_avoided":
            determined = False
        elif figure == "t22_value_m":
            step = printed[("t22_illness_avoided", condition)] * x["value_per_case"] / 1e6
        elif figure == "f21_contribution_bn":
            conds = CONDITIONS if condition == "total" else (condition,)
            step = sum(printed[("t21_value_m", c)] + printed[("t22_value_m", c)] for c in conds) / 1e3
        elif figure in ("t23_total_bn", "t23_healthcare_bn") and condition == "dementia":
            people = x["dementia_people_alzheimers_society"]
            cost = x["cost_health.dementia"] + x["cost_social_care.dementia"] + x["cost_incurred.dementia"]
            total = people * cost * x["prevalence_reduction.dementia"] / 1e9
            step = total if figure == "t23_total_bn" else total * x["healthcare_share"]
            extra = (f"The rate x population gives {model['t23_people.dementia']:,.0f} people with dementia; the "
                     f"printed figure needs 850,000 (Alzheimer's Society 2019), which gives {step:.2f}.")
        if not determined:
            status = "not determined"
        elif _round(m, decimals) == value:
            status = "reproduced"
        elif step is not None and _round(step, decimals) == value:
            status = "reproduced from the printed cell before it"
        else:
            status = "differs"
        health_only = 0.0
        if figure == "t23_healthcare_bn":
            health_only = model[f"t23_people.{condition}"] * x[f"cost_health.{condition}"] * \
                x[f"prevalence_reduction.{condition}"] / 1e9
        note = _NOTES[figure].format(
            implied=value / x[f"deaths_working_age.{condition}"] if figure == "t21_deaths_avoided" else 0,
            deaths=x.get(f"deaths_working_age.{condition}", 0), printed_r=x.get(f"mortality_reduction.{condition}", 0),
            model=m, step=step or 0.0, extra=extra, health_only=health_only)
        cells.append(Cell(table, figure, condition, row, value, decimals, m, step, status, note))
    return cells


@dataclass(frozen=True)
class Claim:
    """A figure the report's text states, beside what its own tables add up to."""

    where: str
    text: str
    printed: float
    tables_give: float
    model_gives: float
    holds: bool
    note: str


def claims(params: ParameterSet | None = None) -> list[Claim]:
    """The report's headline sentences checked against its tables (printed cells) and the model."""
    model = evaluate_one(central_inputs(params))
    t = {(f, c): v for (_, f, c), (_, v, _) in PRINTED.items()}
    deaths = sum(t[("t21_deaths_avoided", c)] for c in CONDITIONS)
    illness = sum(t[("t22_illness_avoided", c)] for c in CONDITIONS)
    health = sum(t[("t23_healthcare_bn", c)] for c in CONDITIONS)
    total_cost = sum(t[("t23_total_bn", c)] for c in CONDITIONS)
    return [
        Claim("section 2.1", "UK mortality lags comparable countries by 20,000 avoidable deaths", 20000, deaths,
              model["t21_deaths_avoided.total"], round(deaths, -3) == 20000,
              "Table 2.1's working-age reductions add to {:,.0f}, 20,000 to the nearest thousand.".format(deaths)),
        Claim("section 2.1", "and by 300,000 avoidable incidents of illness", 300000, illness,
              model["t22_illness_avoided.total"], round(illness, -5) == 300000,
              "Table 2.2's reductions add to {:,.0f}: about 350,000, not 300,000.".format(illness)),
        Claim("section 2.2", "the savings possible total 10.3 billion pounds per year", 10.3, health,
              model["t23_healthcare_bn.total"], round(health, 1) == 10.3,
              ("Table 2.3's healthcare cells add to {:.1f}bn (its totals to {:.1f}bn); the stated inputs give "
               "{:.1f}bn.").format(health, total_cost, model["t23_healthcare_bn.total"])),
        Claim("section 2.1 and figure 2.1", "total economic gain 8.3 billion pounds", 8.3,
              sum(t[("t21_value_m", c)] + t[("t22_value_m", c)] for c in CONDITIONS) / 1e3,
              model["f21_contribution_bn.total"],
              round(sum(t[("t21_value_m", c)] + t[("t22_value_m", c)] for c in CONDITIONS) / 1e3, 1) == 8.3,
              "Tables 2.1 and 2.2's economic benefits add to 8.28bn."),
    ]


# ----------------------------------------------------------------------------------- Uptake's measured gaps

@dataclass(frozen=True)
class MeasuredGap:
    """One indicator's national gap ("if every organisation below the best matched the top decile") turned
    into outcomes by its outcome model: draws of the outcomes for the WHOLE gap."""

    condition: str                      # cvd | cancer | dementia
    indicator: str
    level: str
    period: object
    extra_units: float                  # the gap, in the indicator's own unit
    unit: str                           # what the gap counts
    deaths: NDArray[np.float64] | None  # draws of deaths avoided (None: no model)
    illness: NDArray[np.float64] | None  # draws of illness avoided (strokes; None: not modelled)
    synthetic: bool
    note: str = ""
    #: the model's other outcomes, shown as they are: key -> (label, draws for the whole gap)
    other: tuple[tuple[str, str, NDArray[np.float64]], ...] = ()


def measured_impact(gaps: Sequence[MeasuredGap], seed: int = 20200702,
                    params: ParameterSet | None = None) -> list[dict]:
    """Each measured gap valued with the report's arithmetic: deaths avoided x working-age share x employment
    share x value per employed death (table 2.1's chain); illness avoided x the condition's health, social care
    and incurred costs per person a year (table 2.3's costs, as if each case avoided were one person fewer with
    the condition for a year). Rows: one per gap and measure, with mean and 95% interval."""
    p = _params(params)
    rows: list[dict] = []
    for i, gap in enumerate(gaps):
        sized = [d for d in (gap.deaths, gap.illness, *(o[2] for o in gap.other)) if d is not None]
        n = len(sized[0]) if sized else 0
        base = dict(condition=gap.condition, indicator=gap.indicator, level=gap.level, period=gap.period,
                    extra_units=gap.extra_units, unit=gap.unit, synthetic=gap.synthetic)
        if n == 0:
            rows.append({**base, "measure": "deaths_avoided", "label": "Deaths avoided", "mean": None, "low": None,
                         "high": None, "note": gap.note or "no outcome model for this indicator"})
            continue
        rng = np.random.default_rng(seed + i)
        share = p.group("working_age_share")[gap.condition].draw(n, rng)
        employed = p["employment_share"].draw(n, rng)
        value = p["value_per_employed_death"].draw(n, rng)
        cost = (p.group("cost_health")[gap.condition].draw(n, rng) + p.group("cost_social_care")[gap.condition].draw(n, rng)
                + p.group("cost_incurred")[gap.condition].draw(n, rng))
        measures = []
        if gap.deaths is not None:
            measures += [("deaths_avoided", "Deaths avoided", gap.deaths),
                         ("economic_value_pounds", "Economic value of the deaths avoided (pounds)",
                          gap.deaths * share * employed * value)]
        if gap.illness is not None:
            measures += [("illness_avoided", "Illness avoided (strokes or systemic embolisms)", gap.illness),
                         ("care_costs_avoided_pounds", "Health, social care and incurred costs avoided (pounds)",
                          gap.illness * cost)]
        measures += list(gap.other)
        for key, label, draws in measures:
            lo, hi = np.percentile(draws, [2.5, 97.5])
            rows.append({**base, "measure": key, "label": label, "mean": float(np.mean(draws)), "low": float(lo),
                         "high": float(hi), "note": gap.note})
    return rows
