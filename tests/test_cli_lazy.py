"""`uptake --help` and `uptake compute --help` import none of the heavy libraries (issue 17.5: every `uptake
--help` took 2.6-4.5 s): the root group lists the commands from uptake.cli.COMMANDS and imports a command's
module only when that command is resolved. Checked in a fresh interpreter (this test process has them all
imported already), and the listing checked against what the command modules really register."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import uptake
import uptake.cli as cli

HEAVY = ("pandas", "numpy", "duckdb", "pyspark", "pyarrow", "sqlalchemy", "scipy", "ibis", "numba", "fastapi")
SRC = str(Path(uptake.__file__).parents[1])


def _imported_by(args: list[str]) -> tuple[set[str], str]:
    """The top-level modules a fresh `python -m uptake.cli ARGS` imports (python -X importtime), and its
    standard output."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), COLUMNS="200")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "uptake.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "uptake" in modules  # the probe works: it sees what was imported
    return modules, done.stdout


@pytest.mark.parametrize("args", [["--help"], ["compute", "--help"], ["catalogue", "--help"], ["version"]])
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    modules, out = _imported_by(args)
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert out.strip()


def test_the_listing_names_every_command_with_its_own_summary() -> None:
    """COMMANDS is what the modules register: the same names, modules and first paragraphs of help, and no
    command a module registers is missing from it."""
    registered = {}
    for path in sorted(Path(cli.__file__).parent.glob("*.py")):
        if path.stem.startswith("_") or path.stem == "export_files":
            continue
        scratch = typer.Typer()
        importlib.import_module(f"uptake.cli.{path.stem}").register(scratch)
        scratch.command("-lazy-scratch", hidden=True)(lambda: None)
        for name, command in typer.main.get_command(scratch).commands.items():
            if name != "-lazy-scratch":
                first = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
                registered[name] = (path.stem, " ".join(first.split()))
    listed = {name: (module, " ".join(summary.split())) for name, module, summary in cli.COMMANDS}
    assert listed == registered


def test_the_help_lists_what_the_loaded_commands_would() -> None:
    result = CliRunner().invoke(cli.app, ["--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    for name, _, summary in cli.COMMANDS:
        row = next(line for line in result.stdout.splitlines() if line.startswith(f"│ {name} "))
        assert summary.split(".")[0][:60] in row


def test_compute_help_names_the_engines() -> None:
    from uptake.cli.compute import ENGINE_NAMES
    from uptake.pipeline.settings import ENGINES

    assert tuple(ENGINE_NAMES) == tuple(ENGINES)
