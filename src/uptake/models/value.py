"""Value across organisations (M20): where an innovation's costs fall on one organisation and its savings on
another, per ICB, and the transfer a pooled budget or risk share would need for each side to gain.

DOACs instead of warfarin: the DOAC is paid by primary care (the ICB's prescribing budget); the strokes it
avoids would have been treated by NHS trusts (acute care, rehabilitation) and supported by adult social care.
Per ONE unit of the indicator's gap (one more DOAC item a month in place of warfarin, for a year):

- cost to primary care = 12 x (DOAC cost per item - warfarin cost per item) (params/value.yaml: NHSBSA
  English Prescribing Data, actual cost per item);
- strokes avoided = the DOAC outcome model's draws per unit (uptake.models.outcomes.doac: Ruff et al. 2014,
  patients per item included);
- saving to NHS trusts = strokes avoided x first-year NHS cost of a stroke; saving to social care = strokes
  avoided x first-year social care cost (Xu et al. 2018, SSNAP / King's College London).

An ICB's totals are its gap (extra units, summed over its organisations) times the draws; the 95% intervals
are the 2.5th and 97.5th percentiles of the draws. The net is savings minus cost. A pooled budget makes both
sides gain only where the net is positive: primary care needs at least its cost, the savers can give at most
their savings; the gain-sharing transfer (cost + net / 2 = (cost + savings) / 2, paid by trusts and social
care in proportion to their savings) splits the net gain equally. Where the net is negative no transfer lets
both sides gain: the shortfall is what a risk share would leave someone to carry.

Pure: arrays in, arrays and dicts out. ``icb_value_one`` is the same arithmetic for one ICB and one draw in
plain Python (the obviously-correct reference the tests compare ``icb_value`` with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from uptake.errors import UptakeError
from uptake.models.outcomes import doac
from uptake.models.outcomes.base import per_unit_draws, summarise
from uptake.models.parameters import ParameterSet, load_parameters

__all__ = ["PARAMS_PATH", "INDICATOR", "SECTORS", "DRAWS", "SEED", "parameters", "unit_draws", "icb_value",
           "icb_value_one", "IcbGap", "MEASURES"]

PARAMS_PATH = Path(__file__).with_name("params") / "value.yaml"
INDICATOR = "doac-share"
_REQUIRED = ("doac_cost_per_item", "warfarin_cost_per_item", "stroke_nhs_cost_first_year",
             "stroke_social_care_cost_first_year")
#: who pays and who saves, and what each figure counts
SECTORS = {
    "cost_primary_care": "cost to primary care (ICB prescribing budget): extra DOAC items for a year, pounds",
    "saving_nhs_trusts": "saving to NHS trusts: first-year NHS cost of the strokes avoided, pounds",
    "saving_social_care": "saving to adult social care: first-year social care cost of the strokes avoided, pounds",
}
#: every measure per ICB (key -> what it counts)
MEASURES = {
    **SECTORS,
    "strokes_avoided": "strokes or systemic embolisms avoided in a year",
    "net": "net: savings to trusts and social care minus the cost to primary care, pounds a year",
    "transfer": ("gain-sharing transfer to primary care, pounds a year: (cost + savings) / 2, so each side gains "
                 "half the net (only where the net is positive)"),
}
DRAWS = 10_000
SEED = 20181001


def parameters(path: Path | str = PARAMS_PATH) -> ParameterSet:
    return load_parameters(path, model="value", required=_REQUIRED)


@lru_cache(maxsize=4)
def _cached(path: str) -> ParameterSet:
    return parameters(path)


def unit_draws(n_draws: int = DRAWS, seed: int = SEED, params: ParameterSet | None = None,
               strokes_per_unit: NDArray[np.float64] | None = None) -> dict[str, NDArray[np.float64]]:
    """Draws of each sector's cost or saving per ONE unit of the DOAC gap (one item a month, for a year), and
    the strokes avoided per unit (from the DOAC outcome model unless given)."""
    if n_draws < 1:
        raise UptakeError(f"value model: n_draws must be at least 1 (got {n_draws})")
    p = params if params is not None else _cached(str(PARAMS_PATH))
    if strokes_per_unit is None:
        strokes_per_unit = per_unit_draws(doac.MODEL, n_draws, seed)["strokes_avoided"]
    strokes = np.asarray(strokes_per_unit, dtype=float)
    if strokes.shape != (n_draws,):
        raise UptakeError(f"value model: strokes_per_unit has {strokes.shape} draws, expected ({n_draws},)")
    rng = np.random.default_rng(seed + 7)
    doac_item = p["doac_cost_per_item"].draw(n_draws, rng)
    warfarin_item = p["warfarin_cost_per_item"].draw(n_draws, rng)
    nhs = p["stroke_nhs_cost_first_year"].draw(n_draws, rng)
    social = p["stroke_social_care_cost_first_year"].draw(n_draws, rng)
    return {
        "cost_primary_care": 12.0 * (doac_item - warfarin_item),
        "saving_nhs_trusts": strokes * nhs,
        "saving_social_care": strokes * social,
        "strokes_avoided": strokes,
    }


@dataclass(frozen=True)
class IcbGap:
    """An ICB's gap: extra units of the indicator (summed over its organisations) and whether synthetic data
    reach it."""

    icb_code: str
    icb_name: str
    extra_units: float
    organisations: int = 0
    synthetic: bool = False


def _measures(units: float, d: Mapping[str, NDArray[np.float64]]) -> dict[str, NDArray[np.float64]]:
    cost = units * d["cost_primary_care"]
    nhs, social = units * d["saving_nhs_trusts"], units * d["saving_social_care"]
    net = nhs + social - cost
    return {"cost_primary_care": cost, "saving_nhs_trusts": nhs, "saving_social_care": social,
            "strokes_avoided": units * d["strokes_avoided"], "net": net,
            "transfer": np.where(net > 0, (cost + nhs + social) / 2.0, 0.0)}


def icb_value(gaps: Sequence[IcbGap], draws: Mapping[str, NDArray[np.float64]]) -> list[dict]:
    """One row per ICB: each measure's mean and 95% interval, the probability the net is positive (both sides
    can gain), and the share of the transfer each saver pays (in proportion to its mean saving)."""
    out = []
    for g in gaps:
        if not np.isfinite(g.extra_units) or g.extra_units < 0:
            raise UptakeError(f"value model: ICB {g.icb_code}: extra_units must be a number >= 0 "
                              f"(got {g.extra_units!r}); a gap is what closing it would add")
        m = _measures(g.extra_units, draws)
        row: dict = dict(icb_code=g.icb_code, icb_name=g.icb_name, extra_units=g.extra_units,
                         organisations=g.organisations, synthetic=g.synthetic)
        for key, values in m.items():
            s = summarise(values)
            row[key], row[f"{key}_low"], row[f"{key}_high"] = s.mean, s.low, s.high
        row["p_both_gain"] = float(np.mean(m["net"] > 0)) if g.extra_units > 0 else 0.0
        savings = row["saving_nhs_trusts"] + row["saving_social_care"]
        row["transfer_from_nhs_share"] = row["saving_nhs_trusts"] / savings if savings > 0 else None
        row["savings_cover"] = savings / row["cost_primary_care"] if row["cost_primary_care"] > 0 else None
        out.append(row)
    return out


def icb_value_one(units: float, unit: Mapping[str, float]) -> dict[str, float]:
    """The same arithmetic for ONE ICB and ONE draw, in plain floats (the reference for ``icb_value``)."""
    cost = float(units) * float(unit["cost_primary_care"])
    nhs = float(units) * float(unit["saving_nhs_trusts"])
    social = float(units) * float(unit["saving_social_care"])
    net = nhs + social - cost
    return {"cost_primary_care": cost, "saving_nhs_trusts": nhs, "saving_social_care": social,
            "strokes_avoided": float(units) * float(unit["strokes_avoided"]), "net": net,
            "transfer": (cost + nhs + social) / 2.0 if net > 0 else 0.0}
