"""The levers' parameters (params/levers.yaml), read and checked: every number has a ``value``, a ``kind`` and
a non-empty ``source``; shares lie in 0-1, pounds and counts are not negative, the network weights are
positive; every lever has its mechanism. Anything wrong is an ``UptakeError`` naming the file and the key;
nothing is half-loaded."""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from uptake.errors import UptakeError

__all__ = ["LEVERS", "NETWORK_KEYS", "LeverParameters", "load_levers", "parse_levers"]

#: the levers and the numbers each needs (their mechanisms are in the file)
LEVERS: dict[str, tuple[str, ...]] = {
    "anchor": ("imitation_uplift", "cost_per_partner_month"),
    "network": ("imitation_weight", "cost_per_member_month"),
    "fund": ("fund_total_pounds", "fund_years", "elasticity", "reference_pounds_per_org_month", "max_multiplier",
             "running_cost_per_org_month", "double_running_months"),
    "ringfenced-time": ("elasticity", "max_share", "cost_per_org_month_at_full_time"),
    "incentive": ("elasticity", "reference_pounds_per_point"),
    "mission-mode": ("push", "national_weight", "cost_per_month"),
}
NETWORK_KEYS = ("peer_weight", "icb_weight", "network_weight", "partnership_weight", "network_share_of_imitation",
                "units_per_organisation")
_KINDS = {"share", "pounds", "count", "quantity"}


@dataclass(frozen=True)
class LeverParameters:
    """Checked numbers: ``network[key]`` and ``levers[lever][key]`` (floats), ``mechanisms[lever]`` and
    ``sources['lever.key']`` (what each number rests on)."""

    file: str
    version: int
    network: dict[str, float]
    levers: dict[str, dict[str, float]]
    mechanisms: dict[str, str]
    sources: dict[str, str]


def _number(file: str, key: str, raw: Any) -> tuple[float, str]:
    if not isinstance(raw, dict):
        raise UptakeError(f"{file}: key {key!r}: expected a mapping with value, kind and source; got {raw!r}")
    unknown = set(raw) - {"value", "kind", "source"}
    if unknown:
        raise UptakeError(f"{file}: key {key!r}: unknown field(s) {sorted(unknown)}; use value, kind and source")
    value, kind, source = raw.get("value"), raw.get("kind"), raw.get("source")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise UptakeError(f"{file}: key {key!r}: value {value!r} is not a number; give a number")
    if kind not in _KINDS:
        raise UptakeError(f"{file}: key {key!r}: kind {kind!r} is not one of {sorted(_KINDS)}")
    if not isinstance(source, str) or not source.strip():
        raise UptakeError(f"{file}: key {key!r}: the source is missing; say where the number comes from "
                          "(a publication, or 'assumption: ...')")
    v = float(value)
    if v < 0:
        raise UptakeError(f"{file}: key {key!r}: {v} is negative; a {kind} cannot be negative")
    if kind == "share" and v > 1:
        raise UptakeError(f"{file}: key {key!r}: {v} is a share and must lie between 0 and 1")
    return v, source.strip()


def parse_levers(data: Any, file: str = "levers.yaml") -> LeverParameters:
    if not isinstance(data, dict) or not isinstance(data.get("network"), dict) or not isinstance(data.get("levers"), dict):
        raise UptakeError(f"{file}: expected a mapping with version, network and levers")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UptakeError(f"{file}: key 'version' must be a whole number")
    sources: dict[str, str] = {}
    network: dict[str, float] = {}
    missing = [k for k in NETWORK_KEYS if k not in data["network"]]
    extra = [k for k in data["network"] if k not in NETWORK_KEYS]
    if missing or extra:
        raise UptakeError(f"{file}: network: missing {missing} / unknown {extra}; the keys are {list(NETWORK_KEYS)}")
    for key in NETWORK_KEYS:
        network[key], sources[f"network.{key}"] = _number(file, f"network.{key}", data["network"][key])
    if network["units_per_organisation"] < 1 or network["units_per_organisation"] != int(network["units_per_organisation"]):
        raise UptakeError(f"{file}: key 'network.units_per_organisation' must be a whole number >= 1")
    if sum(network[k] for k in ("peer_weight", "icb_weight", "network_weight", "partnership_weight")) <= 0:
        raise UptakeError(f"{file}: network: the tie weights sum to 0; give at least one a positive weight")
    levers: dict[str, dict[str, float]] = {}
    mechanisms: dict[str, str] = {}
    unknown = sorted(set(data["levers"]) - set(LEVERS))
    if unknown:
        raise UptakeError(f"{file}: levers: unknown lever(s) {unknown}; the levers are {list(LEVERS)}")
    for lever, keys in LEVERS.items():
        raw = data["levers"].get(lever)
        if not isinstance(raw, dict):
            raise UptakeError(f"{file}: levers.{lever} is missing; give its mechanism and numbers {list(keys)}")
        mechanism = raw.get("mechanism")
        if not isinstance(mechanism, str) or not mechanism.strip():
            raise UptakeError(f"{file}: key 'levers.{lever}.mechanism' is missing; say how the lever acts")
        mechanisms[lever] = mechanism.strip()
        extra = sorted(set(raw) - set(keys) - {"mechanism"})
        if extra:
            raise UptakeError(f"{file}: levers.{lever}: unknown key(s) {extra}; the keys are {list(keys)}")
        levers[lever] = {}
        for key in keys:
            if key not in raw:
                raise UptakeError(f"{file}: key 'levers.{lever}.{key}' is missing; add it with its value and source")
            levers[lever][key], sources[f"levers.{lever}.{key}"] = _number(file, f"levers.{lever}.{key}", raw[key])
    if levers["fund"]["max_multiplier"] < 1:
        raise UptakeError(f"{file}: key 'levers.fund.max_multiplier' must be at least 1")
    return LeverParameters(file=file, version=version, network=network, levers=levers, mechanisms=mechanisms,
                           sources=sources)


def load_levers(path: Path | None = None) -> LeverParameters:
    """The packaged params/levers.yaml, or ``path``."""
    if path is None:
        text = resources.files("uptake.models").joinpath("params/levers.yaml").read_text(encoding="utf-8")
        name = "uptake/models/params/levers.yaml"
    else:
        text, name = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UptakeError(f"{name}: not valid YAML ({exc})") from None
    return parse_levers(data, name)
