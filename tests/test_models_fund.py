"""The transformation fund's allocation (uptake.models.fund): equal to the brute-force optimum on small random
cases, every constraint respected on 5,000 applications, each decision explained, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

from uptake.errors import UptakeError
from uptake.models import fund as F

REGIONS = ("Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63")


def _apps(n: int, years: int, seed: int) -> list[F.Application]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        costs = tuple(float(c) for c in rng.integers(0, 100, years))
        benefit = float(rng.integers(1, 100))
        out.append(F.Application(f"A{i}", f"Q{i:02d}", REGIONS[i % 3], "doacs", costs, benefit,
                                 benefit * 0.7, benefit * 1.3, deprived=bool(rng.random() < 0.3)))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_allocation_equals_brute_force_optimum(seed: int) -> None:
    apps = _apps(10, 3, seed)
    fund = F.Fund((150.0, 120.0, 130.0), deprived_share=0.25 if seed % 2 else 0.0,
                  region_minimum={"Y56": 60.0} if seed % 3 == 0 else {})
    best, _ = F.brute_force(fund, apps)
    if best < 0:
        with pytest.raises(UptakeError, match="no allocation"):
            F.allocate(fund, apps)
        return
    found = F.allocate(fund, apps)
    assert found.benefit == pytest.approx(best)
    assert found.benefit == pytest.approx(sum(a.benefit for a in apps if a.id in found.funded))


def test_hand_computed_small_fund() -> None:
    # one year, budget 10: A (cost 6, benefit 10), B (5, 6), C (5, 6): B + C (12) beats A (10)
    apps = [F.Application("A", "QA", "Y56", "x", (6.0,), 10.0), F.Application("B", "QB", "Y56", "x", (5.0,), 6.0),
            F.Application("C", "QC", "Y58", "x", (5.0,), 6.0, deprived=True)]
    found = F.allocate(F.Fund((10.0,)), apps)
    assert set(found.funded) == {"B", "C"} and found.benefit == 12 and found.spend_per_year == (10.0,)
    reasons = {d.id: d for d in found.decisions}
    assert reasons["A"].binding == "budget year 1" and not reasons["A"].funded
    # with every pound to the deprived (share 1) only C can be funded
    only = F.allocate(F.Fund((10.0,), deprived_share=1.0), apps)
    assert only.funded == ("C",)
    assert {d.id: d.binding for d in only.decisions}["B"] == "equity share"


def test_five_thousand_applications_respect_every_constraint() -> None:
    apps = _apps(5_000, 4, 7)
    total = sum(a.total for a in apps)
    budgets = tuple(0.2 * total / 4 for _ in range(4))
    fund = F.Fund(budgets, deprived_share=0.3, region_minimum={"Y58": 0.05 * total}, total=sum(budgets))
    found = F.allocate(fund, apps, gap=1e-3, time_limit=60)
    chosen = [a for a in apps if a.id in set(found.funded)]
    for t in range(4):
        assert sum(a.costs[t] for a in chosen) <= budgets[t] + 1e-6
    money = sum(a.total for a in chosen)
    assert sum(a.total for a in chosen if a.deprived) >= 0.3 * money - 1e-6
    assert sum(a.total for a in chosen if a.region == "Y58") >= 0.05 * total - 1e-6
    assert len(found.decisions) == 5_000 and all(d.reason for d in found.decisions)


def test_sensitivity_flags_decisions_that_flip_within_the_interval() -> None:
    apps = [F.Application("A", "QA", "Y56", "x", (6.0,), 10.0, 5.0, 14.0),
            F.Application("B", "QB", "Y56", "x", (5.0,), 6.0, 5.5, 6.5),
            F.Application("C", "QC", "Y58", "x", (5.0,), 6.0, 5.9, 6.1)]
    flips = F.sensitivity(F.Fund((10.0,)), apps)
    assert flips == {"A": True, "B": False, "C": False}  # A at 14 beats B + C at 12


def test_defaults_are_ten_billion_over_four_years() -> None:
    fund = F.default_fund()
    assert fund.years == 4 and sum(fund.budget_per_year) == pytest.approx(10e9) and fund.deprived_share == 0.2


@pytest.mark.parametrize("app, fund, message", [
    (F.Application("A", "Q", "Y56", "x", (-1.0,), 1.0), F.Fund((10.0,)), "negative"),
    (F.Application("A", "Q", "Y56", "x", (1.0, 2.0), 1.0), F.Fund((10.0,)), "yearly costs"),
    (F.Application("A", "Q", "NOWHERE", "x", (1.0,), 1.0), F.Fund((10.0,)), "unknown region"),
    (F.Application("A", "Q", "Y56", "x", (1.0,), 5.0, 6.0, 7.0), F.Fund((10.0,)), "does not hold"),
    (F.Application("A", "Q", "Y56", "x", (1.0,), 1.0), F.Fund((10.0, 5.0), total=12.0), "over the fund"),
    (F.Application("A", "Q", "Y56", "x", (1.0,), 1.0), F.Fund((10.0,), deprived_share=1.5), "deprived_share"),
])
def test_bad_input_is_refused_with_a_clear_message(app, fund, message) -> None:
    with pytest.raises(UptakeError, match=message):
        F.allocate(fund, [app], regions=REGIONS)
