"""A bare `pip install .` works (issue 12, item 9): every distribution the package imports is declared in
pyproject.toml (the core dependencies, or an extra for an optional engine), and everything pyproject declares
is pinned in the requirements files `make` installs. CI also installs the package alone into a new venv and
runs `uptake demo --no-serve` (.ci/run, `bash .ci/run bare-install`); this is the quick, offline half."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import uptake

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(uptake.__file__).parent
#: imported only where the optional feature runs (a `# deferred:` import), declared in an extra
OPTIONAL = {"pyspark": "spark"}


def _name(requirement: str) -> str:
    """The distribution's normalised name (PEP 503) in a requirement such as ``psycopg[binary]>=3``."""
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert found, requirement
    return re.sub(r"[-_.]+", "-", found.group(1)).lower()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _imported_modules() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "uptake"}


def _pins(*files: str) -> set[str]:
    pins = set()
    for name in files:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                pins.add(_name(line))
    return pins


def test_every_distribution_the_package_imports_is_declared() -> None:
    project = _project()
    core = {_name(spec) for spec in project["dependencies"]}
    extras = {extra: {_name(spec) for spec in specs} for extra, specs in project["optional-dependencies"].items()}
    distributions = packages_distributions()
    missing = []
    for module in sorted(_imported_modules()):
        names = {_name(d) for d in distributions.get(module, [])}
        assert names, f"{module} is imported but not installed in the development environment"
        if module in OPTIONAL:
            if not names & extras[OPTIONAL[module]]:
                missing.append(f"{module} (in the {OPTIONAL[module]} extra)")
        elif not names & core:
            missing.append(f"{module} ({', '.join(sorted(names))})")
    assert not missing, "imported but not declared in pyproject.toml's dependencies: " + ", ".join(missing)


def test_what_pyproject_declares_is_pinned_in_the_requirements_files() -> None:
    project = _project()
    runtime = _pins("requirements.txt")
    everything = _pins("requirements.txt", "requirements-dev.txt")
    assert {_name(spec) for spec in project["dependencies"]} - runtime == set()
    for extra, specs in project["optional-dependencies"].items():
        assert {_name(spec) for spec in specs} - everything - {"uptake"} == set(), extra
