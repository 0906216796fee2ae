"""Spec cases: equity (result_equity) - the slope and relative index of inequality across IMD quintiles.

Hand arithmetic (docs/methods.md, "Slope index of inequality"): pool organisations by quintile g (1 = most
deprived): value_g = sum(num) / sum(den), N_g = sum(den); shares a_g = N_g / sum N; ridit x_g = the shares of
the more deprived quintiles + a_g / 2; weighted least squares of value_g on x_g with weights a_g:

    SII = sum a (x - xbar)(y - ybar) / sum a (x - xbar)^2,   intercept = ybar - SII xbar,   RII = SII / ybar

With two groups the ridits are a_1/2 and a_1 + a_2/2, always 0.5 apart, so SII = (y_2 - y_1) / 0.5, and
xbar = 0.5. The 95% intervals come from simulation (binomial redraws with a fixed seed: 10,000 in
uptake.stats, 1,000 in the pipeline), so the cases assert the point estimates exactly and only that each
interval is a real interval containing its estimate.
"""

from __future__ import annotations

import math

import numpy as np

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check, pipelines_only

from uptake import stats

# Practices carry an IMD quintile, and so do the two ICBs (QA most deprived, QB least):
#   ENG - Y1 - QA (q1) - SA - PQ1a (q1), PQ1b (q1), PQ2 (q2)
#            - QB (q5) - SB - PQ3 (q3), PQ4 (q4), PQ5 (q5)
HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {"imd_quintile": 1}),
    ("SA", "sub-icb", "QA", {}),
    ("PQ1a", "practice", "SA", {"imd_quintile": 1}),
    ("PQ1b", "practice", "SA", {"imd_quintile": 1}),
    ("PQ2", "practice", "SA", {"imd_quintile": 2}),
    ("QB", "icb", "Y1", {"imd_quintile": 5}),
    ("SB", "sub-icb", "QB", {}),
    ("PQ3", "practice", "SB", {"imd_quintile": 3}),
    ("PQ4", "practice", "SB", {"imd_quintile": 4}),
    ("PQ5", "practice", "SB", {"imd_quintile": 5}),
]
SPEC = Spec(HIERARCHY)
QUINTILE = {code: attrs["imd_quintile"] for code, _, _, attrs in HIERARCHY if "imd_quintile" in attrs}


def equity(impl, run, case, period, level="practice", pooled=None):
    """The result_equity row of a level and period, or stats.slope_index_of_inequality on the case's rows (for a
    rolled-up level, on the organisations' pooled counts worked out by hand: stats has no roll-up)."""
    if impl != "stats":
        return run.one("result_equity", case, level=level, period=period)
    units = pooled if pooled is not None else case.period_rows(period)
    values = [n / d for _, n, d in units]
    res = stats.slope_index_of_inequality(values, [d for _, _, d in units], [QUINTILE[o] for o, _, _ in units])
    row = {"sii": res.sii, "rii": res.rii, "intercept": res.intercept, "quintiles": int(res.groups.size),
           "organisations": len(units), "sii_ci95_low": res.sii_ci95_low, "sii_ci95_high": res.sii_ci95_high,
           "rii_ci95_low": res.rii_ci95_low, "rii_ci95_high": res.rii_ci95_high}
    for q in range(1, 6):
        hit = np.flatnonzero(res.groups == q)
        row[f"value_q{q}"] = float(res.group_value[hit[0]]) if hit.size else None
    return row


def check_intervals_contain_the_estimates(row) -> None:
    for name in ("sii", "rii"):
        low, high, estimate = row[f"{name}_ci95_low"], row[f"{name}_ci95_high"], row[name]
        assert low is not None and high is not None and not (math.isnan(low) or math.isnan(high)), (name, row)
        assert low < estimate < high, f"{name}: {estimate} not inside ({low}, {high})"


GRADIENT = SPEC.case("equity-gradient", pyspark=True, level="practice", rows=[
    ("PQ1a", "2024-01", 10, 100),
    ("PQ2", "2024-01", 20, 100),
    ("PQ3", "2024-01", 30, 100),
    ("PQ4", "2024-01", 40, 100),
    ("PQ5", "2024-01", 50, 100),
])


@EVERYWHERE
def test_a_steady_gradient_across_five_quintiles(impl, run) -> None:
    """Equal populations: a = 0.2 each, ridits 0.1, 0.3, 0.5, 0.7, 0.9. The values 0.1 .. 0.5 lie exactly on
    y = 0.05 + 0.5 x, so SII = 0.5, intercept 0.05; ybar = 0.3, RII = 0.5 / 0.3 = 1.666667."""
    got = equity(impl, run, GRADIENT, "2024-01")
    check(got, {"organisations": 5, "quintiles": 5, "sii": 0.5, "intercept": 0.05, "rii": 0.5 / 0.3,
                "value_q1": 0.1, "value_q2": 0.2, "value_q3": 0.3, "value_q4": 0.4, "value_q5": 0.5})
    check_intervals_contain_the_estimates(got)


@EVERYWHERE
def test_icbs_are_compared_on_their_pooled_values(impl, run) -> None:
    """QA (q1) pools PQ1a and PQ2: 30/200 = 0.15; QB (q5) pools PQ3..PQ5: 120/300 = 0.4. a = 0.4, 0.6; SII =
    (0.4 - 0.15) / 0.5 = 0.5; ybar = 0.4 * 0.15 + 0.6 * 0.4 = 0.3, RII = 1.666667; intercept 0.3 - 0.5 * 0.5 = 0.05."""
    got = equity(impl, run, GRADIENT, "2024-01", level="icb", pooled=[("QA", 30, 200), ("QB", 120, 300)])
    check(got, {"organisations": 2, "quintiles": 2, "sii": 0.5, "rii": 0.5 / 0.3, "intercept": 0.05,
                "value_q1": 0.15, "value_q2": None, "value_q5": 0.4})
    check_intervals_contain_the_estimates(got)


POOLED = SPEC.case("equity-pooled", level="practice", rows=[
    ("PQ1a", "2024-01", 10, 100),
    ("PQ1b", "2024-01", 30, 100),
    ("PQ5", "2024-01", 60, 100),
])


@NOT_ON_SPARK
def test_practices_of_one_quintile_are_pooled_and_weighted_by_population(impl, run) -> None:
    """q1 = (10 + 30) / 200 = 0.2 with a = 2/3; q5 = 0.6 with a = 1/3. SII = (0.6 - 0.2) / 0.5 = 0.8;
    ybar = 2/3 * 0.2 + 1/3 * 0.6 = 1/3, RII = 2.4; intercept 1/3 - 0.8 * 0.5 = -1/15."""
    got = equity(impl, run, POOLED, "2024-01")
    check(got, {"organisations": 3, "quintiles": 2, "sii": 0.8, "rii": 2.4, "intercept": -1 / 15,
                "value_q1": 0.2, "value_q3": None, "value_q5": 0.6})
    check_intervals_contain_the_estimates(got)


REVERSED = SPEC.case("equity-reversed", level="practice", rows=[
    ("PQ1a", "2024-01", 50, 100),
    ("PQ2", "2024-01", 40, 100),
    ("PQ3", "2024-01", 30, 100),
    ("PQ4", "2024-01", 20, 100),
    ("PQ5", "2024-01", 10, 100),
])


@NOT_ON_SPARK
def test_higher_values_in_more_deprived_areas_give_a_negative_sii(impl, run) -> None:
    """The gradient case mirrored: y = 0.55 - 0.5 x, SII = -0.5, intercept 0.55, RII = -0.5 / 0.3."""
    got = equity(impl, run, REVERSED, "2024-01")
    check(got, {"sii": -0.5, "intercept": 0.55, "rii": -0.5 / 0.3})
    check_intervals_contain_the_estimates(got)


ONE = SPEC.case("equity-one-quintile", level="practice", rows=[
    ("PQ3", "2024-01", 30, 100),
])


@NOT_ON_SPARK
def test_one_quintile_has_no_slope(impl, run) -> None:
    got = equity(impl, run, ONE, "2024-01")
    check(got, {"organisations": 1, "quintiles": 1, "sii": None, "rii": None, "intercept": None,
                "sii_ci95_low": None, "sii_ci95_high": None, "value_q3": 0.3})


@pipelines_only("uptake.stats fits the groups it is given; which levels carry quintiles is the pipeline's")
def test_levels_without_quintiles_have_no_equity_rows(impl, run) -> None:
    """Sub-ICBs, the region and England carry no IMD quintile in this hierarchy."""
    levels = {r["level"] for r in run.rows("result_equity", GRADIENT)}
    assert levels == {"practice", "icb"}
