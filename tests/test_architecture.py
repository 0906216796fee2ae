"""The layers hold: no upward, sibling or circular imports, and no import hidden inside a function
(tests/import_contract.py declares the layers; docs/architecture.md draws them)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import uptake
from import_contract import LAYERS, check

ROOT = Path(uptake.__file__).parent


def test_the_source_tree_keeps_the_contract() -> None:
    problems = check(ROOT)
    assert not problems, "\n".join(str(p) for p in problems)


def test_every_package_of_uptake_has_a_layer() -> None:
    placed = {name for names, _ in LAYERS for name in names}
    present = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    present |= {p.stem for p in ROOT.glob("*.py")}
    assert present <= placed, f"packages without a layer: {sorted(present - placed)}"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "uptake"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "stats/a.py": "import math\n",
        "pipeline/run.py": "from uptake.stats.a import math\n",
        "web/pages.py": "from uptake.mission import plans\nfrom uptake.pipeline import run\n",
        "mission/plans.py": "from uptake.store import db\n",
        "store/db.py": "",
    })
    assert check(root) == []


@pytest.mark.parametrize("files, expected", [
    ({"mission/pages.py": "from uptake.web.app import create_app\n", "web/app.py": ""}, "upward import"),
    ({"pipeline/cli.py": "import uptake.mission.ratings\n", "mission/ratings.py": ""}, "upward import"),
    ({"stats/spc.py": "from uptake.results.schema import X\n", "results/schema.py": ""}, "upward import"),
    ({"mission/x.py": "from uptake.models import outcomes\n", "models/outcomes.py": ""}, "sibling import"),
    ({"pipeline/run.py": "def f():\n    from uptake.stats import spc\n", "stats/spc.py": ""},
     "import inside a function"),
    ({"web/a.py": "from uptake.web import b\n", "web/b.py": "from uptake.web import a\n"}, "import cycle"),
    ({"newthing/x.py": ""}, "is in no layer"),
])
def test_a_breach_is_reported(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    problems = check(_tree(tmp_path, files))
    assert any(expected in str(p) for p in problems), problems


def test_a_deferred_heavy_import_inside_a_function_is_allowed(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"web/x.py": "def f():\n    # deferred: openpyxl is heavy\n    import openpyxl\n"})
    assert check(root) == []
