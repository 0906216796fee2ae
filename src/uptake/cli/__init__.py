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

import typer

from uptake import __version__
from uptake.cli import (
    adopters,
    alerts,
    assessments,
    award,
    barriers,
    backup,
    bench,
    catalogue,
    compute,
    demo,
    export,
    impact,
    forecast,
    fund,
    ingest,
    leads,
    networks,
    nsf,
    orgs,
    pathway,
    simulate,
    pack,
    plans,
    ratings,
    serve,
    time_to_innovate,
    users,
)
from uptake.cli._common import CommandGroup, console

app = typer.Typer(
    name="uptake",
    help="Uptake: measure how far proven innovations have spread across the NHS, and close the gap.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=CommandGroup,
)


@app.command()
def version() -> None:
    """Print the Uptake version."""
    console.print(f"uptake {__version__}")


# `uptake --help` lists the commands, then the groups, each in the order registered here.
demo.register(app)
bench.register(app)
orgs.register(app)
catalogue.register(app)
ingest.register(app)
compute.register(app)
pathway.register(app)
forecast.register(app)
simulate.register(app)
fund.register(app)
nsf.register(app)
ratings.register(app)
plans.register(app)
assessments.register(app)
award.register(app)
leads.register(app)
time_to_innovate.register(app)
networks.register(app)
barriers.register(app)
adopters.register(app)
export.register(app)
impact.register(app)
pack.register(app)
serve.register(app)
users.register(app)
alerts.register(app)
backup.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
