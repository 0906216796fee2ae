"""The transformation fund's allocation (M14, first part): which applications to fund so the expected benefit
is largest under each year's budget, a minimum per region and an equity share for the most deprived quintile,
as a mixed-integer programme (SciPy ``milp``, HiGHS), each decision explained, and its sensitivity to the
benefit estimates.

The programme, over x_i in {0, 1} (fund application i or not):

    maximise    sum_i benefit_i x_i
    subject to  sum_i cost_{i,t} x_i <= budget_t                          for every year t
                sum_{i in region r} total_i x_i >= minimum_r              for every region r with a floor
                sum_i (deprived_i - share) total_i x_i >= 0               (at least ``share`` of the money
                                                                            awarded goes to the deprived)

``cost_{i,t}`` holds everything the application spends in year t (double running and decommissioning
included); ``total_i`` its sum over the years. ``brute_force`` is the obviously-correct reference (every
subset; small cases only) the tests check the programme against. Defaults (10 bn pounds over four years, a
fifth for the most deprived quintile): params/fund.yaml. Pure: no database, no web.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import Bounds, LinearConstraint, milp

from uptake.errors import UptakeError

__all__ = ["PARAMS_PATH", "Application", "Fund", "Decision", "Allocation", "default_fund", "validate", "allocate",
           "brute_force", "sensitivity"]

PARAMS_PATH = Path(__file__).with_name("params") / "fund.yaml"
_TOL = 1e-6


@dataclass(frozen=True)
class Application:
    """An application: who (an ICB or provider code, its region, whether it is in the most deprived IMD
    quintile), which innovation, its costs per year of the fund (pounds, double running and decommissioning
    included) and its expected benefit (any one measure, e.g. strokes avoided, with its 95% interval)."""

    id: str
    applicant: str
    region: str
    innovation: str
    costs: tuple[float, ...]
    benefit: float
    benefit_low: float | None = None
    benefit_high: float | None = None
    deprived: bool = False

    @property
    def total(self) -> float:
        return float(sum(self.costs))


@dataclass(frozen=True)
class Fund:
    budget_per_year: tuple[float, ...]
    deprived_share: float = 0.0
    region_minimum: Mapping[str, float] = field(default_factory=dict)
    total: float | None = None  # the fund's size: the yearly budgets may not exceed it

    @property
    def years(self) -> int:
        return len(self.budget_per_year)


@dataclass(frozen=True)
class Decision:
    id: str
    funded: bool
    reason: str
    binding: str  # "budget year N", "equity share", "region minimum: R", "benefit per pound", "none"


@dataclass(frozen=True)
class Allocation:
    funded: tuple[str, ...]
    benefit: float
    spend_per_year: tuple[float, ...]
    decisions: tuple[Decision, ...]
    status: str


def default_fund(path: Path | str = PARAMS_PATH) -> Fund:
    """The fund of params/fund.yaml (checked: positive yearly budgets, a share in 0-1, a source per number)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UptakeError(f"{path}: cannot read the fund's parameters ({error}); fix the file") from error
    for key in ("budget_per_year_pounds", "deprived_share", "region_minimum_pounds"):
        if not isinstance(raw.get(key), dict) or "value" not in raw[key] or not raw[key].get("source"):
            raise UptakeError(f"{path}: {key} needs a value and a source")
    budgets = tuple(float(b) for b in raw["budget_per_year_pounds"]["value"])
    fund = Fund(budgets, float(raw["deprived_share"]["value"]), {}, total=sum(budgets))
    validate(fund, [])
    return fund


def validate(fund: Fund, applications: Sequence[Application], regions: Sequence[str] | None = None) -> None:
    """Refuse a bad fund or application with a message naming it and what to do; nothing runs."""
    if not fund.budget_per_year or any(not math.isfinite(b) or b < 0 for b in fund.budget_per_year):
        raise UptakeError(f"fund: budget_per_year must be one non-negative number per year "
                          f"(got {fund.budget_per_year!r})")
    if fund.total is not None and sum(fund.budget_per_year) > fund.total + _TOL:
        raise UptakeError(f"fund: the yearly budgets add up to £{sum(fund.budget_per_year):,.0f}, over the fund's "
                          f"£{fund.total:,.0f}; lower a year's budget")
    if not 0 <= fund.deprived_share <= 1:
        raise UptakeError(f"fund: deprived_share must be between 0 and 1 (got {fund.deprived_share})")
    for region, floor in fund.region_minimum.items():
        if floor < 0 or (regions is not None and region not in regions):
            raise UptakeError(f"fund: region minimum for {region!r} must be >= 0 and name a known region")
    seen: set[str] = set()
    for a in applications:
        where = f"application {a.id!r}"
        if a.id in seen:
            raise UptakeError(f"{where}: the id is used twice; give each application its own id")
        seen.add(a.id)
        if len(a.costs) != fund.years:
            raise UptakeError(f"{where}: {len(a.costs)} yearly costs for a {fund.years}-year fund; give one per "
                              f"year (0 where nothing is spent)")
        if any(not math.isfinite(c) or c < 0 for c in a.costs):
            raise UptakeError(f"{where}: a cost is negative or not a number ({a.costs!r}); costs are pounds >= 0")
        if not math.isfinite(a.benefit) or a.benefit < 0:
            raise UptakeError(f"{where}: benefit must be a number >= 0 (got {a.benefit!r})")
        if a.benefit_low is not None and a.benefit_high is not None and not (
                a.benefit_low <= a.benefit <= a.benefit_high):
            raise UptakeError(f"{where}: the benefit's interval {a.benefit_low}-{a.benefit_high} does not hold "
                              f"its value {a.benefit}")
        if regions is not None and a.region not in regions:
            raise UptakeError(f"{where}: unknown region {a.region!r}; use one of {', '.join(sorted(regions))}")


def _matrices(fund: Fund, apps: Sequence[Application]):
    costs = np.array([a.costs for a in apps], dtype=float).reshape(len(apps), fund.years)
    totals = costs.sum(axis=1)
    rows, lower, upper, names = [], [], [], []
    for t in range(fund.years):
        rows.append(costs[:, t]); lower.append(-np.inf); upper.append(fund.budget_per_year[t])
        names.append(f"budget year {t + 1}")
    for region, floor in fund.region_minimum.items():
        if floor > 0:
            rows.append(np.array([a.total if a.region == region else 0.0 for a in apps]))
            lower.append(floor); upper.append(np.inf); names.append(f"region minimum: {region}")
    if fund.deprived_share > 0:
        rows.append(np.array([((1.0 if a.deprived else 0.0) - fund.deprived_share) for a in apps]) * totals)
        lower.append(0.0); upper.append(np.inf); names.append("equity share")
    return np.array(rows), np.array(lower), np.array(upper), names


def _feasible(x: np.ndarray, A: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    v = A @ x
    scale = 1e-9 * np.maximum(1.0, np.abs(A).sum(axis=1))
    return bool(np.all(v <= hi + scale) and np.all(v >= lo - scale))


def _solve(fund: Fund, apps: Sequence[Application], benefits: np.ndarray, gap: float = 0.0,
           time_limit: float | None = None) -> tuple[np.ndarray, str]:
    n = len(apps)
    if n == 0:
        return np.zeros(0), "optimal"
    A, lo, hi, _ = _matrices(fund, apps)
    result = milp(c=-benefits, integrality=np.ones(n), bounds=Bounds(0, 1),
                  constraints=LinearConstraint(A, lo, hi), options={"mip_rel_gap": gap, **({"time_limit": time_limit} if time_limit else {})})
    if result.x is None:
        return np.zeros(n), "infeasible" if result.status == 2 else f"not solved ({result.message})"
    return np.round(result.x), "optimal"


def _explain(fund: Fund, apps: Sequence[Application], x: np.ndarray) -> tuple[Decision, ...]:
    A, lo, hi, names = _matrices(fund, apps)
    out = []
    for i, a in enumerate(apps):
        y = x.copy()
        if x[i]:
            y[i] = 0
            broken = [names[k] for k, v in enumerate(A @ y) if v < lo[k] - 1e-6]
            if broken:
                out.append(Decision(a.id, True, f"funded; without it the {broken[0]} would not be met", broken[0]))
            else:
                out.append(Decision(a.id, True, "funded: among the largest benefits the budgets allow",
                                    "benefit per pound"))
            continue
        y[i] = 1
        broken = [names[k] for k, v in enumerate(A @ y) if v > hi[k] + 1e-6 or v < lo[k] - 1e-6]
        if broken:
            out.append(Decision(a.id, False, f"not funded: adding it would break the {broken[0]}", broken[0]))
        else:
            out.append(Decision(a.id, False, "not funded: the money buys more benefit elsewhere (adding it would "
                                             "fit, but only by giving up something worth more)", "benefit per pound"))
    return tuple(out)


def allocate(fund: Fund, applications: Sequence[Application], regions: Sequence[str] | None = None, *,
             gap: float = 0.0, time_limit: float | None = None) -> Allocation:
    """The allocation with the largest expected benefit under every constraint (within ``gap`` of the optimum,
    relative; 0: exact), each decision explained."""
    validate(fund, applications, regions)
    apps = list(applications)
    benefits = np.array([a.benefit for a in apps], dtype=float)
    x, status = _solve(fund, apps, benefits, gap, time_limit)
    if status != "optimal":
        raise UptakeError(f"fund: no allocation meets every constraint ({status}); lower a region minimum or the "
                          f"equity share, or add applications")
    costs = np.array([a.costs for a in apps], dtype=float).reshape(len(apps), fund.years)
    return Allocation(tuple(a.id for a, f in zip(apps, x) if f), float(benefits @ x),
                      tuple(float(v) for v in costs.T @ x), _explain(fund, apps, x), status)


def brute_force(fund: Fund, applications: Sequence[Application]) -> tuple[float, tuple[str, ...]]:
    """The best benefit over every subset (2^n: small cases only) and one subset that reaches it."""
    apps = list(applications)
    if len(apps) > 16:
        raise UptakeError("brute_force: at most 16 applications (it tries every subset)")
    A, lo, hi, _ = _matrices(fund, apps) if apps else (np.zeros((0, 0)), np.zeros(0), np.zeros(0), [])
    best, chosen = -1.0, ()
    for bits in itertools.product((0.0, 1.0), repeat=len(apps)):
        x = np.array(bits)
        if len(apps) and A.size and not _feasible(x, A, lo, hi):
            continue
        value = float(sum(a.benefit * b for a, b in zip(apps, bits)))
        if value > best + 1e-9:
            best, chosen = value, tuple(a.id for a, b in zip(apps, bits) if b)
    return best, chosen


def sensitivity(fund: Fund, applications: Sequence[Application]) -> dict[str, bool]:
    """Which decisions flip within the benefits' 95% intervals: a funded application at its low benefit, or an
    unfunded one at its high benefit (the others at their means), re-solved. True: the decision flips."""
    base = set(allocate(fund, applications).funded)
    flips: dict[str, bool] = {}
    for i, a in enumerate(applications):
        bound = a.benefit_low if a.id in base else a.benefit_high
        if bound is None:
            flips[a.id] = False
            continue
        moved = list(applications)
        moved[i] = replace(a, benefit=bound, benefit_low=None, benefit_high=None)
        flips[a.id] = (a.id in allocate(fund, moved).funded) != (a.id in base)
    return flips
