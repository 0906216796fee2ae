"""The simulator over the published results: its inputs (every organisation of the indicator's level, its
fitted curve, ties and volume) from a results connection, a scenario run beside the base, and the outputs a
policy team compares: national trajectories with 50% and 95% bands, time to each NSF target and the chance
of meeting its deadline, lives and pounds from the outcome models, and cost per life saved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import ENGLAND_CODE, Level
from uptake.models.outcomes.base import per_unit_draws
from uptake.models.outcomes.registry import model_for
from uptake.models.simulation.engine import Calibration, Network, RunResult, sigma_from_interval, simulate
from uptake.models.simulation.levers import LeverParameters, load_levers
from uptake.models.simulation.scenario import Scenario, _add_months, compile_levers, month_index
from uptake.results import read

__all__ = ["Target", "SimulationInputs", "SimulationResult", "build_inputs", "run_scenario", "CALIBRATION_NOTE"]

CALIBRATION_NOTE = (
    "Calibration: each organisation's monthly hazard is its fitted Bass hazard (p + q F, integrated over the month) "
    "plus deviation terms: the within-organisation imitation acts on its own departure from its fitted curve, the "
    "network imitation (similar-10 peers, ICB, ISDN / clinical network, anchor partners) on its ties' departure "
    "from theirs. With no lever the expected path is each organisation's fitted trajectory; levers move the "
    "targeted organisations and, through their ties, the others.")


@dataclass(frozen=True)
class Target:
    label: str
    target: float
    deadline: dt.date
    synthetic: bool = False


@dataclass
class SimulationInputs:
    indicator: str
    level: str
    origin: dt.date
    start: dt.date
    network: Network
    calibration: Calibration
    names: dict[str, str]
    targets: list[Target]
    synthetic: bool
    notes: list[str] = field(default_factory=list)
    inherited: int = 0


@dataclass
class SimulationResult:
    scenario: Scenario
    inputs: SimulationInputs
    trajectories: pd.DataFrame
    targets: pd.DataFrame
    summary: pd.DataFrame
    organisations: pd.DataFrame
    runs: RunResult
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "targets": self.targets, "trajectories": self.trajectories,
                "organisations": self.organisations}


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def build_inputs(cur: duckdb.DuckDBPyConnection, indicator: str, level: str,
                 partnerships: Iterable[tuple[str, str]] = (), start: dt.date | None = None) -> SimulationInputs:
    """Every current organisation of ``level``; its fitted curve, or (without one) its nearest fitted
    ancestor's (sub-ICB, ICB, England: said in the notes); its ICB and ISDN (a practice's through its sub-ICB
    location); its peers; its latest denominator (split by population from its sub-ICB location's where it
    has none)."""
    try:
        lvl = Level.parse(level).value
    except ValueError as exc:
        raise UptakeError(str(exc)) from None
    fits = read.forecasts.parameters_frame(cur, indicator, lvl)
    if read.forecasts.missing_tables(cur):
        raise UptakeError("the results have no forecasts; run `uptake compute` (or `uptake forecast compute`) first")
    orgs = read.simulation.organisations_frame(cur, lvl)
    if orgs.empty:
        raise UptakeError(f"there are no {lvl} organisations in the reference data")
    parents = read.simulation.parents_frame(cur, lvl)
    mine = parents[parents["child_level"] == lvl]
    parent_of = {(r.child_code, r.parent_level): r.parent_code for r in mine.itertuples()}
    subicb_parent = {(r.child_code, r.parent_level): r.parent_code
                     for r in parents[parents["child_level"] == "sub-icb"].itertuples()}
    fitted = {lvl: fits}
    for ancestor in ("sub-icb", "icb", "england"):
        if ancestor != lvl:
            fitted[ancestor] = read.forecasts.parameters_frame(cur, indicator, ancestor)
    if all(f.empty for f in fitted.values()):
        raise UptakeError(f"no organisation has a fitted curve for {indicator!r}; check the indicator id, or run "
                          "`uptake forecast compute`")
    lookup = {lev: frame.set_index("org_code") for lev, frame in fitted.items() if not frame.empty}
    codes = orgs["code"].astype(str).to_numpy()
    cols = ["m", "p", "q", "p_low", "p_high", "q_low", "q_high"]
    frame = pd.DataFrame({"code": codes})
    frame["sub-icb"] = [parent_of.get((c, "sub-icb")) for c in codes] if lvl != "sub-icb" else None
    frame["icb"] = [parent_of.get((c, "icb")) for c in codes]
    frame["england"] = ENGLAND_CODE
    values = np.full((len(codes), len(cols)), np.nan)
    origin_of = np.full(len(codes), None, dtype=object)
    flags = np.zeros(len(codes), dtype=bool)
    found = np.zeros(len(codes), dtype=bool)
    inherited = 0
    for n, (lev, key) in enumerate(((lvl, "code"), ("sub-icb", "sub-icb"), ("icb", "icb"), ("england", "england"))):
        table = lookup.get(lev)
        if table is None or (n > 0 and lev == lvl):
            continue
        keys = frame[key].where(~found)
        hit = keys.isin(table.index).to_numpy() & ~found
        if not hit.any():
            continue
        rows = table.loc[keys[hit].to_numpy()]
        values[hit] = rows[cols].to_numpy(float)
        origin_of[hit] = rows["origin"].to_numpy()
        flags[hit] = rows["synthetic"].fillna(False).astype(bool).to_numpy()
        found |= hit
        inherited += int(hit.sum()) if n > 0 else 0
    synthetic = bool(flags.any())
    origins = {pd.Timestamp(o).date() for o in origin_of[found] if o is not None and pd.notna(o)}
    keep = np.isfinite(values[:, 0])
    notes = []
    if not keep.all():
        notes.append(f"{int((~keep).sum())} {lvl} organisations have no fitted curve nor a fitted ancestor and are "
                     "left out")
    if inherited:
        notes.append(f"{inherited} of {int(keep.sum())} {lvl} organisations have no curve of their own and take their "
                     "nearest fitted ancestor's (sub-ICB location, ICB or England)")
    codes, values = codes[keep], values[keep]
    if not origins:
        raise UptakeError(f"the fitted curves of {indicator!r} have no time origin; refit them (`uptake forecast compute`)")
    origin = min(origins)
    if start is None:
        latest = read.simulation.latest_period(cur, indicator)
        latest = pd.Timestamp(latest).date() if latest is not None else dt.date.today()
        start = _add_months(latest.replace(day=1), 1)
    t0 = float(_months_between(origin, start))
    # ties
    index = {c: i for i, c in enumerate(codes)}
    peers = read.simulation.peer_pairs_frame(cur, lvl)
    peer_pairs = np.array([(index[a], index[b]) for a, b in zip(peers["org_code"], peers["peer_code"])
                           if a in index and b in index], dtype=np.int64).reshape(-1, 2)
    if not len(peer_pairs):
        notes.append(f"no similar-10 peers were computed for {lvl}; the network has no peer ties")

    def group(parent_level: str) -> tuple[np.ndarray, tuple[str, ...]]:
        found = []
        for code in codes:
            parent = parent_of.get((code, parent_level))
            if parent is None and (code, "sub-icb") in parent_of:
                parent = subicb_parent.get((parent_of[(code, "sub-icb")], parent_level))
            found.append(parent)
        labels = tuple(sorted({p for p in found if p is not None}))
        where = {p: i for i, p in enumerate(labels)}
        return np.array([where.get(p, -1) if p else -1 for p in found], dtype=np.int64), labels

    icb, icb_codes = group("icb") if lvl != "icb" else (np.full(len(codes), -1), ())
    clinical, clinical_codes = group("isdn")
    partner_pairs = np.array([(index[a], index[b]) for a, b in partnerships if a in index and b in index],
                             dtype=np.int64).reshape(-1, 2)
    network = Network(codes=codes, peer_pairs=peer_pairs, icb=icb, clinical=clinical, partner_pairs=partner_pairs,
                      icb_codes=icb_codes, clinical_codes=clinical_codes)
    # volumes: the latest denominator; else the sub-ICB location's, split by population
    vols = read.simulation.volumes_frame(cur, indicator)
    own = {r.org_code: float(r.denominator) for r in vols[vols["level"] == lvl].itertuples() if pd.notna(r.denominator)}
    sub = {r.org_code: float(r.denominator) for r in vols[vols["level"] == "sub-icb"].itertuples()
           if pd.notna(r.denominator)}
    population = dict(zip(orgs["code"].astype(str), pd.to_numeric(orgs["population"], errors="coerce").fillna(0.0)))
    parent_sub = [parent_of.get((c, "sub-icb")) for c in codes]
    pop_total: dict[str, float] = {}
    count_total: dict[str, int] = {}
    for c, s in zip(codes, parent_sub):
        pop_total[s] = pop_total.get(s, 0.0) + population.get(c, 0.0)
        count_total[s] = count_total.get(s, 0) + 1
    volume = np.empty(len(codes))
    for i, (c, s) in enumerate(zip(codes, parent_sub)):
        if c in own:
            volume[i] = own[c]
        elif s in sub:
            share = population.get(c, 0.0) / pop_total[s] if pop_total.get(s) else 1.0 / count_total[s]
            volume[i] = sub[s] * share
        else:
            volume[i] = 1.0
    if not own:
        notes.append("volumes: each organisation's share of its sub-ICB location's latest denominator, by population")
    v = values
    calibration = Calibration(m=v[:, 0], p=v[:, 1], q=v[:, 2], sigma_p=sigma_from_interval(v[:, 1], v[:, 3], v[:, 4]),
                              sigma_q=sigma_from_interval(v[:, 2], v[:, 5], v[:, 6]), t0=t0, volume=volume)
    targets_frame = read.forecasts.commitment_targets(cur)
    mine_t = targets_frame[targets_frame["indicator"] == indicator]
    targets, seen = [], set()
    for r in mine_t.itertuples():
        key = (float(r.target), pd.Timestamp(r.deadline).date())
        if key in seen:
            continue
        seen.add(key)
        targets.append(Target(label=f"{r.framework}: {r.commitment}", target=key[0], deadline=key[1],
                              synthetic=bool(r.synthetic)))
    names = dict(zip(orgs["code"].astype(str), orgs["name"].astype(str)))
    return SimulationInputs(indicator=indicator, level=lvl, origin=origin, start=start, network=network,
                            calibration=calibration, names=names, targets=targets, synthetic=synthetic, notes=notes,
                            inherited=inherited)


def _bands(values: np.ndarray) -> dict[str, np.ndarray]:
    q = np.percentile(values, [2.5, 25, 50, 75, 97.5], axis=0)
    return {"low95": q[0], "low50": q[1], "median": q[2], "high50": q[3], "high95": q[4], "mean": values.mean(axis=0)}


def _first_reach(values: np.ndarray, target: float) -> np.ndarray:
    hit = values >= target
    first = np.argmax(hit, axis=1).astype(float)
    first[~hit.any(axis=1)] = np.inf
    return first


def run_scenario(inputs: SimulationInputs, scenario: Scenario, params: LeverParameters | None = None,
                 progress: Callable[[float], None] | None = None, chunk: int = 250,
                 available: int | None = None, targets: list[Target] | None = None) -> SimulationResult:
    """The scenario beside the base (no lever), the same seed and random numbers; every check before running."""
    params = params or load_levers()
    if scenario.indicator != inputs.indicator or scenario.level != inputs.level:
        raise UptakeError(f"{scenario.source}: the scenario is for {scenario.indicator} at {scenario.level} but the "
                          f"inputs are {inputs.indicator} at {inputs.level}")
    levers = compile_levers(scenario, inputs.network, inputs.start, params)
    runs = simulate(inputs.network, inputs.calibration, levers, params, months=scenario.months, runs=scenario.runs,
                    seed=scenario.seed, chunk=chunk, progress=progress, available=available)
    dates = [_add_months(inputs.start, k) for k in range(scenario.months + 1)]
    frames = []
    for arm, values in (("base", runs.base), ("scenario", runs.scenario)):
        bands = _bands(values)
        frames.append(pd.DataFrame({"arm": arm, "month": dates, **bands}))
    trajectories = pd.concat(frames, ignore_index=True)
    rows = []
    for target in (inputs.targets if targets is None else targets):
        deadline_k = month_index(inputs.start, target.deadline)
        for arm, values in (("base", runs.base), ("scenario", runs.scenario)):
            reach = _first_reach(values, target.target)
            low, med, high = np.percentile(reach, [2.5, 50, 97.5])
            rows.append({"arm": arm, "target": target.label, "target_value": target.target,
                         "deadline": target.deadline,
                         "months_to_target_median": med, "months_to_target_low": low, "months_to_target_high": high,
                         "date_reached_median": _add_months(inputs.start, int(med)) if np.isfinite(med) else None,
                         "probability_meeting_deadline": float(np.mean(reach <= deadline_k)),
                         "synthetic": target.synthetic or inputs.synthetic})
    target_frame = pd.DataFrame(rows, columns=["arm", "target", "target_value", "deadline", "months_to_target_median",
                                               "months_to_target_low", "months_to_target_high", "date_reached_median",
                                               "probability_meeting_deadline", "synthetic"])
    # lives and pounds: extra units of the indicator in a month, summed over months / 12 = unit-years
    outcome = model_for(inputs.indicator)
    unit_years = runs.extra_unit_months / 12.0
    lives = pounds_value = None
    notes = list(inputs.notes)
    if outcome is not None:
        draws = per_unit_draws(outcome, scenario.runs, scenario.seed + 7)
        if "deaths_avoided" in draws:
            lives = unit_years * draws["deaths_avoided"]
        if "pounds" in draws:
            pounds_value = unit_years * draws["pounds"]
        else:
            notes.append(f"{inputs.indicator}'s outcome model counts events avoided but does not value them in "
                         "pounds: pounds are not estimated here (for DOACs, costs and savings by sector are on "
                         "the value across organisations page)")
    else:
        notes.append(f"{inputs.indicator} has no outcome model: lives and pounds are not estimated")

    def summary(values: np.ndarray | None) -> tuple[float | None, float | None, float | None]:
        if values is None:
            return None, None, None
        low, high = np.percentile(values, [2.5, 97.5])
        return float(np.mean(values)), float(low), float(high)

    cost_mean, cost_low, cost_high = summary(runs.cost)
    lives_mean, lives_low, lives_high = summary(lives)
    val_mean, val_low, val_high = summary(pounds_value)
    per_life = None
    if lives is not None and lives_mean and lives_mean > 0 and cost_mean:
        per_life = cost_mean / lives_mean
    extra_mean, extra_low, extra_high = summary(unit_years)
    end = trajectories[trajectories["month"] == dates[-1]].set_index("arm")
    summary_frame = pd.DataFrame([{
        "scenario": scenario.name, "indicator": inputs.indicator, "level": inputs.level, "runs": scenario.runs,
        "months": scenario.months, "seed": scenario.seed, "organisations": inputs.network.size,
        "base_value_end": float(end.loc["base", "median"]), "scenario_value_end": float(end.loc["scenario", "median"]),
        "extra_unit_years_mean": extra_mean, "extra_unit_years_low": extra_low, "extra_unit_years_high": extra_high,
        "lives_mean": lives_mean, "lives_low": lives_low, "lives_high": lives_high,
        "value_pounds_mean": val_mean, "value_pounds_low": val_low, "value_pounds_high": val_high,
        "cost_pounds_mean": cost_mean, "cost_pounds_low": cost_low, "cost_pounds_high": cost_high,
        "cost_per_life_pounds": per_life, "synthetic": inputs.synthetic}])
    organisations = pd.DataFrame({"org_code": inputs.network.codes,
                                  "org_name": [inputs.names.get(str(c), "") for c in inputs.network.codes],
                                  "base_value_end": runs.org_base_end, "scenario_value_end": runs.org_scenario_end})
    organisations["difference"] = organisations["scenario_value_end"] - organisations["base_value_end"]
    return SimulationResult(scenario=scenario, inputs=inputs, trajectories=trajectories, targets=target_frame,
                            summary=summary_frame, organisations=organisations, runs=runs, notes=notes)
