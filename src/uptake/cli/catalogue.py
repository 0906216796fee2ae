"""`uptake catalogue list|show`. An unknown --kind is a usage error (exit code 2)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from uptake.catalogue.loader import load_catalogue
from uptake.cli._common import console, sub_app, usage_error
from uptake.errors import UptakeError

catalogue_app = sub_app()

KINDS = ("indicators", "innovations")


@catalogue_app.command("list")
def list_entries(
    kind: Annotated[str, typer.Option("--kind", help="indicators or innovations")] = "indicators",
) -> None:
    """List the catalogue's indicators (default) or innovations."""
    if kind not in KINDS:
        raise usage_error(f"--kind must be 'indicators' or 'innovations', not {kind!r}")
    catalogue = load_catalogue()
    if kind == "innovations":
        table = Table("id", "name", "kind", "stage", "conditions")
        for inn in catalogue.innovations.values():
            table.add_row(inn.id, inn.name, inn.kind.value, inn.pathway_stage.value, ", ".join(inn.conditions))
    else:
        table = Table("id", "title", "levels", "period", "polarity", "synthetic")
        for ind in catalogue.indicators.values():
            table.add_row(
                ind.id, ind.title, ", ".join(lv.value for lv in ind.levels), ind.period.value,
                ind.polarity.value, "SYNTHETIC" if ind.synthetic else "",
            )
    console.print(table)


@catalogue_app.command("show")
def show(entry_id: Annotated[str, typer.Argument(help="an indicator or innovation id")]) -> None:
    """Show one catalogue entry in full (JSON)."""
    catalogue = load_catalogue()
    entry = catalogue.indicators.get(entry_id) or catalogue.innovations.get(entry_id)
    if entry is None:
        raise UptakeError(
            f"no indicator or innovation {entry_id!r}; see `uptake catalogue list` for the ids"
        )
    typer.echo(json.dumps(entry.model_dump(mode="json"), indent=2))


def register(app: typer.Typer) -> None:
    """Add ``uptake catalogue``."""
    app.add_typer(catalogue_app, name="catalogue", help="Innovations and indicators in the catalogue.")
