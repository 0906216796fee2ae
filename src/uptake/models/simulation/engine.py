"""The simulator's engine: organisation-level diffusion on a network, calibrated to each organisation's fitted
Bass curve, with levers, as a vectorised Monte Carlo (arrays of organisations x runs, one step a month).

Calibration (docs/simulator.md). Organisation i's fitted curve is F^_i(t) = F(t; p_i, q_i) (uptake.stats.bass,
t in months since the indicator's origin), its value m_i F^_i(t). Over month t -> t + 1 the fitted curve has
the integrated hazard H*_i(t) = -ln((1 - F^_i(t + 1)) / (1 - F^_i(t))) (exactly the Bass hazard p_i + q_i F^_i
integrated over the month). The imitation part q_i F is split into a share s borne by the organisation's
network (YAML network_share_of_imitation) and 1 - s within the organisation: N_i(t) = sum over tie types k of w_ik x (mean adoption of i's ties of type k)
(similar-10 peers, the rest of its ICB, the rest of its ISDN / clinical network, its anchor partners; w_ik
the YAML weights renormalised over the types i has). The simulated hazard is

    H_i(t) = max(0, H*_i(t) + (1 - s) q_i (F_i(t) - F^_i(t)) + s q_i (N_i(t) - N^_i(t)))

with N^_i(t) the same network mean taken over the fitted curves. So the external part p_i and the network
part are those of the fitted curve when everyone is on it; with no lever the expected path is the fitted
trajectory (exactly, in the limit of many units), and a lever that moves some organisations moves their
ties through the deviation terms (spillover). Each organisation's potential adopts in ``units`` equal parts:
newly adopted parts in a month ~ Binomial(units not adopted, 1 - exp(-H)). Each run also draws the
national uncertainty of the fits: p and q scaled by exp(z sigma) with z ~ N(0, 1) per run (common to every
organisation: the band is national), sigma from each fit's 95% interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from uptake.errors import UptakeError
from uptake.models.simulation.levers import LeverParameters
from uptake.stats.bass import bass_fraction

__all__ = ["Network", "Calibration", "CompiledLever", "Influence", "RunResult", "simulate", "estimate_memory",
           "check_memory", "available_memory", "BYTES_PER_ORG_RUN", "monthly_hazard", "sigma_from_interval", "binomial_inverse"]

#: float64 arrays of organisations x runs alive at once per simulated arm (state, parameters, curves,
#: network means, hazards, lever terms, temporaries), times two arms (base and scenario)
BYTES_PER_ORG_RUN = 2 * 18 * 8


@dataclass(frozen=True)
class Network:
    """The organisations (codes, in order) and their ties: peer pairs (i, j: j is one of i's similar-10 peers),
    group ids per organisation for the ICB and the ISDN / clinical network (-1: none), anchor partnership
    pairs (anchor, partner; a tie both ways), and each group's code (to select organisations by group)."""

    codes: NDArray[np.str_]
    peer_pairs: NDArray[np.int64]
    icb: NDArray[np.int64]
    clinical: NDArray[np.int64]
    partner_pairs: NDArray[np.int64]
    icb_codes: tuple[str, ...] = ()
    clinical_codes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.codes)

    def index(self) -> dict[str, int]:
        return {str(c): i for i, c in enumerate(self.codes)}


@dataclass(frozen=True)
class Calibration:
    """Each organisation's fitted curve: m, p, q (per month), the log-scale sd of p and q from their 95%
    intervals (0: no uncertainty), the start time t0 (months since the origin), and its volume (the
    indicator's denominator in a month: what turns a share into units, e.g. anticoagulant items)."""

    m: NDArray[np.float64]
    p: NDArray[np.float64]
    q: NDArray[np.float64]
    sigma_p: NDArray[np.float64]
    sigma_q: NDArray[np.float64]
    t0: float
    volume: NDArray[np.float64]


@dataclass(frozen=True)
class CompiledLever:
    """One lever as arrays: which organisations (mask), which steps (first, stop), and its terms: ``ext`` adds
    ext x p_i, ``imit`` adds imit x q_i x A (A: ``source`` 'anchor' (the anchor's adoption), 'members' (the
    mean adoption of the other masked organisations) or 'national'), ``mult`` multiplies the hazard; costs:
    ``fixed`` pounds (spent whatever happens), ``per_point`` pounds per percentage point of potential
    adopted by a masked organisation while it runs, ``per_adoption`` pounds per whole potential adopted."""

    kind: str
    mask: NDArray[np.bool_]
    first: int
    stop: int
    ext: float = 0.0
    imit: float = 0.0
    source: str = ""
    anchor: int = -1
    mult: float = 1.0
    fixed: float = 0.0
    per_point: float = 0.0
    per_adoption: float = 0.0


def _row_normalised(pairs: NDArray[np.int64], n: int, symmetric: bool) -> tuple[sp.csr_matrix, NDArray[np.bool_]]:
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if symmetric and len(pairs):
        pairs = np.vstack([pairs, pairs[:, ::-1]])
    pairs = pairs[pairs[:, 0] != pairs[:, 1]] if len(pairs) else pairs
    matrix = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) \
        else sp.csr_matrix((n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    degree = np.asarray(matrix.sum(axis=1)).ravel()
    has = degree > 0
    scale = np.where(has, 1.0 / np.maximum(degree, 1.0), 0.0)
    return sp.csr_matrix(sp.diags(scale) @ matrix), has


class _Groups:
    """Mean adoption of the other members of each organisation's group (excluding itself)."""

    def __init__(self, ids: NDArray[np.int64]):
        ids = np.asarray(ids, dtype=np.int64)
        valid = ids >= 0
        self.n_groups = int(ids.max()) + 1 if valid.any() else 0
        counts = np.bincount(ids[valid], minlength=self.n_groups) if self.n_groups else np.zeros(0, dtype=np.int64)
        member_count = np.where(valid, np.append(counts, 0)[np.where(valid, ids, self.n_groups)], 0)
        self.has = member_count > 1
        #: 1 / (members - 1), 0 without a group of two or more: the weight of each other member
        self.factor = np.where(self.has, 1.0 / np.maximum(member_count - 1, 1), 0.0)
        self.take = np.where(valid, ids, self.n_groups)          # row n_groups: a zero row (no group)
        self.onehot_t = sp.csr_matrix((np.ones(int(valid.sum())), (ids[valid], np.flatnonzero(valid))),
                                      shape=(max(self.n_groups, 1), len(ids)))

    def others_sum(self, f: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sum of adoption over the other members of each organisation's group (0 without a group)."""
        totals = np.vstack([self.onehot_t @ f, np.zeros((1, f.shape[1]))])
        out = totals[self.take]
        out -= f
        return out


class Influence:
    """N(F): the network-weighted mean adoption of each organisation's ties (rows: organisations)."""

    def __init__(self, network: Network, params: LeverParameters):
        n = network.size
        self.peers, has_peer = _row_normalised(network.peer_pairs, n, symmetric=False)
        self.partners, has_partner = _row_normalised(network.partner_pairs, n, symmetric=True)
        self.icb = _Groups(network.icb)
        self.clinical = _Groups(network.clinical)
        w = params.network
        raw = np.column_stack([w["peer_weight"] * has_peer, w["icb_weight"] * self.icb.has,
                               w["network_weight"] * self.clinical.has, w["partnership_weight"] * has_partner])
        total = raw.sum(axis=1)
        self.has_ties = total > 0
        self.weights = raw / np.where(total > 0, total, 1.0)[:, None]
        self.any_peer, self.any_partner = bool(has_peer.any()), bool(has_partner.any())
        # the group terms' weight per other member
        self.icb_w = (self.weights[:, 1] * self.icb.factor)[:, None]
        self.clinical_w = (self.weights[:, 2] * self.clinical.factor)[:, None]

    def __call__(self, f: NDArray[np.float64]) -> NDArray[np.float64]:
        out = self.icb.others_sum(f)
        out *= self.icb_w
        other = self.clinical.others_sum(f)
        other *= self.clinical_w
        out += other
        if self.any_peer:
            out += self.weights[:, 0:1] * (self.peers @ f)
        if self.any_partner:
            out += self.weights[:, 3:4] * (self.partners @ f)
        return out


def _fraction(t: float, rate: NDArray[np.float64], ratio: NDArray[np.float64]) -> NDArray[np.float64]:
    """F(t) of the Bass curve with rate = p + q and ratio = q / p (uptake.stats.bass, without its checks:
    the parameters were checked once)."""
    e = np.exp(-rate * max(t, 0.0))
    return (1.0 - e) / (1.0 + ratio * e)


def binomial_inverse(n: NDArray[np.float64], prob: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Binomial(n, prob) draws by inverting the distribution function at the uniforms ``u``: the same ``u``
    for the base and the scenario couples the two arms (common random numbers: with no lever the arms are
    identical, and a higher hazard never draws fewer adoptions from the same n). Vectorised: one pass per
    value of k still in play."""
    n_flat = np.asarray(n, dtype=np.float64).ravel()
    p_flat = np.clip(np.asarray(prob, dtype=np.float64).ravel(), 0.0, 1.0 - 1e-12)
    u_flat = np.asarray(u, dtype=np.float64).ravel()
    out = np.zeros(n_flat.shape)
    pmf = np.exp(n_flat * np.log1p(-p_flat))
    cdf = pmf.copy()
    idx = np.flatnonzero((u_flat > cdf) & (n_flat > 0))
    pmf, cdf, nn, uu = pmf[idx], cdf[idx], n_flat[idx], u_flat[idx]
    odds = p_flat[idx] / (1.0 - p_flat[idx])
    k = 0
    while idx.size:
        pmf = pmf * (nn - k) / (k + 1) * odds
        cdf = cdf + pmf
        k += 1
        out[idx] = k
        keep = (uu > cdf) & (k < nn)
        idx, pmf, cdf, nn, uu, odds = idx[keep], pmf[keep], cdf[keep], nn[keep], uu[keep], odds[keep]
    return out.reshape(np.shape(n))


def monthly_hazard(h_star, f, f_hat, n, n_hat, q, share_network):
    """The calibrated no-lever hazard over one month (module docstring); every argument broadcasts."""
    return np.maximum(h_star + (1.0 - share_network) * q * (f - f_hat) + share_network * q * (n - n_hat), 0.0)


@dataclass
class RunResult:
    """Per run (rows) and month (columns, 0 = the start): the national value (volume-weighted m F) of the
    base and the scenario; per organisation the mean value at the end of the horizon; costs per run; the
    extra units (the volume x m x F difference, summed over months) per run."""

    base: NDArray[np.float64]
    scenario: NDArray[np.float64]
    org_base_end: NDArray[np.float64]
    org_scenario_end: NDArray[np.float64]
    cost: NDArray[np.float64]
    cost_by_lever: dict[str, NDArray[np.float64]]
    extra_unit_months: NDArray[np.float64]
    notes: list[str] = field(default_factory=list)


def available_memory() -> int:
    """Bytes the kernel says are available (MemAvailable), or 4 GiB when it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024 ** 3


def estimate_memory(organisations: int, runs: int, months: int, chunk: int) -> int:
    """Bytes the simulation needs at its peak: the per-chunk state of both arms plus the per-run outputs."""
    per_chunk = organisations * min(runs, chunk) * BYTES_PER_ORG_RUN
    outputs = runs * (months + 1) * 8 * 2 + organisations * 8 * 4 + runs * 8 * 8
    return per_chunk + outputs


def check_memory(organisations: int, runs: int, months: int, chunk: int, available: int | None = None) -> int:
    """The estimate, or an UptakeError before anything runs when it exceeds 80% of the available memory."""
    need = estimate_memory(organisations, runs, months, chunk)
    have = available_memory() if available is None else available
    if need > 0.8 * have:
        raise UptakeError(
            f"this simulation needs about {need / 1024 ** 2:,.0f} MiB ({organisations:,} organisations x "
            f"{min(runs, chunk):,} runs at once x {months} months) but only {have / 1024 ** 2:,.0f} MiB is "
            "available; nothing was run. Use fewer runs at once (--chunk), fewer runs (--runs), or a coarser "
            "level (e.g. sub-icb instead of practice)")
    return need


def simulate(network: Network, calibration: Calibration, levers: list[CompiledLever], params: LeverParameters,
             months: int, runs: int, seed: int, chunk: int = 250,
             progress: Callable[[float], None] | None = None, available: int | None = None) -> RunResult:
    """Run base and scenario side by side (the same random numbers) for ``runs`` runs of ``months`` months."""
    if runs < 1 or months < 1:
        raise UptakeError(f"runs ({runs}) and months ({months}) must be at least 1")
    chunk = max(1, int(chunk))
    s_count = network.size
    check_memory(s_count, runs, months, chunk, available)
    try:
        bass_fraction(calibration.t0, calibration.p, calibration.q)   # checks p > 0 and q >= 0
    except ValueError as exc:
        raise UptakeError(f"the fitted curves cannot be simulated: {exc}") from None
    influence = Influence(network, params)
    share = float(params.network["network_share_of_imitation"])
    units = int(params.network["units_per_organisation"])
    c = calibration
    weight = c.volume * c.m
    total_volume = float(c.volume.sum()) or 1.0
    master = np.random.default_rng(seed)
    z = master.standard_normal((2, runs))  # the national draws of p and q, one pair per run
    base_out = np.empty((runs, months + 1))
    scen_out = np.empty((runs, months + 1))
    org_base = np.zeros(s_count)
    org_scen = np.zeros(s_count)
    kinds = sorted({lever.kind for lever in levers})
    cost_by = {k: np.zeros(runs) for k in kinds}
    extra = np.zeros(runs)
    masks = [lever.mask.astype(np.float64)[:, None] for lever in levers]
    for start in range(0, runs, chunk):
        r = min(runs, start + chunk) - start
        rng = np.random.default_rng([seed, start])
        p = c.p[:, None] * np.exp(c.sigma_p[:, None] * z[0, start:start + r][None, :])
        q = c.q[:, None] * np.exp(c.sigma_q[:, None] * z[1, start:start + r][None, :])
        rate, ratio = p + q, q / p
        f_hat = _fraction(c.t0, rate, ratio)
        a_base = np.rint(f_hat * units)
        a_scen = a_base.copy()
        f_base = a_base / units
        f_scen = f_base.copy()
        n_hat = influence(f_hat)
        base_out[start:start + r, 0] = (weight @ f_base) / total_volume
        scen_out[start:start + r, 0] = base_out[start:start + r, 0]
        q_own, q_net = (1.0 - share) * q, share * q
        for k in range(months):
            f_next = _fraction(c.t0 + k + 1, rate, ratio)
            h_star = np.log(np.maximum(1.0 - f_hat, 1e-12) / np.maximum(1.0 - f_next, 1e-12))
            n_all = influence(np.hstack([f_next, f_base, f_scen]))
            n_next, n_base, n_scen = n_all[:, :r], n_all[:, r:2 * r], n_all[:, 2 * r:]
            h_base = np.maximum(h_star + q_own * (f_base - f_hat) + q_net * (n_base - n_hat), 0.0)
            h_scen = np.maximum(h_star + q_own * (f_scen - f_hat) + q_net * (n_scen - n_hat), 0.0)
            active = [(i, lever) for i, lever in enumerate(levers) if lever.first <= k < lever.stop]
            if active:
                add = np.zeros_like(h_scen)
                mult = np.ones((s_count, 1))
                for i, lever in active:
                    mask = masks[i]
                    if lever.ext:
                        add += lever.ext * p * mask
                    if lever.imit:
                        if lever.source == "national":
                            level = f_scen.mean(axis=0)[None, :]
                        elif lever.source == "anchor" and lever.anchor >= 0:
                            level = f_scen[lever.anchor][None, :]
                        else:  # the mean adoption of the other masked organisations
                            members = max(int(lever.mask.sum()), 1)
                            level = (f_scen[lever.mask].sum(axis=0)[None, :] - f_scen) / max(members - 1, 1)
                        add += (lever.imit * mask) * q * level
                    if lever.mult != 1.0:
                        mult = mult * (1.0 + (lever.mult - 1.0) * mask)
                h_scen = (h_scen + add) * mult
            u = rng.random((s_count, r))
            new_base = binomial_inverse(units - a_base, -np.expm1(-h_base), u)
            new_scen = binomial_inverse(units - a_scen, -np.expm1(-h_scen), u)
            for i, lever in active:
                if lever.per_point or lever.per_adoption:
                    gained = new_scen[lever.mask].sum(axis=0) / units   # whole potentials adopted
                    cost_by[lever.kind][start:start + r] += gained * (100.0 * lever.per_point + lever.per_adoption)
            a_base += new_base
            a_scen += new_scen
            f_base = a_base / units
            f_scen = a_scen / units
            f_hat, n_hat = f_next, n_next
            v_base = (weight @ f_base) / total_volume
            v_scen = (weight @ f_scen) / total_volume
            base_out[start:start + r, k + 1] = v_base
            scen_out[start:start + r, k + 1] = v_scen
            extra[start:start + r] += (v_scen - v_base) * total_volume
            if progress is not None:
                progress((start + r * (k + 1) / months) / runs)
        org_base += (c.m[:, None] * f_base).sum(axis=1)
        org_scen += (c.m[:, None] * f_scen).sum(axis=1)
    for lever in levers:
        if lever.fixed:
            cost_by[lever.kind] += lever.fixed
    cost = np.sum([v for v in cost_by.values()], axis=0) if cost_by else np.zeros(runs)
    return RunResult(base=base_out, scenario=scen_out, org_base_end=org_base / runs, org_scenario_end=org_scen / runs,
                     cost=cost, cost_by_lever=cost_by, extra_unit_months=extra)


def sigma_from_interval(value: NDArray[np.float64], low: NDArray[np.float64], high: NDArray[np.float64]) -> NDArray[np.float64]:
    """The log-scale sd implied by a 95% interval (0 where the interval is missing or degenerate)."""
    value, low, high = (np.asarray(x, dtype=float) for x in (value, low, high))
    ok = np.isfinite(low) & np.isfinite(high) & (low > 0) & (high > low)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.log(np.where(ok, high, 1.0) / np.where(ok, low, 1.0)) / (2 * 1.959964)
    return np.where(ok, sigma, 0.0)

