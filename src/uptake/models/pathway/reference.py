"""The pathway model walked patient by patient in plain Python, on the SAME draws as the vectorised
``simulate_drawn``: the slow, obviously-correct reference the tests compare against, and the baseline of
benchmarks/pathway_model.py. One loop over trials, units and candidates; scalar ``math`` only."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from uptake.models.pathway.model import (
    ALLOWED_ONSET_TO_NEEDLE,
    ALLOWED_OVERRUN,
    MIN_MINUTES_LEFT,
    OutcomeLine,
    PathwayDraws,
    UnitParameters,
)


def simulate_loop(
    units: UnitParameters, draws: PathwayDraws, line: OutcomeLine
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    trials, n_units = draws.candidates.shape
    thrombolysed = [[0.0] * n_units for _ in range(trials)]
    good = [[0.0] * n_units for _ in range(trials)]
    ages = draws.age_uniform.tolist()
    z0, z1, z2 = (row.tolist() for row in draws.normals)
    mu = units.mu.tolist()
    sigma = units.sigma.tolist()
    old_share = units.share_80_plus.tolist()
    counts = draws.candidates.tolist()
    intercepts = line.intercept.tolist()
    slopes = line.slope.tolist()
    k = 0
    for t in range(trials):
        for u in range(n_units):
            for _ in range(counts[t][u]):
                onset_to_arrival = math.exp(mu[0][u] + sigma[0][u] * z0[k])
                arrival_to_scan = math.exp(mu[1][u] + sigma[1][u] * z1[k])
                scan_to_needle = math.exp(mu[2][u] + sigma[2][u] * z2[k])
                if ALLOWED_ONSET_TO_NEEDLE - (onset_to_arrival + arrival_to_scan) >= MIN_MINUTES_LEFT:
                    thrombolysed[t][u] += 1.0
                    minutes = min(
                        onset_to_arrival + arrival_to_scan + scan_to_needle, ALLOWED_ONSET_TO_NEEDLE + ALLOWED_OVERRUN
                    )
                    p0 = line.untreated_80_plus if ages[k] < old_share[u] else line.untreated_under_80
                    odds = p0 / (1.0 - p0) * 10.0 ** (intercepts[t] + slopes[t] * minutes)
                    good[t][u] += max(0.0, odds / (1.0 + odds) - p0)
                k += 1
    return np.array(thrombolysed), np.array(good)
