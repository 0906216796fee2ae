"""The command line's conventions, through the real root app: exit code 1 and `error: MESSAGE` on standard
error for a user error, 2 for a usage error, every command group listed, and one register() per module."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import uptake
from uptake.cli import app

runner = CliRunner()
CLI_DIR = Path(uptake.__file__).parent / "cli"
NOT_COMMAND_MODULES = {"__init__", "__main__", "_common", "export_files"}


def test_a_user_error_exits_1_with_the_message_on_stderr(tmp_path: Path) -> None:
    result = runner.invoke(app, ["orgs", "show", "NOT-A-CODE"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: unknown organisation code 'NOT-A-CODE'")
    assert result.stdout == ""

    result = runner.invoke(app, ["nsf", "list", "--workspace", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert result.stderr == (f"error: there is no workspace at {tmp_path / 'missing'}; "
                             "run `uptake init` or `uptake demo` first\n")


@pytest.mark.parametrize("args, message", [
    (["orgs", "list", "--level", "county"], "error: --level: unknown organisation level 'county'"),
    (["orgs", "list", "--level", "icb", "--as-of", "31/03/2026"],
     "error: --as-of must be a date written YYYY-MM-DD"),
    (["catalogue", "list", "--kind", "widgets"], "error: --kind must be 'indicators' or 'innovations'"),
    (["export", "values", "--indicator", "doac-share"], "error: give --level LEVEL"),
    (["export", "nonsense", "--level", "icb"], "error: unknown table 'nonsense'"),
    (["ratings", "list", "--status", "secret"], "error: status must be published, reviewed, draft or all"),
    (["orgs", "list", "--bogus"], "No such option: --bogus"),
])
def test_a_usage_error_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    # no workspace: a malformed command line is refused before any state is looked at
    env = {"UPTAKE_WORKSPACE": str(tmp_path / "missing"), "COLUMNS": "200"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_help_lists_every_command_group() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("│ ")]
    listed = {row[1] for row in rows if len(row) > 2}
    assert {"orgs", "catalogue", "ingest", "batches", "compute", "export", "nsf", "ratings", "plans",
            "assessments", "serve", "users", "bench", "demo", "init", "version"} <= listed


def test_each_command_module_has_one_register_and_imports_at_the_top() -> None:
    for path in sorted(CLI_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.stem not in NOT_COMMAND_MODULES:
            registers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "register"]
            assert len(registers) == 1, path.name
            assert callable(importlib.import_module(f"uptake.cli.{path.stem}").register)
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        above = lines[inner.lineno - 2].strip()
                        where = f"{path.name}:{inner.lineno}"
                        assert above.startswith("# deferred:"), f"{where} imports inside a function"
