"""What every command module shares: the consoles, the common options, the workspace and its workflow
database, who is acting (``--as``), dates given as option values, and the exit codes.

Exit codes (see uptake.cli): 0 success; 1 a user error, i.e. an UptakeError (the command was well formed
but the data or the state refuses it); 2 a usage error (the command line itself is malformed).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import click
import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from uptake.dates import DateError, parse_date
from uptake.errors import UptakeError
from uptake.workspace import Workspace

if TYPE_CHECKING:  # the workflow database (SQLAlchemy, pandas) is imported only by the commands that use it
    import pandas as pd
    from sqlalchemy.orm import Session

    from uptake.mission.permissions import Who

# Wide enough for the summary tables when output goes to a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

WorkspaceOption = Annotated[
    Optional[Path],
    typer.Option("--workspace", "-w", help="Workspace directory (default ./uptake-workspace or $UPTAKE_WORKSPACE)."),
]
# Commands that change records take --as EMAIL to act as a user of the workflow database (their role and
# scope are checked). Without it the command acts as the operating-system user with national-admin
# authority: whoever can run commands on the server can change the database anyway, and the audit log
# records their account.
AsOption = Annotated[
    Optional[str],
    typer.Option("--as", help="Act as this user of the workflow database (email); default: you, as national admin."),
]

# --- exit codes ------------------------------------------------------------------------------------------

SUCCESS = 0
USER_ERROR = 1
USAGE_ERROR = 2


def print_error(message: object) -> None:
    """``error: MESSAGE`` on standard error, on one line (the terminal wraps it)."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", str(message)), soft_wrap=True)


def user_error(message: object) -> typer.Exit:
    """Print the message; the exit (code 1) to raise for a well-formed command the data or state refuses."""
    print_error(message)
    return typer.Exit(code=USER_ERROR)


def usage_error(message: object) -> typer.Exit:
    """Print the message; the exit (code 2) to raise for a malformed command line: an option value outside
    its vocabulary, a date not written YYYY-MM-DD, a missing or contradictory combination of options."""
    print_error(message)
    return typer.Exit(code=USAGE_ERROR)


@contextmanager
def usage_checks() -> Iterator[None]:
    """An UptakeError raised inside is about the command line itself: a usage error (exit 2)."""
    try:
        yield
    except UptakeError as exc:
        raise usage_error(exc) from None


class CommandGroup(TyperGroup):
    """The root app's and every sub-app's group: an UptakeError from any of its commands is a user error,
    printed as ``error: MESSAGE`` on standard error, with exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UptakeError as exc:
            raise user_error(exc) from None


def sub_app(help: str | None = None, **kwargs: Any) -> typer.Typer:  # noqa: A002 - typer's name
    """A command group (``uptake nsf``, ``uptake ratings``, ...) that reports errors as the root app does."""
    return typer.Typer(cls=CommandGroup, no_args_is_help=True, help=help, **kwargs)


# --- option values -------------------------------------------------------------------------------------


def option_date(text: str | None, option: str, example: str = "2022-09-01") -> dt.date | None:
    """The date an option gives (None when not given); a usage error unless it is written YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return parse_date(text, option)
    except DateError:
        raise usage_error(f"{option} must be a date written YYYY-MM-DD, e.g. {example} (got {text!r})") from None


# --- the workspace and its workflow database -------------------------------------------------------------


def existing_workspace(path: Path | None, then: str = "run `uptake init` or `uptake demo` first") -> Workspace:
    """The workspace at ``path`` (default ./uptake-workspace or $UPTAKE_WORKSPACE), which must exist."""
    ws = Workspace.resolve(path)
    if not ws.root.exists():
        raise UptakeError(f"there is no workspace at {ws.root}; {then}")
    return ws


@contextmanager
def workflow_session(workspace: Path | None) -> Iterator[tuple[Workspace, Session]]:
    """The workspace and a session of its workflow database (committed when the block ends normally)."""
    ws = existing_workspace(workspace)
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.store.db import make_engine, session_scope

    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as session:
            yield ws, session
    finally:
        engine.dispose()


def who(session: Session, as_user: str | None) -> Who:
    """Who is acting: the user named by ``--as``, else the operator as national admin."""
    # deferred: not imported by `uptake --help` or this command's --help
    from uptake.mission.permissions import operator, who_for_email

    return who_for_email(session, as_user) if as_user else operator()


# --- tables: written to a file (--output, --format) or printed ---------------------------------------------

OutputOption = Annotated[Optional[Path], typer.Option("--output", "-o", help="write the table to a file")]
FormatOption = Annotated[str, typer.Option("--format", help="csv, parquet, json or xlsx (with --output)")]


def check_output_format(output: Path | None, fmt: str) -> None:
    """With --output, a --format outside csv, parquet, json or xlsx is a usage error (exit 2), before any work."""
    if output:
        # deferred: pandas, only for a command's own work
        from uptake.cli.export_files import check_format

        with usage_checks():
            check_format(fmt)


def write_table(frame: pd.DataFrame, output: Path | None, fmt: str, title: str | None = None) -> bool:
    """With --output, write the table there, say how many rows, and answer True; without, answer False."""
    if not output:
        return False
    # deferred: pandas, only for a command's own work
    from uptake.cli.export_files import write_frame

    write_frame(frame, output, fmt, title=title)
    typer.echo(f"Wrote {len(frame):,} rows to {output}")
    return True


def emit_table(frame: pd.DataFrame, output: Path | None, fmt: str, title: str) -> None:
    """The table to --output, or printed tab-separated with its header."""
    if not write_table(frame, output, fmt, title):
        typer.echo(frame.to_csv(index=False, sep="\t").rstrip("\n"))
