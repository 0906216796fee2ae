"""A scenario is data: which indicator and level, how long, how many runs, and the levers (what, where, when,
how much). Read from YAML or a form (a plain mapping), checked against the network and the NSF period
before anything runs: an unknown lever or organisation, a negative amount, fund money over the fund,
overlapping levers of one kind, or a period outside the simulated NSF window is an ``UptakeError`` naming
the lever (by its position), the field and what to do.

    name: DOAC push in the North East
    indicator: doac-share
    level: sub-icb
    months: 120
    runs: 1000
    seed: 20261207
    levers:
      - lever: fund              # anchor | network | fund | ringfenced-time | incentive | mission-mode
        where: [icb:QHM]         # codes of the level, or icb:CODE / network:CODE (ISDN) / all
        from: 2024-04            # first month (YYYY-MM), inclusive
        to: 2026-03              # last month, inclusive
        pounds: 20000000         # fund: the spend; incentive: pounds_per_point; ringfenced-time: share
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from uptake.errors import UptakeError
from uptake.models.simulation.engine import CompiledLever, Network
from uptake.models.simulation.levers import LEVERS, LeverParameters

__all__ = ["Lever", "Scenario", "parse_scenario", "load_scenario", "compile_levers", "month_index", "AMOUNT_FIELD",
           "MAX_RUNS", "DEFAULT_RUNS", "DEFAULT_MONTHS"]

DEFAULT_RUNS = 1000
DEFAULT_MONTHS = 120
MAX_RUNS = 100_000
#: the amount each lever takes, and what it means
AMOUNT_FIELD = {"fund": ("pounds", "the money spent over the lever's months, shared equally by its organisations"),
                "ringfenced-time": ("share", "the share of clinical time ringfenced (0-1)"),
                "incentive": ("pounds_per_point", "pounds paid per percentage point of potential adopted")}


@dataclass(frozen=True)
class Lever:
    kind: str
    where: tuple[str, ...]
    start: dt.date
    end: dt.date
    amount: float | None = None
    anchor: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    indicator: str
    level: str
    months: int = DEFAULT_MONTHS
    runs: int = DEFAULT_RUNS
    seed: int = 20261207
    levers: tuple[Lever, ...] = field(default_factory=tuple)
    source: str = "scenario"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "indicator": self.indicator, "level": self.level,
                               "months": self.months, "runs": self.runs, "seed": self.seed, "levers": []}
        for lever in self.levers:
            row: dict[str, Any] = {"lever": lever.kind, "where": list(lever.where),
                                   "from": lever.start.strftime("%Y-%m"), "to": lever.end.strftime("%Y-%m")}
            if lever.amount is not None:
                row[AMOUNT_FIELD[lever.kind][0]] = lever.amount
            if lever.anchor:
                row["anchor"] = lever.anchor
            out["levers"].append(row)
        return out


def _month(source: str, where: str, raw: Any) -> dt.date:
    if isinstance(raw, dt.date):
        return raw.replace(day=1)
    try:
        year, month = str(raw).strip().split("-")[:2]
        return dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise UptakeError(f"{source}: {where}: {raw!r} is not a month; write YYYY-MM (e.g. 2025-04)") from None


def _int(source: str, key: str, raw: Any, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise UptakeError(f"{source}: {key}: {raw!r} is not a whole number")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise UptakeError(f"{source}: {key}: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise UptakeError(f"{source}: {key}: {value} is outside {low}-{high:,}")
    return value


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """A Scenario from a mapping (YAML or a form); field-level checks only (``compile_levers`` checks the
    organisations, the period and the fund against the network)."""
    if not isinstance(data, dict):
        raise UptakeError(f"{source}: expected a mapping with name, indicator, level and levers")
    known = {"name", "indicator", "level", "months", "runs", "seed", "levers"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UptakeError(f"{source}: unknown field(s) {unknown}; the fields are {sorted(known)}")
    for key in ("indicator", "level"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise UptakeError(f"{source}: {key} is missing; give the indicator id and the organisation level")
    levers_raw = data.get("levers") or []
    if not isinstance(levers_raw, list):
        raise UptakeError(f"{source}: levers must be a list (it may be empty: the base)")
    levers = []
    for n, raw in enumerate(levers_raw, start=1):
        where = f"lever {n}"
        if not isinstance(raw, dict):
            raise UptakeError(f"{source}: {where}: expected a mapping with lever, where, from, to")
        kind = str(raw.get("lever", "")).strip()
        if kind not in LEVERS:
            raise UptakeError(f"{source}: {where}: unknown lever {kind!r}; use one of {', '.join(LEVERS)}")
        amount_key = AMOUNT_FIELD.get(kind, (None, ""))[0]
        allowed = {"lever", "where", "from", "to", "anchor"} | ({amount_key} if amount_key else set())
        extra = sorted(set(raw) - allowed)
        if extra:
            raise UptakeError(f"{source}: {where} ({kind}): unknown field(s) {extra}; it takes {sorted(allowed)}")
        places = raw.get("where", ["all"] if kind == "mission-mode" else None)
        if isinstance(places, str):
            places = [p.strip() for p in places.replace(",", " ").split() if p.strip()]
        if not places or not all(isinstance(p, str) and p.strip() for p in places):
            raise UptakeError(f"{source}: {where} ({kind}): 'where' is missing; list organisation codes, icb:CODE, "
                              "network:CODE or all")
        if "from" not in raw or "to" not in raw:
            raise UptakeError(f"{source}: {where} ({kind}): give 'from' and 'to' months (YYYY-MM)")
        start, end = _month(source, f"{where} from", raw["from"]), _month(source, f"{where} to", raw["to"])
        if end < start:
            raise UptakeError(f"{source}: {where} ({kind}): 'to' {end:%Y-%m} is before 'from' {start:%Y-%m}")
        amount = None
        if amount_key:
            value = raw.get(amount_key)
            if value is None:
                raise UptakeError(f"{source}: {where} ({kind}): {amount_key} is missing ({AMOUNT_FIELD[kind][1]})")
            try:
                amount = float(value)
            except (TypeError, ValueError):
                raise UptakeError(f"{source}: {where} ({kind}): {amount_key} {value!r} is not a number") from None
            if not np.isfinite(amount) or amount < 0:
                raise UptakeError(f"{source}: {where} ({kind}): {amount_key} {value!r} is negative or not finite; "
                                  "an amount cannot be negative")
            if kind == "ringfenced-time" and amount > 1:
                raise UptakeError(f"{source}: {where} ({kind}): share {amount} is over 1; give a share of time (0-1)")
        anchor = raw.get("anchor")
        if anchor is not None and kind != "anchor":
            raise UptakeError(f"{source}: {where} ({kind}): only the anchor lever takes 'anchor'")
        levers.append(Lever(kind=kind, where=tuple(p.strip() for p in places), start=start, end=end, amount=amount,
                            anchor=str(anchor).strip() if anchor else None))
    return Scenario(name=str(data.get("name") or "unnamed scenario").strip(), indicator=data["indicator"].strip(),
                    level=data["level"].strip(), months=_int(source, "months", data.get("months"), DEFAULT_MONTHS, 1, 240),
                    runs=_int(source, "runs", data.get("runs"), DEFAULT_RUNS, 1, MAX_RUNS),
                    seed=_int(source, "seed", data.get("seed"), 20261207, 0, 2 ** 32 - 1),
                    levers=tuple(levers), source=source)


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UptakeError(f"{path}: no such scenario file") from None
    except yaml.YAMLError as exc:
        raise UptakeError(f"{path}: not valid YAML ({exc})") from None
    return parse_scenario(data, str(path))


def month_index(start: dt.date, month: dt.date) -> int:
    return (month.year - start.year) * 12 + month.month - start.month


def _select(scenario: Scenario, n: int, lever: Lever, network: Network, index: dict[str, int]) -> np.ndarray:
    mask = np.zeros(network.size, dtype=bool)
    groups = {"icb": (network.icb, network.icb_codes), "network": (network.clinical, network.clinical_codes)}
    for place in lever.where:
        if place.lower() in ("all", "england"):
            mask[:] = True
        elif ":" in place:
            kind, code = place.split(":", 1)
            if kind.lower() not in groups:
                raise UptakeError(f"{scenario.source}: lever {n} ({lever.kind}): {place!r}: use icb:CODE or network:CODE")
            ids, codes = groups[kind.lower()]
            if code not in codes:
                raise UptakeError(f"{scenario.source}: lever {n} ({lever.kind}): unknown {kind} {code!r} (no "
                                  f"{scenario.level} organisation of {scenario.indicator} belongs to it)")
            mask |= ids == codes.index(code)
        elif place in index:
            mask[index[place]] = True
        else:
            raise UptakeError(f"{scenario.source}: lever {n} ({lever.kind}): unknown organisation {place!r}: not a "
                              f"{scenario.level} organisation with a fitted curve for {scenario.indicator}")
    return mask


def compile_levers(scenario: Scenario, network: Network, start: dt.date, params: LeverParameters) -> list[CompiledLever]:
    """Each lever as arrays over ``network``, months counted from ``start`` (the simulation's first month)."""
    index = network.index()
    end = _add_months(start, scenario.months - 1)
    compiled, spans = [], []
    fund_total = 0.0
    for n, lever in enumerate(scenario.levers, start=1):
        if lever.start < start or lever.end > end:
            raise UptakeError(f"{scenario.source}: lever {n} ({lever.kind}): {lever.start:%Y-%m} to {lever.end:%Y-%m} "
                              f"is outside the simulated NSF period {start:%Y-%m} to {end:%Y-%m}; move it inside")
        mask = _select(scenario, n, lever, network, index)
        for m, (kind, other_mask, a, b) in enumerate(spans, start=1):
            if kind == lever.kind and (other_mask & mask).any() and a <= lever.end and lever.start <= b:
                raise UptakeError(f"{scenario.source}: levers {m} and {n} ({kind}) overlap: the same organisations "
                                  "in overlapping months; merge them into one lever or split the months")
        spans.append((lever.kind, mask, lever.start, lever.end))
        first, stop = month_index(start, lever.start), month_index(start, lever.end) + 1
        months, count = stop - first, int(mask.sum())
        v = params.levers[lever.kind]
        if lever.kind == "anchor":
            anchor = -1
            if lever.anchor:
                if lever.anchor not in index:
                    raise UptakeError(f"{scenario.source}: lever {n} (anchor): unknown anchor {lever.anchor!r}: not a "
                                      f"{scenario.level} organisation with a fitted curve (leave it out to use the "
                                      "partners' mean adoption)")
                anchor = index[lever.anchor]
            compiled.append(CompiledLever("anchor", mask, first, stop, imit=v["imitation_uplift"],
                                          source="anchor" if anchor >= 0 else "members", anchor=anchor,
                                          fixed=count * months * v["cost_per_partner_month"]))
        elif lever.kind == "network":
            compiled.append(CompiledLever("network", mask, first, stop, imit=v["imitation_weight"], source="members",
                                          fixed=count * months * v["cost_per_member_month"]))
        elif lever.kind == "fund":
            pounds = float(lever.amount or 0.0)
            fund_total += pounds
            if fund_total > v["fund_total_pounds"]:
                raise UptakeError(f"{scenario.source}: lever {n} (fund): the scenario's fund money "
                                  f"({fund_total:,.0f} pounds) is over the transformation fund "
                                  f"({v['fund_total_pounds']:,.0f} pounds, IPPR rec. 9); spend less")
            per_org_month = pounds / max(count * months, 1)
            multiplier = min(1.0 + v["elasticity"] * per_org_month / v["reference_pounds_per_org_month"],
                             v["max_multiplier"])
            compiled.append(CompiledLever("fund", mask, first, stop, ext=multiplier - 1.0, fixed=pounds,
                                          per_adoption=v["running_cost_per_org_month"] * v["double_running_months"]))
        elif lever.kind == "ringfenced-time":
            share = min(float(lever.amount or 0.0), v["max_share"])
            compiled.append(CompiledLever("ringfenced-time", mask, first, stop, mult=1.0 + v["elasticity"] * share,
                                          fixed=share * v["cost_per_org_month_at_full_time"] * count * months))
        elif lever.kind == "incentive":
            pay = float(lever.amount or 0.0)
            compiled.append(CompiledLever("incentive", mask, first, stop,
                                          mult=1.0 + v["elasticity"] * pay / v["reference_pounds_per_point"],
                                          per_point=pay))
        elif lever.kind == "mission-mode":
            compiled.append(CompiledLever("mission-mode", mask, first, stop, ext=v["push"], imit=v["national_weight"],
                                          source="national", fixed=months * v["cost_per_month"]))
    return compiled


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)
