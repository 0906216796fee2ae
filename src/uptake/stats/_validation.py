"""Shared input checks and constants for ``uptake.stats`` (internal).

Every public function in ``uptake.stats`` converts its inputs with these helpers so that errors read
the same everywhere: what was wrong, where (which argument, which positions), and what to do.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

from uptake.errors import UptakeError

Polarity = Literal["high-is-good", "low-is-good", "no-judgement"]
POLARITIES: tuple[str, ...] = ("high-is-good", "low-is-good", "no-judgement")

FloatArray = NDArray[np.float64]


class StatsInputError(UptakeError, ValueError):
    """Bad input to a statistical function: the message names the argument, the positions and the fix."""


def as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """Convert to a float64 array (0-d for scalars); non-numeric input raises a named error."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(
            f"{name} must be numeric (got {values!r:.80}); convert it to numbers first"
        ) from exc


def as_1d_float(values: ArrayLike, name: str) -> FloatArray:
    """Convert to a one-dimensional float64 array (a scalar becomes length 1)."""
    arr = as_float_array(values, name)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise StatsInputError(
            f"{name} must be one-dimensional (got shape {arr.shape}); pass one series at a time"
        )
    return arr


def positions(mask: NDArray[np.bool_], limit: int = 5) -> str:
    """Describe the first few positions where ``mask`` is true, for error messages."""
    idx = np.flatnonzero(np.ravel(mask))
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"position(s) {shown}{more}"


def check_confidence(confidence: float) -> float:
    """A two-sided confidence level as a fraction strictly between 0 and 1 (0.95, 0.998)."""
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise StatsInputError(
            f"confidence must be a fraction between 0 and 1, e.g. 0.95 or 0.998 (got {confidence!r})"
        )
    return c


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile z = Phi^-1(1 - alpha/2): 1.959964 for 0.95, 3.090232 for 0.998.

    Computed exactly with ``scipy.special.ndtri`` rather than the rounded 1.96, as PHE's technical guide
    specifies "the 100(1 - alpha/2)th percentile value from the standard normal distribution".
    """
    c = check_confidence(confidence)
    return float(ndtri(1.0 - (1.0 - c) / 2.0))


def check_polarity(polarity: str) -> str:
    if polarity not in POLARITIES:
        raise StatsInputError(f"polarity must be one of {', '.join(POLARITIES)} (got {polarity!r})")
    return polarity
