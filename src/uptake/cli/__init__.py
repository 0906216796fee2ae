"""The `uptake` command line: the root app, one module per command group, each adding its commands with
``register(app)``. Each command takes --workspace DIR (default ./uptake-workspace, or UPTAKE_WORKSPACE when
set).

Exit codes, the same for every command:

- 0: success;
- 1: a user error: the command is well formed but the data or the state refuses it (an unknown organisation
  code or indicator, no such filing, nothing computed yet, an invalid input file, a permission refused):
  every ``uptake.errors.UptakeError``, printed as ``error: MESSAGE`` on standard error (``uptake ingest``
  and ``uptake batches`` print ``Error: MESSAGE`` beside their own report);
- 2: a usage error: the command line itself is malformed (an unknown option, an option value outside a
  fixed vocabulary such as an unknown level, table or format, a date not written YYYY-MM-DD, a missing or
  contradictory combination of options), printed the same way.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import typer
import typer.core
import typer.main

from uptake import __version__
from uptake.cli._common import CommandGroup, console

if TYPE_CHECKING:
    import click

#: Every command and command group after ``version``, in the order ``uptake --help`` lists them (the
#: commands, then the groups): (name, the module under uptake.cli whose ``register(app)`` adds it, the
#: first paragraph of its help). A command's module is imported only when the command runs or its own
#: --help is asked for, so ``uptake --help`` imports none of them (nor pandas, DuckDB, NumPy or PySpark);
#: tests/test_cli_lazy.py checks these summaries are the commands' own.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ('init', 'demo',
     'Create (or update) a workspace: workflow database migrated, organisations and catalogue '
     'loaded.'),
    ('demo', 'demo',
     'Build a workspace from the bundled real NHS data (and labelled synthetic series), create one'
     ' demo sign-in per role, and serve it (unless --no-serve).'),
    ("ingest", "ingest", "Validate a file of observations for one indicator and load it as a new batch."),
    ("batches", "ingest",
     "List the batches loaded into the analytics store: what, from where, by whom, when."),
    ('compute', 'compute',
     'Compute every result table (values, intervals, ranks, funnels, SPC, changes, peers, '
     "opportunity, adoption, equity) from the current observations, and the mission's attainment "
     'and draft ratings from them, replacing the previous results in one step: all of it becomes '
     'visible at once, or (if the run fails or is killed) none of it. Published ratings stay until'
     ' the drafts are published.'),
    ('pathway', 'pathway',
     'Run the stroke pathway model: national thrombolysis (% of admissions) and good outcomes (mRS'
     ' 0-1) added per 1,000 admissions in each scenario (base, speed, onset known, both), with 95%'
     " intervals over the simulated years, beside SAMueL-1's published figures; per unit with "
     '--scenario or --unit.'),
    ('simulate', 'simulate',
     'Run each scenario beside the base (no lever) and compare: national value with its 95% band '
     'at the end, time to each NSF target, chance of meeting its deadline, lives saved, cost and '
     'cost per life saved.'),
    ('export', 'export',
     'Export a result table (csv, parquet, json or xlsx): a pipeline table for an indicator and '
     'level, or `ratings` (innovation ratings with their traces; published ones unless --status '
     'says otherwise). A selection with no rows is refused with the reason (exit 1) and writes '
     'nothing.'),
    ('impact', 'impact',
     "The health and wealth model: the report's figures beside the model's, the totals with 95% "
     "intervals, and what matching the best organisation would be worth from Uptake's measured "
     'gaps.'),
    ('pack', 'pack',
     "Write ORG's board pack: its area profile against the benchmark, deciles charts, tartan rug, "
     "commitments, forecasts, rating, plan and opportunity, as a PDF (needs Chromium: Debian's chromium "
     "package, or $UPTAKE_CHROMIUM). With --group ID, a custom group's pack instead."),
    ("serve", "serve", "Serve the web app and the JSON API (/api/v1, documented at /docs)."),
    ('backup', 'backup',
     'Back up the workspace: workflow database, analytics store, secret key and a manifest of '
     'checksums. Safe while the web app runs; a compute or ingest running is waited for.'),
    ('restore', 'backup',
     'Restore a backup into a new or empty workspace (the workflow database goes to '
     'UPTAKE_DATABASE_URL when set). Checksums are verified first; an older workflow database is '
     'migrated.'),
    ("bench", "bench", "Benchmarks measured against named baselines in the same run."),
    ("orgs", "orgs", "The NHS organisation hierarchy (regions, ICBs, ... practices)."),
    ("catalogue", "catalogue", "Innovations and indicators in the catalogue."),
    ("forecast", "forecast", "Bass diffusion forecasts: fits, time to target, probability."),
    ("nsf", "nsf", "National Service Frameworks: list, show, load."),
    ("ratings", "ratings", "Innovation ratings: compute, review, publish, list."),
    ("plans", "plans", "Comply or justify: ICB plans and justifications."),
    ("assessments", "assessments", "Value assessments and availability gaps."),
    ("award", "award", "The Innovation Award."),
    ("leads", "leads", "Innovation leads and portfolios."),
    ("time-to-innovate", "time_to_innovate", "Time to innovate."),
    ("networks", "networks", "Clinical networks and the Health Innovation Challenge."),
    ("barriers", "barriers", "Barriers to spread and their association with uptake."),
    ("adopters", "adopters", "The adoption log, case library and who does it near you."),
    ("fund", "fund", "The transformation fund: applications, reviews and the allocation."),
    ("alerts", "alerts", "Alerts: email digests of what is new for what people follow."),
    ("users", "users", "People who can sign in to the web app."),
)
_MODULE = {name: module for name, module, _ in COMMANDS}
_SUMMARY = {name: summary for name, _, summary in COMMANDS}


class LazyCommandGroup(CommandGroup):
    """The root group: lists every command from ``COMMANDS`` and imports a command's module only when the
    command itself is resolved (to run it, or for its own --help)."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in _MODULE]
        return [*eager, *(name for name, _, _ in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in _MODULE:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # `uptake --help`: the name and summary are all the listing shows
            return typer.core.TyperCommand(cmd_name, help=_SUMMARY[cmd_name])
        return load_command(self, cmd_name)

    def format_help(self, ctx: click.Context, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load_command(group: typer.core.TyperGroup, name: str) -> click.Command:
    """Import the module of the command ``name``, let it register on a scratch app, and add the command
    (or command group) it made to ``group``."""
    module = importlib.import_module(f"uptake.cli.{_MODULE[name]}")
    scratch = typer.Typer(cls=CommandGroup)
    module.register(scratch)
    # a hidden second command, so that typer always makes a group of the scratch app
    scratch.command("-lazy-scratch", hidden=True)(lambda: None)
    loaded = typer.main.get_command(scratch)
    assert isinstance(loaded, typer.core.TyperGroup)
    for cmd_name, command in loaded.commands.items():
        if cmd_name in _MODULE and cmd_name not in group.commands:
            group.add_command(command, cmd_name)
    return group.commands[name]


app = typer.Typer(
    name="uptake",
    help="Uptake: measure how far proven innovations have spread across the NHS, and close the gap.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyCommandGroup,
)


@app.callback()
def _root() -> None:
    # A callback keeps the root a group while ``version`` is its only command registered up front.
    pass


@app.command()
def version() -> None:
    """Print the Uptake version."""
    console.print(f"uptake {__version__}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
