"""Time to innovate: the report's 2.0 bn pound figure from its inputs, an organisation's cost, bad input refused at
the field with nothing saved, planned against used, and the association (Spearman) against a slow reference."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from ecosystem_support import ADMIN, LEAD_U01, small_world
from uptake.ecosystem import time as tti
from uptake.ecosystem.frontline_rules import FieldProblems, NotAllowed
from uptake.store import AuditEvent, session_scope
from uptake.store.ecosystem_award_models import InnovationTime
from uptake.workspace import Workspace


def test_ippr_one_in_five_staff_a_day_a_week_costs_about_2bn_a_year() -> None:
    """IPPR (2020) The innovation lottery, section 5.1 "Time to deliver": "providing one in five staff a day a
    week ... would cost approximately £2.0 billion/year - based on National Audit Office estimates of clinical
    salary spend (NAO 2016)". NAO 2016: clinical staff cost around £43bn a year (Committee of Public Accounts,
    HC 731). One fifth of staff, one fifth of a 37.5-hour week: 0.04 of the pay bill."""
    figure = tti.ippr_national_cost()
    assert figure == pytest.approx(43e9 * 0.2 * 0.2)
    assert round(figure / 1e9) == round(tti.IPPR_FIGURE / 1e9) == 2  # "about £2bn" to one significant figure
    assert abs(figure - tti.IPPR_FIGURE) / tti.IPPR_FIGURE < 0.15
    # The report's "2.0" itself follows from a pay bill of £50bn, the NAO figure plus 16%.
    assert tti.ippr_national_cost(50e9) == pytest.approx(2.0e9)
    # The same by staff: 824,000 FTE at the NAO's mean cost per FTE, one in five for 7.5 of 37.5 hours.
    per_fte = tti.NAO_CLINICAL_PAY_BILL / tti.NAO_CLINICAL_FTE
    assert tti.cost(tti.NAO_CLINICAL_FTE, 0.2, 7.5, per_fte) == pytest.approx(figure)


def test_an_organisation_cost_is_staff_share_hours_and_pay() -> None:
    # 5,000 FTE, 10% of them, 3.75 hours (a tenth of a week) at £41,150: 5000 * 0.1 * 0.1 * 41150
    assert tti.cost(5000, 0.10, 3.75, 41150) == pytest.approx(2_057_500)
    assert tti.default_pay() == (37338 + 44962) / 2  # Agenda for Change 2024/25, Band 6 midpoint


def _slow_spearman(x, y) -> float:
    """Spearman's rho by its definition on ranks, with average ranks for ties, in plain Python."""
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(v):
            j = i
            while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return r
    rx, ry = ranks(list(x)), ranks(list(y))
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


def test_the_association_is_spearman_and_is_stated_as_an_association() -> None:
    rng = np.random.default_rng(7)
    for n in (5, 9, 30):
        x = rng.integers(0, 6, n).astype(float)  # ties on purpose
        y = x + rng.normal(0, 2, n)
        assert tti.spearman(x, y) == pytest.approx(_slow_spearman(x, y))
    found = tti.association(pd.Series([1.0, 2, 3, 4, 5, 6]), pd.Series([0.1, 0.3, 0.2, 0.5, 0.6, 0.7]), "uptake")
    assert found.rho == pytest.approx(_slow_spearman([1, 2, 3, 4, 5, 6], [0.1, 0.3, 0.2, 0.5, 0.6, 0.7]))
    assert found.ci95_low < found.rho < found.ci95_high
    assert "association, not an effect" in found.statement
    assert tti.association(pd.Series([1.0, 2]), pd.Series([1.0, 2]), "uptake").rho is None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = Workspace(root=tmp_path_factory.mktemp("time") / "ws").ensure()
    engine, store = small_world(ws)
    yield engine
    engine.dispose()


GOOD = {"org_code": "U01", "year_start": "2025-04-01", "staff_fte": "1200", "staff_source": "NHS Workforce "
        "Statistics, June 2025", "planned_share": "20", "planned_hours": "7.5", "used_share": "", "used_hours": ""}


def test_bad_time_records_are_refused_at_the_field_and_nothing_saved(world) -> None:
    with session_scope(world) as session:
        with pytest.raises(FieldProblems) as caught:
            tti.record_time(session, LEAD_U01, {**GOOD, "org_code": "NOPE", "planned_share": "120",
                                                "planned_hours": "forty", "year_start": "2025-05-01",
                                                "used_share": "10"})
        assert [f for f, _ in caught.value.problems] == ["org_code", "year_start", "planned_share", "planned_hours",
                                                         "used_hours"]
        with pytest.raises(NotAllowed):
            tti.record_time(session, LEAD_U01, {**GOOD, "org_code": "U02"})
        assert session.scalar(select(func.count()).select_from(InnovationTime)) == 0


def test_planned_then_used_is_one_record_updated_and_audited(world) -> None:
    with session_scope(world) as session:
        tti.record_time(session, LEAD_U01, GOOD)
    with session_scope(world) as session:
        tti.record_time(session, LEAD_U01, {**GOOD, "used_share": "15", "used_hours": "6"})
    with session_scope(world) as session:
        frame = tti.time_frame(session, "U01")
        assert len(frame) == 1
        row = frame.iloc[0]
        assert row.planned_cost_pounds == pytest.approx(1200 * 0.2 * 0.2 * 41150)
        assert row.used_cost_pounds == pytest.approx(1200 * 0.15 * (6 / 37.5) * 41150)
        assert row.used_of_planned == pytest.approx((0.15 * 6) / (0.2 * 7.5))
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "innovation-time")).all()
        assert actions == ["time.record", "time.update"]
