"""Value across organisations (uptake.models.value): a hand-computed case, the vectorised model against the
plain-Python reference, the transfer's rule, bad parameters and bad gaps refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from uptake.errors import UptakeError
from uptake.models import value


def _unit(n: int, **fixed: float) -> dict[str, np.ndarray]:
    return {k: np.full(n, v, dtype=float) for k, v in fixed.items()}


def test_hand_computed_icb() -> None:
    # 100 extra items a month; DOAC £50 and warfarin £2 an item: 100 x 12 x 48 = £57,600 to primary care.
    # 0.01 strokes avoided per unit: 1 stroke; NHS £10,000 and social care £5,000 a stroke.
    unit = _unit(5, cost_primary_care=12 * (50 - 2), saving_nhs_trusts=0.01 * 10_000,
                 saving_social_care=0.01 * 5_000, strokes_avoided=0.01)
    [row] = value.icb_value([value.IcbGap("Q1", "ICB one", 100.0)], unit)
    assert row["cost_primary_care"] == pytest.approx(57_600)
    assert row["strokes_avoided"] == pytest.approx(1.0)
    assert row["saving_nhs_trusts"] == pytest.approx(10_000) and row["saving_social_care"] == pytest.approx(5_000)
    assert row["net"] == pytest.approx(15_000 - 57_600)
    assert row["transfer"] == 0 and row["p_both_gain"] == 0  # no transfer lets both sides gain
    assert row["savings_cover"] == pytest.approx(15_000 / 57_600)
    assert row["transfer_from_nhs_share"] == pytest.approx(2 / 3)


def test_gain_sharing_transfer_leaves_both_sides_better_off() -> None:
    # cost £1,000, savings £3,000 (trusts 2,000, social care 1,000): transfer (1,000 + 3,000) / 2 = £2,000
    unit = _unit(3, cost_primary_care=10.0, saving_nhs_trusts=20.0, saving_social_care=10.0, strokes_avoided=0.001)
    [row] = value.icb_value([value.IcbGap("Q2", "ICB two", 100.0)], unit)
    assert row["transfer"] == pytest.approx(2_000) and row["p_both_gain"] == 1.0
    gain_primary = row["transfer"] - row["cost_primary_care"]
    gain_savers = row["saving_nhs_trusts"] + row["saving_social_care"] - row["transfer"]
    assert gain_primary > 0 and gain_savers > 0 and gain_primary == pytest.approx(gain_savers)


def test_vectorised_matches_plain_python_reference_draw_by_draw() -> None:
    draws = value.unit_draws(200, 11)
    rng = np.random.default_rng(3)
    for units in rng.uniform(0, 5_000, 4):
        per_draw = {k: np.array([value.icb_value_one(units, {m: draws[m][i] for m in draws})[k]
                                 for i in range(200)]) for k in ("cost_primary_care", "net", "transfer")}
        [row] = value.icb_value([value.IcbGap("X", "X", float(units))], draws)
        for key, values in per_draw.items():
            assert row[key] == pytest.approx(values.mean(), rel=1e-9, abs=1e-6)
            assert row[f"{key}_low"] == pytest.approx(np.percentile(values, 2.5), rel=1e-9, abs=1e-6)


def test_draws_come_from_the_stated_inputs() -> None:
    p = value.parameters()
    d = value.unit_draws(4_000, 5)
    cost = d["cost_primary_care"]
    assert 12 * (p["doac_cost_per_item"].low - p["warfarin_cost_per_item"].high) <= cost.min()
    assert cost.max() <= 12 * (p["doac_cost_per_item"].high - p["warfarin_cost_per_item"].low)
    # each saving is strokes x that sector's cost a stroke: the ratio of the means is near the ratio of costs
    ratio = d["saving_nhs_trusts"].mean() / d["saving_social_care"].mean()
    assert ratio == pytest.approx(p.value("stroke_nhs_cost_first_year") / p.value("stroke_social_care_cost_first_year"),
                                  rel=0.05)
    # same seed, same draws
    assert np.array_equal(value.unit_draws(50, 9)["saving_nhs_trusts"], value.unit_draws(50, 9)["saving_nhs_trusts"])


def test_bad_gap_and_bad_draw_count_are_refused() -> None:
    d = value.unit_draws(10, 1)
    with pytest.raises(UptakeError, match="Q9.*extra_units"):
        value.icb_value([value.IcbGap("Q9", "bad", -5.0)], d)
    with pytest.raises(UptakeError, match="strokes_per_unit"):
        value.unit_draws(10, 1, strokes_per_unit=np.ones(3))


def test_parameter_file_errors_name_the_key(tmp_path: Path) -> None:
    raw = yaml.safe_load(value.PARAMS_PATH.read_text())
    raw["parameters"]["doac_cost_per_item"]["value"] = -3
    bad = tmp_path / "value.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(UptakeError, match="doac_cost_per_item"):
        value.parameters(bad)
    raw = yaml.safe_load(value.PARAMS_PATH.read_text())
    del raw["parameters"]["stroke_social_care_cost_first_year"]["source"]
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(UptakeError, match="stroke_social_care_cost_first_year"):
        value.parameters(bad)


def test_prescribing_costs_reproduce_the_nhsbsa_file() -> None:
    """params/value.yaml's cost per item: NHSBSA English Prescribing Data, Oct 2021 - Sep 2022 (the bundled
    file), actual cost / items, to the penny."""
    data = Path(value.__file__).parents[1] / "sources" / "data" / "doac_warfarin_items_sicbl_monthly_2017-10_2022-09.csv"
    d = pd.read_csv(data)
    d = d[d["date"] >= "2021-10-01"]
    is_doac = d["chemical"] != "Warfarin sodium"
    p = value.parameters()
    doac_cost = d.loc[is_doac, "actual_cost"].sum() / d.loc[is_doac, "items"].sum()
    warfarin = d.loc[~is_doac, "actual_cost"].sum() / d.loc[~is_doac, "items"].sum()
    assert p.value("doac_cost_per_item") == pytest.approx(doac_cost, abs=0.005)
    assert p.value("warfarin_cost_per_item") == pytest.approx(warfarin, abs=0.005)
