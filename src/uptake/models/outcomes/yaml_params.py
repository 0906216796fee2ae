"""Versioned parameter files of the outcome models: read, checked, and flattened to named parameters.

A file (``params/<model>.yaml``) has a ``version``, a ``model`` name and nested groups of parameters. A
parameter is a mapping with ``value`` (a number or a list of numbers), ``source`` (where the number comes
from, never empty), ``kind`` and optionally ``low``/``high`` (its stated uncertainty). Kinds that are
checked: ``probability`` (every number within 0-1) and ``pounds`` (no negative number). Anything wrong is
an ``UptakeError`` naming the file, the key (dotted path) and what to do; nothing is half-loaded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from uptake.errors import UptakeError

__all__ = ["Parameter", "ParameterFile", "load_parameter_file", "parse_parameters"]


@dataclass(frozen=True)
class Parameter:
    key: str
    value: float | tuple[float, ...]
    source: str
    kind: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ParameterFile:
    name: str
    model: str
    version: int
    parameters: Mapping[str, Parameter]

    def __getitem__(self, key: str) -> Parameter:
        try:
            return self.parameters[key]
        except KeyError:
            raise UptakeError(f"{self.name}: key {key!r} is missing; add it with its value and source") from None

    def value(self, key: str) -> Any:
        return self[key].value


def _numbers(file: str, key: str, field: str, raw: Any) -> tuple[float, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise UptakeError(f"{file}: key {key!r}: {field} is an empty list; give at least one number")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(float(item)):
            raise UptakeError(f"{file}: key {key!r}: {field} {item!r} is not a number; give a number")
        out.append(float(item))
    return tuple(out)


def _parameter(file: str, key: str, node: Mapping[str, Any]) -> Parameter:
    source = node.get("source")
    if not isinstance(source, str) or not source.strip():
        raise UptakeError(
            f"{file}: key {key!r} has no source; add `source:` saying where the number comes from "
            "(publication, table, page) before using it"
        )
    kind = str(node.get("kind", "number"))
    values = _numbers(file, key, "value", node["value"])
    bounds = {field: _numbers(file, key, field, node[field])[0] for field in ("low", "high") if field in node}
    every = values + tuple(bounds.values())
    if kind == "probability" and any(v < 0 or v > 1 for v in every):
        bad = next(v for v in every if v < 0 or v > 1)
        raise UptakeError(
            f"{file}: key {key!r}: {bad:g} is a probability outside 0-1; give it as a share between 0 and 1 "
            "(e.g. 0.35, not 35)"
        )
    if kind == "pounds" and any(v < 0 for v in every):
        bad = next(v for v in every if v < 0)
        raise UptakeError(f"{file}: key {key!r}: {bad:g} is a negative cost; costs in pounds must be 0 or more")
    if "low" in bounds and "high" in bounds and bounds["low"] > bounds["high"]:
        raise UptakeError(f"{file}: key {key!r}: low {bounds['low']:g} is above high {bounds['high']:g}; swap them")
    value: float | tuple[float, ...] = values if isinstance(node["value"], list) else values[0]
    return Parameter(key, value, source.strip(), kind, bounds.get("low"), bounds.get("high"))


def parse_parameters(document: Any, file: str) -> ParameterFile:
    """Check a parsed YAML document and flatten its parameters to dotted keys."""
    if not isinstance(document, Mapping):
        raise UptakeError(f"{file}: expected a mapping with version, model and parameters; found {type(document).__name__}")
    for field in ("version", "model"):
        if field not in document:
            raise UptakeError(f"{file}: key {field!r} is missing; add it at the top of the file")
    if not isinstance(document["version"], int) or isinstance(document["version"], bool) or document["version"] < 1:
        raise UptakeError(f"{file}: key 'version': {document['version']!r} is not a whole number of 1 or more")
    found: dict[str, Parameter] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping) and "value" in node:
            found[path] = _parameter(file, path, node)
        elif isinstance(node, Mapping):
            for name, child in node.items():
                walk(child, f"{path}.{name}" if path else str(name))
        else:
            raise UptakeError(
                f"{file}: key {path!r} is a bare {type(node).__name__}; write it as a mapping with value and source"
            )

    for name, node in document.items():
        if name in ("version", "model", "changes"):
            continue
        walk(node, str(name))
    return ParameterFile(file, str(document["model"]), int(document["version"]), found)


def load_parameter_file(name: str, path: Path | None = None) -> ParameterFile:
    """Read ``params/<name>.yaml`` bundled with the package (or the file at ``path``) and check it."""
    if path is not None:
        label, text = str(path), Path(path).read_text(encoding="utf-8")
    else:
        resource = resources.files("uptake.models.outcomes") / "params" / f"{name}.yaml"
        label = f"uptake/models/outcomes/params/{name}.yaml"
        if not resource.is_file():
            raise UptakeError(f"{label} is missing; reinstall the package or restore the file from the repository")
        text = resource.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UptakeError(f"{label}: not valid YAML ({error}); fix the file's indentation or quoting") from None
    return parse_parameters(document, label)
