"""Spec cases: funnel plots (result_funnel, result_funnel_summary) - limits, band and side.

Hand arithmetic (docs/methods.md, "Funnel plots"), for the practices of one period:

* benchmark theta = sum(numerators) / sum(denominators) over units with a positive denominator;
* proportions: limits theta -/+ z sqrt(theta (1 - theta) / n), z = 1.959964 (95%) and 3.090232 (99.8%);
  at theta = 0.5 and n = 100 the half-widths are z * 0.05: 0.0979982 and 0.1545116;
* rates: exact Poisson with Spiegelhalter's interpolation, (r_p - alpha) / n with
  alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), F the Poisson(theta n) distribution function;
* over-dispersion: z_i = (asin sqrt(p_i) - asin sqrt(theta)) / (1 / (2 sqrt n_i)) (square roots for
  rates), winsorised at their 10th and 90th percentiles (linear), phi = mean(z_w^2); random-effects limits
  sin^2(asin sqrt(theta) -/+ z sqrt(1/(4n) + tau^2)) replace the plain ones only when phi > 1.

Six units, four on theta (z = 0) and two mirror images (z = +/-a): sorted z = -a, 0, 0, 0, 0, a. The 10th
percentile is at h = 5 * 0.1 = 0.5, halfway from -a to 0: -a/2; the 90th at +a/2. So phi = 2 (a/2)^2 / 6
= a^2 / 12, and (all n = 100, w = 4n = 400) tau^2 = (6 phi - 5) / (2400 - 6 * 400^2 / 2400) = (6 phi - 5) / 2000
when positive.
"""

from __future__ import annotations

from spec_support import EVERYWHERE, NOT_ON_SPARK, Spec, check, pipelines_only

from uptake import stats

# Six practices in one sub-ICB:  ENG - Y1 - QA - SA - PA1 .. PA6
HIERARCHY = [
    ("Y1", "region", "ENG", {}),
    ("QA", "icb", "Y1", {}),
    ("SA", "sub-icb", "QA", {}),
    *[(f"PA{i}", "practice", "SA", {}) for i in range(1, 7)],
]
SPEC = Spec(HIERARCHY)
SUMMARY = ("benchmark", "units", "method", "phi", "tau2", "overdispersion_adjusted")


def funnel_answers(impl, run, case, period):
    """({org: its funnel row}, the funnel's summary row) for the practices in one period."""
    if impl == "stats":
        rows = case.period_rows(period)
        res = stats.funnel_limits([n for _, n, _ in rows], [d for _, _, d in rows], measure=case.measure, points=2)
        units = {
            org: {"value": float(res.value[i]), "lower95": float(res.lower95[i]), "upper95": float(res.upper95[i]),
                  "lower998": float(res.lower998[i]), "upper998": float(res.upper998[i]), "band": str(res.band[i]),
                  "side": str(res.side[i]), "z": float(res.z[i]), "benchmark": res.benchmark}
            for i, (org, _, _) in enumerate(rows)
        }
        summary = {"benchmark": res.benchmark, "units": sum(1 for _, _, d in rows if d > 0), "method": res.method,
                   "phi": res.phi, "tau2": res.tau2, "overdispersion_adjusted": res.overdispersion_adjusted}
        return units, summary
    units = {r["org_code"]: r for r in run.rows("result_funnel", case, level="practice", period=period)}
    summary = run.one("result_funnel_summary", case, level="practice", period=period)
    return units, summary


WITHIN = {"band": "within 95%", "side": ""}
AT_HALF = {"benchmark": 0.5, "lower95": 0.4020018, "upper95": 0.5979982, "lower998": 0.3454884,
           "upper998": 0.6545116}

BEYOND = SPEC.case("funnel-beyond", pyspark=True, level="practice", rows=[
    *[(f"PA{i}", "2024-01", 50, 100) for i in range(1, 5)],
    ("PA5", "2024-01", 66, 100),
    ("PA6", "2024-01", 34, 100),
])


@EVERYWHERE
def test_beyond_the_99_8_limits(impl, run) -> None:
    """theta = 300/600 = 0.5; at n = 100 the limits are 0.4020018-0.5979982 and 0.3454884-0.6545116.
    0.66 > 0.6545116: beyond 99.8%, high; 0.34 < 0.3454884: beyond 99.8%, low; 0.5: within.
    z of PA5 = (asin sqrt 0.66 - pi/4) / 0.05 = (0.9477468 - 0.7853982) / 0.05 = 3.2572949; phi = a^2/12 =
    0.8841642 (not above 1: the plain limits stay); tau^2 = (6 * 0.8841642 - 5) / 2000 = 0.0001525."""
    units, summary = funnel_answers(impl, run, BEYOND, "2024-01")
    for org in ("PA1", "PA2", "PA3", "PA4"):
        check(units[org], {**AT_HALF, "value": 0.5, "z": 0.0, **WITHIN}, what=org)
    check(units["PA5"], {**AT_HALF, "value": 0.66, "band": "beyond 99.8%", "side": "high", "z": 3.2572949})
    check(units["PA6"], {**AT_HALF, "value": 0.34, "band": "beyond 99.8%", "side": "low", "z": -3.2572949})
    check(summary, {"benchmark": 0.5, "units": 6, "method": "wilson", "phi": 0.8841642, "tau2": 0.0001525,
                    "overdispersion_adjusted": False})


BETWEEN = SPEC.case("funnel-between", level="practice", rows=[
    *[(f"PA{i}", "2024-01", 50, 100) for i in range(1, 5)],
    ("PA5", "2024-01", 61, 100),
    ("PA6", "2024-01", 39, 100),
])


@NOT_ON_SPARK
def test_between_the_95_and_99_8_limits(impl, run) -> None:
    """The same limits; 0.5979982 < 0.61 <= 0.6545116 and 0.3454884 <= 0.39 < 0.4020018.
    a = (asin sqrt 0.61 - pi/4) / 0.05 = 2.2181447, phi = a^2/12 = 0.4100138, 6 phi < 5 so tau^2 = 0."""
    units, summary = funnel_answers(impl, run, BETWEEN, "2024-01")
    check(units["PA5"], {**AT_HALF, "band": "between 95% and 99.8%", "side": "high", "z": 2.2181447})
    check(units["PA6"], {**AT_HALF, "band": "between 95% and 99.8%", "side": "low", "z": -2.2181447})
    check(units["PA1"], {**AT_HALF, **WITHIN})
    check(summary, {"phi": 0.4100138, "tau2": 0.0, "overdispersion_adjusted": False})


DISPERSED = SPEC.case("funnel-overdispersed", level="practice", rows=[
    *[(f"PA{i}", "2024-01", 50, 100) for i in range(1, 5)],
    ("PA5", "2024-01", 70, 100),
    ("PA6", "2024-01", 30, 100),
])


@NOT_ON_SPARK
def test_over_dispersion_widens_the_limits(impl, run) -> None:
    """a = (asin sqrt 0.7 - pi/4) / 0.05 = (0.9911566 - 0.7853982) / 0.05 = 4.1151685; phi = a^2/12 =
    1.4112176 > 1; tau^2 = (6 phi - 5) / 2000 = 0.0017337. Random-effects half-width on the angle scale:
    z sqrt(1/400 + 0.0017337) = z * 0.0650669 -> 95%: sin^2(pi/4 -/+ 0.1275288) = 0.3738502-0.6261498;
    99.8%: sin^2(pi/4 -/+ 0.2010719) = 0.3043051-0.6956949. 0.70 and 0.30 are beyond even these."""
    units, summary = funnel_answers(impl, run, DISPERSED, "2024-01")
    widened = {"lower95": 0.3738502, "upper95": 0.6261498, "lower998": 0.3043051, "upper998": 0.6956949}
    check(units["PA5"], {**widened, "band": "beyond 99.8%", "side": "high", "z": 4.1151685})
    check(units["PA6"], {**widened, "band": "beyond 99.8%", "side": "low", "z": -4.1151685})
    check(units["PA2"], {**widened, **WITHIN})
    check(summary, {"method": "random-effects", "phi": 1.4112176, "tau2": 0.0017337,
                    "overdispersion_adjusted": True})


RATES = SPEC.case("funnel-rates", pyspark=True, level="practice", measure="rate", rows=[
    ("PA1", "2024-01", 1, 10),
    ("PA2", "2024-01", 1, 10),
    ("PA3", "2024-01", 0, 10),
    ("PA4", "2024-01", 2, 10),
])


@EVERYWHERE
def test_rates_get_exact_poisson_limits(impl, run) -> None:
    """theta = 4/40 = 0.1 events per unit; at n = 10 the expected count is 1, so F is Poisson(1):
    F(0) = e^-1 = 0.3678794, F(2) = 2.5 e^-1 = 0.9196986, F(3) = (8/3) e^-1 = 0.9810118,
    F(4) = (65/24) e^-1 = 0.9963402, F(5) = (163/60) e^-1 = 0.9994058.
    Upper 95%: r = 3, alpha = (0.9810118 - 0.975) / (0.9810118 - 0.9196986) = 0.0980513 -> 0.2901949.
    Upper 99.8%: r = 5, alpha = (0.9994058 - 0.999) / (0.9994058 - 0.9963402) = 0.1323744 -> 0.4867626.
    Lower limits: r = 0 and alpha > 0 gives a negative count, clipped to 0. Every unit is within.
    Square-root scale: s = 1/(2 sqrt 10) = 0.1581139, z = 0, 0, -2, 0.8284271; sorted -2, 0, 0, 0.8284271:
    10th percentile at h = 0.3 -> -1.4, 90th at h = 2.7 -> 0.5798990; phi = (1.96 + 0.3362829) / 4 = 0.5740707."""
    units, summary = funnel_answers(impl, run, RATES, "2024-01")
    limits = {"benchmark": 0.1, "lower95": 0.0, "upper95": 0.2901949, "lower998": 0.0, "upper998": 0.4867626}
    for org, z in {"PA1": 0.0, "PA2": 0.0, "PA3": -2.0, "PA4": 0.8284271}.items():
        check(units[org], {**limits, **WITHIN, "z": z}, what=org)
    check(summary, {"benchmark": 0.1, "units": 4, "method": "exact-poisson", "phi": 0.5740707,
                    "overdispersion_adjusted": False})


FEW = SPEC.case("funnel-few-units", level="practice", rows=[
    ("PA1", "2024-01", 30, 100),
    ("PA2", "2024-01", 10, 100),
    ("PA3", "2024-01", 0, 0),
])


@NOT_ON_SPARK
def test_two_units_and_a_zero_denominator(impl, run) -> None:
    """theta = 40/200 = 0.2 (PA3's 0/0 does not count); half-widths z sqrt(0.16/100) = z * 0.04:
    0.0783986 and 0.1236093 -> 0.1216014-0.2783986 and 0.0763907-0.3236093. PA1 0.3 and PA2 0.1 are between.
    With fewer than 3 units there is no phi and no z; PA3 is not compared and has no limits."""
    units, summary = funnel_answers(impl, run, FEW, "2024-01")
    limits = {"benchmark": 0.2, "lower95": 0.1216014, "upper95": 0.2783986, "lower998": 0.0763907,
              "upper998": 0.3236093, "z": None}
    check(units["PA1"], {**limits, "value": 0.3, "band": "between 95% and 99.8%", "side": "high"})
    check(units["PA2"], {**limits, "value": 0.1, "band": "between 95% and 99.8%", "side": "low"})
    check(units["PA3"], {"value": None, "lower95": None, "upper95": None, "lower998": None, "upper998": None,
                         "band": "not compared", "side": "", "z": None})
    check(summary, {"benchmark": 0.2, "units": 2, "method": "wilson", "phi": None, "tau2": 0.0,
                    "overdispersion_adjusted": False})


# ------------------------------------------------------------------- the comparison with England (result_values)
COMPARED = SPEC.case("funnel-comparison", pyspark=True, level="practice", rows=[
    ("PA1", "2024-01", 550, 1000),
    ("PA2", "2024-01", 450, 1000),
    ("PA3", "2024-01", 50, 100),
    ("PA4", "2024-01", 50, 100),
    ("PA5", "2024-01", 72, 100),
    ("PA6", "2024-01", 28, 100),
])
# England = theta = 1200 / 2400 = 0.5. Sorted z: -a5, -a1, 0, 0, a1, a5 with
#   a1 = (asin sqrt 0.55 - pi/4) * 2 sqrt 1000 = (0.8354819 - 0.7853982) * 63.245553 = 3.1675720
#   a5 = (asin sqrt 0.72 - pi/4) * 2 sqrt 100  = (1.0131975 - 0.7853982) * 20 = 4.5559867
# The 10th and 90th percentiles (h = 0.5) are -/+ (a1 + a5)/2 = 3.8617794, so phi = (2 * 3.8617794^2 +
# 2 * 3.1675720^2) / 6 = 8.3156174 > 1; w = 4n: sum w = 9600, sum w^2 / sum w = 32,640,000 / 9600 = 3400,
# tau^2 = (6 phi - 5) / (9600 - 3400) = 0.0072409. Random-effects half-widths on the angle scale
# z sqrt(1/(4n) + tau^2): n = 1000: 0.1696351 (95%), 0.2674599 (99.8%); n = 100: 0.1934408, 0.3049938.
# Limits sin^2(pi/4 -/+ h): n = 1000: 0.3336005-0.6663995, 0.2451140-0.7548860; n = 100: 0.3113488-0.6886512,
# 0.2135713-0.7864287.
#   PA1 0.55 inside 0.3336-0.6664 -> similar (its Wilson 99.8% interval 0.5011-0.5979 excludes 0.5: best)
#   PA5 0.72 between 0.6887 and 0.7864 -> better (Wilson 99.8% 0.5669-0.8348 excludes 0.5: best)
COMPARED_WANT = {  # org: (comparison, comparison_plain, funnel band, side)
    "PA1": ("similar", "best", "within 95%", ""),
    "PA2": ("similar", "worst", "within 95%", ""),
    "PA3": ("similar", "similar", "within 95%", ""),
    "PA4": ("similar", "similar", "within 95%", ""),
    "PA5": ("better", "best", "between 95% and 99.8%", "high"),
    "PA6": ("worse", "worst", "between 95% and 99.8%", "low"),
}


@EVERYWHERE
def test_an_over_dispersed_funnel_judges_the_comparison_with_england(impl, run) -> None:
    """When the level's funnel is over-dispersed, result_values.comparison is the funnel's judgement (the value
    against the random-effects limits around England at its denominator); the plain Wilson judgement stays in
    comparison_plain. Both are worked out above."""
    units, summary = funnel_answers(impl, run, COMPARED, "2024-01")
    check(summary, {"benchmark": 0.5, "phi": 8.3156174, "tau2": 0.0072409, "overdispersion_adjusted": True})
    if impl == "stats":
        rows = COMPARED.period_rows("2024-01")
        num = [n for _, n, _ in rows]
        den = [d for _, _, d in rows]
        value = [n / d for n, d in zip(num, den)]
        judged = stats.compare_random_effects(value, den, 0.5, summary["tau2"], "high-is-good")
        lo, hi = stats.wilson(num, den, 0.95)
        lo2, hi2 = stats.wilson(num, den, 0.998)
        plain = stats.compare_to_benchmark(value, lo, hi, lo2, hi2, 0.5, "high-is-good")
        found = {org: {"comparison": str(judged[i]), "comparison_plain": str(plain[i]),
                       "comparison_method": "random-effects"} for i, (org, _, _) in enumerate(rows)}
    else:
        found = {r["org_code"]: r for r in run.rows("result_values", COMPARED, level="practice", period="2024-01")}
    for org, (comparison, plain, band, side) in COMPARED_WANT.items():
        check(found[org], {"comparison": comparison, "comparison_plain": plain,
                           "comparison_method": "random-effects"}, what=org)
        check(units[org], {"band": band, "side": side}, what=org)
    check(units["PA1"], {"lower95": 0.3336005, "upper95": 0.6663995, "lower998": 0.2451140, "upper998": 0.7548860})
    check(units["PA5"], {"lower95": 0.3113488, "upper95": 0.6886512, "lower998": 0.2135713, "upper998": 0.7864287})


@pipelines_only("uptake.stats has no levels: a lone sub-ICB and England are the pipeline's rows")
def test_a_funnel_that_is_not_over_dispersed_keeps_the_plain_interval(impl, run) -> None:
    """The sub-ICB SA is its level's only organisation (no over-dispersion can be estimated), so its comparison
    is the plain interval's: SA = England = 0.5 -> similar, method 'interval'. England is not compared. In the
    funnel-beyond case (phi 0.884, not over-dispersed) every practice is judged by its Wilson interval."""
    check(run.one("result_values", COMPARED, level="sub-icb", org_code="SA"),
          {"comparison": "similar", "comparison_plain": "similar", "comparison_method": "interval"})
    check(run.one("result_values", COMPARED, level="england", org_code="ENG"),
          {"comparison": "not compared", "comparison_plain": "not compared", "comparison_method": None})
    for r in run.rows("result_values", BEYOND, level="practice"):
        assert r["comparison_method"] == "interval" and r["comparison"] == r["comparison_plain"], r["org_code"]
    got = {r["org_code"]: r["comparison"] for r in run.rows("result_values", BEYOND, level="practice")}
    assert got == {"PA1": "similar", "PA2": "similar", "PA3": "similar", "PA4": "similar", "PA5": "best",
                   "PA6": "worst"}
