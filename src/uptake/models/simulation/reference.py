"""The same model as ``engine.simulate``, written as a plain loop over runs, months and organisations (one
organisation's neighbours at a time, scalar arithmetic): slow and obviously correct. The tests check the
vectorised engine against it (it draws the same random numbers in the same order, so the runs agree), and
benchmarks/simulator.py times it as a baseline."""

from __future__ import annotations

import math

import numpy as np

from uptake.models.simulation.engine import Calibration, CompiledLever, Network
from uptake.models.simulation.levers import LeverParameters

__all__ = ["simulate_reference"]


def _binomial(n: float, prob: float, u: float) -> float:
    prob = min(max(prob, 0.0), 1.0 - 1e-12)
    pmf = math.exp(n * math.log1p(-prob))
    cdf, k = pmf, 0
    while u > cdf and k < n:
        pmf = pmf * (n - k) / (k + 1) * (prob / (1.0 - prob))
        cdf += pmf
        k += 1
    return float(k) if n > 0 else 0.0


def _fraction(t: float, p: float, q: float) -> float:
    e = math.exp(-(p + q) * max(t, 0.0))
    return (1.0 - e) / (1.0 + (q / p) * e)


def simulate_reference(network: Network, calibration: Calibration, levers: list[CompiledLever],
                       params: LeverParameters, months: int, runs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """National value (volume-weighted m F) of the base and the scenario, runs x (months + 1), in one chunk."""
    s = network.size
    w = params.network
    share = w["network_share_of_imitation"]
    units = int(w["units_per_organisation"])
    peers: list[list[int]] = [[] for _ in range(s)]
    for i, j in network.peer_pairs:
        if i != j and j not in peers[i]:
            peers[i].append(int(j))
    partners: list[list[int]] = [[] for _ in range(s)]
    for a, b in network.partner_pairs:
        for i, j in ((a, b), (b, a)):
            if i != j and j not in partners[i]:
                partners[i].append(int(j))
    icb = [[j for j in range(s) if j != i and network.icb[i] >= 0 and network.icb[j] == network.icb[i]] for i in range(s)]
    clin = [[j for j in range(s) if j != i and network.clinical[i] >= 0 and network.clinical[j] == network.clinical[i]]
            for i in range(s)]
    kinds = [(peers, w["peer_weight"]), (icb, w["icb_weight"]), (clin, w["network_weight"]),
             (partners, w["partnership_weight"])]

    def influence(f: list[float], i: int) -> float:
        present = [(ties, weight) for ties, weight in kinds if ties[i]]
        total = sum(weight for _, weight in present)
        if total <= 0:
            return 0.0
        return sum(weight / total * sum(f[j] for j in ties[i]) / len(ties[i]) for ties, weight in present)

    c = calibration
    z = np.random.default_rng(seed).standard_normal((2, runs))
    uniforms = np.random.default_rng([seed, 0])
    total_volume = float(sum(c.volume)) or 1.0
    out_base = np.empty((runs, months + 1))
    out_scen = np.empty((runs, months + 1))
    draws = [uniforms.random((s, runs)) for _ in range(months)]   # the engine's order: one (orgs, runs) block a month
    for r in range(runs):
        p = [c.p[i] * math.exp(c.sigma_p[i] * z[0, r]) for i in range(s)]
        q = [c.q[i] * math.exp(c.sigma_q[i] * z[1, r]) for i in range(s)]
        f_hat = [_fraction(c.t0, p[i], q[i]) for i in range(s)]
        a_base = [float(np.rint(f_hat[i] * units)) for i in range(s)]
        a_scen = list(a_base)
        value = sum(c.volume[i] * c.m[i] * a_base[i] / units for i in range(s)) / total_volume
        out_base[r, 0] = out_scen[r, 0] = value
        for k in range(months):
            f_base = [a / units for a in a_base]
            f_scen = [a / units for a in a_scen]
            f_next = [_fraction(c.t0 + k + 1, p[i], q[i]) for i in range(s)]
            national = sum(f_scen) / s
            for i in range(s):
                h_star = math.log(max(1.0 - f_hat[i], 1e-12) / max(1.0 - f_next[i], 1e-12))
                n_hat = influence(f_hat, i)
                hb = max(h_star + (1 - share) * q[i] * (f_base[i] - f_hat[i])
                         + share * q[i] * (influence(f_base, i) - n_hat), 0.0)
                hs = max(h_star + (1 - share) * q[i] * (f_scen[i] - f_hat[i])
                         + share * q[i] * (influence(f_scen, i) - n_hat), 0.0)
                add, mult = 0.0, 1.0
                for lever in levers:
                    if not (lever.first <= k < lever.stop) or not lever.mask[i]:
                        continue
                    add += lever.ext * p[i]
                    if lever.imit:
                        if lever.source == "national":
                            level = national
                        elif lever.source == "anchor" and lever.anchor >= 0:
                            level = f_scen[lever.anchor]
                        else:
                            members = [j for j in range(s) if lever.mask[j] and j != i]
                            level = sum(f_scen[j] for j in members) / max(len(members), 1)
                        add += lever.imit * q[i] * level
                    mult *= lever.mult
                hs = (hs + add) * mult
                u = draws[k][i, r]
                a_base[i] += _binomial(units - a_base[i], -math.expm1(-hb), u)
                a_scen[i] += _binomial(units - a_scen[i], -math.expm1(-hs), u)
            f_hat = f_next
            out_base[r, k + 1] = sum(c.volume[i] * c.m[i] * a_base[i] / units for i in range(s)) / total_volume
            out_scen[r, k + 1] = sum(c.volume[i] * c.m[i] * a_scen[i] / units for i in range(s)) / total_volume
    return out_base, out_scen
