"""Read and check National Service Framework files (one YAML file per framework version).

A file is named ``<framework id>-v<version>.yaml``. Every problem in every file is collected and reported
together, each with its file, field and reason; if there is any, nothing is returned (and so nothing is
loaded). The checks that need the catalogue:

- the indicator exists, has a direction (not "no judgement") and belongs to the commitment's innovation;
- the scope's levels are levels the indicator has results at (its ingest levels and their roll-ups);
- the target is at or above the minimum standard for a high-is-good indicator (at or below for
  low-is-good), and the trajectory (baseline, milestones, target) moves only towards the target;
- dates: the commitment starts within the framework, its deadline is after its start and within the
  framework, milestones are in date order strictly between the start and the deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from uptake.catalogue import Catalogue, load_catalogue
from uptake.catalogue.schemas import Measure, Polarity
from uptake.errors import UptakeError
from uptake.levels import ROLLUP_PATHS, Level
from uptake.mission.schemas import Framework

BUNDLED_FRAMEWORKS = Path(str(resources.files("uptake.mission").joinpath("frameworks")))
FILE_NAME = re.compile(r"^(?P<id>[a-z0-9]+(?:-[a-z0-9]+)*)-v(?P<version>[1-9][0-9]*)\.yaml$")


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: field {self.field}: {self.reason}"


class FrameworkProblems(UptakeError):
    """One or more framework files are wrong; `problems` lists each (file, field, reason)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n  ".join(str(p) for p in problems)
        super().__init__(f"the framework files have {len(problems)} problem(s); nothing was loaded:\n  {lines}")


def read_frameworks(directory: Path | str | None = None, catalogue: Catalogue | None = None) -> list[Framework]:
    """Every framework version in `directory` (the bundled frameworks by default), checked, sorted by id and
    version. Raises FrameworkProblems listing every problem found."""
    directory = Path(directory) if directory is not None else BUNDLED_FRAMEWORKS
    if not directory.is_dir():
        raise UptakeError(f"there is no framework directory {directory}")
    catalogue = catalogue or load_catalogue()
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise UptakeError(f"no framework files (*.yaml) in {directory}")
    problems: list[Problem] = []
    found: dict[tuple[str, int], Path] = {}
    frameworks: list[Framework] = []
    for path in paths:
        framework = read_framework_file(path, catalogue, problems)
        if framework is None:
            continue
        key = (framework.id, framework.version)
        if key in found:
            problems.append(Problem(path.name, "version", f"{framework.id} v{framework.version} is also in {found[key].name}"))
            continue
        found[key] = path
        frameworks.append(framework)
    if problems:
        raise FrameworkProblems(problems)
    return sorted(frameworks, key=lambda f: (f.id, f.version))


def read_framework_file(path: Path, catalogue: Catalogue, problems: list[Problem]) -> Framework | None:
    """One file, checked; problems are appended to `problems` (None is returned if there are any)."""
    before = len(problems)
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, "(file)", f"not valid YAML ({exc})"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(name, "(file)", "expected one framework version as a mapping of fields"))
        return None
    try:
        framework = Framework.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            where = _location(err["loc"], data)
            problems.append(Problem(name, where, err["msg"]))
        return None
    match = FILE_NAME.match(name)
    if not match:
        problems.append(Problem(name, "(file name)", "name the file <framework id>-v<version>.yaml"))
    elif match["id"] != framework.id or int(match["version"]) != framework.version:
        problems.append(Problem(
            name, "id",
            f"the file name says {match['id']} v{match['version']} but the file holds {framework.id} "
            f"v{framework.version}; name it {framework.id}-v{framework.version}.yaml",
        ))
    for where, reason in check_framework(framework, catalogue):
        problems.append(Problem(name, where, reason))
    return framework if len(problems) == before else None


def _location(loc: tuple, data: dict[str, Any]) -> str:
    """A pydantic error location as a field path, naming the commitment when there is one."""
    parts = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]"
            if i == 1 and loc[0] == "commitments":
                try:
                    parts[-1] += f" ({data['commitments'][part]['id']})"
                except (KeyError, IndexError, TypeError):
                    pass
        else:
            parts.append(str(part))
    return ".".join(parts) or "(framework)"


def _fmt(value: float) -> str:
    return f"{value:g}"


def check_framework(framework: Framework, catalogue: Catalogue) -> list[tuple[str, str]]:
    """The (field, reason) of every problem with a framework that its schema cannot see."""
    out: list[tuple[str, str]] = []
    if framework.end <= framework.start:
        out.append(("end", f"the end {framework.end} is not after the start {framework.start}"))
    seen: set[str] = set()
    for i, commitment in enumerate(framework.commitments):
        where = f"commitments[{i}] ({commitment.id})"
        if commitment.id in seen:
            out.append((f"{where}.id", f"commitment id {commitment.id!r} is used twice in the framework"))
        seen.add(commitment.id)
        out += [(f"{where}.{field}", reason) for field, reason in _check_commitment(framework, i, catalogue)]
    return out


def _check_commitment(framework: Framework, index: int, catalogue: Catalogue) -> list[tuple[str, str]]:
    c = framework.commitments[index]
    out: list[tuple[str, str]] = []
    start = framework.commitment_start(c)

    # dates
    if start < framework.start:
        out.append(("start", f"the commitment starts {start}, before the framework starts ({framework.start})"))
    if c.deadline <= start:
        out.append(("deadline", f"the deadline {c.deadline} is before the start {start}; "
                                "a deadline must come after the commitment starts"))
    if c.deadline > framework.end:
        out.append(("deadline", f"the deadline {c.deadline} is after the framework ends ({framework.end})"))
    previous = start
    for j, milestone in enumerate(c.milestones):
        if milestone.date <= previous:
            what = "the start" if j == 0 else f"milestone {j - 1} ({previous})"
            out.append((f"milestones[{j}].date", f"milestones out of order: {milestone.date} is not after {what}"))
        elif milestone.date >= c.deadline:
            out.append((f"milestones[{j}].date",
                        f"milestones out of order: {milestone.date} is not before the deadline {c.deadline}"))
        previous = max(previous, milestone.date)

    # the indicator
    indicator = catalogue.indicators.get(c.indicator)
    if indicator is None:
        known = ", ".join(sorted(catalogue.indicators))
        out.append(("indicator", f"unknown indicator {c.indicator!r}; the catalogue has: {known}"))
        return out
    if c.innovation not in catalogue.innovations:
        out.append(("innovation", f"unknown innovation {c.innovation!r}; the catalogue has: "
                                  + ", ".join(sorted(catalogue.innovations))))
    elif indicator.innovation != c.innovation:
        out.append(("innovation", f"indicator {c.indicator} measures innovation {indicator.innovation}, "
                                  f"not {c.innovation}"))
    if indicator.polarity == Polarity.NO_JUDGEMENT:
        out.append(("indicator", f"indicator {c.indicator} carries no judgement (polarity no-judgement): a "
                                 "commitment needs an indicator where higher or lower is better"))
        return out
    available = {level for ingest in indicator.levels for level in ROLLUP_PATHS[ingest]} - {Level.ENGLAND}
    for j, level in enumerate(c.scope.levels):
        if level not in available:
            names = ", ".join(sorted(lv.value for lv in available))
            out.append((f"scope.levels[{j}]", f"indicator {c.indicator} has no results at level {level.value}; "
                                              f"it has: {names}"))
    if c.scope.org_types is not None and Level.TRUST not in c.scope.levels:
        out.append(("scope.org_types", "organisation types (trust types) need the trust level in scope"))

    # values
    named = [("minimum_standard", c.minimum_standard), ("target", c.target)]
    if c.baseline is not None:
        named.append(("baseline", c.baseline))
    named += [(f"milestones[{j}].value", m.value) for j, m in enumerate(c.milestones)]
    for field, value in named:
        if indicator.measure == Measure.PROPORTION and not 0 <= value <= 1:
            out.append((field, f"{_fmt(value)} is not a proportion between 0 and 1 (write 20% as 0.2)"))
        elif value < 0:
            out.append((field, f"{_fmt(value)} is negative"))
    high = indicator.polarity == Polarity.HIGH_IS_GOOD
    if high and c.target < c.minimum_standard:
        out.append(("target", f"the target {_fmt(c.target)} is below the minimum standard "
                              f"{_fmt(c.minimum_standard)}; indicator {c.indicator} is high-is-good, so the "
                              "target must be at or above the minimum standard"))
    if not high and c.target > c.minimum_standard:
        out.append(("target", f"the target {_fmt(c.target)} is above the minimum standard "
                              f"{_fmt(c.minimum_standard)}; indicator {c.indicator} is low-is-good, so the "
                              "target must be at or below the minimum standard"))
    path = [("baseline" if c.baseline is not None else "minimum_standard",
             c.baseline if c.baseline is not None else c.minimum_standard)]
    path += [(f"milestones[{j}].value", m.value) for j, m in enumerate(c.milestones)]
    path.append(("target", c.target))
    for (prev_field, prev), (field, value) in zip(path, path[1:], strict=False):
        backwards = value < prev if high else value > prev
        if backwards:
            direction = "falls" if high else "rises"
            out.append((field, f"milestones out of order: the trajectory {direction} from {_fmt(prev)} "
                               f"({prev_field}) to {_fmt(value)}; it must move towards the target"))
    for j, m in enumerate(c.milestones):
        beyond = m.value < c.minimum_standard if high else m.value > c.minimum_standard
        if beyond:
            out.append((f"milestones[{j}].value", f"{_fmt(m.value)} is below the minimum standard "
                                                  f"{_fmt(c.minimum_standard)}"))
    return out


# --- differences between versions -------------------------------------------------------------------

_FRAMEWORK_FIELDS = ("title", "condition", "status", "start", "end", "owner", "summary", "rationale",
                     "evidence", "change_note")


def diff_frameworks(old: Framework | dict | None, new: Framework | dict) -> dict[str, Any]:
    """What changed from `old` to `new` (JSON-ready): framework fields and commitments added, removed or
    changed (field by field, each as {"from": ..., "to": ...})."""
    new_data = new.model_dump(mode="json") if isinstance(new, Framework) else new
    if old is None:
        return {"first_version": True, "framework": {},
                "commitments": {"added": [c["id"] for c in new_data["commitments"]], "removed": [], "changed": {}}}
    old_data = old.model_dump(mode="json") if isinstance(old, Framework) else old
    fields = {
        name: {"from": old_data.get(name), "to": new_data.get(name)}
        for name in _FRAMEWORK_FIELDS
        if old_data.get(name) != new_data.get(name)
    }
    old_c = {c["id"]: c for c in old_data["commitments"]}
    new_c = {c["id"]: c for c in new_data["commitments"]}
    changed: dict[str, dict[str, Any]] = {}
    for key in sorted(set(old_c) & set(new_c)):
        names = sorted(set(old_c[key]) | set(new_c[key]))
        delta = {n: {"from": old_c[key].get(n), "to": new_c[key].get(n)} for n in names
                 if old_c[key].get(n) != new_c[key].get(n)}
        if delta:
            changed[key] = delta
    return {
        "first_version": False,
        "from_version": old_data["version"],
        "framework": fields,
        "commitments": {
            "added": sorted(set(new_c) - set(old_c)),
            "removed": sorted(set(old_c) - set(new_c)),
            "changed": changed,
        },
    }


def describe_diff(diff: dict[str, Any]) -> list[str]:
    """The difference as plain-English lines."""
    if diff.get("first_version"):
        return ["first version: " + ", ".join(diff["commitments"]["added"])]
    lines = [f"{name}: {_short(v['from'])} -> {_short(v['to'])}" for name, v in diff["framework"].items()]
    c = diff["commitments"]
    lines += [f"commitment added: {key}" for key in c["added"]]
    lines += [f"commitment removed: {key}" for key in c["removed"]]
    for key, fields in c["changed"].items():
        for name, v in fields.items():
            lines.append(f"commitment {key}: {name}: {_short(v['from'])} -> {_short(v['to'])}")
    return lines or ["no change"]


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
