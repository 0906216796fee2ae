"""Load and check the catalogue. Errors name the file and the field so a curator can fix them."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from uptake.catalogue.schemas import Indicator, Innovation
from uptake.errors import UptakeError

BUNDLED = Path(str(resources.files("uptake.catalogue")))


@dataclass(frozen=True)
class Catalogue:
    innovations: dict[str, Innovation] = field(default_factory=dict)
    indicators: dict[str, Indicator] = field(default_factory=dict)

    def indicator(self, indicator_id: str) -> Indicator:
        try:
            return self.indicators[indicator_id]
        except KeyError:
            known = ", ".join(sorted(self.indicators))
            raise UptakeError(f"unknown indicator {indicator_id!r}; the catalogue has: {known}") from None


def _read_entries(directory: Path, model: type, kind: str) -> dict:
    entries: dict = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not valid YAML ({exc})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}: expected one {kind} as a mapping of fields")
            continue
        try:
            entry = model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(part) for part in err["loc"]) or "(entry)"
                problems.append(f"{path}: field {where}: {err['msg']}")
            continue
        if entry.id != path.stem:
            problems.append(f"{path}: id {entry.id!r} must match the file name {path.stem!r}")
            continue
        if entry.id in entries:
            problems.append(f"{path}: duplicate {kind} id {entry.id!r}")
            continue
        entries[entry.id] = entry
    if problems:
        raise UptakeError(f"the {kind} catalogue has problems:\n  " + "\n  ".join(problems))
    return entries


def load_catalogue(root: Path | None = None) -> Catalogue:
    """Load innovations/*.yaml and indicators/*.yaml under `root` (the bundled catalogue by default)."""
    root = root or BUNDLED
    innovations = _read_entries(root / "innovations", Innovation, "innovation")
    indicators = _read_entries(root / "indicators", Indicator, "indicator")
    missing = [f"{i.id} -> {i.innovation}" for i in indicators.values() if i.innovation not in innovations]
    if missing:
        raise UptakeError("indicators name innovations that are not in the catalogue: " + ", ".join(missing))
    return Catalogue(innovations=innovations, indicators=indicators)
