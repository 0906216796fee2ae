"""CUSUM alerts on a percentile series, as OpenPrescribing's measure alerts describe them.

Source (implemented from the published description, not from code):
Walker AJ, Bacon S, Croker R, Goldacre B. Detecting change in comparison to peers in NHS prescribing
data: a novel application of cumulative sum methodology. BMC Med Inform Decis Mak 2018;18.
doi:10.1186/s12911-018-0642-6, and the method summary in the ebmdatalab/CUSUM repository README:

1. the reference mean and standard deviation come from the first 12 months of the percentile series;
2. the cumulative deviation from the mean is summed separately for increases and decreases, from a
   zero baseline, counting only change beyond 0.5 SD (the allowance, after Montgomery 2009);
3. the threshold is 5 SD;
4. when the CUSUM exceeds the threshold an alert is raised and the reference mean is reset to the
   preceding 12 months; if the next month is still more than 0.5 SD beyond the new reference mean the
   CUSUM keeps growing and the alert is raised again; otherwise the CUSUM is reset to zero and the
   reference mean and SD are recalculated from the preceding 12 months.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from uptake.stats._validation import FloatArray, StatsInputError, as_1d_float

__all__ = ["CusumResult", "cusum_alerts"]

ALLOWANCE_SD = 0.5  # Montgomery's k: change smaller than half an SD is treated as noise


@dataclass(frozen=True)
class CusumResult:
    """Upper and lower CUSUMs, the reference each month was judged against, and the alerts.

    ``cusum_increase`` is >= 0 and ``cusum_decrease`` <= 0 (NaN during the reference window);
    ``threshold_*`` is sensitivity x the reference SD in force that month. ``alert`` is "increase",
    "decrease", "both" or "" per month.
    """

    values: FloatArray
    window: int
    sensitivity: float
    cusum_increase: FloatArray
    cusum_decrease: FloatArray
    reference_mean_increase: FloatArray
    reference_mean_decrease: FloatArray
    threshold_increase: FloatArray
    threshold_decrease: FloatArray
    alert_increase: NDArray[np.bool_]
    alert_decrease: NDArray[np.bool_]
    alert: NDArray[np.str_]
    warnings: tuple[str, ...] = field(default=())


def _reference(x: FloatArray) -> tuple[float, float]:
    ok = x[~np.isnan(x)]
    if ok.size < 2:
        return float("nan"), float("nan")
    return float(ok.mean()), float(ok.std(ddof=1))


def _one_side(
    x: FloatArray, sign: int, window: int, sensitivity: float
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
    n = x.size
    cusum = np.full(n, np.nan)
    ref_mean = np.full(n, np.nan)
    threshold = np.full(n, np.nan)
    alert = np.zeros(n, dtype=bool)
    mean, sd = _reference(x[:window])
    total, alerting = 0.0, False
    for t in range(window, n):
        if np.isnan(mean) or np.isnan(sd):
            mean, sd = _reference(x[t - window : t])
            if np.isnan(mean) or np.isnan(sd):
                continue
        ref_mean[t], threshold[t] = mean, sensitivity * sd
        if np.isnan(x[t]):  # a missing month changes nothing
            cusum[t] = sign * total
            continue
        excess = sign * (x[t] - mean) - ALLOWANCE_SD * sd
        recent = x[t - window + 1 : t + 1]  # "the preceding 12 months", up to and including this one
        if alerting:
            if excess > 0:  # the change persists: keep accumulating and alert again
                total += excess
                alert[t] = True
                mean = _reference(recent)[0]
            else:  # the change has stopped: start again from the recent level
                total, alerting = 0.0, False
                mean, sd = _reference(recent)
        else:
            total = max(0.0, total + excess)
            if total > sensitivity * sd:
                alert[t] = True
                alerting = True
                mean = _reference(recent)[0]
        cusum[t] = sign * total
    return cusum, ref_mean, threshold, alert


def cusum_alerts(series: ArrayLike, window: int = 12, sensitivity: float = 5) -> CusumResult:
    """Detect sustained increases and decreases in an organisation's percentile series.

    For each month t after the first ``window`` (m = reference mean, s = reference SD with ddof=1,
    k = 0.5)::

        S+_t = max(0, S+_(t-1) + (x_t - m) - k s)     alert "increase" when S+_t > sensitivity * s
        S-_t = min(0, S-_(t-1) + (x_t - m) + k s)     alert "decrease" when S-_t < -sensitivity * s

    then the re-trigger and reset behaviour of the module docstring (step 4), each direction with its
    own reference. This recursion is sequential by nature, so it is a loop (series are a few hundred
    months at most).

    Parameters
    ----------
    series : percentile (0-100) of the organisation's measure value per month, oldest first.
    window : months in each reference period (12 in OpenPrescribing).
    sensitivity : threshold in reference SDs (5 in OpenPrescribing).

    Edge cases
    ----------
    * Months with NaN are skipped (the CUSUM carries over; no alert); references use the non-missing
      months and need at least two.
    * A series no longer than ``window`` has no months to monitor: all CUSUMs NaN, no alerts, a warning.
    * A flat reference period (SD 0) makes both the allowance and the threshold zero, so any later
      movement alerts; this follows the published description, and a warning flags it.
    """
    x = as_1d_float(series, "series")
    if int(window) != window or window < 2:
        raise StatsInputError(f"window must be a whole number of months >= 2 (got {window!r})")
    window = int(window)
    if not sensitivity > 0:
        raise StatsInputError(f"sensitivity must be > 0 standard deviations (got {sensitivity!r})")
    if np.any(np.isinf(x)):
        raise StatsInputError("series must be finite numbers (NaN marks a missing month)")
    warnings: list[str] = []
    if x.size <= window:
        warnings.append(f"only {x.size} months: CUSUM needs more than the {window}-month reference period")
    elif _reference(x[:window])[1] == 0:
        warnings.append("the first reference period is flat (SD 0), so any later change raises an alert")

    up, up_mean, up_thr, up_alert = _one_side(x, +1, window, float(sensitivity))
    down, down_mean, down_thr, down_alert = _one_side(x, -1, window, float(sensitivity))
    alert = np.full(x.shape, "", dtype=object)
    alert[up_alert] = "increase"
    alert[down_alert] = "decrease"
    alert[up_alert & down_alert] = "both"
    return CusumResult(
        values=x,
        window=window,
        sensitivity=float(sensitivity),
        cusum_increase=up,
        cusum_decrease=down,
        reference_mean_increase=up_mean,
        reference_mean_decrease=down_mean,
        threshold_increase=up_thr,
        threshold_decrease=-down_thr,
        alert_increase=up_alert,
        alert_decrease=down_alert,
        alert=alert.astype(str),
        warnings=tuple(warnings),
    )
