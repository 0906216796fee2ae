"""The README's command table is true of every command: each command it lists exists (`uptake --help` and
each group's `--help`), each command that exists is in the table, each option a row names is an option of
that command, and the sentence on `--workspace` names exactly the commands that take none."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from typer.testing import CliRunner

from uptake.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
runner = CliRunner()


@cache
def help_text(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, (args, result.output)
    return result.output


def listed_commands(*args: str) -> list[str] | None:
    """The commands a --help lists in its Commands panel (None: it is a command, not a group)."""
    text = help_text(*args)
    if "─ Commands ─" not in text:
        return None
    panel = text.split("─ Commands ─", 1)[1]
    return re.findall(r"^│ ([a-z][a-z-]*) ", panel, re.M)


@cache
def commands_from_help() -> dict[tuple[str, ...], str]:
    """Every command the command line has, as (command,) or (group, command), with its --help text."""
    found = {}
    for name in listed_commands():
        subcommands = listed_commands(name)
        if subcommands is None:
            found[(name,)] = help_text(name)
        else:
            assert subcommands, f"uptake {name} lists no commands"
            for sub in subcommands:
                found[(name, sub)] = help_text(name, sub)
    return found


def readme_rows() -> list[tuple[str, list[tuple[str, ...]], list[str]]]:
    """The command table: per row, its text, the commands it names and the options it mentions."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Using the command line", 1)[1].split("\n## ", 1)[0]
    groups = {key[0] for key in commands_from_help() if len(key) == 2}
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `uptake"):
            continue
        cell = line.split("` |", 1)[0].lstrip("| `").replace("\\|", "|")
        words = cell.split()
        assert words[0] == "uptake", line
        name = words[1]
        if name in groups:
            # a group's row names its commands (a|b|c); "..." names none of them
            subcommands = words[2] if len(words) > 2 and re.fullmatch(r"[a-z-]+(\|[a-z-]+)*", words[2]) else ""
            named = [(name, sub) for sub in subcommands.split("|") if sub]
        else:
            named = [(name,)]
        rows.append((line, named, re.findall(r"(?<![\w-])--[a-z][a-z-]*", cell)))
    return rows


def test_every_command_in_the_readme_exists_and_every_command_is_in_the_readme() -> None:
    existing = set(commands_from_help())
    in_readme = {key for _, named, _ in readme_rows() for key in named}
    assert len(existing) > 30  # the help was read
    assert in_readme - existing == set(), "the README lists commands that do not exist"
    assert existing - in_readme == set(), "commands missing from the README's command table"


def test_every_option_a_row_names_is_an_option_of_its_command() -> None:
    problems = []
    for line, named, options in readme_rows():
        helps = [commands_from_help()[key] for key in named if key in commands_from_help()]
        for option in options:
            pattern = re.compile(rf"(?<![\w-]){re.escape(option)}(?![\w-])")
            if not any(pattern.search(text) for text in helps):
                problems.append(f"{option} is not an option of {line}")
    assert problems == []


def test_the_readme_names_exactly_the_commands_without_workspace() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    sentence = re.search(r"Every command that uses a workspace takes `--workspace DIR`.*?`uptake bench`[^.]*\.", text)
    assert sentence, "the README's sentence on --workspace"
    named = set(re.findall(r"`uptake ([a-z-]+)`", sentence.group(0)))
    without = {key[0] for key, help_ in commands_from_help().items() if "--workspace" not in help_}
    with_it = {key[0] for key, help_ in commands_from_help().items() if "--workspace" in help_}
    assert named == without, "commands without --workspace, as the README says"
    assert not named & with_it, "a group the README says takes no --workspace has a command that takes it"
