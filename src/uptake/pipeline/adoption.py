"""Adoption: when each organisation first crossed the indicator's adoption threshold, and its Rogers
adopter category among the organisations of its level.

An organisation adopts in the first period its value reaches the threshold (value >= threshold; value
<= threshold when low is good). An organisation already past the threshold in its first period with data
is counted as adopting then (its true adoption may be earlier: the data are left-censored). Adoption
time is months from the indicator's first period (catalogue ``first_period``). Categories come from
``uptake.stats.adopter_categories`` in both modes (normal: mean and SD; quantile: 2.5/16/50/84th
percentiles); organisations that have not crossed are "not yet". Indicators without an adoption
threshold have no adoption rows; England is not categorised.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from uptake import stats
from uptake.catalogue.schemas import Polarity
from uptake.pipeline import grouped
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.results.schema import ADOPTION, to_arrow


def compute(frame: IndicatorFrame, usable: np.ndarray, orgs: Organisations) -> pa.Table:
    threshold = frame.indicator.adoption_threshold
    if threshold is None:
        return ADOPTION.schema.empty_table()
    value = np.where(usable, frame.value, np.nan)
    with np.errstate(invalid="ignore"):
        if frame.indicator.polarity == Polarity.LOW_IS_GOOD:
            crossed = value <= threshold
        else:
            crossed = value >= threshold
    starts, lengths = frame.series_bounds
    # rows are in (level, org, period) order: the first crossing is the smallest period index crossed
    big = np.iinfo(np.int64).max
    marked = np.where(crossed, frame.pidx, big)
    first = np.minimum.reduceat(marked, starts) if starts.size else np.zeros(0, dtype=np.int64)
    series_level = frame.level[starts]
    series_org = frame.org[starts]
    # an organisation that never provides the service (the eligibility rule) is not an adopter or a laggard
    ever_eligible = np.logical_or.reduceat(frame.eligible, starts) if starts.size else np.zeros(0, dtype=bool)
    keep = (series_level != frame.england_level) & ever_eligible
    first, series_level, series_org = first[keep], series_level[keep], series_org[keep]
    adopted = first != big
    months = np.where(adopted, frame.months_since_launch[np.where(adopted, first, 0)], np.nan)

    normal = np.full(first.size, "not yet", dtype=object)
    quantile = np.full(first.size, "not yet", dtype=object)
    level_starts, level_lengths = grouped.boundaries(series_level)
    for s, n in zip(level_starts, level_lengths, strict=True):  # one call per level
        part = slice(s, s + n)
        normal[part] = stats.adopter_categories(months[part], mode="normal").category
        quantile[part] = stats.adopter_categories(months[part], mode="quantile").category
    first_dates = frame.dates(np.where(adopted, first, 0))
    return to_arrow(
        ADOPTION,
        {
            "indicator": pa.array([frame.indicator.id] * first.size, type=pa.string()),
            "level": frame.level_name_array(series_level),
            "org_code": orgs.take_codes(series_org),
            "threshold": np.full(first.size, float(threshold)),
            "adopted": pa.array(adopted, type=pa.bool_()),
            "first_adopted": pc.if_else(pa.array(adopted), first_dates, pa.scalar(None, pa.date32())),
            "months_from_launch": months,
            "category_normal": pa.array(normal, type=pa.string()),
            "category_quantile": pa.array(quantile, type=pa.string()),
        },
    )
