"""Rogers' adopter categories from adoption times.

Source: Rogers EM. Diffusion of Innovations (5th edn, 2003), ch. 7: adopters are partitioned by the
mean (m) and standard deviation (s) of the time of adoption: innovators before m - 2s (2.5%), early
adopters m - 2s to m - s (13.5%), early majority m - s to m (34%), late majority m to m + s (34%),
laggards after m + s (16%). Real adoption times are skewed, so a quantile mode cuts at the 2.5th, 16th,
50th and 84th percentiles instead (the proportions Rogers' normal curve implies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import StatsInputError, as_1d_float

__all__ = ["AdopterCategories", "adopter_categories", "ADOPTER_CATEGORIES"]

ADOPTER_CATEGORIES: tuple[str, ...] = (
    "innovators",
    "early adopters",
    "early majority",
    "late majority",
    "laggards",
)
NOT_YET = "not yet"
UNCLASSIFIED = "unclassified"
QUANTILE_CUTS = (2.5, 16.0, 50.0, 84.0)


@dataclass(frozen=True)
class AdopterCategories:
    """Category per organisation and the four cut points used (in the units of the adoption times)."""

    category: NDArray[np.str_]
    cuts: tuple[float, float, float, float]
    mode: str


def adopter_categories(
    adoption_times: ArrayLike, mode: Literal["normal", "quantile"] = "normal"
) -> AdopterCategories:
    """Rogers' adopter category for each organisation.

    Cut points c1 < c2 < c3 < c4:

    * ``mode="normal"``: m - 2s, m - s, m, m + s, with m and s the mean and population SD (ddof=0) of
      the adopters' times (the adopters are the whole population being described);
    * ``mode="quantile"``: the 2.5th, 16th, 50th and 84th percentiles of the adopters' times (numpy
      linear interpolation).

    A time t is "innovators" if t < c1, "early adopters" if c1 <= t < c2, "early majority" if
    c2 <= t < c3, "late majority" if c3 <= t < c4 and "laggards" if t >= c4.

    Parameters
    ----------
    adoption_times : one time per organisation (e.g. months since launch, or a date as a number);
        NaN for organisations that have not adopted.

    Edge cases
    ----------
    * NaN -> "not yet".
    * Fewer than two adopters, or all adopters at the same time: the spread needed to tell categories
      apart does not exist, so adopters are "unclassified" and the cuts are NaN.
    * Infinite times raise :class:`StatsInputError`.
    """
    t = as_1d_float(adoption_times, "adoption_times")
    if np.any(np.isinf(t)):
        raise StatsInputError(
            "adoption_times must be finite numbers, or NaN for organisations not yet adopting"
        )
    if mode not in ("normal", "quantile"):
        raise StatsInputError(f"mode must be 'normal' or 'quantile' (got {mode!r})")
    adopted = ~np.isnan(t)
    times = t[adopted]
    category = np.full(t.shape, NOT_YET, dtype=object)
    nan = float("nan")
    if times.size < 2 or np.all(times == times[0]):
        category[adopted] = UNCLASSIFIED
        return AdopterCategories(category=category.astype(str), cuts=(nan, nan, nan, nan), mode=mode)
    if mode == "normal":
        m, s = float(times.mean()), float(times.std())
        cuts = (m - 2 * s, m - s, m, m + s)
    else:
        c1, c2, c3, c4 = (float(c) for c in np.percentile(times, QUANTILE_CUTS))
        cuts = (c1, c2, c3, c4)
    # searchsorted with side="right" puts t == c into the later category, as the rule above says.
    which = np.searchsorted(np.asarray(cuts), times, side="right")
    category[adopted] = np.asarray(ADOPTER_CATEGORIES, dtype=object)[which]
    return AdopterCategories(category=category.astype(str), cuts=cuts, mode=mode)
