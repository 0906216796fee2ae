"""Model parameters in versioned YAML: every number with its source and its stated uncertainty, checked on
load, and drawn for Monte Carlo.

A parameter file looks like::

    version: 1
    model: doac
    title: DOACs instead of warfarin in atrial fibrillation
    parameters:
      rr_stroke:
        value: 0.81           # the central figure
        low: 0.73             # 95% interval (absent: the number is taken as exact)
        high: 0.91
        kind: ratio           # what it is: checked against its range (see KINDS)
        distribution: lognormal   # how it is drawn (see DISTRIBUTIONS)
        source: "Ruff CT et al. Lancet 2014;383:955-62, figure 2"
        note: "..."            # optional

A parameter a model groups by condition is written ``name: {cvd: {...}, cancer: {...}}`` (``grouped``).
Anything wrong (a missing source, a probability outside 0-1, a negative cost, an interval that does not hold
its value) is refused with an ``UptakeError`` naming the file, the key and what to do; nothing is half loaded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from uptake.errors import UptakeError

__all__ = ["KINDS", "DISTRIBUTIONS", "Parameter", "ParameterSet", "load_parameters", "Z95"]

#: The 97.5th percentile of the standard normal: a 95% interval is the value +/- Z95 standard deviations.
Z95 = 1.959963984540054

#: Each kind of number and the range it must lie in (inclusive).
KINDS: dict[str, tuple[float, float]] = {
    "probability": (0.0, 1.0),  # a probability or a share of people
    "share": (0.0, 1.0),
    "ratio": (0.0, math.inf),   # a relative risk or a multiplier (must be > 0)
    "rate": (0.0, math.inf),    # events per person-time
    "count": (0.0, math.inf),   # people, deaths, events, items
    "money": (0.0, math.inf),   # pounds (a cost or a value: never negative)
    "quantity": (0.0, math.inf),  # anything else that cannot be negative (items per year, years)
}
#: fixed: exact; normal / lognormal: the 95% interval gives the spread (lognormal: on the log scale);
#: uniform: anywhere between low and high; poisson: a count of events (drawn Gamma(count), its posterior
#: under a flat prior, so a rate's uncertainty follows from the events seen).
DISTRIBUTIONS = ("fixed", "normal", "lognormal", "uniform", "poisson")
_FIELDS = {"value", "low", "high", "kind", "distribution", "source", "note"}


@dataclass(frozen=True)
class Parameter:
    key: str
    value: float
    kind: str
    source: str
    distribution: str = "fixed"
    low: float | None = None
    high: float | None = None
    note: str = ""

    def draw(self, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """``n`` draws from the stated uncertainty (the value itself, n times, when it is fixed)."""
        if self.distribution == "fixed":
            return np.full(n, self.value, dtype=float)
        if self.distribution == "poisson":
            return rng.gamma(max(self.value, 1e-9), 1.0, n)
        assert self.low is not None and self.high is not None
        if self.distribution == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.distribution == "lognormal":
            sd = (math.log(self.high) - math.log(self.low)) / (2 * Z95)
            return np.exp(rng.normal(math.log(self.value), sd, n))
        sd = (self.high - self.low) / (2 * Z95)
        lo, hi = KINDS[self.kind]
        return np.clip(rng.normal(self.value, sd, n), lo, hi)

    def interval_text(self) -> str:
        if self.low is None or self.high is None:
            return f"{self.value:g}"
        return f"{self.value:g} ({self.low:g} to {self.high:g})"


@dataclass(frozen=True)
class ParameterSet:
    """A loaded, checked parameter file."""

    path: Path
    version: int
    model: str
    title: str
    parameters: dict[str, Parameter]
    #: grouped parameters: name -> group (e.g. condition) -> Parameter
    grouped: dict[str, dict[str, Parameter]]

    def __getitem__(self, key: str) -> Parameter:
        return self.parameters[key]

    def value(self, key: str) -> float:
        return self.parameters[key].value

    def group(self, name: str) -> dict[str, Parameter]:
        return self.grouped[name]

    def every(self) -> list[Parameter]:
        """Every parameter, the grouped ones keyed ``name.group``."""
        out = list(self.parameters.values())
        for groups in self.grouped.values():
            out += list(groups.values())
        return out


def _problem(path: Path, key: str, what: str, todo: str) -> UptakeError:
    return UptakeError(f"{path}: {key}: {what}. {todo}")


def _number(path: Path, key: str, raw: Any, field: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(float(raw)):
        raise _problem(path, f"{key}.{field}", f"{raw!r} is not a number",
                       f"Give {field} as a plain number (no units or thousands separators)")
    return float(raw)


def _parameter(path: Path, key: str, raw: Any) -> Parameter:
    if not isinstance(raw, Mapping):
        raise _problem(path, key, "is not a mapping", "Write it as value, kind, source (and low, high, distribution)")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise _problem(path, key, f"unknown field(s) {sorted(unknown)}", f"Use only {sorted(_FIELDS)}")
    for field in ("value", "kind", "source"):
        if field not in raw or raw[field] in (None, ""):
            todo = ("Say where the number comes from (publication, table, page), or that it is an assumption and why"
                    if field == "source" else f"Add {field}")
            raise _problem(path, f"{key}.{field}", "is missing", todo)
    kind = str(raw["kind"])
    if kind not in KINDS:
        raise _problem(path, f"{key}.kind", f"unknown kind {kind!r}", f"Use one of {sorted(KINDS)}")
    distribution = str(raw.get("distribution", "fixed" if "low" not in raw else "normal"))
    if distribution not in DISTRIBUTIONS:
        raise _problem(path, f"{key}.distribution", f"unknown distribution {distribution!r}",
                       f"Use one of {list(DISTRIBUTIONS)}")
    value = _number(path, key, raw["value"], "value")
    low = _number(path, key, raw["low"], "low") if "low" in raw else None
    high = _number(path, key, raw["high"], "high") if "high" in raw else None
    lo, hi = KINDS[kind]
    for field, number in (("value", value), ("low", low), ("high", high)):
        if number is None:
            continue
        if number < lo or number > hi:
            span = f"between {lo:g} and {hi:g}" if math.isfinite(hi) else f"at least {lo:g}"
            raise _problem(path, f"{key}.{field}", f"{number:g} is outside the range of a {kind} ({span})",
                           f"Correct the number (a {kind} must be {span})")
        if kind == "ratio" and number == 0:
            raise _problem(path, f"{key}.{field}", "a ratio of 0 cannot be", "Give a ratio above 0")
    if (low is None) != (high is None):
        raise _problem(path, key, "has only one end of its interval", "Give both low and high, or neither")
    if low is not None and high is not None and not (low <= value <= high):
        raise _problem(path, key, f"its interval {low:g} to {high:g} does not contain its value {value:g}",
                       "Correct the value or the interval")
    if distribution in ("normal", "lognormal", "uniform") and low is None:
        raise _problem(path, f"{key}.distribution", f"{distribution} needs an interval",
                       "Give low and high (the 95% interval), or make it fixed")
    if distribution == "lognormal" and (low is None or low <= 0):
        raise _problem(path, f"{key}.low", "a lognormal needs a positive interval", "Give a low above 0")
    if distribution == "poisson" and kind != "count":
        raise _problem(path, f"{key}.distribution", "poisson is for counts of events",
                       "Make the kind count, or choose another distribution")
    return Parameter(key, value, kind, str(raw["source"]).strip(), distribution, low, high,
                     str(raw.get("note", "") or "").strip())


def load_parameters(path: Path | str, *, model: str | None = None,
                    required: tuple[str, ...] = (), groups: Mapping[str, tuple[str, ...]] | None = None) -> ParameterSet:
    """Load and check a parameter file: ``required`` names the plain parameters the model needs, ``groups``
    the grouped ones and the groups each must have."""
    path = Path(path)
    if not path.exists():
        raise UptakeError(f"{path}: the parameter file does not exist. Restore it from the package")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UptakeError(f"{path}: not valid YAML ({exc}). Correct the file") from None
    if not isinstance(doc, Mapping):
        raise UptakeError(f"{path}: the file is not a mapping. Write version, model, title and parameters")
    for field in ("version", "model", "title", "parameters"):
        if field not in doc:
            raise _problem(path, field, "is missing", f"Add {field} at the top level")
    if not isinstance(doc["version"], int) or doc["version"] < 1:
        raise _problem(path, "version", f"{doc['version']!r} is not a version number", "Give a whole number >= 1")
    if model is not None and doc["model"] != model:
        raise _problem(path, "model", f"is {doc['model']!r}, expected {model!r}", "Load the right file")
    raw = doc["parameters"]
    if not isinstance(raw, Mapping):
        raise _problem(path, "parameters", "is not a mapping", "List each parameter under parameters")
    plain: dict[str, Parameter] = {}
    grouped: dict[str, dict[str, Parameter]] = {}
    group_names = dict(groups or {})
    for key, item in raw.items():
        key = str(key)
        if key in group_names:
            if not isinstance(item, Mapping):
                raise _problem(path, f"parameters.{key}", "is not a mapping of groups",
                               f"Give one entry per {', '.join(group_names[key])}")
            grouped[key] = {str(g): _parameter(path, f"parameters.{key}.{g}", v) for g, v in item.items()}
        else:
            plain[key] = _parameter(path, f"parameters.{key}", item)
    for key in required:
        if key not in plain:
            raise _problem(path, f"parameters.{key}", "is missing", "Add it with its value, kind and source")
    for key, wanted in group_names.items():
        have = grouped.get(key)
        if have is None:
            raise _problem(path, f"parameters.{key}", "is missing", f"Add it with an entry per {', '.join(wanted)}")
        for g in wanted:
            if g not in have:
                raise _problem(path, f"parameters.{key}.{g}", "is missing", "Add it with its value, kind and source")
    return ParameterSet(path, int(doc["version"]), str(doc["model"]), str(doc["title"]), plain, grouped)
